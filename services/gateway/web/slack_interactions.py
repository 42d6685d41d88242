"""Approving from Slack: what the gateway does with Slack's interaction requests (already
signature-checked by ``routes_slack.py``).

The security property: a Slack identity never acts beyond the Cloud role it maps to.

1. The button (``block_actions``) names the organisation, stack and defer token. The workspace
   of the request must be connected to that organisation (its bot token is found by team id
   within the organisation, or nothing happens), so another workspace cannot reach it.
2. The Slack user is looked up with ``users.info`` (the connected workspace's token) and
   mapped to a Cloud member by the email Slack has **confirmed** (``is_email_confirmed``);
   no confirmed email, no Cloud user with it, or no membership of the organisation: refused.
3. The member's own role and stack overrides decide (``approvals:request:decide`` on the
   approval's stack), exactly as the UI does, and the approvals service is called with the
   member as actor ("<email> via Slack") and the stacks the member may decide on.
4. Steps 2 and 3 run again when the modal is submitted (``view_submission``): nothing is
   carried over from the button press, so a role removed in between counts.

Refusals are told in Slack: an ephemeral message after a button (only that person sees it),
``response_action: errors`` on the modal's reason field after a submission.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from faramesh_cloud.gateway.web.approvals_ports import approvals_port, stacks_allowed
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.notifications_ports import notifications_port
from faramesh_cloud.gateway.web.slack_app import (
    APPROVE_ACTION,
    DENY_ACTION,
    MODAL_CALLBACK,
    REASON_BLOCK,
    decided_blocks,
    reason_modal,
    reason_of,
)
from faramesh_cloud.identity.domain import Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction, Target
from faramesh_cloud.rpc.errors import ServiceUnavailable

DECIDE = Permission.APPROVALS_REQUEST_DECIDE
VERDICTS = {APPROVE_ACTION: "approve", DENY_ACTION: "deny"}


class Refusal(Exception):
    """Why this Slack user may not do this (shown to them in Slack)."""


class NotAllowed(Refusal):
    """A refusal of who the Slack user is or what their role allows: also recorded in the
    platform audit log (``approvals:request:decide`` with ``refused`` and ``via: slack``), as
    the UI records refused emergency commands, so an attempt from Slack is visible."""

    def __init__(self, message: str, actor: Actor) -> None:
        super().__init__(message)
        self.actor = actor


async def _record_refusal(request: Request, org_id: str, exc: NotAllowed, stack_id: str, token: str,
                          team_id: str, slack_user: str) -> None:
    await web(request).identity.audit.append(
        org_id, AuditAction.APPROVAL_DECIDED, exc.actor, target=Target("approval", token),
        details={"refused": str(exc), "via": "slack", "stack_id": stack_id, "slack_team_id": team_id,
                 "slack_user_id": slack_user})


async def _slack(request: Request, org_id: str, team_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await notifications_port(request).slack_call(org_id, team_id, method, args)
    return answer


async def slack_member(request: Request, org_id: str, team_id: str, slack_user_id: str) -> Principal:
    """The Cloud member this Slack user is (by confirmed email), or :class:`Refusal`."""
    info = await _slack(request, org_id, team_id, "users.info", {"user": slack_user_id})
    stranger = Actor(ActorType.ANONYMOUS, slack_user_id, f"Slack user {slack_user_id} of {team_id}")
    if not info.get("ok"):
        raise NotAllowed(f"Faramesh Cloud could not look you up in Slack ({info.get('error', 'unknown error')}); "
                      "ask an admin to reconnect the Slack app with the users:read.email scope", stranger)
    user = info.get("user") or {}
    email = str((user.get("profile") or {}).get("email") or "").strip()
    if email:
        stranger = Actor(ActorType.ANONYMOUS, slack_user_id, f"Slack user {slack_user_id} of {team_id} ({email})")
    if user.get("deleted") or user.get("is_bot"):
        raise NotAllowed("only people can decide approvals from Slack", stranger)
    if not email:
        raise NotAllowed("Slack did not share your email address, so Faramesh Cloud cannot tell which member you "
                         "are", stranger)
    if user.get("is_email_confirmed") is not True:
        raise NotAllowed(f"your Slack email {email} is not confirmed in Slack; confirm it, or decide in Faramesh "
                         "Cloud", stranger)
    identity = web(request).identity
    cloud_user = await identity.users.find_by_email(email)
    memberships = await identity.members.memberships_of(cloud_user.user_id) if cloud_user is not None else []
    org = next((m.org for m in memberships if m.org.org_id == org_id), None)
    access = await identity.members.access(org_id, cloud_user.user_id) if cloud_user is not None else None
    if cloud_user is None or org is None or access is None:
        raise NotAllowed(f"no member of this Faramesh Cloud organisation has the email {email}; ask an admin to "
                         "invite you, then try again", stranger)
    return Principal(PrincipalKind.USER, org, access, cloud_user.user_id, f"{cloud_user.email} via Slack", "",
                     cloud_user)


def _may_decide(principal: Principal, stack_id: str) -> None:
    if not principal.access.allows(DECIDE, stack_id):
        raise NotAllowed(f"your Faramesh Cloud role ({principal.access.role.label}) does not include {DECIDE} on "
                         "this stack, so you cannot decide this approval; ask an owner or admin of the organisation",
                         principal.actor)


async def _pending(request: Request, org_id: str, stack_id: str, defer_token: str) -> Any:
    found = [a for a in await approvals_port(request).pending(org_id, stack_id=stack_id)
             if a.defer_token == defer_token]
    if not found:
        raise Refusal("this approval is no longer pending (decided, expired or withdrawn); see Approvals → "
                      "History in Faramesh Cloud")
    return found[0]


def _title(approval: Any) -> str:
    return f"{approval.agent_id} wants {approval.tool_id}"


async def block_actions(request: Request, payload: dict[str, Any]) -> Response:
    """A press of Approve or Deny: check who it is, then ask for the reason in a modal."""
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    verdict = VERDICTS.get(str(action.get("action_id", "")))
    if verdict is None:
        return Response(status_code=200)  # a link button (Open in Cloud) or another app's action
    try:
        value = json.loads(str(action.get("value") or ""))
        org_id, stack_id, token = str(uuid.UUID(str(value["org"]))), str(value["stack"]), str(value["token"])
        team_id, slack_user = str(payload["team"]["id"]), str(payload["user"]["id"])
    except (ValueError, KeyError, TypeError):
        return PlainTextResponse("malformed block_actions payload", status_code=400)
    container = payload.get("container") or {}
    channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    message_ts = str(container.get("message_ts") or "")
    try:
        principal = await slack_member(request, org_id, team_id, slack_user)
        _may_decide(principal, stack_id)
        approval = await _pending(request, org_id, stack_id, token)
        metadata = {"org": org_id, "stack": stack_id, "token": token, "verdict": verdict, "channel": channel,
                    "ts": message_ts, "title": _title(approval)[:500]}
        opened = await _slack(request, org_id, team_id, "views.open",
                              {"trigger_id": str(payload.get("trigger_id") or ""),
                               "view": reason_modal(verdict, _title(approval), metadata)})
        if not opened.get("ok"):
            raise Refusal(f"Slack did not open the reason form ({opened.get('error', 'unknown error')}); press the "
                          "button again")
    except LookupError:
        return PlainTextResponse("this Slack workspace is not connected to that Faramesh Cloud organisation",
                                 status_code=403)
    except Refusal as exc:
        if isinstance(exc, NotAllowed):
            await _record_refusal(request, org_id, exc, stack_id, token, team_id, slack_user)
        if channel:
            await _slack(request, org_id, team_id, "chat.postEphemeral",
                         {"channel": channel, "user": slack_user, "text": f"Refused: {exc}"})
    return Response(status_code=200)


def _errors(message: str) -> JSONResponse:
    return JSONResponse({"response_action": "errors", "errors": {REASON_BLOCK: message[:1000]}})


async def view_submission(request: Request, payload: dict[str, Any]) -> Response:
    """The reason modal submitted: check who it is again, then decide as that member."""
    view = payload.get("view") or {}
    if view.get("callback_id") != MODAL_CALLBACK:
        return Response(status_code=200)
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        org_id, stack_id, token = str(uuid.UUID(str(meta["org"]))), str(meta["stack"]), str(meta["token"])
        verdict = str(meta["verdict"])
        team_id, slack_user = str(payload["team"]["id"]), str(payload["user"]["id"])
    except (ValueError, KeyError, TypeError):
        return PlainTextResponse("malformed view_submission payload", status_code=400)
    if verdict not in ("approve", "deny"):
        return _errors("choose Approve or Deny")
    reason = reason_of(view)
    try:
        principal = await slack_member(request, org_id, team_id, slack_user)
        _may_decide(principal, stack_id)
        if not reason:
            raise Refusal("a reason is required")
        approval = await _pending(request, org_id, stack_id, token)
        await approvals_port(request).decide(org_id, approval.approval_id, principal.actor, verdict, reason,
                                             await stacks_allowed(request, principal, DECIDE))
    except LookupError:
        return PlainTextResponse("this Slack workspace is not connected to that Faramesh Cloud organisation",
                                 status_code=403)
    except ServiceUnavailable as exc:
        return _errors(f"Faramesh Cloud cannot decide right now ({exc}); try again in a minute")
    except NotAllowed as exc:
        await _record_refusal(request, org_id, exc, stack_id, token, team_id, slack_user)
        return _errors(str(exc))
    except (Refusal, ValueError) as exc:
        return _errors(str(exc))
    if meta.get("channel") and meta.get("ts"):
        text, blocks = decided_blocks(str(meta.get("title") or ""), verdict, principal.user.email
                                      if principal.user else principal.label, reason)
        await _slack(request, org_id, team_id, "chat.update",
                     {"channel": str(meta["channel"]), "ts": str(meta["ts"]), "text": text, "blocks": blocks})
    return Response(status_code=200)
