"""The compliance service's internal gRPC API (``faramesh_cloud_api.compliance.v1``,
``ComplianceService``): what people do with compliance, answered by :class:`ComplianceApi`.

This module is the edge: requests become ``ComplianceApi`` calls (Python values), the values
it returns become messages; nothing else in the service imports generated code. Refusals
keep their meaning on the wire (``api.proto`` lists them): ``ComplianceError`` is
INVALID_ARGUMENT, ``NotFound`` NOT_FOUND, ``LinkGone`` FAILED_PRECONDITION with a
``google.rpc.ErrorInfo`` (reason ``LINK_GONE``, the link's organisation and id), the service
rebuilding from the log (``CatchingUp``) UNAVAILABLE with ``retry-after``.

Bytes travel in chunks of at most 1 MiB both ways: ``Download`` sends the artifact, then its
bytes as they are read from the store; ``AddArtifact`` writes what it receives to a scratch
file in the store (refusing more than ``MAX_ARTIFACT_BYTES``) and enters that file. Served
over mutual TLS; only the ``gateway`` service may call it (the organisation and actor in a
request are whoever the gateway signed in and checked, so no other caller may name them)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.audit_index.v1 import query_pb2 as audit_pb
from faramesh_cloud_api.compliance.v1 import api_pb2 as pb
from faramesh_cloud_api.compliance.v1 import api_pb2_grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.compliance.api import TOO_LARGE, ComplianceApi, Opened
from faramesh_cloud.compliance.client import ERROR_DOMAIN, LINK_GONE
from faramesh_cloud.compliance.coverage import AgentCoverage, Snippet, ToolCoverage
from faramesh_cloud.compliance.coverage_reads import GapDetail, StackCoverage
from faramesh_cloud.compliance.domain import (
    MAX_ARTIFACT_BYTES,
    ArtifactView,
    ComplianceError,
    Declared,
    LinkGone,
    NotFound,
    PostureDay,
    PostureRow,
    ReportView,
    ShareLinkView,
)
from faramesh_cloud.fpl import Finding
from faramesh_cloud.fpl.materialize import EnforcedRule
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.internal_client import RETRY_AFTER
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import read_instant, timestamp

SERVICE: Final = pb.DESCRIPTOR.services_by_name["ComplianceService"].full_name
CALLERS: Final = frozenset({"gateway"})  # the only service that acts for people

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


# Values to messages ---------------------------------------------------------------------------
def declared_message(d: Declared) -> pb.Declared:
    return pb.Declared(framework=d.framework, name=d.name, declared_at=timestamp(d.declared_at),
                       declared_by=d.declared_by)


def posture_message(r: PostureRow) -> pb.PostureRow:
    return pb.PostureRow(framework=r.framework, control_id=r.control_id, status=r.status,
                         detail_json=json.dumps(r.detail, sort_keys=True), since=timestamp(r.since),
                         evaluated_at=timestamp(r.evaluated_at))


def day_message(d: PostureDay) -> pb.PostureDay:
    return pb.PostureDay(framework=d.framework, day=d.day, evidence=d.evidence, policy=d.policy, gap=d.gap,
                         gaps=list(d.gaps))


def report_message(r: ReportView) -> pb.Report:
    return pb.Report(report_id=r.report_id, framework=r.framework, stack_ids=list(r.stack_ids),
                     range_start=timestamp(r.range_start), range_end=timestamp(r.range_end),
                     requested_at=timestamp(r.requested_at), requested_by=r.requested_by, state=r.state,
                     progress=r.progress, stage=r.stage, error=r.error, artifact_id=r.artifact_id,
                     finished_at=timestamp(r.finished_at), retry_of=r.retry_of)


def link_message(link: ShareLinkView) -> pb.ShareLink:
    return pb.ShareLink(link_id=link.link_id, artifact_id=link.artifact_id, created_at=timestamp(link.created_at),
                        created_by=link.created_by, expires_at=timestamp(link.expires_at), note=link.note,
                        revoked_at=timestamp(link.revoked_at), revoked_by=link.revoked_by)


def artifact_message(a: ArtifactView) -> pb.Artifact:
    return pb.Artifact(artifact_id=a.artifact_id, kind=a.kind, title=a.title,
                       parameters_json=json.dumps(a.parameters, sort_keys=True), created_at=timestamp(a.created_at),
                       created_by=a.created_by, sha256=a.sha256, size=a.size, filename=a.filename,
                       media_type=a.media_type, verification_hash=a.verification_hash, report_id=a.report_id,
                       links=[link_message(link) for link in a.links])


def opened_message(o: Opened) -> pb.Opened:
    return pb.Opened(org_id=o.org_id, org_name=o.org_name, link=link_message(o.link),
                     artifact=artifact_message(o.artifact))


def rule_message(r: EnforcedRule) -> pb.EnforcedRule:
    return pb.EnforcedRule(rule_id=r.rule_id, effect=r.effect, effect_word=r.effect_word, tool=r.tool, line=r.line,
                           condition=r.condition, notify=r.notify, reason=r.reason,
                           network=[pb.NetworkClause(key=k, value=v) for k, v in r.network], source=r.source,
                           flat=r.flat)


def tool_message(t: ToolCoverage) -> pb.ToolCoverage:
    return pb.ToolCoverage(tool_id=t.tool_id, status=t.status, calls=t.calls, default_calls=t.default_calls,
                           rule_ids=list(t.rule_ids), rules=[rule_message(r) for r in t.rules],
                           guard_calls=t.guard_calls)


def agent_message(a: AgentCoverage) -> pb.AgentCoverage:
    return pb.AgentCoverage(stack_id=a.stack_id, agent_id=a.agent_id, status=a.status,
                            tools=[tool_message(t) for t in a.tools], enforced_as=a.enforced_as, note=a.note)


def finding_message(f: Finding) -> pb.Finding:
    return pb.Finding(kind=f.kind, line=f.line, message=f.message)


def snippet_message(s: Snippet) -> pb.Snippet:
    return pb.Snippet(text=s.text, line=s.line, where=s.where, note=s.note, notes=list(s.notes))


def coverage_message(c: StackCoverage) -> pb.GetCoverageResponse:
    return pb.GetCoverageResponse(stack_id=c.stack_id, start=timestamp(c.start), end=timestamp(c.end),
                                  applied=c.applied, governance_sha256=c.governance_sha256,
                                  primary_agent=c.primary_agent, default_effect=c.default_effect,
                                  agents=[agent_message(a) for a in c.agents],
                                  findings=[finding_message(f) for f in c.findings], lines=list(c.lines))


def sample_message(s: Any) -> audit_pb.RecordSummary:
    """One of a gap's sample records (the audit index's ``RecordSummary``, read by attribute:
    the message's fields are its fields)."""
    return audit_pb.RecordSummary(**{f.name: getattr(s, f.name) for f in audit_pb.RecordSummary.DESCRIPTOR.fields})


