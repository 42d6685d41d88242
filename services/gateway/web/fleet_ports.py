"""What Home, Fleet and Settings → Stacks read, as ports the composition root fills.

The gateway imports no service: the runtime hands ``mount_fleet`` a :class:`FleetPorts`
whose ``query`` is the fleet service's query API (in process, or its gRPC client when the
fleet service runs elsewhere; both pass ``tests/contracts/test_fleet_query_contract.py``),
whose ``audit`` adapts the audit index (activity stream, an agent's recent DPRs,
chain-integrity alerts), and whose ``approvals`` will list pending approvals once that
service exists. Values come back as objects read by attribute (the services' view
dataclasses). Every method takes ``org_id`` first and reads only that organisation. A port
whose service does not answer raises ``rpc.errors.ServiceUnavailable``: the page or REST
call is answered 503 with a message (``web/setup.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import NavSection, WebDeps
from faramesh_cloud.identity.domain import NotFound
from faramesh_cloud.identity.permissions import Permission

FLEET_SECTION = NavSection("fleet", "Fleet", "/fleet", (Permission.FLEET_HEALTH_READ,))


class FleetReads(Protocol):
    async def stacks(self, org_id: str, now: datetime | None = None) -> Sequence[Any]: ...

    async def stack(self, org_id: str, stack_id: str, now: datetime | None = None) -> Any | None: ...

    async def agents(self, org_id: str, stack_id: str) -> Sequence[Any]: ...

    async def agent(self, org_id: str, stack_id: str, agent_id: str) -> Any | None: ...

    async def apply_history(self, org_id: str, stack_id: str) -> Sequence[Any]: ...

    async def config_text(self, org_id: str, stack_id: str, sha256: str) -> Any | None: ...

    async def providers(self, org_id: str, stack_id: str) -> Sequence[Any]: ...

    async def budgets_near_ceiling(self, org_id: str, within: float = 0.10) -> Sequence[Any]: ...

    async def credentials_expiring(self, org_id: str, now: datetime | None = None,
                                   within: timedelta = timedelta(hours=24)) -> Sequence[Any]: ...

    async def budget_burn(self, org_id: str) -> Sequence[Any]: ...

    async def contact(self, org_id: str, stack_id: str, start_ns: int, end_ns: int) -> Sequence[Any]:
        """The minutes (``minute_ns``, ``items``) in which Cloud heard from the stack's daemon."""
        ...


class FleetAudit(Protocol):
    async def recent(self, org_id: str, limit: int = 100) -> Sequence[Any]:
        """The organisation's most recently indexed DPR summaries, newest first."""
        ...

    async def agent_records(self, org_id: str, stack_id: str, agent_id: str, limit: int = 200) -> Sequence[Any]:
        """One agent's latest DPR summaries, newest first."""
        ...

    async def effect_counts(self, org_id: str, stack_id: str, agent_id: str) -> Mapping[str, int]:
        """How many of the agent's indexed DPRs have each effect (PERMIT, DENY, DEFER, ...)."""
        ...

    async def alerts(self, org_id: str) -> Sequence[Any]:
        """Open critical chain-integrity alerts (``stack_id``, ``agent_id``, ``kind``, ``message``...)."""
        ...

    async def delegations(self, org_id: str, stack_id: str, since_ns: int) -> Sequence[Any]:
        """The stack's delegation edges since ``since_ns`` (``parent``, ``child``, ``records``,
        ``last_at``, ``last_record_id``, ``parent_on_stack``), from the DPRs' ``invoked_by_agent_id``."""
        ...

    async def policy_versions(self, org_id: str, stack_ids: list[str], since_ns: int) -> Sequence[Any]:
        """Per stack, the policy versions of its records created since ``since_ns``
        (``stack_id``, ``policy_version``, ``records``, ``last_at``, ``last_record_id``)."""
        ...

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> Sequence[Any]:
        """The stack's records by reception time (``start_ns``, ``received``, ``late``,
        ``late_first_ns``, ``late_last_ns``): the blind-minutes strip's late arrivals."""
        ...


class StackRegistry(Protocol):
    """Settings → Stacks (``StackStore`` satisfies it)."""

    async def list_stacks(self, org_id: str) -> Sequence[Any]: ...

    async def register_stack(self, org_id: str, name: str, environment: str = "") -> tuple[Any, str]: ...

    async def set_environment(self, org_id: str, stack_id: str, environment: str) -> Any: ...

    async def rotate_key(self, org_id: str, stack_id: str, overlap_s: float) -> str: ...

    async def deregister_stack(self, org_id: str, stack_id: str) -> Any: ...

    async def list_keys(self, org_id: str, stack_id: str) -> Sequence[Any]: ...

    @property
    def signing_keys(self) -> Any:
        """Pinned DPR signing keys (``stacks.signing_keys.SigningKeyStore``)."""
        ...


class PendingApprovals(Protocol):
    """The approvals service's queue (the Approvals section's port satisfies it)."""

    async def pending(self, org_id: str, *, stacks: Collection[str] | None = None) -> Sequence[Any]:
        """Pending approvals, oldest first (``approval_id``, ``stack_id``, ``agent_id``, ``tool_id``,
        ``pending_s``)."""
        ...


@dataclass(frozen=True)
class FleetPorts:
    query: FleetReads
    registry: StackRegistry
    cloud_url: str  # what a daemon puts in runtime { cloud_url = ... }
    audit: FleetAudit | None = None
    # Hook for pending approvals on Home; None: Home uses the Approvals section's port when it
    # is mounted (app.state.approvals), and lists no pending approvals when it is not.
    approvals: PendingApprovals | None = None
    # The fleet's git integrations (``git_ports.GitPort``; set by ``mount_git``): drift against
    # the main branch on the Config tab and Home. None: git is not connected on this instance.
    git: Any = None


def mount_fleet(app: FastAPI, ports: FleetPorts) -> None:
    """Add Home's fleet panels, the Fleet section, Settings → Stacks and their API twins."""
    from faramesh_cloud.gateway.api import fleet as api_fleet
    from faramesh_cloud.gateway.api import stacks as api_stacks
    from faramesh_cloud.gateway.web import routes_fleet, routes_fleet_agent, routes_stacks

    app.state.fleet = ports
    deps: WebDeps = app.state.web
    if FLEET_SECTION not in deps.sections:
        app.state.web = dataclasses.replace(deps, sections=(FLEET_SECTION, *deps.sections))
    for router in (routes_fleet.router, routes_fleet_agent.router, routes_stacks.router, api_fleet.router,
                   api_stacks.router):
        app.include_router(router)
    if ports.audit is not None and app.state.web.audit is not None:
        from faramesh_cloud.gateway.web import routes_activity_live

        app.state.activity_live = True  # Home's activity stream is pushed, not polled
        app.include_router(routes_activity_live.router)


def fleet_ports(request: Request) -> FleetPorts:
    ports: FleetPorts | None = getattr(request.app.state, "fleet", None)
    if ports is None:
        raise NotFound("fleet visibility is not running on this Cloud instance")
    return ports


def pending_approvals(request: Request, ports: FleetPorts) -> PendingApprovals | None:
    found: PendingApprovals | None = ports.approvals or getattr(request.app.state, "approvals", None)
    return found


def maybe_fleet(request: Request) -> FleetPorts | None:
    ports: FleetPorts | None = getattr(request.app.state, "fleet", None)
    return ports
