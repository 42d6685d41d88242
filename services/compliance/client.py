"""The compliance service's internal gRPC client: the gateway's ``CompliancePort`` over
``faramesh_cloud_api.compliance.v1.ComplianceService``, over mutual TLS with the caller's own
service certificate (the compliance service admits only ``gateway``).

It answers exactly as :class:`~faramesh_cloud.compliance.api.ComplianceApi` does, with the
same values (``Declared``, ``PostureRow``, ``ReportView``, ``ArtifactView``, ``Opened``,
``StackCoverage``, ...) and the same refusals (``tests/contracts/test_compliance_api_contract.py``
holds both to one suite): ``ComplianceError`` (INVALID_ARGUMENT), ``NotFound`` (NOT_FOUND),
``LinkGone`` with the same words, organisation and link (FAILED_PRECONDITION with its
``ErrorInfo``) and, while the service rebuilds from the log,
:class:`~faramesh_cloud.rpc.errors.ServiceBusy` with its Retry-After. When the service is
down, unreachable, slow (each call has a deadline; a download's covers its first message, an
upload has none) or refuses the caller:
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable`, which the gateway answers 503.

Bytes: ``stream`` gives the artifact and an async iterator of its bytes as they arrive (what
the gateway streams to a browser without holding the file); ``download`` keeps the in-process
shape (a file object), spooled to a temporary file as it arrives, so memory stays bounded too.
``add_artifact`` sends a file or ``data`` in chunks of at most 1 MiB."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import grpc
import grpc.aio
from faramesh_cloud_api.audit_index.v1 import query_pb2 as audit_pb
from faramesh_cloud_api.compliance.v1 import api_pb2 as pb
from faramesh_cloud_api.compliance.v1 import api_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.compliance.api import TOO_LARGE, Opened
from faramesh_cloud.compliance.artifacts import CHUNK
from faramesh_cloud.compliance.coverage import AgentCoverage, Snippet, ToolCoverage
from faramesh_cloud.compliance.coverage_reads import GapDetail, StackCoverage
from faramesh_cloud.compliance.domain import (
    MAX_ARTIFACT_BYTES,
    SHARE_DEFAULT_DAYS,
    ArtifactView,
    ComplianceError,
    Declared,
    LinkGone,
    NotFound,
    PostureDay,
    PostureRow,
    ReportView,
    ShareLinkView,
    utc,
)
from faramesh_cloud.fpl import Finding
from faramesh_cloud.fpl.materialize import EnforcedRule
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import moment, timestamp

SERVER: Final = "compliance"  # the identity the server's certificate must carry
ERROR_DOMAIN: Final = "compliance.internal.faramesh-cloud"  # google.rpc.ErrorInfo.domain of LinkGone
LINK_GONE: Final = "LINK_GONE"


SAMPLE_FIELDS: Final = tuple(f.name for f in audit_pb.RecordSummary.DESCRIPTOR.fields)
Sample = Callable[[audit_pb.RecordSummary], Any]


def _verified(self: Any) -> bool:
    return bool(self.verification == "verified")


# A gap's sample record when the caller gives no reader of its own: the audit index's
# RecordSummary fields (the wire's), read by attribute as the pages read that view. The
# composition root passes the audit index's own reader (``audit_index.client.summary_view``),
# which a service may not import.
RecordSample = dataclasses.make_dataclass("RecordSample", SAMPLE_FIELDS, frozen=True,
                                          namespace={"verified": property(_verified)})


def record_sample(m: audit_pb.RecordSummary) -> Any:
    return RecordSample(**{name: getattr(m, name) for name in SAMPLE_FIELDS})


def refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
    """The compliance service's refusal as the exception ``ComplianceApi`` raises in process;
    None for any other failure (the caller's certificate refused, the service down)."""
    code, message = exc.code(), exc.details() or "the compliance service refused the request"
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return ComplianceError(message)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(message)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        for key, value in exc.trailing_metadata() or ():
            if key != DETAILS_KEY or not isinstance(value, bytes):
                continue
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info) and info.domain == ERROR_DOMAIN and info.reason == LINK_GONE:
                    return LinkGone(message, info.metadata.get("org_id", ""), info.metadata.get("link_id", ""))
    return None


