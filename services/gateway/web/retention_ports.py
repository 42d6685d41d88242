"""What Settings → Retention uses: a port the composition root fills with the audit index's
``RetentionApi`` (in process under ``up``) or ``RetentionClient`` (its internal gRPC API, when
the gateway runs apart: ``serve gateway``; the index down is a 503). Refusals raise ``ValueError`` (``RetentionRefused`` below a declared
framework's minimum, with the citation). Owner and Admin: ``org:retention:manage``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import mounted_port
from faramesh_cloud.platform_audit.events import Actor


class RetentionPort(Protocol):
    async def status(self, org_id: str) -> Any: ...

    async def set_retention(self, org_id: str, days: int, actor: Actor, *, stack_id: str = "") -> None: ...

    async def clear_stack_retention(self, org_id: str, stack_id: str, actor: Actor) -> None: ...

    async def set_hold(self, org_id: str, stack_id: str, actor: Actor, *, held: bool, reason: str = "") -> None: ...

    async def dry_run(self, org_id: str, *, days: int | None = None, stack_id: str = "") -> Any: ...

    async def sweep_now(self, org_id: str, actor: Actor) -> Any: ...


def mount_retention(app: FastAPI, port: RetentionPort | None) -> None:
    """Add Settings → Retention and its API twin (``port`` None: they answer that retention
    does not run on this instance)."""
    from faramesh_cloud.gateway.api import retention as api_retention
    from faramesh_cloud.gateway.web import routes_retention

    app.state.retention = port
    for router in (routes_retention.router, api_retention.router):
        app.include_router(router)


def retention_port(request: Request) -> RetentionPort:
    port: RetentionPort = mounted_port(request, "retention", "retention (the audit index) is")
    return port


def _month(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def plan_json(plan: Any) -> dict[str, Any]:
    nxt = plan.next
    return {
        "removes": [{"month": _month(d.month), "records": d.partition.records, "summaries": d.partition.summaries,
                     "stacks": sorted(d.partition.stacks), "why": d.why} for d in plan.dropped],
        "keeps": [{"month": _month(d.month), "records": d.partition.records, "summaries": d.partition.summaries,
                   "stacks": sorted(d.partition.stacks), "why": d.why, "due_at": _at(d.due_at)} for d in plan.kept],
        "next": None if nxt is None else {"month": _month(nxt.month), "due_at": _at(nxt.due_at)},
    }


def status_json(status: Any) -> dict[str, Any]:
    minimum = status.minimum
    return {
        "days": status.policies.org_days,
        "stacks": dict(status.policies.stack_days),
        "legal_holds": dict(status.policies.holds),
        "frameworks": list(status.frameworks),
        "minimum": None if minimum is None else {"framework": minimum.framework, "name": minimum.name,
                                                 "days": minimum.days, "citation": minimum.citation},
        "last_run": _at(status.last_run),
        "next_run": _at(status.next_run),
        "plan": plan_json(status.plan),
        "sweeps": [{"sweep_id": s.sweep_id, "ran_at": _at(s.ran_at), "months": [_month(m) for m in s.months],
                    "records": s.records, "summaries": s.summaries, "chains": s.chains} for s in status.sweeps],
    }
