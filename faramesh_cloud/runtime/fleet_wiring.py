"""The fleet service and what the gateway reads of it: the service itself (its internal gRPC
API ``FleetQueryService`` bound on ``Settings.internal_bind_address("fleet")``, mutual TLS
with the fleet certificate), and Home, Fleet and Settings → Stacks composed for the gateway:
the fleet's query API as the ``FleetReads`` port, the stack registry, and the audit index's
API (``audit_wiring``: in process or gRPC) adapted to the gateway's ``FleetAudit`` port (activity stream, an agent's latest DPRs, open
chain-integrity alerts, delegation edges, policy versions in use).

``FleetReads`` is the fleet service's ``FleetQuery`` itself when that service runs in the
gateway's process (``up``: no serialisation, no socket; ARCHITECTURE.md has the measured
cost of the alternative), and otherwise ``FleetQueryClient``, the gRPC client dialling
``Settings.internal_dial_address("fleet")`` with the gateway certificate: a gateway alone
(``serve gateway``) never touches the fleet tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import FastAPI

from faramesh_cloud.audit_index.views import (
    Alert,
    ArrivalBucket,
    Delegation,
    PolicyVersionUse,
    RecordSummary,
)
from faramesh_cloud.config import Settings
from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.git_client import GitClient
from faramesh_cloud.fleet.service import FleetService, GitSettings
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, FleetReads, mount_fleet
from faramesh_cloud.gateway.web.git_ports import GitPort, mount_git
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.audit_wiring import AuditIndexReads
from faramesh_cloud.runtime.service import Service, running
from faramesh_cloud.secrets import resolve_secret
from faramesh_cloud.stacks.store import StackStore

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext


def service(ctx: RuntimeContext) -> FleetService:
    platform = ctx.platform
    settings = platform.settings
    return FleetService(platform, StackStore(platform.db, region=platform.region), settings.disconnect_after_s,
                        internal_address=settings.internal_bind_address("fleet"),
                        internal_tls=service_credentials(settings, "fleet"),
                        git=GitSettings(resolve_secret(settings, "git_key"), settings.git_poll_interval_s,
                                        settings.allow_private_destinations))


def fleet_reads(settings: Settings, services: Sequence[Service]) -> FleetReads:
    """The fleet service's own query API when it runs in this process (``services``), else
    its gRPC client (close it with :func:`release`)."""
    local = running(services, FleetService)
    if local is not None:
        return local.query
    return FleetQueryClient(settings.internal_dial_address("fleet"), service_credentials(settings, "gateway"))


async def release(reads: FleetReads) -> None:
    if isinstance(reads, FleetQueryClient):
        await reads.close()


class IndexFleetAudit:
    """The audit index's API (its own reader in process, or its gRPC client) as the gateway's
    ``FleetAudit`` port."""

    def __init__(self, index: AuditIndexReads) -> None:
        self._index = index

    async def recent(self, org_id: str, limit: int = 100) -> list[RecordSummary]:
        page = await self._index.recent(org_id, limit, None)
        return list(reversed(page.records))

    async def agent_records(self, org_id: str, stack_id: str, agent_id: str, limit: int = 200) -> list[RecordSummary]:
        page = await self._index.search(org_id, {"stack_id": stack_id, "agent_id": agent_id}, None, None, None, limit)
        return list(page.records)

    async def effect_counts(self, org_id: str, stack_id: str, agent_id: str) -> dict[str, int]:
        return await self._index.counts_by_effect(org_id, {"stack_id": stack_id, "agent_id": agent_id}, None, None)

    async def alerts(self, org_id: str) -> Sequence[Alert]:
        return await self._index.alerts(org_id)

    async def delegations(self, org_id: str, stack_id: str, since_ns: int) -> list[Delegation]:
        return await self._index.delegations(org_id, stack_id, since_ns)

    async def policy_versions(self, org_id: str, stack_ids: list[str], since_ns: int) -> list[PolicyVersionUse]:
        return await self._index.policy_versions(org_id, stack_ids, since_ns)

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> list[ArrivalBucket]:
        return await self._index.arrivals(org_id, stack_id, start_ns, end_ns, bucket_ns, late_after_ns)


def fleet_ports(stacks: StackStore, *, cloud_url: str, query: FleetReads, audit: AuditIndexReads) -> FleetPorts:
    return FleetPorts(query=query, registry=stacks, cloud_url=cloud_url, audit=IndexFleetAudit(audit))


def git_port(settings: Settings, services: Sequence[Service]) -> GitPort | None:
    """The fleet service's git integrations when it runs in this process (``up``), else
    ``GitClient`` on the fleet's internal API (``serve gateway``; close it with ``release_git``)."""
    local = running(services, FleetService)
    if local is not None:
        return local.git
    return GitClient(settings.internal_dial_address("fleet"), service_credentials(settings, "gateway"))


async def release_git(port: GitPort | None) -> None:
    if isinstance(port, GitClient):
        await port.close()


def mount(app: FastAPI, ports: FleetPorts, git: GitPort | None = None) -> None:
    mount_fleet(app, ports)
    mount_git(app, git)
