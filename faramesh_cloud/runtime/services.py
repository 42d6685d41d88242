"""Which services exist and how each is built from the platform's injected parts."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from faramesh_cloud.config import INTERNAL_APIS, Settings
from faramesh_cloud.runtime.service import Service, ServiceInfo

if TYPE_CHECKING:  # platform.py reads this catalogue (its migrations), so no import cycle at run time
    from faramesh_cloud.runtime.platform import Platform


@dataclass
class RuntimeContext:
    """What a service factory may use: the platform, plus a live view of all services."""

    platform: Platform
    started_at: str
    services: list[Service]
    # The names of every service this process runs (the runner's list; empty when a caller
    # builds services one by one): what a factory needs to know of the services started after it.
    names: tuple[str, ...] = ()

    def infos(self) -> list[ServiceInfo]:
        return [s.info() for s in self.services]


ServiceFactory = Callable[[RuntimeContext], Service]


def ingest(ctx: RuntimeContext) -> Service:
    """daemon sync channel (gRPC, TLS 1.3) and HTTP feeds (legacy Horizon feed, webhooks) onto the log"""
    from faramesh_cloud.runtime import ingest_wiring

    return ingest_wiring.service(ctx)


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


def forwarding(ctx: RuntimeContext) -> Service:
    """observability forwarding: DPRs and decision metrics to Datadog, Grafana Cloud, Splunk, Elastic, OTLP"""
    from faramesh_cloud.runtime import forwarding_wiring

    return forwarding_wiring.service(ctx, ctx.platform.settings)


def billing(ctx: RuntimeContext) -> Service:
    """billing: usage metered from the log (stacks, decisions, reports, registry storage, seats), plans, invoices"""
    from faramesh_cloud.runtime import billing_wiring

    return billing_wiring.service(ctx, ctx.platform.settings)


def compliance(ctx: RuntimeContext) -> Service:
    """compliance posture, signed PDF reports, the evidence library and auditor share links"""
    from faramesh_cloud.runtime import compliance_wiring

    return compliance_wiring.service(ctx)


def registry(ctx: RuntimeContext) -> Service:
    """registry of providers, policy packs and framework profiles (signed; the daemon API at /registry)"""
    from faramesh_cloud.runtime import registry_wiring

    return registry_wiring.service(ctx)


def gateway(ctx: RuntimeContext) -> Service:
    """web UI, REST API, and the HTTP daemon feeds at /v1 (ingest's: in process, or forwarded to it)"""
    from faramesh_cloud.runtime.gateway_service import GatewayService

    return GatewayService(ctx)


def demo_fleet(ctx: RuntimeContext) -> Service:
    """simulated daemon fleet (up --demo)"""
    from faramesh_cloud.runtime.demo_service import DemoFleetService

    return DemoFleetService(ctx)


def _always(_: Settings) -> bool:
    return True


@dataclass(frozen=True)
class ServiceSpec:
    """One service as the runtime knows it: everything a new service declares is here, in
    this file's :data:`SERVICES` (one edit), not spread over the runtime."""

    factory: ServiceFactory
    schema: str | None = None  # the package whose migrations/ create its tables (applied at start-up)
    internal_api: bool = False  # serves an internal gRPC API (its port index: config.INTERNAL_APIS)
    olap: bool = False  # reads or writes the OLAP store (a process runs none of these: no chDB opened)
    directory: bool = False  # creates or routes by the global directory (multi-region; none: not opened)
    enabled_when: Callable[[Settings], bool] = _always  # `up` runs it only when this holds
    # The shared secrets it reads (faramesh_cloud/secrets.py): `serve` refuses to start without them.
    secrets: tuple[str, ...] = ()


# Start order; stopped in reverse. `faramesh-cloud serve NAME` runs one of them alone.
SERVICES: dict[str, ServiceSpec] = {
    "ingest": ServiceSpec(ingest, schema="faramesh_cloud.ingest", directory=True),
    "audit-index": ServiceSpec(audit_index, schema="faramesh_cloud.audit_index", internal_api=True, olap=True),
    "fleet": ServiceSpec(fleet, schema="faramesh_cloud.fleet", internal_api=True, secrets=("git_key",)),
    "approvals": ServiceSpec(approvals, schema="faramesh_cloud.approvals", internal_api=True),
    "notifications": ServiceSpec(notifications, schema="faramesh_cloud.notifications", internal_api=True,
                                 secrets=("notifications_key",)),
    "forwarding": ServiceSpec(forwarding, schema="faramesh_cloud.forwarding", internal_api=True,
                              secrets=("forwarding_key",)),
    "compliance": ServiceSpec(compliance, schema="faramesh_cloud.compliance", internal_api=True,
                              secrets=("platform_signing_key", "report_signing_key", "report_signing_cert")),
    "registry": ServiceSpec(registry, schema="faramesh_cloud.registry", internal_api=True,
                            secrets=("registry_signing_key",)),
    "billing": ServiceSpec(billing, schema="faramesh_cloud.billing", internal_api=True),
    "gateway": ServiceSpec(gateway, directory=True, secrets=("web_secret", "platform_signing_key")),
    "demo": ServiceSpec(demo_fleet, enabled_when=lambda settings: settings.demo, directory=True),
}

# Services that serve an internal gRPC API, bound on Settings.internal_bind_address(name) (their
# index: config.INTERNAL_APIS); `up` checks those ports before it starts anything.
INTERNAL_API_SERVERS: frozenset[str] = frozenset(name for name, spec in SERVICES.items() if spec.internal_api)

# Services that read or write the OLAP store (chDB / ClickHouse): a process running none of
# them does not open it (`serve gateway` reads the audit index through its API).
OLAP_USERS: frozenset[str] = frozenset(name for name, spec in SERVICES.items() if spec.olap)

# Services that use the global directory of a multi-region install (they create organisations,
# people, stacks or keys, or route callers of other regions): a process running none of them
# never connects to it.
DIRECTORY_USERS: frozenset[str] = frozenset(name for name, spec in SERVICES.items() if spec.directory)


def service_schemas(names: Collection[str] | None = None) -> tuple[tuple[str, str], ...]:
    """(component, package) of the tables of ``names`` (None: every service), in start order
    (``platform.MIGRATIONS``): a process creates only the tables of the services it runs."""
    return tuple((spec.schema.rsplit(".", 1)[-1], spec.schema) for name, spec in SERVICES.items()
                 if spec.schema and (names is None or name in names))


def describe_services() -> list[tuple[str, str]]:
    """(name, what it does) of every service, in start order (for ``serve --help``)."""
    return [(name, (spec.factory.__doc__ or "").strip()) for name, spec in SERVICES.items()]


def enabled_services(settings: Settings) -> list[str]:
    """The services `faramesh-cloud up` runs with these settings, in start order."""
    return [name for name, spec in SERVICES.items() if spec.enabled_when(settings)]


def internal_binds(settings: Settings, names: list[str]) -> list[tuple[str, str]]:
    """(service, bind address) of the internal APIs ``names`` serve, by port index."""
    served = sorted((n for n in names if n in INTERNAL_API_SERVERS), key=lambda n: INTERNAL_APIS[n])
    return [(name, settings.internal_bind_address(name)) for name in served]