def _at(m: Any, name: str) -> datetime:
    found = moment(m, name)
    if found is None:
        raise ValueError(f"the compliance service sent a {type(m).__name__} without {name}")
    return found


def declared(m: pb.Declared) -> Declared:
    return Declared(m.framework, m.name, _at(m, "declared_at"), m.declared_by)


def posture_row(m: pb.PostureRow) -> PostureRow:
    return PostureRow(m.framework, m.control_id, m.status, json.loads(m.detail_json or "{}"), _at(m, "since"),
                      _at(m, "evaluated_at"))


def posture_day(m: pb.PostureDay) -> PostureDay:
    return PostureDay(m.framework, m.day, m.evidence, m.policy, m.gap, tuple(m.gaps))


def report(m: pb.Report) -> ReportView:
    return ReportView(m.report_id, m.framework, tuple(m.stack_ids), _at(m, "range_start"), _at(m, "range_end"),
                      _at(m, "requested_at"), m.requested_by, m.state, m.progress, m.stage, m.error, m.artifact_id,
                      moment(m, "finished_at"), m.retry_of)


def link(m: pb.ShareLink) -> ShareLinkView:
    return ShareLinkView(m.link_id, m.artifact_id, _at(m, "created_at"), m.created_by, _at(m, "expires_at"), m.note,
                         moment(m, "revoked_at"), m.revoked_by)


def artifact(m: pb.Artifact) -> ArtifactView:
    return ArtifactView(m.artifact_id, m.kind, m.title, json.loads(m.parameters_json or "{}"), _at(m, "created_at"),
                        m.created_by, m.sha256, m.size, m.filename, m.media_type, m.verification_hash, m.report_id,
                        tuple(link(x) for x in m.links))


def opened(m: pb.Opened) -> Opened:
    return Opened(m.org_id, m.org_name, link(m.link), artifact(m.artifact))


def enforced_rule(m: pb.EnforcedRule) -> EnforcedRule:
    return EnforcedRule(m.rule_id, m.effect, m.effect_word, m.tool, m.line, m.condition, m.notify, m.reason,
                        tuple((n.key, n.value) for n in m.network), m.source, m.flat)


def tool_coverage(m: pb.ToolCoverage) -> ToolCoverage:
    return ToolCoverage(m.tool_id, m.status, m.calls, m.default_calls, tuple(m.rule_ids),
                        tuple(enforced_rule(r) for r in m.rules), m.guard_calls)


def agent_coverage(m: pb.AgentCoverage) -> AgentCoverage:
    return AgentCoverage(m.stack_id, m.agent_id, m.status, tuple(tool_coverage(t) for t in m.tools), m.enforced_as,
                         m.note)


def snippet(m: pb.Snippet) -> Snippet:
    return Snippet(m.text, m.line if m.HasField("line") else None, m.where, m.note, tuple(m.notes))


def stack_coverage(m: pb.GetCoverageResponse) -> StackCoverage:
    return StackCoverage(m.stack_id, _at(m, "start"), _at(m, "end"), m.applied, m.governance_sha256,
                         m.primary_agent, m.default_effect, tuple(agent_coverage(a) for a in m.agents),
                         tuple(Finding(f.kind, f.line, f.message) for f in m.findings), tuple(m.lines))


def gap_detail(m: pb.GetCoverageGapResponse, sample: Sample = record_sample) -> GapDetail:
    return GapDetail(m.stack_id, m.agent_id, m.tool_id, m.calls, m.default_calls, dict(m.effects),
                     tuple(sample(s) for s in m.samples), snippet(m.snippet), _at(m, "start"), _at(m, "end"))


def actor_message(actor: Actor) -> pb.RequestActor:
    return pb.RequestActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while data := await asyncio.to_thread(f.read, CHUNK):
            yield data
    finally:
        await asyncio.to_thread(f.close)


