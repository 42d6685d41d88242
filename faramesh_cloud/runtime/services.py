"""Which services exist and how each is built from the platform's injected parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from faramesh_cloud.config import INTERNAL_APIS, Settings
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.service import Service, ServiceInfo


@dataclass
class RuntimeContext:
    """What a service factory may use: the platform, plus a live view of all services."""

    platform: Platform
    started_at: str
    services: list[Service]

    def infos(self) -> list[ServiceInfo]:
        return [s.info() for s in self.services]


ServiceFactory = Callable[[RuntimeContext], Service]


def ingest(ctx: RuntimeContext) -> Service:
    """daemon sync channel (gRPC, TLS 1.3) onto the log"""
    from faramesh_cloud.ingest.service import IngestService
    from faramesh_cloud.runtime.approvals_wiring import daemon_control
    from faramesh_cloud.stacks.store import StackStore

    platform = ctx.platform
    return IngestService(platform.settings, platform.log, platform.db, StackStore(platform.db),
                         control=daemon_control(platform.settings))


def audit_index(ctx: RuntimeContext) -> Service:
    """DPR search index and chain integrity (reads the log into chDB/ClickHouse; internal gRPC for the gateway)"""
    from faramesh_cloud.runtime import audit_wiring

    return audit_wiring.service(ctx)


def fleet(ctx: RuntimeContext) -> Service:
    """fleet status, health, agents, budgets and apply history (internal gRPC for the gateway)"""
    from faramesh_cloud.runtime import fleet_wiring

    return fleet_wiring.service(ctx)


def approvals(ctx: RuntimeContext) -> Service:
    """approvals and emergency commands (internal gRPC on the first internal port)"""
    from faramesh_cloud.runtime import approvals_wiring

    return approvals_wiring.service(ctx, ctx.platform.settings)


def notifications(ctx: RuntimeContext) -> Service:
    """approval and chain-integrity notifications, escalation (internal gRPC for the gateway)"""
    from faramesh_cloud.runtime import notifications_wiring

    return notifications_wiring.service(ctx, ctx.platform.settings)


def gateway(ctx: RuntimeContext) -> Service:
    """web UI, REST API and the legacy HTTP daemon feeds"""
    from faramesh_cloud.runtime.gateway_service import GatewayService

    return GatewayService(ctx)


def demo_fleet(ctx: RuntimeContext) -> Service:
    """simulated daemon fleet (up --demo)"""
    from faramesh_cloud.runtime.demo_service import DemoFleetService

    return DemoFleetService(ctx)


# Start order; stopped in reverse. `faramesh-cloud serve NAME` runs one of them alone.
SERVICES: dict[str, ServiceFactory] = {
    "ingest": ingest,
    "audit-index": audit_index,
    "fleet": fleet,
    "approvals": approvals,
    "notifications": notifications,
    "gateway": gateway,
    "demo": demo_fleet,
}

# Services that serve an internal gRPC API, bound on Settings.internal_bind_address(name) (their
# index: config.INTERNAL_APIS); `up` checks those ports before it starts anything.
INTERNAL_API_SERVERS: frozenset[str] = frozenset({"approvals", "fleet", "audit-index", "notifications"})

# Services that read or write the OLAP store (chDB / ClickHouse): a process running none of
# them does not open it (`serve gateway` reads the audit index through its API).
OLAP_USERS: frozenset[str] = frozenset({"audit-index"})

# Services `up` runs only when a setting asks for them (all others always run).
ENABLED_WHEN: dict[str, Callable[[Settings], bool]] = {
    "demo": lambda settings: settings.demo,
}


def describe_services() -> list[tuple[str, str]]:
    """(name, what it does) of every service, in start order (for ``serve --help``)."""
    return [(name, (factory.__doc__ or "").strip()) for name, factory in SERVICES.items()]


def enabled_services(settings: Settings) -> list[str]:
    """The services `faramesh-cloud up` runs with these settings, in start order."""
    return [name for name in SERVICES if ENABLED_WHEN.get(name, lambda _: True)(settings)]


def internal_binds(settings: Settings, names: list[str]) -> list[tuple[str, str]]:
    """(service, bind address) of the internal APIs ``names`` serve, by port index."""
    served = sorted((n for n in names if n in INTERNAL_API_SERVERS), key=lambda n: INTERNAL_APIS[n])
    return [(name, settings.internal_bind_address(name)) for name in served]
