"""The registry's publishing over its internal gRPC client: the gateway's
``RegistryPublishPort`` over ``faramesh_cloud_api.registry.v1.RegistryPublishService``, over
mutual TLS with the caller's own certificate (the registry admits only ``gateway``).

It answers as :class:`~faramesh_cloud.registry.publish_api.PublishApi` does, with the same
values (``Publisher``, ``Submission``, ``MyArtifact``, ``IssueReport``) and the same refusals
(``tests/contracts/test_registry_publish_contract.py`` holds both to one suite):
``PublishRefused`` (INVALID_ARGUMENT; the gateway's 400), ``NotAllowed`` (PERMISSION_DENIED
with its ``ErrorInfo``; 403), ``Unknown`` (NOT_FOUND; 404). A provider's binaries are sent as
they are read from the gateway's upload streams, in chunks of at most 1 MiB (an upload has no
deadline: its size sets its time). Down, unreachable or refusing the caller:
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` (503)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any, Final

import grpc
import grpc.aio
from faramesh_cloud_api.registry.v1 import publish_api_pb2 as pb
from faramesh_cloud_api.registry.v1 import publish_api_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.provider_upload import ProviderInput
from faramesh_cloud.registry.publish_domain import (
    IssueReply,
    IssueReport,
    MyArtifact,
    NotAllowed,
    Publisher,
    PublisherState,
    PublishRefused,
    StackUse,
    Submission,
    SubmissionState,
    Unknown,
    VersionStats,
)
from faramesh_cloud.registry.publish_servicer import CHUNK, ERROR_DOMAIN, NOT_ALLOWED
from faramesh_cloud.registry.submissions import PackInput
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "registry"


def _not_allowed(exc: grpc.aio.AioRpcError) -> bool:
    for key, value in exc.trailing_metadata() or ():
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == ERROR_DOMAIN and info.reason == NOT_ALLOWED:
                return True
    return False


def refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
    code, message = exc.code(), exc.details() or "the registry refused the request"
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return PublishRefused(message)
    if code == grpc.StatusCode.NOT_FOUND:
        return Unknown(message)
    if code == grpc.StatusCode.PERMISSION_DENIED and _not_allowed(exc):
        return NotAllowed(message)
    return None  # the caller's certificate refused, the service down: ServiceUnavailable


def _json(text: str) -> Any:
    return json.loads(text) if text else None


def _opt(m: Any, name: str) -> Any:
    return getattr(m, name) if m.HasField(name) else None


def _at(m: Any, name: str) -> Any:
    found = moment(m, name)
    if found is None:
        raise ValueError(f"the registry sent a {type(m).__name__} without {name}")
    return found


def publisher(m: pb.Publisher) -> Publisher:
    return Publisher(m.namespace, _opt(m, "org_id"), m.display_name, PublisherState(m.state), moment(m, "claimed_at"),
                     m.claimed_by, moment(m, "reviewed_at"), m.reviewed_by, m.reason)


def submission(m: pb.Submission) -> Submission:
    return Submission(m.submission_id, m.org_id, m.kind, m.name, m.version, SubmissionState(m.state),
                      _at(m, "submitted_at"), m.submitted_by, m.description, m.changelog, m.category,
                      tuple(m.domains), _json(m.meta_json) or {}, _opt(m, "body_sha256"), _opt(m, "readme_sha256"),
                      _json(m.manifest_json), _json(m.binaries_json) or {}, moment(m, "reviewed_at"), m.reviewed_by,
                      m.reason)


def issue(m: pb.IssueReport) -> IssueReport:
    return IssueReport(m.issue_id, m.kind, m.name, m.version, m.reporter_org_id, m.reporter, m.title, m.body,
                       _at(m, "created_at"),
                       tuple(IssueReply(r.reply_id, r.author, r.body, _at(r, "created_at")) for r in m.replies))


def my_artifact(m: pb.MyArtifact) -> MyArtifact:
    return MyArtifact(m.kind, m.name, m.trust_tier, tuple(VersionStats(
        v.version, v.state, moment(v, "published_at"), moment(v, "yanked_at"), v.yank_reason, v.downloads_total,
        tuple((d.day, d.count) for d in v.downloads_by_day),
        StackUse(tuple(v.used_by.own_stack_ids), v.used_by.other_orgs_stacks)) for v in m.versions),
        tuple(submission(s) for s in m.submissions), tuple(issue(i) for i in m.issues))


def actor_message(actor: Actor) -> pb.PublishActor:
    return pb.PublishActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


def submission_message(s: Submission) -> pb.Submission:
    """What GetSubmissionFpl needs of a submission the client read."""
    return pb.Submission(submission_id=s.submission_id, org_id=s.org_id, kind=s.kind, name=s.name,
                         version=s.version, state=s.state.value, body_sha256=s.body_sha256)


def pack_message(given: PackInput) -> pb.PackInput:
    return pb.PackInput(kind=given.kind, name=given.name, version=given.version, fpl=given.fpl, readme=given.readme,
                        changelog=given.changelog, description=given.description, category=given.category,
                        domains=list(given.domains),
                        parameter_schema_json=json.dumps(dict(given.parameter_schema))
                        if given.parameter_schema is not None else "",
                        signature_json=json.dumps(dict(given.signature)) if given.signature is not None else "")


def provider_message(given: ProviderInput) -> pb.ProviderInput:
    return pb.ProviderInput(name=given.name, version=given.version, capabilities=list(given.capabilities),
                            config_schema_json=json.dumps(dict(given.config_schema)), dev_only=given.dev_only,
                            description=given.description, changelog=given.changelog, readme=given.readme,
                            expected_sha256=dict(given.expected_sha256), smoke_config=dict(given.smoke_config))


async def _upload(head: pb.ProviderSubmission,
                  binaries: Mapping[str, AsyncIterable[bytes]]) -> AsyncIterator[pb.SubmitProviderMessage]:
    yield pb.SubmitProviderMessage(submission=head)
    for platform in head.platforms:
        async for data in binaries[platform]:
            view = memoryview(data)
            for at in range(0, len(data), CHUNK):
                yield pb.SubmitProviderMessage(chunk=pb.BinaryChunk(platform=platform, data=bytes(view[at:at + CHUNK])))


class RegistryPublishClient:
    """``RegistryPublishPort`` (the gateway's) over the registry's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._rpc = InternalClient(SERVER, address, tls, publish_api_pb2_grpc.RegistryPublishServiceStub, timeout_s,
                                   refusal)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def claim_namespace(self, org_id: str, namespace: str, display_name: str, actor: Actor) -> Publisher:
        r = await self._rpc.call("ClaimNamespace", pb.ClaimNamespaceRequest(
            org_id=org_id, actor=actor_message(actor), namespace=namespace, display_name=display_name),
            change="the organisation's namespaces")
        return publisher(r.publisher)

    async def namespaces(self, org_id: str) -> list[Publisher]:
        r = await self._rpc.call("ListNamespaces", pb.ListNamespacesRequest(org_id=org_id))
        return [publisher(p) for p in r.publishers]

    async def review_namespace(self, namespace: str, confirm: bool, reason: str, actor: Actor) -> Publisher:
        r = await self._rpc.call("ReviewNamespace", pb.ReviewNamespaceRequest(
            actor=actor_message(actor), namespace=namespace, confirm=confirm, reason=reason),
            change="the namespace claims")
        return publisher(r.publisher)

    async def pending_namespaces(self, actor: Actor) -> list[Publisher]:
        r = await self._rpc.call("ListPendingNamespaces", pb.ActorRequest(actor=actor_message(actor)))
        return [publisher(p) for p in r.publishers]

    async def submit_pack(self, org_id: str, given: PackInput, actor: Actor) -> Submission:
        r = await self._rpc.call("SubmitPack", pb.SubmitPackRequest(
            org_id=org_id, actor=actor_message(actor), pack=pack_message(given)), change="the submissions")
        return submission(r.submission)

    async def submit_provider(self, org_id: str, given: ProviderInput,
                              binaries: Mapping[str, AsyncIterable[bytes]], actor: Actor) -> Submission:
        head = pb.ProviderSubmission(org_id=org_id, actor=actor_message(actor), provider=provider_message(given),
                                     platforms=list(binaries))
        r = await self._rpc.upload("SubmitProvider", _upload(head, binaries))
        return submission(r.submission)

    async def submissions_of(self, org_id: str) -> list[Submission]:
        r = await self._rpc.call("ListSubmissions", pb.ListSubmissionsRequest(org_id=org_id))
        return [submission(s) for s in r.submissions]

    async def submission(self, submission_id: str, *, org_id: str | None, actor: Actor) -> Submission:
        r = await self._rpc.call("GetSubmission", pb.GetSubmissionRequest(
            actor=actor_message(actor), submission_id=submission_id, org_id=org_id))
        return submission(r.submission)

    async def submission_fpl(self, found: Submission) -> str:
        r = await self._rpc.call("GetSubmissionFpl", pb.GetSubmissionFplRequest(submission=submission_message(found)))
        return str(r.fpl)

    async def is_reviewer(self, actor: Actor) -> bool:
        r = await self._rpc.call("IsReviewer", pb.ActorRequest(actor=actor_message(actor)))
        return bool(r.reviewer)

    async def review_queue(self, actor: Actor) -> list[Submission]:
        r = await self._rpc.call("ReviewQueue", pb.ActorRequest(actor=actor_message(actor)))
        return [submission(s) for s in r.submissions]

    async def approve(self, submission_id: str, note: str, actor: Actor) -> Submission:
        r = await self._rpc.call("Approve", pb.ReviewSubmissionRequest(
            actor=actor_message(actor), submission_id=submission_id, text=note), change="the submission")
        return submission(r.submission)

    async def reject(self, submission_id: str, reason: str, actor: Actor) -> Submission:
        r = await self._rpc.call("Reject", pb.ReviewSubmissionRequest(
            actor=actor_message(actor), submission_id=submission_id, text=reason), change="the submission")
        return submission(r.submission)

    async def yank(self, org_id: str | None, kind: str, name: str, version: str, reason: str, actor: Actor) -> None:
        await self._rpc.call("Yank", pb.YankRequest(actor=actor_message(actor), org_id=org_id, kind=kind, name=name,
                                                    version=version, reason=reason), change="the version")

    async def my_artifacts(self, org_id: str) -> list[MyArtifact]:
        r = await self._rpc.call("MyArtifacts", pb.MyArtifactsRequest(org_id=org_id))
        return [my_artifact(a) for a in r.artifacts]

    async def file_issue(self, org_id: str, kind: str, name: str, version: str, title: str, body: str,
                         actor: Actor) -> IssueReport:
        r = await self._rpc.call("FileIssue", pb.FileIssueRequest(
            org_id=org_id, actor=actor_message(actor), kind=kind, name=name, version=version, title=title, body=body),
            change="the issue reports")
        return issue(r.issue)

    async def reply_issue(self, org_id: str, issue_id: str, body: str, actor: Actor) -> IssueReport:
        r = await self._rpc.call("ReplyIssue", pb.ReplyIssueRequest(
            org_id=org_id, actor=actor_message(actor), issue_id=issue_id, body=body), change="the issue report")
        return issue(r.issue)

    async def issues_filed(self, org_id: str) -> list[IssueReport]:
        r = await self._rpc.call("ListIssuesFiled", pb.ListIssuesFiledRequest(org_id=org_id))
        return [issue(i) for i in r.issues]


__all__ = ["RegistryPublishClient"]
