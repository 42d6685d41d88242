"""Home's activity stream, live: the Audit live stream's server-sent events
(:func:`faramesh_cloud.gateway.web.audit_live.sse`, a viewer of the organisation's shared
feed) limited to the stacks Home shows the member when the stream opens. Mounted by
``mount_fleet`` when the fleet view has the DPR index and the gateway has the explorer's
reader (both read the same index)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from faramesh_cloud.gateway.web import home_panels
from faramesh_cloud.gateway.web.audit_live import sse
from faramesh_cloud.gateway.web.auth import member
from faramesh_cloud.gateway.web.fleet_view import visible_stacks
from faramesh_cloud.gateway.web.live_feed import Selector
from faramesh_cloud.identity.domain import Forbidden, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)


@router.get("/o/{org}/activity/events", response_class=StreamingResponse)
async def activity_events(request: Request, principal: Principal = Depends(member)) -> Response:
    """Newly indexed DPR summaries of the stacks Home shows this member (registered, fleet
    health readable; ``?stack=`` narrows to one), after ``?after=`` / ``Last-Event-ID``."""
    if not principal.access.allows_anywhere(Permission.FLEET_HEALTH_READ):
        raise Forbidden(f"your role ({principal.access.role.label}) does not include {Permission.FLEET_HEALTH_READ}")
    wanted = request.query_params.get("stack")
    ids = {s.stack_id for s in await visible_stacks(request, principal) if not wanted or s.stack_id == wanted}
    return await sse(request, principal, Selector(stacks=frozenset(ids)), backlog=home_panels.ACTIVITY)
