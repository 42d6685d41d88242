"""The registry's internal gRPC client: the gateway's ``RegistryPort`` and pack alert reads over
``faramesh_cloud_api.registry.v1.RegistryApiService``, over mutual TLS with the caller's own
service certificate (the registry admits only ``gateway``).

It answers exactly as :class:`~faramesh_cloud.registry.api.RegistryApi` and
:class:`~faramesh_cloud.registry.alert_reads.AlertReads` do, with the same values
(``ArtifactPage``, ``ArtifactDetail``, ``VersionDetail``, ``TrustKey``, ``ImportCheck``,
``AlertView``; signatures judged for the ``org_id`` given, and ``set_trusted_keys`` editing an
organisation's trust set) and the same refusals (``tests/contracts/test_registry_api_contract.py`` holds
both to one suite): ``ValueError`` (INVALID_ARGUMENT), None for an artifact or version that is
not there (NOT_FOUND). A version's rule preview and configuration checklist are derived here
from its FPL and meta with the same FPL kernel the service uses. When the service is down,
unreachable, slow or refuses the caller: :class:`~faramesh_cloud.rpc.errors.ServiceUnavailable`
(the gateway answers 503)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Final

import grpc
import grpc.aio
from faramesh_cloud_api.registry.v1 import registry_api_pb2 as pb
from faramesh_cloud_api.registry.v1 import registry_api_pb2_grpc

from faramesh_cloud.fpl.preview import config_checklist, pack_preview
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.alert_reads import LIMIT, AlertView
from faramesh_cloud.registry.api import (
    ArtifactDetail,
    ArtifactPage,
    ArtifactSummary,
    BinaryInfo,
    ImportCheck,
    SignatureStatus,
    TrustKey,
    VersionDetail,
    VersionSummary,
)
from faramesh_cloud.registry.publish_client import actor_message
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "registry"  # the identity the server's certificate must carry


class _NotThere(Exception):
    """NOT_FOUND: the in-process API's None."""


def refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
    code, message = exc.code(), exc.details() or "the registry refused the request"
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return ValueError(message)
    if code == grpc.StatusCode.NOT_FOUND:
        return _NotThere(message)
    return None


def _at(m: Any, name: str) -> dt.datetime:
    found = moment(m, name)
    if found is None:
        raise ValueError(f"the registry sent a {type(m).__name__} without {name}")
    return found


def _opt(m: Any, name: str) -> str | None:
    return getattr(m, name) if m.HasField(name) else None


def summary(m: pb.ArtifactSummary) -> ArtifactSummary:
    return ArtifactSummary(m.kind, m.name, m.namespace, m.description, m.category, tuple(m.domains), m.trust_tier,
                           tuple(m.capabilities), m.latest_version, tuple(m.platforms))


def version_summary(m: pb.VersionSummary) -> VersionSummary:
    return VersionSummary(m.version, m.state, _at(m, "published_at"), m.published_by, m.source, m.changelog,
                          m.key_id, m.downloads, moment(m, "yanked_at"), m.yank_reason)


def version_detail(m: pb.VersionDetail) -> VersionDetail:
    s = m.signature_status
    meta: dict[str, Any] = json.loads(m.meta_json or "{}")
    fpl = _opt(m, "fpl")
    return VersionDetail(
        m.kind, m.name, m.version, version_summary(m.summary), summary(m.artifact), meta, fpl, _opt(m, "fpl_sha256"),
        _opt(m, "yaml"), _opt(m, "readme"), json.loads(m.manifest_json) if m.manifest_json else None,
        tuple(BinaryInfo(b.platform, b.sha256, b.size, b.signature_b64, b.hosted) for b in m.binaries),
        json.loads(m.signature_json or "{}"),
        SignatureStatus(s.verified, s.key_id, s.key_origin, s.key_retired, s.problem, s.verdict),
        tuple((dt.date.fromisoformat(d.day), d.count) for d in m.downloads_by_day), m.import_line, m.snippet,
        tuple(config_checklist(meta)), pack_preview(fpl) if fpl is not None else None)


