"""Shared by the Fleet pages and their API twins: which stacks a member may see, the stack
list's filters and sort, and loading one stack (404 when it is not the organisation's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request

from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.identity.domain import Forbidden, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

SORTS: Final = {
    "name": lambda s: s.name.lower(),
    "environment": lambda s: s.environment.lower(),
    "framework": lambda s: s.framework.lower(),
    "last_apply": lambda s: s.last_apply_at.timestamp() if s.last_apply_at else float("-inf"),
    "commit": lambda s: s.commit,
    "daemon_version": lambda s: s.daemon_version,
    "sync": lambda s: s.sync_status,
    "agents": lambda s: s.agent_count,
    "depth": lambda s: len(s.enforcement_layers),
    "health": lambda s: ("unhealthy", "degraded", "unknown", "healthy").index(s.health)
    if s.health in ("unhealthy", "degraded", "unknown", "healthy") else 9,
}
FILTERS: Final = ("environment", "framework", "health", "sync", "q")


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: dict[str, str]
    sort: str
    descending: bool

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        filters = {k: params[k].strip() for k in FILTERS if params.get(k, "").strip()}
        if params.get("stack"):
            filters["stack"] = params["stack"]
        sort = params.get("sort", "name")
        return cls(filters, sort if sort in SORTS else "name", params.get("dir") == "desc")


def _sort_key(view: Any, sort: str) -> Any:
    return SORTS[sort](view)


def apply_list_query(views: Sequence[Any], query: ListQuery) -> list[Any]:
    f = query.filters
    shown = [v for v in views
             if (not f.get("environment") or v.environment == f["environment"])
             and (not f.get("framework") or v.framework == f["framework"])
             and (not f.get("health") or v.health == f["health"])
             and (not f.get("sync") or v.sync_status == f["sync"])
             and (not f.get("stack") or v.stack_id == f["stack"])
             and (not f.get("q") or f["q"].lower() in v.name.lower())]
    return sorted(shown, key=lambda v: _sort_key(v, query.sort), reverse=query.descending)


async def visible_stacks(request: Request, principal: Principal) -> list[Any]:
    """The organisation's registered stacks whose fleet health this member may read."""
    views = await fleet_ports(request).query.stacks(principal.org.org_id)
    allowed = set(principal.access.stacks_with(Permission.FLEET_HEALTH_READ, [v.stack_id for v in views]))
    return [v for v in views if v.stack_id in allowed]


async def load_stack(request: Request, principal: Principal, stack_id: str) -> Any:
    """One registered stack of the organisation, for its detail pages."""
    view = await fleet_ports(request).query.stack(principal.org.org_id, stack_id)
    if view is None:
        raise NotFound(f"no stack {stack_id!r} in this organisation")
    if not principal.access.allows(Permission.FLEET_STACK_READ, stack_id):
        raise Forbidden(f"your role ({principal.access.role.label}) does not include stack details for this stack")
    return view


def uptime_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"