def gap_message(g: GapDetail) -> pb.GetCoverageGapResponse:
    return pb.GetCoverageGapResponse(stack_id=g.stack_id, agent_id=g.agent_id, tool_id=g.tool_id, calls=g.calls,
                                     default_calls=g.default_calls, effects=dict(g.effects),
                                     samples=[sample_message(s) for s in g.samples],
                                     snippet=snippet_message(g.snippet), start=timestamp(g.start),
                                     end=timestamp(g.end))


# Requests to values ---------------------------------------------------------------------------
def _org(org_id: str) -> str:
    return servicing.org_id(org_id, ComplianceError)


def _actor(request: Any) -> Actor:
    """The actor of a change: required, one of the kinds that make changes."""
    return servicing.actor(request, ComplianceError)





def _time(request: Any, name: str) -> Any:
    if not request.HasField(name):
        raise ComplianceError(f"{name} is required (a time with its zone)")
    return read_instant(getattr(request, name))


def _parameters(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        raise ComplianceError("parameters_json is not JSON") from None
    if not isinstance(found, dict):
        raise ComplianceError("parameters_json is a JSON object")
    return found


def gone_trailer(exc: LinkGone) -> tuple[tuple[str, bytes], ...]:
    """LinkGone's status details: the link's organisation and id travel with its message."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=LINK_GONE, domain=ERROR_DOMAIN,
                                          metadata={"org_id": exc.org_id, "link_id": exc.link_id}))
    status = status_pb2.Status(code=grpc.StatusCode.FAILED_PRECONDITION.value[0], message=str(exc), details=[info])
    return ((DETAILS_KEY, status.SerializeToString()),)


async def _answer(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, with each refusal answered by its status and the service's message."""
    try:
        return await call()
    except ServiceBusy as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc),
                            trailing_metadata=((RETRY_AFTER, str(exc.retry_after_s)),))
    except LinkGone as exc:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc), trailing_metadata=gone_trailer(exc))
    except ComplianceError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    except NotFound as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(exc.args[0]) if exc.args else "not found")
    raise AssertionError("abort raises")  # keeps type checkers informed


