"""Home: is anything wrong right now, and what needs my attention? The attention panel
(empty = healthy), the fleet health strip (each number links to the filtered fleet view),
the activity stream (last 100 DPRs, live: the page opens ``/o/{org}/activity/events``, the
Audit live stream's server-sent events limited to the stacks Home shows, resuming after the
newest record the page was rendered with) and budget burn per stack. Without the fleet ports
(a gateway run on its own), Home shows sync state from the stack registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web import burn_charts, decision_charts, home_panels
from faramesh_cloud.gateway.web.audit_live import tail_cursor
from faramesh_cloud.gateway.web.auth import member
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_ports import maybe_fleet, pending_approvals
from faramesh_cloud.gateway.web.fleet_view import visible_stacks
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.stacks.domain import Stack

router = APIRouter(include_in_schema=False)


def sync_state(stack: Stack, now: datetime, disconnect_after_s: float) -> str:
    if stack.last_seen_at is None:
        return "never connected"
    if now - stack.last_seen_at > timedelta(seconds=disconnect_after_s):
        return "disconnected"
    return "syncing"


async def _decisions(request: Request, principal: Principal, stack_ids: list[str]) -> dict[str, Any]:
    """Decisions over time over the shown stacks whose records the member may read (nothing
    when the index is not installed or down: Home still answers)."""
    audit = web(request).audit
    if audit is None:
        return {}
    try:
        return await decision_charts.context(
            request, audit, principal.org.org_id, principal.access.stacks_with(Permission.AUDIT_RECORD_READ, stack_ids))
    except ServiceUnavailable:
        return {}


@router.get("/o/{org}/", response_class=HTMLResponse)
async def home(request: Request, principal: Principal = Depends(member)) -> Response:
    can_fleet = principal.access.allows_anywhere(Permission.FLEET_HEALTH_READ)
    wanted = request.query_params.get("stack")
    ports = maybe_fleet(request)
    if ports is not None and can_fleet:
        org_id = principal.org.org_id
        stacks = [s for s in await visible_stacks(request, principal) if not wanted or s.stack_id == wanted]
        ids = {s.stack_id for s in stacks}
        # The stream's starting point is taken before the records are read: a record indexed
        # in between is on the page and in the stream, and the page skips the repeat.
        live = getattr(request.app.state, "activity_live", False)
        try:
            after = await tail_cursor(request, principal) if live else ""
        except ServiceUnavailable:  # the audit index is down: Home without its live activity
            live, after = False, ""
        attention = await home_panels.attention_for(request, principal, stacks)
        names = {s.stack_id: s.name for s in stacks}
        return await page(request, "home_fleet.html", principal, {
            **await _decisions(request, principal, [s.stack_id for s in stacks]),
            "can_fleet": True, "total": len(stacks), "strip": home_panels.strip(stacks),
            "attention": attention, "open_items": len(attention) <= home_panels.OPEN_ITEMS,
            "attention_groups": home_panels.grouped(attention, f"/o/{principal.org.slug}", names),
            "activity": await home_panels.activity(ports, org_id, ids), "has_audit": ports.audit is not None,
            "stack_names": names,
            "live_source": (f"/o/{principal.org.slug}/activity/events?"
                            + urlencode({"after": after, **({"stack": wanted} if wanted else {})})) if live else "",
            "burn": (burn := await home_panels.burn(ports, org_id, ids)), "burn_svg": burn_charts.per_stack(burn),
            "highlight": home_panels.BURN_HIGHLIGHT,
            "approvals_hooked": pending_approvals(request, ports) is not None,
            "can_register": principal.access.allows_anywhere(Permission.ORG_STACK_MANAGE),
        }, section="home")
    deps = web(request)
    stacks_all = [s for s in await deps.stacks.list_stacks(principal.org.org_id) if s.registered]
    visible = set(principal.access.stacks_with(Permission.FLEET_HEALTH_READ, [s.stack_id for s in stacks_all]))
    now = datetime.now(UTC)
    shown = [(s, sync_state(s, now, deps.config.disconnect_after_s)) for s in stacks_all
             if s.stack_id in visible and (not wanted or s.stack_id == wanted)]
    states = [state for _, state in shown]
    health = {"total": len(shown), "connected": states.count("syncing"),
              "disconnected": states.count("disconnected"), "never": states.count("never connected")}
    return await page(request, "home.html", principal,
                      {"can_fleet": can_fleet, "shown": shown, "health": health,
                       "can_register": principal.access.allows_anywhere(Permission.ORG_STACK_MANAGE)},
                      section="home")

