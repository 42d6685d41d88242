"""``/api/v1/orgs/{org}/fleet/...``: the REST twins of Home and Fleet."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from faramesh_cloud.gateway.web import blind_minutes, config_drift, home_panels
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.gateway.web.fleet_view import (
    ListQuery,
    apply_list_query,
    load_stack,
    visible_stacks,
)
from faramesh_cloud.gateway.web.routes_fleet_agent import (
    agent_identity,
    agent_topology,
    sessions_of,
)
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/fleet", tags=["fleet"])
HEALTH = require(Permission.FLEET_HEALTH_READ)


def plain(value: Any, **extra: Any) -> dict[str, Any]:
    body = dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) \
        else dict(vars(value))
    body.update(extra)
    return body


@router.get("/stacks")
async def list_stacks(request: Request, principal: Principal = Depends(HEALTH)) -> list[dict[str, Any]]:
    """Registered stacks with status, sync state and health; same filters and sort as the page
    (environment, framework, health, sync, q, sort, dir)."""
    views = apply_list_query(await visible_stacks(request, principal), ListQuery.parse(request.query_params))
    return [plain(v) for v in views]


@router.get("/stacks/{stack_id}")
async def get_stack(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    return plain(await load_stack(request, principal, stack_id))


@router.get("/stacks/{stack_id}/blind-minutes")
async def get_blind_minutes(stack_id: str, request: Request, range: str = "24h",
                            principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """When Cloud heard from the stack's daemon over the last ``range`` (``24h`` or ``7d``): the
    blind spans (gaps longer than the disconnect threshold, to the minute) and the records that
    arrived late by catch-up, each with the creation window it came from (the strip on the
    stack's Overview and the chain-integrity page)."""
    if range not in blind_minutes.RANGES:
        raise HTTPException(400, f"range must be one of {', '.join(blind_minutes.RANGES)}, got {range!r}")
    return (await blind_minutes.for_stack(request, principal, stack_id, range)).plain()


@router.get("/stacks/{stack_id}/agents")
async def list_agents(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> list[dict[str, Any]]:
    await load_stack(request, principal, stack_id)
    return [plain(a) for a in await fleet_ports(request).query.agents(principal.org.org_id, stack_id)]


@router.get("/stacks/{stack_id}/agents/{agent_id}")
async def get_agent(stack_id: str, agent_id: str, request: Request,
                    principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """The agent's state, budgets and credentials, its last 200 DPR summaries, the sessions
    in them, and its delegation topology (who delegated to it, whom it delegated to; last 7 days)."""
    await load_stack(request, principal, stack_id)
    ports = fleet_ports(request)
    agent = await ports.query.agent(principal.org.org_id, stack_id, agent_id)
    records = (await ports.audit.agent_records(principal.org.org_id, stack_id, agent_id, 200)
               if ports.audit is not None else [])
    found = await agent_topology(ports, principal.org.org_id, stack_id, agent_id)
    return {"stack_id": stack_id, "agent_id": agent_id, "state": plain(agent) if agent else None,
            "records": [plain(r) for r in records], "sessions": sessions_of(records),
            "identity": await agent_identity(request, principal.org.org_id, records),
            "delegation": found.as_json() if found else None}


@router.get("/stacks/{stack_id}/config")
async def config(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """The Config tab: the applied configuration as the daemon reported it (with the
    governance.fms text when the daemon synced it: ``governance_fms`` is null otherwise, and
    ``governance_fms_sha256_mismatch`` says the text's SHA-256 differs from the reported
    ``governance_sha256``), its drift findings (``running_differs``, ``behind_branch``) and
    the environment's other stacks."""
    stack = await load_stack(request, principal, stack_id)
    drifts, peers = await config_drift.for_stack(fleet_ports(request), principal.org.org_id, stack,
                                                 await visible_stacks(request, principal))
    text = (await fleet_ports(request).query.config_text(principal.org.org_id, stack_id, stack.config_text_sha256)
            if stack.config_text_sha256 else None)
    return {"stack_id": stack.stack_id, "commit": stack.commit, "commit_url": stack.commit_url,
            "governance_sha256": stack.governance_sha256, "governance_fms": text.text if text else None,
            "governance_fms_sha256": text.sha256 if text else None,
            "governance_fms_sha256_mismatch": stack.config_sha_mismatch,
            "branch": stack.applied_branch, "remote": stack.applied_remote, "applied_at": stack.last_apply_at,
            "operator": stack.applied_operator, "summary": stack.applied_summary,
            "policy_version": stack.policy_version, "drift": [dataclasses.asdict(d) for d in drifts],
            "environment_peers": [{"stack_id": p.stack_id, "name": p.name, "commit": p.commit,
                                   "branch": p.applied_branch, "policy_version": p.policy_version,
                                   "applied_at": p.last_apply_at} for p in peers]}


@router.get("/stacks/{stack_id}/applies")
async def apply_history(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> list[dict[str, Any]]:
    await load_stack(request, principal, stack_id)
    return [plain(h, rollback_command=h.rollback_command)
            for h in await fleet_ports(request).query.apply_history(principal.org.org_id, stack_id)]


@router.get("/stacks/{stack_id}/config/{sha256}")
async def config_version(stack_id: str, sha256: str, request: Request,
                         principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """One governance.fms text the stack applied (its apply history's ``text_sha256``)."""
    await load_stack(request, principal, stack_id)
    text = await fleet_ports(request).query.config_text(principal.org.org_id, stack_id, sha256.lower())
    if text is None:
        raise NotFound("this stack reported no governance.fms text with that SHA-256")
    return {"stack_id": stack_id, "sha256": text.sha256, "governance_fms": text.text,
            "first_seen_at": text.first_seen_at}


@router.get("/stacks/{stack_id}/providers")
async def providers(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> list[dict[str, Any]]:
    await load_stack(request, principal, stack_id)
    return [plain(p) for p in await fleet_ports(request).query.providers(principal.org.org_id, stack_id)]


@router.get("/attention")
async def attention(request: Request, principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """Home's attention panel (empty = healthy) and health strip. ``groups``: the panel as Home
    shows it, per kind (count, red ``bad`` / yellow ``warn``, the oldest age as text, the
    filtered view) and per stack; ``items``: each item (without its age in seconds, which
    moves with the clock: the text and ``oldest`` say it to the minute)."""
    stacks = await visible_stacks(request, principal)
    items = await home_panels.attention_for(request, principal, stacks)

    def tally(t: home_panels.Tally) -> dict[str, Any]:
        return {"key": t.key, "label": t.label, "count": t.count, "bad": t.bad, "warn": t.warn,
                "oldest": t.oldest, "href": t.href}

    groups = home_panels.grouped(items, f"/o/{principal.org.slug}", {s.stack_id: s.name for s in stacks})
    return {"healthy": not items,
            "items": [{k: v for k, v in plain(i).items() if k != "age_s"} for i in items],
            "groups": [{**tally(g.kind), "stacks": [tally(t) for t in g.stacks]} for g in groups],
            "strip": home_panels.strip(stacks), "total": len(stacks)}


@router.get("/activity")
async def activity(request: Request, principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    """The last 100 DPR summaries across the stacks the caller may see (optionally ?stack=)."""
    wanted = request.query_params.get("stack")
    ids = {s.stack_id for s in await visible_stacks(request, principal) if not wanted or s.stack_id == wanted}
    records = await home_panels.activity(fleet_ports(request), principal.org.org_id, ids)
    return {"records": [plain(r) for r in records]}


@router.get("/budget-burn")
async def budget_burn(request: Request, principal: Principal = Depends(HEALTH)) -> list[dict[str, Any]]:
    ids = {s.stack_id for s in await visible_stacks(request, principal)}
    return [plain(b, used=b.used, near_ceiling=b.ceiling_usd > 0 and b.used >= home_panels.BURN_HIGHLIGHT)
            for b in await home_panels.burn(fleet_ports(request), principal.org.org_id, ids)]
