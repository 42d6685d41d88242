"""Home: the organisation's entry page (fleet health for now; the attention panel, activity
stream and budget burn arrive with the services that own that data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.auth import member
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.stacks.domain import Stack

router = APIRouter(include_in_schema=False)


def sync_state(stack: Stack, now: datetime, disconnect_after_s: float) -> str:
    if stack.last_seen_at is None:
        return "never connected"
    if now - stack.last_seen_at > timedelta(seconds=disconnect_after_s):
        return "disconnected"
    return "syncing"


@router.get("/o/{org}/", response_class=HTMLResponse)
async def home(request: Request, principal: Principal = Depends(member)) -> Response:
    deps = web(request)
    can_fleet = principal.access.allows_anywhere(Permission.FLEET_HEALTH_READ)
    stacks = [s for s in await deps.stacks.list_stacks(principal.org.org_id) if s.registered]
    visible = set(principal.access.stacks_with(Permission.FLEET_HEALTH_READ, [s.stack_id for s in stacks]))
    wanted = request.query_params.get("stack")
    now = datetime.now(UTC)
    shown = [(s, sync_state(s, now, deps.config.disconnect_after_s)) for s in stacks
             if s.stack_id in visible and (not wanted or s.stack_id == wanted)]
    states = [state for _, state in shown]
    health = {"total": len(shown), "connected": states.count("syncing"),
              "disconnected": states.count("disconnected"), "never": states.count("never connected")}
    return await page(request, "home.html", principal,
                      {"can_fleet": can_fleet, "shown": shown, "health": health}, section="home")