async def _data_chunks(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for at in range(0, len(data), CHUNK):
        yield bytes(view[at:at + CHUNK])


class ComplianceClient:
    """``CompliancePort`` (the gateway's) over the compliance service's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S, *,
                 sample: Sample = record_sample) -> None:
        self._sample = sample  # a gap's sample records: RecordSample, or the audit index's view
        self._rpc = InternalClient(SERVER, address, tls, api_pb2_grpc.ComplianceServiceStub, timeout_s, refusal)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    # Frameworks and posture ---------------------------------------------------------------
    async def declared(self, org_id: str) -> list[Declared]:
        response = await self._rpc.call("ListDeclared", pb.ListDeclaredRequest(org_id=org_id))
        return [declared(d) for d in response.declared]

    async def declare(self, org_id: str, frameworks: Sequence[str], actor: Actor) -> list[Declared]:
        response = await self._rpc.call("Declare", pb.DeclareRequest(
            org_id=org_id, actor=actor_message(actor), frameworks=list(frameworks)), change="the declared frameworks")
        return [declared(d) for d in response.declared]

    async def posture(self, org_id: str) -> list[PostureRow]:
        response = await self._rpc.call("GetPosture", pb.GetPostureRequest(org_id=org_id))
        return [posture_row(r) for r in response.rows]

    async def posture_days(self, org_id: str, framework: str, days: int = 30) -> list[PostureDay]:
        response = await self._rpc.call("GetPostureDays", pb.GetPostureDaysRequest(
            org_id=org_id, framework=framework, days=days))
        return [posture_day(d) for d in response.days]

    # Reports ------------------------------------------------------------------------------
    async def request_report(self, org_id: str, framework: str, stack_ids: Sequence[str], start: datetime,
                             end: datetime, actor: Actor, *, retry_of: str = "") -> ReportView:
        response = await self._rpc.call("RequestReport", pb.RequestReportRequest(
            org_id=org_id, actor=actor_message(actor), framework=framework, stack_ids=list(stack_ids),
            start=timestamp(utc(start)), end=timestamp(utc(end)), retry_of=retry_of), change="the reports")
        return report(response.report)

    async def certify(self, org_id: str, stack_ids: Sequence[str], start: datetime, end: datetime,
                      actor: Actor) -> ArtifactView:
        response = await self._rpc.call("Certify", pb.CertifyRequest(
            org_id=org_id, actor=actor_message(actor), stack_ids=list(stack_ids), start=timestamp(utc(start)),
            end=timestamp(utc(end))), change="the evidence library")
        return artifact(response.artifact)

    async def retry_report(self, org_id: str, report_id: str, actor: Actor) -> ReportView:
        response = await self._rpc.call("RetryReport", pb.RetryReportRequest(
            org_id=org_id, actor=actor_message(actor), report_id=report_id), change="the reports")
        return report(response.report)

    async def reports(self, org_id: str, limit: int = 100) -> list[ReportView]:
        response = await self._rpc.call("ListReports", pb.ListReportsRequest(org_id=org_id, limit=limit))
        return [report(r) for r in response.reports]

    async def report(self, org_id: str, report_id: str) -> ReportView:
        response = await self._rpc.call("GetReport", pb.GetReportRequest(org_id=org_id, report_id=report_id))
        return report(response.report)

    # The evidence library -----------------------------------------------------------------
    async def library(self, org_id: str, limit: int = 200) -> list[ArtifactView]:
        response = await self._rpc.call("ListLibrary", pb.ListLibraryRequest(org_id=org_id, limit=limit))
        return [artifact(a) for a in response.artifacts]

    async def artifact(self, org_id: str, artifact_id: str) -> ArtifactView:
        response = await self._rpc.call("GetArtifact", pb.GetArtifactRequest(org_id=org_id, artifact_id=artifact_id))
        return artifact(response.artifact)

    async def stream(self, org_id: str, artifact_id: str,
                     actor: Actor | None = None) -> tuple[ArtifactView, AsyncIterator[bytes]]:
        """The artifact (or the refusal) within the call deadline, then its bytes as they
        arrive (no deadline: a large file takes its time)."""
        request = pb.DownloadRequest(org_id=org_id, artifact_id=artifact_id,
                                     actor=actor_message(actor) if actor is not None else None)
        messages = self._rpc.stream("Download", request)
        try:
            first = await asyncio.wait_for(anext(messages), self._rpc.timeout_s)
        except StopAsyncIteration:
            raise ServiceUnavailable(SERVER, f"Download at {self.address}: the stream ended before the artifact") \
                from None
        except TimeoutError:
            await messages.aclose()  # type: ignore[attr-defined]
            raise ServiceUnavailable(SERVER, f"Download at {self.address}: no answer before the deadline") from None
        if first.WhichOneof("part") != "artifact":
            await messages.aclose()  # type: ignore[attr-defined]
            raise ServiceUnavailable(SERVER, f"Download at {self.address}: the stream did not start with the artifact")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for message in messages:
                    yield message.chunk
            finally:
                await messages.aclose()  # type: ignore[attr-defined]

        return artifact(first.artifact), chunks()

    async def download(self, org_id: str, artifact_id: str, actor: Actor) -> tuple[ArtifactView, BinaryIO]:
        """The artifact and its bytes as a file object, like ``ComplianceApi.download`` (spooled
        to a temporary file as they arrive: memory stays bounded). Streaming callers use
        :meth:`stream`."""
        found, chunks = await self.stream(org_id, artifact_id, actor)
        spool: Any = tempfile.SpooledTemporaryFile(max_size=CHUNK)
        try:
            async for chunk in chunks:
                await asyncio.to_thread(spool.write, chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return found, spool

    async def add_artifact(self, org_id: str, kind: str, title: str, parameters: dict[str, Any], *,
                           actor: Actor, path: Path | None = None, data: bytes | None = None, filename: str,
                           media_type: str, verification_hash: str = "", report_id: str = "") -> ArtifactView:
        """Send a file (``path``, read in chunks) or ``data`` to the library."""
        if (path is None) == (data is None):
            raise ValueError("give the artifact's bytes as path or data, one of them")
        size = len(data) if data is not None else await asyncio.to_thread(os.path.getsize, path or "")
        if size > MAX_ARTIFACT_BYTES:
            raise ComplianceError(TOO_LARGE)
        metadata = pb.ArtifactMetadata(org_id=org_id, actor=actor_message(actor), kind=kind, title=title,
                                       parameters_json=json.dumps(parameters, sort_keys=True), filename=filename,
                                       media_type=media_type, verification_hash=verification_hash,
                                       report_id=report_id)

        async def messages() -> AsyncIterator[pb.AddArtifactMessage]:
            yield pb.AddArtifactMessage(metadata=metadata)
            async for chunk in _file_chunks(path) if path is not None else _data_chunks(data or b""):
                yield pb.AddArtifactMessage(chunk=chunk)

        response = await self._rpc.upload("AddArtifact", messages())
        return artifact(response.artifact)

    # Share links --------------------------------------------------------------------------
    async def share(self, org_id: str, artifact_id: str, actor: Actor, *, days: int = SHARE_DEFAULT_DAYS,
                    note: str = "") -> tuple[ShareLinkView, str]:
        response = await self._rpc.call("Share", pb.ShareRequest(
            org_id=org_id, actor=actor_message(actor), artifact_id=artifact_id, days=days, note=note),
            change="the artifact's share links")
        return link(response.link), response.token

    async def revoke(self, org_id: str, link_id: str, actor: Actor) -> ShareLinkView:
        response = await self._rpc.call("Revoke", pb.RevokeRequest(
            org_id=org_id, actor=actor_message(actor), link_id=link_id), change="the artifact's share links")
        return link(response.link)

    async def open_link(self, token: str, *, ip: str, user_agent: str) -> Opened:
        response = await self._rpc.call("OpenLink", pb.OpenLinkRequest(token=token, ip=ip, user_agent=user_agent))
        return opened(response.opened)

    # Coverage analysis --------------------------------------------------------------------
    async def coverage(self, org_id: str, stack_id: str, start: datetime, end: datetime) -> StackCoverage:
        response = await self._rpc.call("GetCoverage", pb.GetCoverageRequest(
            org_id=org_id, stack_id=stack_id, start=timestamp(utc(start)), end=timestamp(utc(end))))
        return stack_coverage(response)

    async def coverage_gap(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start: datetime,
                           end: datetime, effect: str | None = None) -> GapDetail:
        response = await self._rpc.call("GetCoverageGap", pb.GetCoverageGapRequest(
            org_id=org_id, stack_id=stack_id, agent_id=agent_id, tool_id=tool_id, start=timestamp(utc(start)),
            end=timestamp(utc(end)), effect=effect))
        return gap_detail(response, self._sample)