def trust_key(m: pb.TrustKey) -> TrustKey:
    return TrustKey(m.key_id, m.algorithm, m.public_key_b64, m.owner, m.origin, m.purpose, _at(m, "created_at"),
                    moment(m, "retired_at"), m.trust_snippet, m.trusted)


def alert(m: pb.Alert) -> AlertView:
    return AlertView(m.alert_id, m.stack_id, m.kind, m.name, m.imported_version, m.latest_version, m.yanked,
                     m.severity, m.summary, m.details_url, _at(m, "raised_at"), m.handed_out,
                     moment(m, "delivered_at"), moment(m, "acked_at"), m.outcome, m.message)


class RegistryClient:
    """``RegistryPort`` and ``PackAlertReads`` (the gateway's) over the registry's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._rpc = InternalClient(SERVER, address, tls, registry_api_pb2_grpc.RegistryApiServiceStub, timeout_s,
                                   refusal)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def search(self, kind: str = "", *, text: str = "", tier: str = "", category: str = "",
                     capability: str = "", platform: str = "", namespace: str = "", limit: int = 50,
                     offset: int = 0) -> ArtifactPage:
        r = await self._rpc.call("Search", pb.SearchRequest(
            kind=kind, text=text, tier=tier, category=category, capability=capability, platform=platform,
            namespace=namespace, limit=limit, offset=offset))
        return ArtifactPage(tuple(summary(a) for a in r.items), r.total, r.limit, r.offset)

    async def facets(self, kind: str) -> dict[str, list[str]]:
        r = await self._rpc.call("GetFacets", pb.GetFacetsRequest(kind=kind))
        return {k: list(v.values) for k, v in r.facets.items()}

    async def artifact(self, kind: str, name: str) -> ArtifactDetail | None:
        try:
            r = await self._rpc.call("GetArtifact", pb.GetArtifactRequest(kind=str(kind), name=name))
        except _NotThere:
            return None
        return ArtifactDetail(summary(r.artifact), _at(r, "created_at"), tuple(version_summary(v) for v in r.versions),
                              r.downloads)

    async def version(self, kind: str, name: str, version: str, *, org_id: str | None = None
                      ) -> VersionDetail | None:
        try:
            r = await self._rpc.call("GetVersion", pb.GetVersionRequest(kind=str(kind), name=name, version=version,
                                                                        org_id=org_id or ""))
        except _NotThere:
            return None
        return version_detail(r.version)

    async def trust_keys(self, *, org_id: str | None = None) -> tuple[TrustKey, ...]:
        r = await self._rpc.call("ListTrustKeys", pb.ListTrustKeysRequest(org_id=org_id or ""))
        return tuple(trust_key(k) for k in r.keys)

    async def check_imports(self, governance_fms: str, *, org_id: str | None = None) -> tuple[ImportCheck, ...]:
        r = await self._rpc.call("CheckImports", pb.CheckImportsRequest(governance_fms=governance_fms,
                                                                        org_id=org_id or ""))
        return tuple(ImportCheck(c.line, c.ref, c.kind, c.name, c.version, c.status, c.reason, c.key_id)
                     for c in r.imports)

    async def set_trusted_keys(self, org_id: str, key_ids: Iterable[str], actor: Actor) -> tuple[TrustKey, ...]:
        """Replace ``org_id``'s trust set (audited by the registry); ``ValueError`` naming a bad key."""
        r = await self._rpc.call("SetTrustedKeys", pb.SetTrustedKeysRequest(
            org_id=org_id, actor=actor_message(actor), key_ids=list(key_ids)))
        return tuple(trust_key(k) for k in r.keys)

    async def open_alerts(self, org_id: str, stack_id: str | None = None, limit: int = LIMIT) -> list[AlertView]:
        r = await self._rpc.call("ListOpenAlerts", pb.ListOpenAlertsRequest(
            org_id=org_id, stack_id=stack_id or "", limit=limit))
        return [alert(a) for a in r.alerts]
