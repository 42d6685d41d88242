"""The registry's internal gRPC API (``faramesh_cloud_api.registry.v1``, ``RegistryApiService``):
the catalog reads of :class:`~faramesh_cloud.registry.api.RegistryApi` (signatures judged for
the organisation a request names, against its trust set), an organisation's trust set
(``SetTrustedKeys``, audited) and the open pack version alerts of
:class:`~faramesh_cloud.registry.alert_reads.AlertReads`, for a gateway run apart.

This module is the edge: requests become calls (Python values), the values they return become
messages. Refusals keep their meaning on the wire: ``ValueError`` is INVALID_ARGUMENT, an
artifact or version that is not there NOT_FOUND (the in-process API answers None). Served over
mutual TLS (with publishing, ``publish_servicer.py``, on the same server); only the ``gateway``
service may call it (the organisation of an alert read is
whoever the gateway signed in and checked)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.registry.v1 import registry_api_pb2 as pb
from faramesh_cloud_api.registry.v1 import registry_api_pb2_grpc

from faramesh_cloud.registry import publish_servicer
from faramesh_cloud.registry.alert_reads import LIMIT, AlertReads, AlertView
from faramesh_cloud.registry.api import (
    ArtifactSummary,
    ImportCheck,
    RegistryApi,
    TrustKey,
    VersionDetail,
    VersionSummary,
)
from faramesh_cloud.registry.publish_api import PublishApi
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.wire import timestamp

SERVICE: Final = pb.DESCRIPTOR.services_by_name["RegistryApiService"].full_name
CALLERS: Final = frozenset({"gateway"})  # the only service that acts for people

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


# Values to messages ---------------------------------------------------------------------------
def summary_message(a: ArtifactSummary) -> pb.ArtifactSummary:
    return pb.ArtifactSummary(kind=a.kind, name=a.name, namespace=a.namespace, description=a.description,
                              category=a.category, domains=list(a.domains), trust_tier=a.trust_tier,
                              capabilities=list(a.capabilities), latest_version=a.latest_version,
                              platforms=list(a.platforms))


def version_summary_message(v: VersionSummary) -> pb.VersionSummary:
    return pb.VersionSummary(version=v.version, state=v.state, published_at=timestamp(v.published_at),
                             published_by=v.published_by, source=v.source, changelog=v.changelog, key_id=v.key_id,
                             downloads=v.downloads, yanked_at=timestamp(v.yanked_at), yank_reason=v.yank_reason)


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def version_message(d: VersionDetail) -> pb.VersionDetail:
    s = d.signature_status
    return pb.VersionDetail(
        kind=d.kind, name=d.name, version=d.version, summary=version_summary_message(d.summary),
        artifact=summary_message(d.artifact), meta_json=_json(d.meta), fpl=d.fpl, fpl_sha256=d.fpl_sha256,
        yaml=d.yaml, readme=d.readme, manifest_json=_json(d.manifest),
        binaries=[pb.BinaryInfo(platform=b.platform, sha256=b.sha256, size=b.size, signature_b64=b.signature_b64,
                                hosted=b.hosted) for b in d.binaries],
        signature_json=_json(d.signature),
        signature_status=pb.SignatureStatus(verified=s.verified, key_id=s.key_id, key_origin=s.key_origin,
                                            key_retired=s.key_retired, problem=s.problem, verdict=s.verdict),
        downloads_by_day=[pb.DayDownloads(day=day.isoformat(), count=n) for day, n in d.downloads_by_day],
        import_line=d.import_line, snippet=d.snippet)


def import_message(c: ImportCheck) -> pb.ImportCheck:
    return pb.ImportCheck(line=c.line, ref=c.ref, kind=c.kind, name=c.name, version=c.version, status=c.status,
                          reason=c.reason, key_id=c.key_id)


def key_message(k: TrustKey) -> pb.TrustKey:
    return pb.TrustKey(key_id=k.key_id, algorithm=k.algorithm, public_key_b64=k.public_key_b64, owner=k.owner,
                       origin=k.origin, purpose=k.purpose, created_at=timestamp(k.created_at),
                       retired_at=timestamp(k.retired_at), trust_snippet=k.trust_snippet, trusted=k.trusted)


def alert_message(a: AlertView) -> pb.Alert:
    return pb.Alert(alert_id=a.alert_id, stack_id=a.stack_id, kind=a.kind, name=a.name,
                    imported_version=a.imported_version, latest_version=a.latest_version, yanked=a.yanked,
                    severity=a.severity, summary=a.summary, details_url=a.details_url,
                    raised_at=timestamp(a.raised_at), handed_out=a.handed_out,
                    delivered_at=timestamp(a.delivered_at), acked_at=timestamp(a.acked_at), outcome=a.outcome,
                    message=a.message)


def _org(org_id: str) -> str:
    return servicing.org_id(org_id, ValueError)


def _org_or_none(org_id: str) -> str | None:
    """A request's optional organisation: "" judges against every listed key."""
    return _org(org_id) if org_id else None


