"""``/api/v1/orgs/{org}/integrations/slack``: the Slack app of this installation and the
organisation's connected workspaces (Settings → Integrations → Slack). Connecting is a
browser flow (Slack's OAuth v2 consent, bound to a session), so it has no API twin; a
workspace is a notification destination of kind ``slack_app``: test or delete it with
``/api/v1/orgs/{org}/notifications/destinations/{id}``. No bot token is ever returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.notifications_ports import notifications_port
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/integrations/slack", tags=["integrations"])
MANAGE = require(Permission.ORG_INTEGRATION_MANAGE)


class SlackWorkspaceOut(BaseModel):
    destination_id: str
    name: str
    team_id: str = Field(description="the Slack workspace (team) id")
    team_name: str
    channel: str = Field(description="where approval requests are posted")
    created_at: datetime | None
    created_by: str


class SlackIntegrationOut(BaseModel):
    configured: bool = Field(description="whether this installation has a Slack app (client id, client secret "
                             "and signing secret set)")
    redirect_url: str = Field(description="the OAuth redirect URL to give the Slack app")
    interactions_url: str = Field(description="the Interactivity request URL to give the Slack app")
    workspaces: list[SlackWorkspaceOut]


def _workspace(d: Any) -> SlackWorkspaceOut:
    c = d.config
    return SlackWorkspaceOut(destination_id=d.destination_id, name=d.name, team_id=str(c.get("team_id", "")),
                             team_name=str(c.get("team_name", "")), channel=str(c.get("channel", "")),
                             created_at=d.created_at, created_by=d.created_by)


@router.get("", response_model=SlackIntegrationOut)
async def slack_integration(request: Request, principal: Principal = Depends(MANAGE)) -> SlackIntegrationOut:
    """The Slack app's state and the organisation's connected workspaces (Owner, Admin)."""
    slack = getattr(request.app.state, "slack", None)
    found = [d for d in await notifications_port(request).destinations(principal.org.org_id)
             if getattr(d.kind, "value", d.kind) == "slack_app"]
    return SlackIntegrationOut(configured=bool(slack is not None and slack.configured),
                               redirect_url=str(request.url_for("slack_oauth_callback")),
                               interactions_url=str(request.url_for("slack_interactions")),
                               workspaces=[_workspace(d) for d in found])
