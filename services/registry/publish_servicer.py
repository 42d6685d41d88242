"""The registry's publishing over its internal gRPC API (``faramesh_cloud_api.registry.v1``,
``RegistryPublishService``): :class:`~faramesh_cloud.registry.publish_api.PublishApi` for a
gateway run apart.

Refusals keep their meaning on the wire: ``PublishRefused`` (any ``ValueError``) is
INVALID_ARGUMENT, ``NotAllowed`` (a ``PermissionError``) PERMISSION_DENIED with a
``google.rpc.ErrorInfo`` (reason ``NOT_ALLOWED``: told apart from the transport's refusal of a
caller), ``Unknown`` (a ``LookupError``) NOT_FOUND. ``SubmitProvider`` writes each binary's
chunks to a scratch file (refusing one over the upload limit as it arrives) and hands the
files to the API as the gateway's upload streams would be, so no binary is held in memory."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.registry.v1 import publish_api_pb2 as pb
from faramesh_cloud_api.registry.v1 import publish_api_pb2_grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.provider_upload import ProviderInput, too_large
from faramesh_cloud.registry.publish_api import PublishApi
from faramesh_cloud.registry.publish_domain import (
    IssueReport,
    MyArtifact,
    Publisher,
    PublishRefused,
    Submission,
    SubmissionState,
)
from faramesh_cloud.registry.submissions import PackInput
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import timestamp

SERVICE: Final = pb.DESCRIPTOR.services_by_name["RegistryPublishService"].full_name
ERROR_DOMAIN: Final = "registry.internal.faramesh-cloud"
NOT_ALLOWED: Final = "NOT_ALLOWED"
CHUNK: Final = 1024 * 1024

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def publisher_message(p: Publisher) -> pb.Publisher:
    return pb.Publisher(namespace=p.namespace, org_id=p.org_id, display_name=p.display_name, state=p.state.value,
                        claimed_at=timestamp(p.claimed_at), claimed_by=p.claimed_by,
                        reviewed_at=timestamp(p.reviewed_at), reviewed_by=p.reviewed_by, reason=p.reason)


def submission_message(s: Submission) -> pb.Submission:
    return pb.Submission(
        submission_id=s.submission_id, org_id=s.org_id, kind=s.kind, name=s.name, version=s.version,
        state=s.state.value, submitted_at=timestamp(s.submitted_at), submitted_by=s.submitted_by,
        description=s.description, changelog=s.changelog, category=s.category, domains=list(s.domains),
        meta_json=_json(s.meta), body_sha256=s.body_sha256, readme_sha256=s.readme_sha256,
        manifest_json=_json(s.manifest), binaries_json=_json(s.binaries), reviewed_at=timestamp(s.reviewed_at),
        reviewed_by=s.reviewed_by, reason=s.reason)


def issue_message(i: IssueReport) -> pb.IssueReport:
    return pb.IssueReport(issue_id=i.issue_id, kind=i.kind, name=i.name, version=i.version,
                          reporter_org_id=i.reporter_org_id, reporter=i.reporter, title=i.title, body=i.body,
                          created_at=timestamp(i.created_at),
                          replies=[pb.IssueReply(reply_id=r.reply_id, author=r.author, body=r.body,
                                                 created_at=timestamp(r.created_at)) for r in i.replies])


def my_artifact_message(a: MyArtifact) -> pb.MyArtifact:
    return pb.MyArtifact(kind=a.kind, name=a.name, trust_tier=a.trust_tier, versions=[pb.VersionStats(
        version=v.version, state=v.state, published_at=timestamp(v.published_at), yanked_at=timestamp(v.yanked_at),
        yank_reason=v.yank_reason, downloads_total=v.downloads_total,
        downloads_by_day=[pb.PublishDayDownloads(day=d, count=n) for d, n in v.downloads_by_day],
        used_by=pb.StackUse(own_stack_ids=list(v.used_by.own_stack_ids),
                            other_orgs_stacks=v.used_by.other_orgs_stacks)) for v in a.versions],
        submissions=[submission_message(s) for s in a.submissions], issues=[issue_message(i) for i in a.issues])


def _object(text: str, what: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        raise PublishRefused(f"{what} is not JSON") from None
    if not isinstance(found, dict):
        raise PublishRefused(f"{what} is a JSON object")
    return found


def pack_input(m: pb.PackInput) -> PackInput:
    return PackInput(kind=m.kind, name=m.name, version=m.version, fpl=m.fpl, readme=m.readme, changelog=m.changelog,
                     description=m.description, category=m.category, domains=tuple(m.domains),
                     parameter_schema=_object(m.parameter_schema_json, "parameter_schema_json"),
                     signature=_object(m.signature_json, "signature_json"))


def provider_input(m: pb.ProviderInput) -> ProviderInput:
    return ProviderInput(name=m.name, version=m.version, capabilities=tuple(m.capabilities),
                         config_schema=_object(m.config_schema_json, "config_schema_json") or {},
                         dev_only=m.dev_only, description=m.description, changelog=m.changelog, readme=m.readme,
                         expected_sha256=dict(m.expected_sha256), smoke_config=dict(m.smoke_config))


def submission_value(m: pb.Submission) -> Submission:
    """A submission as the gateway sent it back (GetSubmissionFpl reads its body by its digest)."""
    return Submission(m.submission_id, m.org_id, m.kind, m.name, m.version, SubmissionState(m.state or "pending"),
                      m.submitted_at.ToDatetime(), m.submitted_by, m.description, m.changelog, m.category,
                      tuple(m.domains), {}, m.body_sha256 if m.HasField("body_sha256") else None, None, None, {}, None,
                      m.reviewed_by, m.reason)


def _org(org_id: str) -> str:
    return servicing.org_id(org_id, PublishRefused)


def _actor(request: Any) -> Actor:
    return servicing.actor(request, PublishRefused)


actor_of = _actor  # the same reading, for the registry's read servicer (SetTrustedKeys)


def not_allowed_trailer(message: str) -> tuple[tuple[str, bytes], ...]:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=NOT_ALLOWED, domain=ERROR_DOMAIN))
    status = status_pb2.Status(code=grpc.StatusCode.PERMISSION_DENIED.value[0], message=message, details=[info])
    return ((DETAILS_KEY, status.SerializeToString()),)


def _text(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


async def _answer(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except PermissionError as exc:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, _text(exc), trailing_metadata=not_allowed_trailer(
            _text(exc)))
    except LookupError as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, _text(exc) or "not found")
    except ValueError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _text(exc))
    raise AssertionError("abort raises")


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while data := await asyncio.to_thread(f.read, CHUNK):
            yield data
    finally:
        await asyncio.to_thread(f.close)


class PublishServicer(publish_api_pb2_grpc.RegistryPublishServiceServicer):
    def __init__(self, api: PublishApi) -> None:
        self._api = api

    async def ClaimNamespace(self, request: pb.ClaimNamespaceRequest, context: Context) -> pb.PublisherResponse:
        found = await _answer(context, lambda: self._api.claim_namespace(
            _org(request.org_id), request.namespace, request.display_name, _actor(request)))
        return pb.PublisherResponse(publisher=publisher_message(found))

    async def ListNamespaces(self, request: pb.ListNamespacesRequest, context: Context) -> pb.PublishersResponse:
        found = await _answer(context, lambda: self._api.namespaces(_org(request.org_id)))
        return pb.PublishersResponse(publishers=[publisher_message(p) for p in found])

    async def ReviewNamespace(self, request: pb.ReviewNamespaceRequest, context: Context) -> pb.PublisherResponse:
        found = await _answer(context, lambda: self._api.review_namespace(
            request.namespace, request.confirm, request.reason, _actor(request)))
        return pb.PublisherResponse(publisher=publisher_message(found))

    async def ListPendingNamespaces(self, request: pb.ActorRequest, context: Context) -> pb.PublishersResponse:
        found = await _answer(context, lambda: self._api.pending_namespaces(_actor(request)))
        return pb.PublishersResponse(publishers=[publisher_message(p) for p in found])

    async def SubmitPack(self, request: pb.SubmitPackRequest, context: Context) -> pb.SubmissionResponse:
        found = await _answer(context, lambda: self._api.submit_pack(
            _org(request.org_id), pack_input(request.pack), _actor(request)))
        return pb.SubmissionResponse(submission=submission_message(found))

    async def SubmitProvider(self, request_iterator: AsyncIterator[pb.SubmitProviderMessage],
                             context: Context) -> pb.SubmissionResponse:
        directory = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="registry-upload-"))
        try:
            head, files = await _answer(context, lambda: self._receive(request_iterator, directory))
            binaries = {platform: _file_chunks(path) for platform, path in files.items()}
            found = await _answer(context, lambda: self._api.submit_provider(
                _org(head.org_id), provider_input(head.provider), binaries, _actor(head)))
            return pb.SubmissionResponse(submission=submission_message(found))
        finally:
            await asyncio.to_thread(shutil.rmtree, directory, True)

    async def _receive(self, messages: AsyncIterator[pb.SubmitProviderMessage],
                       directory: Path) -> tuple[pb.ProviderSubmission, dict[str, Path]]:
        """The submission (first message) and each binary written to a scratch file, in order."""
        limit = self._api.limits.max_binary_bytes
        head: pb.ProviderSubmission | None = None
        files: dict[str, Path] = {}
        order: list[str] = []
        out: BinaryIO | None = None
        current, size = "", 0
        try:
            async for message in messages:
                if message.WhichOneof("part") == "submission":
                    if head is not None:
                        raise PublishRefused("a provider submission has one submission message, the first")
                    head = message.submission
                    order = list(head.platforms)
                    if len(set(order)) != len(order):
                        raise PublishRefused("each platform's binary is sent once")
                    continue
                if head is None:
                    raise PublishRefused("the first message of SubmitProvider is the submission")
                platform = message.chunk.platform
                if platform != current:
                    if platform in files or platform not in order or order.index(platform) < len(files):
                        raise PublishRefused(f"binary for {platform!r} out of order: send {', '.join(order)} in turn")
                    if out is not None:
                        await asyncio.to_thread(out.close)
                    for skipped in order[len(files):order.index(platform)]:  # sent no bytes: empty
                        files[skipped] = directory / f"{len(files)}.bin"
                        await asyncio.to_thread(files[skipped].write_bytes, b"")
                    files[platform] = directory / f"{len(files)}.bin"
                    out = await asyncio.to_thread(files[platform].open, "wb")
                    current, size = platform, 0
                size += len(message.chunk.data)
                if size > limit:
                    raise PublishRefused(too_large(platform, limit))
                assert out is not None
                await asyncio.to_thread(out.write, message.chunk.data)
        finally:
            if out is not None:
                await asyncio.to_thread(out.close)
        if head is None:
            raise PublishRefused("the first message of SubmitProvider is the submission")
        for platform in order:
            if platform not in files:
                files[platform] = directory / f"{len(files)}.bin"
                await asyncio.to_thread(files[platform].write_bytes, b"")  # an empty upload, refused by the API
        return head, files

    async def ListSubmissions(self, request: pb.ListSubmissionsRequest, context: Context) -> pb.SubmissionsResponse:
        found = await _answer(context, lambda: self._api.submissions_of(_org(request.org_id)))
        return pb.SubmissionsResponse(submissions=[submission_message(s) for s in found])

    async def GetSubmission(self, request: pb.GetSubmissionRequest, context: Context) -> pb.SubmissionResponse:
        org = _org(request.org_id) if request.HasField("org_id") else None
        found = await _answer(context, lambda: self._api.submission(request.submission_id, org_id=org,
                                                                    actor=_actor(request)))
        return pb.SubmissionResponse(submission=submission_message(found))

    async def GetSubmissionFpl(self, request: pb.GetSubmissionFplRequest,
                               context: Context) -> pb.GetSubmissionFplResponse:
        found = await _answer(context, lambda: self._api.submission_fpl(submission_value(request.submission)))
        return pb.GetSubmissionFplResponse(fpl=found)

    async def IsReviewer(self, request: pb.ActorRequest, context: Context) -> pb.IsReviewerResponse:
        found = await _answer(context, lambda: self._api.is_reviewer(_actor(request)))
        return pb.IsReviewerResponse(reviewer=found)

    async def ReviewQueue(self, request: pb.ActorRequest, context: Context) -> pb.SubmissionsResponse:
        found = await _answer(context, lambda: self._api.review_queue(_actor(request)))
        return pb.SubmissionsResponse(submissions=[submission_message(s) for s in found])

    async def Approve(self, request: pb.ReviewSubmissionRequest, context: Context) -> pb.SubmissionResponse:
        found = await _answer(context, lambda: self._api.approve(request.submission_id, request.text,
                                                                 _actor(request)))
        return pb.SubmissionResponse(submission=submission_message(found))

    async def Reject(self, request: pb.ReviewSubmissionRequest, context: Context) -> pb.SubmissionResponse:
        found = await _answer(context, lambda: self._api.reject(request.submission_id, request.text, _actor(request)))
        return pb.SubmissionResponse(submission=submission_message(found))

    async def Yank(self, request: pb.YankRequest, context: Context) -> pb.YankResponse:
        org = _org(request.org_id) if request.HasField("org_id") else None
        await _answer(context, lambda: self._api.yank(org, request.kind, request.name, request.version,
                                                      request.reason, _actor(request)))
        return pb.YankResponse()

    async def MyArtifacts(self, request: pb.MyArtifactsRequest, context: Context) -> pb.MyArtifactsResponse:
        found = await _answer(context, lambda: self._api.my_artifacts(_org(request.org_id)))
        return pb.MyArtifactsResponse(artifacts=[my_artifact_message(a) for a in found])

    async def FileIssue(self, request: pb.FileIssueRequest, context: Context) -> pb.IssueResponse:
        found = await _answer(context, lambda: self._api.file_issue(
            _org(request.org_id), request.kind, request.name, request.version, request.title, request.body,
            _actor(request)))
        return pb.IssueResponse(issue=issue_message(found))

    async def ReplyIssue(self, request: pb.ReplyIssueRequest, context: Context) -> pb.IssueResponse:
        found = await _answer(context, lambda: self._api.reply_issue(_org(request.org_id), request.issue_id,
                                                                     request.body, _actor(request)))
        return pb.IssueResponse(issue=issue_message(found))

    async def ListIssuesFiled(self, request: pb.ListIssuesFiledRequest, context: Context) -> pb.IssuesResponse:
        found = await _answer(context, lambda: self._api.issues_filed(_org(request.org_id)))
        return pb.IssuesResponse(issues=[issue_message(i) for i in found])


def register(api: PublishApi, server: grpc.aio.Server) -> None:
    publish_api_pb2_grpc.add_RegistryPublishServiceServicer_to_server(PublishServicer(api), server)


