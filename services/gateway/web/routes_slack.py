"""Settings → Integrations → Slack: connect a workspace with Slack's OAuth v2 flow (the bot
token goes to the notifications service, sealed there and never shown again; the workspace
becomes a ``slack_app`` destination usable in routing), and Slack's interaction requests
(Approve / Deny buttons, the reason modal) on a public path, verified with the signing secret.
Connecting needs ``org:integration:manage`` (Owner, Admin)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, member, require, signed_in
from faramesh_cloud.gateway.web.deps import secure_cookie, web
from faramesh_cloud.gateway.web.notifications_ports import notifications_port
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.gateway.web.slack_app import (
    STATE_COOKIE,
    STATE_MAX_AGE_S,
    SlackApp,
    SlackRefused,
    new_state,
    read_state_cookie,
    session_binding,
    state_cookie,
    verify_request,
)
from faramesh_cloud.gateway.web.slack_interactions import block_actions, view_submission
from faramesh_cloud.identity.domain import Forbidden, IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
MANAGE = require(Permission.ORG_INTEGRATION_MANAGE)
SLACK_KIND = "slack_app"


def mount_slack(app: FastAPI, slack: SlackApp) -> None:
    """Settings → Integrations → Slack and the interaction endpoint (needs notifications and
    approvals mounted: the page lists destinations, a decision goes to approvals)."""
    from faramesh_cloud.gateway.api import slack as api_slack

    app.state.slack = slack
    app.include_router(router)
    app.include_router(api_slack.router)


def _slack(request: Request) -> SlackApp:
    found: SlackApp | None = getattr(request.app.state, "slack", None)
    return found if found is not None else SlackApp()


def _path(principal: Principal) -> str:
    return f"/o/{principal.org.slug}/settings/integrations/slack"


async def render(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    destinations = [d for d in await notifications_port(request).destinations(principal.org.org_id)
                    if getattr(d.kind, "value", d.kind) == SLACK_KIND]
    return await page(request, "settings/slack.html", principal, {
        "tab": "integrations", "workspaces": destinations, "slack": _slack(request),
        "interactions_url": str(request.url_for("slack_interactions")),
        "redirect_url": str(request.url_for("slack_oauth_callback")), **extra,
    }, section="settings", status_code=status_code)


@router.get("/o/{org}/settings/integrations/slack", response_class=HTMLResponse)
async def slack_page(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/integrations/slack/connect", dependencies=[Depends(check_csrf)])
async def connect(request: Request, name: str = Form(""), channel: str = Form(""),
                  principal: Principal = Depends(MANAGE)) -> Response:
    """Start the install: remember what was asked in a signed cookie bound to this session and
    send the person to Slack's consent screen."""
    slack = _slack(request)
    if not slack.configured:
        return await render(request, principal, error="the Slack app is not configured on this Cloud installation "
                            "(see below)", status_code=400)
    name, channel = name.strip(), channel.strip()
    if not 1 <= len(name) <= 100 or not 1 <= len(channel) <= 200:
        return await render(request, principal, error="give the destination a name (1-100 characters) and the "
                            "channel to post approvals in (an id such as C0123456789, or #name)", status_code=400)
    caller = await signed_in(request)
    state = new_state()
    cookie = state_cookie(web(request).config.secret_key, {
        "state": state, "org": principal.org.slug, "name": name, "channel": channel, "at": time.time(),
        "session": session_binding(caller.session_cookie or "")})
    response = RedirectResponse(slack.authorize_url(state, str(request.url_for("slack_oauth_callback"))),
                                status_code=303)
    response.set_cookie(STATE_COOKIE, cookie, max_age=STATE_MAX_AGE_S, httponly=True, samesite="lax",
                        secure=secure_cookie(request), path="/integrations/slack/oauth")
    return response


@router.get("/integrations/slack/oauth/callback", name="slack_oauth_callback")
async def oauth_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Slack sends the person back here: the state must be the one this session started, and
    the person must still manage the organisation's integrations; then ``oauth.v2.access``."""
    caller = await signed_in(request)
    remembered = read_state_cookie(web(request).config.secret_key, request.cookies.get(STATE_COOKIE))
    if remembered is None or not state or remembered.get("state") != state \
            or remembered.get("session") != session_binding(caller.session_cookie or ""):
        raise IdentityError("this Slack install was not started in this session, or it took longer than 10 "
                            "minutes; start again from Settings → Integrations → Slack")
    principal = await member(str(remembered["org"]), request)
    if not principal.access.allows(Permission.ORG_INTEGRATION_MANAGE):
        raise Forbidden(f"your role ({principal.access.role.label}) cannot connect integrations")
    if error:
        return await _done(request, principal, error=f"Slack did not install the app: {error}", status_code=400)
    slack = _slack(request)
    answer = await slack.exchange_code(code, str(request.url_for("slack_oauth_callback")))
    token = str(answer.get("access_token") or "")
    team = answer.get("team") or {}
    if not answer.get("ok") or answer.get("token_type") != "bot" or not token or not team.get("id"):
        return await _done(request, principal, status_code=400,
                           error=f"Slack refused the install ({answer.get('error') or 'no bot token in the answer'}); "
                                 "start again")
    try:
        created, _ = await notifications_port(request).create_destination(
            principal.org.org_id, str(remembered["name"]), SLACK_KIND,
            {"token": token, "channel": remembered["channel"], "team_id": str(team["id"]),
             "team_name": str(team.get("name") or ""), "bot_user_id": str(answer.get("bot_user_id") or "")},
            principal.actor)
    except ValueError as exc:
        return await _done(request, principal, error=str(exc), status_code=400)
    flash = (f"Slack workspace {team.get('name') or team['id']} connected as {created.name} (channel "
             f"{created.config.get('channel')}).")
    response = RedirectResponse(f"{_path(principal)}?{urlencode({'flash': flash})}", status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/integrations/slack/oauth")
    return response


async def _done(request: Request, principal: Principal, *, error: str, status_code: int) -> Response:
    response = await render(request, principal, error=error, status_code=status_code)
    response.delete_cookie(STATE_COOKIE, path="/integrations/slack/oauth")
    return response


@router.post("/integrations/slack/interactions", name="slack_interactions")
async def interactions(request: Request) -> Response:
    """Slack's interactivity request URL: ``payload`` (form-encoded JSON) of a button press
    (``block_actions``) or a modal submission (``view_submission``). Not from Slack, or more
    than five minutes old: 401 and nothing done."""
    slack = _slack(request)
    if not slack.signing_secret:
        return PlainTextResponse("the Slack app is not configured on this Cloud installation", status_code=404)
    body = await request.body()
    try:
        verify_request(slack.signing_secret, request.headers.get("x-slack-request-timestamp"),
                       request.headers.get("x-slack-signature"), body)
    except SlackRefused as exc:
        return PlainTextResponse(str(exc), status_code=401)
    try:
        payload = json.loads(parse_qs(body.decode()).get("payload", [""])[0])
    except (ValueError, UnicodeDecodeError):
        return PlainTextResponse("expected a form field 'payload' holding JSON", status_code=400)
    if not isinstance(payload, dict):
        return PlainTextResponse("expected a form field 'payload' holding a JSON object", status_code=400)
    match payload.get("type"):
        case "block_actions":
            return await block_actions(request, payload)
        case "view_submission":
            return await view_submission(request, payload)
    return Response(status_code=200)  # other interaction types are not used by this app
