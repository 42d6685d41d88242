"""What Settings → Integrations → External observability uses: a port the composition root
fills with the forwarding service's API (in process under ``up``). Values come back as
objects read by attribute. Refusals raise ``ValueError`` with a ``code`` (``invalid``,
``conflict``); unknown ids raise ``LookupError``. Admin only: ``org:integration:manage``
(Owner, Admin)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import mounted_port
from faramesh_cloud.platform_audit.events import Actor


class ForwardingPort(Protocol):
    kinds: Sequence[Any]
    labels: Mapping[Any, str]

    async def destinations(self, org_id: str) -> Sequence[Any]: ...

    async def destination(self, org_id: str, destination_id: str) -> Any: ...

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any], actor: Actor, *,
                                 forward_dprs: bool = True, forward_metrics: bool = True) -> Any: ...

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Any: ...

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str: ...

    async def deliveries(self, org_id: str, *, limit: int = 50) -> Sequence[Any]: ...

    async def backlog(self, org_id: str) -> Mapping[str, int]: ...


def mount_forwarding(app: FastAPI, port: ForwardingPort | None) -> None:
    """Add Settings → Integrations → External observability and its API twin (``port`` None:
    the pages answer that forwarding does not run on this instance)."""
    from faramesh_cloud.gateway.api import forwarding as api_forwarding
    from faramesh_cloud.gateway.web import routes_forwarding

    app.state.forwarding = port
    for router in (routes_forwarding.router, api_forwarding.router):
        app.include_router(router)


def forwarding_port(request: Request) -> ForwardingPort:
    port: ForwardingPort = mounted_port(request, "forwarding", "observability forwarding is")
    return port


def destination_json(d: Any) -> dict[str, Any]:
    return {"destination_id": d.destination_id, "name": d.name, "kind": str(d.kind), "config": d.config,
            "forward_dprs": d.forward_dprs, "forward_metrics": d.forward_metrics, "created_at": d.created_at,
            "created_by": d.created_by}


def delivery_json(line: Any) -> dict[str, Any]:
    return {"destination_id": line.destination_id, "destination": line.destination, "at": line.at,
            "items": line.items, "outcome": line.outcome, "attempts": line.attempts,
            "http_status": line.http_status, "error": line.error}