class ComplianceServicer(api_pb2_grpc.ComplianceServiceServicer):
    def __init__(self, api: ComplianceApi, max_artifact_bytes: int = MAX_ARTIFACT_BYTES) -> None:
        self._api = api
        self._max_bytes = max_artifact_bytes

    async def ListDeclared(self, request: pb.ListDeclaredRequest, context: Context) -> pb.ListDeclaredResponse:
        found = await _answer(context, lambda: self._api.declared(_org(request.org_id)))
        return pb.ListDeclaredResponse(declared=[declared_message(d) for d in found])

    async def Declare(self, request: pb.DeclareRequest, context: Context) -> pb.DeclareResponse:
        found = await _answer(context, lambda: self._api.declare(_org(request.org_id), list(request.frameworks),
                                                                 _actor(request)))
        return pb.DeclareResponse(declared=[declared_message(d) for d in found])

    async def GetPosture(self, request: pb.GetPostureRequest, context: Context) -> pb.GetPostureResponse:
        found = await _answer(context, lambda: self._api.posture(_org(request.org_id)))
        return pb.GetPostureResponse(rows=[posture_message(r) for r in found])

    async def GetPostureDays(self, request: pb.GetPostureDaysRequest, context: Context) -> pb.GetPostureDaysResponse:
        found = await _answer(context, lambda: self._api.posture_days(_org(request.org_id), request.framework,
                                                                      request.days))
        return pb.GetPostureDaysResponse(days=[day_message(d) for d in found])

    async def RequestReport(self, request: pb.RequestReportRequest, context: Context) -> pb.RequestReportResponse:
        found = await _answer(context, lambda: self._api.request_report(
            _org(request.org_id), request.framework, list(request.stack_ids), _time(request, "start"),
            _time(request, "end"), _actor(request), retry_of=request.retry_of))
        return pb.RequestReportResponse(report=report_message(found))

    async def Certify(self, request: pb.CertifyRequest, context: Context) -> pb.CertifyResponse:
        found = await _answer(context, lambda: self._api.certify(
            _org(request.org_id), list(request.stack_ids), _time(request, "start"), _time(request, "end"),
            _actor(request)))
        return pb.CertifyResponse(artifact=artifact_message(found))

    async def RetryReport(self, request: pb.RetryReportRequest, context: Context) -> pb.RetryReportResponse:
        found = await _answer(context, lambda: self._api.retry_report(_org(request.org_id), request.report_id,
                                                                      _actor(request)))
        return pb.RetryReportResponse(report=report_message(found))

    async def ListReports(self, request: pb.ListReportsRequest, context: Context) -> pb.ListReportsResponse:
        found = await _answer(context, lambda: self._api.reports(_org(request.org_id), request.limit or 100))
        return pb.ListReportsResponse(reports=[report_message(r) for r in found])

    async def GetReport(self, request: pb.GetReportRequest, context: Context) -> pb.GetReportResponse:
        found = await _answer(context, lambda: self._api.report(_org(request.org_id), request.report_id))
        return pb.GetReportResponse(report=report_message(found))

    async def ListLibrary(self, request: pb.ListLibraryRequest, context: Context) -> pb.ListLibraryResponse:
        found = await _answer(context, lambda: self._api.library(_org(request.org_id), request.limit or 200))
        return pb.ListLibraryResponse(artifacts=[artifact_message(a) for a in found])

    async def GetArtifact(self, request: pb.GetArtifactRequest, context: Context) -> pb.GetArtifactResponse:
        found = await _answer(context, lambda: self._api.artifact(_org(request.org_id), request.artifact_id))
        return pb.GetArtifactResponse(artifact=artifact_message(found))

    async def Download(self, request: pb.DownloadRequest, context: Context) -> AsyncIterator[pb.DownloadMessage]:
        found, chunks = await _answer(context, lambda: self._api.stream(
            _org(request.org_id), request.artifact_id, _actor(request) if request.HasField("actor") else None))
        try:
            yield pb.DownloadMessage(artifact=artifact_message(found))
            async for chunk in chunks:
                yield pb.DownloadMessage(chunk=chunk)
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()  # the file, also when the caller stops reading

    async def AddArtifact(self, request_iterator: AsyncIterator[pb.AddArtifactMessage],
                          context: Context) -> pb.AddArtifactResponse:
        directory = self._api.store.scratch()
        try:
            meta, path = await _answer(context, lambda: self._receive(request_iterator, directory / "artifact"))
            found = await _answer(context, lambda: self._api.add_artifact(
                _org(meta.org_id), meta.kind, meta.title, _parameters(meta.parameters_json), actor=_actor(meta),
                path=path, filename=meta.filename, media_type=meta.media_type,
                verification_hash=meta.verification_hash, report_id=meta.report_id))
            return pb.AddArtifactResponse(artifact=artifact_message(found))
        finally:
            await asyncio.to_thread(shutil.rmtree, directory, True)

    async def _receive(self, messages: AsyncIterator[pb.AddArtifactMessage],
                       path: Path) -> tuple[pb.ArtifactMetadata, Path]:
        """The metadata (first message) and the bytes after it, written to ``path``."""
        meta: pb.ArtifactMetadata | None = None
        size = 0
        out: BinaryIO = await asyncio.to_thread(path.open, "wb")
        try:
            async for message in messages:
                if message.WhichOneof("part") == "metadata":
                    if meta is not None:
                        raise ComplianceError("an artifact has one metadata message, the first")
                    meta = message.metadata
                    continue
                if meta is None:
                    raise ComplianceError("the first message of AddArtifact is the artifact's metadata")
                size += len(message.chunk)
                if size > self._max_bytes:
                    raise ComplianceError(TOO_LARGE)
                await asyncio.to_thread(out.write, message.chunk)
        finally:
            await asyncio.to_thread(out.close)
        if meta is None:
            raise ComplianceError("the first message of AddArtifact is the artifact's metadata")
        return meta, path

    async def Share(self, request: pb.ShareRequest, context: Context) -> pb.ShareResponse:
        link, token = await _answer(context, lambda: self._api.share(
            _org(request.org_id), request.artifact_id, _actor(request), days=request.days, note=request.note))
        return pb.ShareResponse(link=link_message(link), token=token)

    async def Revoke(self, request: pb.RevokeRequest, context: Context) -> pb.RevokeResponse:
        link = await _answer(context, lambda: self._api.revoke(_org(request.org_id), request.link_id,
                                                               _actor(request)))
        return pb.RevokeResponse(link=link_message(link))

    async def OpenLink(self, request: pb.OpenLinkRequest, context: Context) -> pb.OpenLinkResponse:
        opened = await _answer(context, lambda: self._api.open_link(request.token, ip=request.ip,
                                                                    user_agent=request.user_agent))
        return pb.OpenLinkResponse(opened=opened_message(opened))

    async def GetCoverage(self, request: pb.GetCoverageRequest, context: Context) -> pb.GetCoverageResponse:
        found = await _answer(context, lambda: self._api.coverage(
            _org(request.org_id), request.stack_id, _time(request, "start"), _time(request, "end")))
        return coverage_message(found)

    async def GetCoverageGap(self, request: pb.GetCoverageGapRequest,
                             context: Context) -> pb.GetCoverageGapResponse:
        effect = request.effect if request.HasField("effect") else None
        found = await _answer(context, lambda: self._api.coverage_gap(
            _org(request.org_id), request.stack_id, request.agent_id, request.tool_id, _time(request, "start"),
            _time(request, "end"), effect))
        return gap_message(found)


def internal_server(api: ComplianceApi, address: str, tls: ServiceCredentials, *,
                    max_artifact_bytes: int = MAX_ARTIFACT_BYTES) -> InternalServer:
    """The compliance service's internal server on ``address`` (mutual TLS, ``gateway`` only)."""
    def register(server: grpc.aio.Server) -> None:
        api_pb2_grpc.add_ComplianceServiceServicer_to_server(ComplianceServicer(api, max_artifact_bytes), server)

    return InternalServer(tls, address, {SERVICE: CALLERS}, register)