async def _answer(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, with a refusal answered by its status and the service's message."""
    try:
        return await call()
    except ValueError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    raise AssertionError("abort raises")  # keeps type checkers informed


async def _found(context: Context, value: T | None, what: str) -> T:
    if value is None:
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no {what} in this registry")
    assert value is not None
    return value


class RegistryServicer(registry_api_pb2_grpc.RegistryApiServiceServicer):
    def __init__(self, api: RegistryApi, alerts: AlertReads) -> None:
        self._api = api
        self._alerts = alerts

    async def Search(self, request: pb.SearchRequest, context: Context) -> pb.SearchResponse:
        page = await _answer(context, lambda: self._api.search(
            request.kind, text=request.text, tier=request.tier, category=request.category,
            capability=request.capability, platform=request.platform, namespace=request.namespace,
            limit=request.limit, offset=request.offset))
        return pb.SearchResponse(items=[summary_message(a) for a in page.items], total=page.total, limit=page.limit,
                                 offset=page.offset)

    async def GetFacets(self, request: pb.GetFacetsRequest, context: Context) -> pb.GetFacetsResponse:
        found = await _answer(context, lambda: self._api.facets(request.kind))
        return pb.GetFacetsResponse(facets={k: pb.FacetValues(values=v) for k, v in found.items()})

    async def GetArtifact(self, request: pb.GetArtifactRequest, context: Context) -> pb.GetArtifactResponse:
        found = await _found(context, await _answer(context, lambda: self._api.artifact(request.kind, request.name)),
                             f"{request.kind} {request.name!r}")
        return pb.GetArtifactResponse(artifact=summary_message(found.artifact), created_at=timestamp(found.created_at),
                                      versions=[version_summary_message(v) for v in found.versions],
                                      downloads=found.downloads)

    async def GetVersion(self, request: pb.GetVersionRequest, context: Context) -> pb.GetVersionResponse:
        found = await _found(context, await _answer(context, lambda: self._api.version(
            request.kind, request.name, request.version, org_id=_org_or_none(request.org_id))),
            f"{request.kind} {request.name}@{request.version}")
        return pb.GetVersionResponse(version=version_message(found))

    async def ListTrustKeys(self, request: pb.ListTrustKeysRequest, context: Context) -> pb.ListTrustKeysResponse:
        found = await _answer(context, lambda: self._api.trust_keys(org_id=_org_or_none(request.org_id)))
        return pb.ListTrustKeysResponse(keys=[key_message(k) for k in found])

    async def CheckImports(self, request: pb.CheckImportsRequest, context: Context) -> pb.CheckImportsResponse:
        found = await _answer(context, lambda: self._api.check_imports(
            request.governance_fms, org_id=_org_or_none(request.org_id)))
        return pb.CheckImportsResponse(imports=[import_message(c) for c in found])

    async def SetTrustedKeys(self, request: pb.SetTrustedKeysRequest,
                             context: Context) -> pb.SetTrustedKeysResponse:
        found = await _answer(context, lambda: self._api.set_trusted_keys(
            _org(request.org_id), list(request.key_ids), publish_servicer.actor_of(request)))
        return pb.SetTrustedKeysResponse(keys=[key_message(k) for k in found])

    async def ListOpenAlerts(self, request: pb.ListOpenAlertsRequest,
                             context: Context) -> pb.ListOpenAlertsResponse:
        if not 0 <= request.limit <= LIMIT:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"limit must be 0 to {LIMIT}")
        found = await _answer(context, lambda: self._alerts.open_alerts(
            _org(request.org_id), request.stack_id or None, request.limit or LIMIT))
        return pb.ListOpenAlertsResponse(alerts=[alert_message(a) for a in found])


def internal_server(api: RegistryApi, alerts: AlertReads, address: str, tls: ServiceCredentials, *,
                    publish: PublishApi | None = None) -> InternalServer:
    """The registry's internal server on ``address`` (mutual TLS, ``gateway`` only): the reads,
    and publishing (``publish_servicer.py``) when ``publish`` is given."""
    def register(server: grpc.aio.Server) -> None:
        registry_api_pb2_grpc.add_RegistryApiServiceServicer_to_server(RegistryServicer(api, alerts), server)
        if publish is not None:
            publish_servicer.register(publish, server)

    callers = {SERVICE: CALLERS, **({publish_servicer.SERVICE: CALLERS} if publish is not None else {})}
    return InternalServer(tls, address, callers, register)
