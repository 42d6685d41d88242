"""Which services exist and how each is built from the platform's injected parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def audit_index(ctx: RuntimeContext) -> Service:
    from faramesh_cloud.audit_index.service import AuditIndexService

    return AuditIndexService(ctx)


def gateway(ctx: RuntimeContext) -> Service:
    from faramesh_cloud.runtime.gateway_service import GatewayService

    return GatewayService(ctx)


# Start order; stopped in reverse. `faramesh-cloud serve NAME` runs one of them alone.
SERVICES: dict[str, ServiceFactory] = {
    "audit-index": audit_index,
    "gateway": gateway,
}
