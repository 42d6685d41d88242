"""The audit index and what the gateway reads of it: the service itself (its internal gRPC APIs
``AuditQueryService`` and ``RetentionService`` bound on ``Settings.internal_bind_address("audit-index")``, mutual TLS
with the audit-index certificate), and the gateway's view of it: the ``AuditReader`` port (the
DPR explorer, chain integrity and alerts, and, adapted in ``fleet_wiring``, Home's and Fleet's
activity), the commit wake-ups its live views wait on, and retention (Settings → Retention).

Both are the running index's own objects when that service runs in the gateway's process
(``up``: its ``IndexReader`` and the signals of its one LISTEN session; no serialisation, no
socket), and otherwise (``serve gateway``) gRPC clients dialling
``Settings.internal_dial_address("audit-index")`` with the gateway certificate: a gateway alone
never touches the index's tables, its PostgreSQL channel or the OLAP store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from faramesh_cloud.audit_index.client import AuditIndexClient, CommitWatchClient
from faramesh_cloud.audit_index.retention_client import RetentionClient
from faramesh_cloud.audit_index.service import AuditIndexConfig, AuditIndexService, Role
from faramesh_cloud.audit_index.views import ArrivalBucket, Delegation, PolicyVersionUse
from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.audit_ports import AuditReader
from faramesh_cloud.gateway.web.live_feed import Commits
from faramesh_cloud.gateway.web.retention_ports import RetentionPort
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, running
from faramesh_cloud.signing.keys import platform_signing_key

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

SERVICE = "audit-index"


def index_config(settings: Settings) -> AuditIndexConfig:
    """The index's configuration from the settings: which halves this process runs
    (``audit_index_roles``) and the verifier's niceness when it runs alone."""
    return AuditIndexConfig(retention_sweep_interval_s=settings.retention_sweep_interval_s,
                            roles=frozenset(Role(r) for r in settings.audit_index_roles_set),
                            verifier_nice=settings.audit_verifier_nice)


def service(ctx: RuntimeContext) -> AuditIndexService:
    settings = ctx.platform.settings
    config = index_config(settings)
    return AuditIndexService(ctx, config, internal_address=settings.internal_bind_address(SERVICE),
                             internal_tls=service_credentials(settings, SERVICE),
                             checkpoint_key=platform_signing_key(settings))


class AuditIndexReads(AuditReader, Protocol):
    """The ``AuditReader`` port plus what Home and Fleet read of the index."""

    async def delegations(self, org_id: str, stack_id: str, since_ns: int) -> list[Delegation]: ...

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> list[ArrivalBucket]: ...

    async def policy_versions(self, org_id: str, stack_ids: Sequence[str],
                              since_ns: int) -> list[PolicyVersionUse]: ...


@dataclass(frozen=True)
class GatewayAudit:
    """The audit index as the gateway gets it: its reads, and its commits' wake-ups."""

    reader: AuditIndexReads
    commits: Commits

    def start(self) -> None:
        if isinstance(self.commits, CommitWatchClient):
            self.commits.start()

    async def release(self) -> None:
        """Close the clients (nothing of a service running in this process)."""
        if isinstance(self.commits, CommitWatchClient):
            await self.commits.stop()
        if isinstance(self.reader, AuditIndexClient):
            await self.reader.close()


def retention_port(settings: Settings, services: Sequence[Service]) -> RetentionPort:
    """The audit index's retention API when it runs in this process (``up``), else
    ``RetentionClient`` on the index's internal API (``serve gateway``; close it with
    ``release_retention``)."""
    local = running(services, AuditIndexService)
    if local is not None:
        return local.index.retention
    return RetentionClient(settings.internal_dial_address(SERVICE), service_credentials(settings, "gateway"))


async def release_retention(port: RetentionPort | None) -> None:
    if isinstance(port, RetentionClient):
        await port.close()


def gateway_audit(settings: Settings, services: Sequence[Service]) -> GatewayAudit:
    """The audit index's own reader and commit signals when it runs in this process
    (``services``), else its gRPC clients (start them with ``start``, close with ``release``)."""
    local = running(services, AuditIndexService)
    if local is not None:
        return GatewayAudit(local.reader, local.commits.signals)
    address, tls = settings.internal_dial_address(SERVICE), service_credentials(settings, "gateway")
    return GatewayAudit(AuditIndexClient(address, tls), CommitWatchClient(address, tls))
