"""The Slack app of this Cloud installation, the gateway's side: request signature checks,
the OAuth v2 install (authorize URL, the state cookie bound to the session, the code
exchange) and the Block Kit the approve-from-Slack flow shows. Pure except
:meth:`SlackApp.exchange_code` (one HTTPS call through the SSRF guard).

Slack facts used (api.slack.com / docs.slack.dev):

* Every request Slack sends carries ``X-Slack-Request-Timestamp`` (Unix seconds) and
  ``X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}")>``;
  a timestamp more than five minutes from now is refused (replay).
* Install: ``GET {slack}/oauth/v2/authorize?client_id&scope&redirect_uri&state``; Slack sends
  the person back to ``redirect_uri`` with ``code`` and ``state`` (or ``error``); ``POST
  {slack}/api/oauth.v2.access`` (form ``code``, ``redirect_uri``; client id and secret by HTTP
  Basic) answers ``{"ok": true, "access_token": "xoxb-...", "token_type": "bot", "bot_user_id",
  "team": {"id", "name"}, ...}`` or ``{"ok": false, "error": "invalid_code"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.ssrf import Resolver, UnsafeDestination, system_resolver

SCOPES: Final = ("chat:write", "users:read", "users:read.email")
WINDOW_S: Final = 300  # Slack's advice: refuse requests more than five minutes old
STATE_COOKIE: Final = "fmc_slack_oauth"
STATE_MAX_AGE_S: Final = 600
MODAL_CALLBACK: Final = "faramesh_decide"
REASON_BLOCK: Final = "reason"
REASON_ACTION: Final = "reason_input"
APPROVE_ACTION: Final = "faramesh_approve"  # the button action ids notifications puts on messages
DENY_ACTION: Final = "faramesh_deny"


class SlackRefused(ValueError):
    """A request that is not from Slack (or no longer fresh): answered 401, nothing done."""


class SlackNotConfigured(LookupError):
    """No Slack app on this installation (client id or secrets empty)."""


@dataclass(frozen=True)
class SlackApp:
    client_id: str = ""
    client_secret: str = ""
    signing_secret: str = ""
    api_base: str = "https://slack.com"
    allow_private: bool = False
    resolver: Resolver = system_resolver
    timeout_s: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.signing_secret)

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        query = urlencode({"client_id": self.client_id, "scope": ",".join(SCOPES), "redirect_uri": redirect_uri,
                           "state": state})
        return f"{self.api_base.rstrip('/')}/oauth/v2/authorize?{query}"

    async def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """``oauth.v2.access``'s answer (``ok`` false with ``error`` on any failure)."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        http = PinnedHttp(allow_private=self.allow_private, resolver=self.resolver, timeout_s=self.timeout_s)
        try:
            response = await http.post(f"{self.api_base.rstrip('/')}/api/oauth.v2.access",
                                       urlencode({"code": code, "redirect_uri": redirect_uri}).encode(),
                                       {"authorization": f"Basic {basic}",
                                        "content-type": "application/x-www-form-urlencoded"})
            answer = response.json()
        except UnsafeDestination as exc:
            return {"ok": False, "error": f"slack_unreachable: refused: {exc}"}
        except (httpx.HTTPError, ValueError) as exc:
            return {"ok": False, "error": f"slack_unreachable: {type(exc).__name__}"}
        finally:
            await http.close()
        return answer if isinstance(answer, dict) else {"ok": False, "error": "slack_unreachable: not an object"}


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify_request(signing_secret: str, timestamp: str | None, sent: str | None, body: bytes,
                   now: float | None = None) -> None:
    """Raises :class:`SlackRefused` unless ``sent`` is Slack's signature of ``body`` at a
    ``timestamp`` within five minutes of ``now`` (either side)."""
    if not timestamp or not sent:
        raise SlackRefused("not signed by Slack: X-Slack-Request-Timestamp and X-Slack-Signature are required")
    try:
        at = int(timestamp)
    except ValueError:
        raise SlackRefused("X-Slack-Request-Timestamp is not a Unix time") from None
    current = time.time() if now is None else now
    if abs(current - at) > WINDOW_S:
        raise SlackRefused(f"stale request: its timestamp is {int(current - at)} s from now (at most {WINDOW_S} s)")
    if not hmac.compare_digest(signature(signing_secret, timestamp, body), sent):
        raise SlackRefused("the X-Slack-Signature does not match this request (wrong signing secret or altered body)")


# The install's state: a random value in Slack's round trip, and a cookie signed with the web
# secret holding it with the organisation, the destination asked for and a hash of the
# session cookie, so a callback is taken only in the session that started it.

def session_binding(session_cookie: str) -> str:
    return hashlib.sha256(f"slack-oauth:{session_cookie}".encode()).hexdigest()


def state_cookie(secret_key: str, state: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()
    mac = hmac.new(secret_key.encode(), f"slack-oauth.{body}".encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_state_cookie(secret_key: str, cookie: str | None, now: float | None = None) -> dict[str, Any] | None:
    """The state in ``cookie`` if it is ours, unaltered and younger than ten minutes."""
    if not cookie or "." not in cookie:
        return None
    body, _, mac = cookie.rpartition(".")
    expected = hmac.new(secret_key.encode(), f"slack-oauth.{body}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    current = time.time() if now is None else now
    if not isinstance(state, dict) or current - float(state.get("at", 0)) > STATE_MAX_AGE_S:
        return None
    return state


def new_state() -> str:
    return secrets.token_urlsafe(24)


# Block Kit -----------------------------------------------------------------------------------

def reason_modal(verdict: str, title: str, metadata: dict[str, str]) -> dict[str, Any]:
    """The modal ``views.open`` shows after a button: the reason is required (as in the UI)."""
    word = "Approve" if verdict == "approve" else "Deny"
    return {
        "type": "modal", "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": {"type": "plain_text", "text": f"{word} the request"},
        "submit": {"type": "plain_text", "text": word},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": title[:2900] or "Approval request"}},
            {"type": "input", "block_id": REASON_BLOCK,
             "label": {"type": "plain_text", "text": "Reason (recorded with your decision)"},
             "element": {"type": "plain_text_input", "action_id": REASON_ACTION, "multiline": True,
                         "min_length": 1, "max_length": 2000}},
        ],
    }


def decided_blocks(title: str, verdict: str, who: str, reason: str) -> tuple[str, list[dict[str, Any]]]:
    """What the message becomes once decided (``chat.update``): no buttons, who and why."""
    word = "Approved" if verdict == "approve" else "Denied"
    text = f"{word} by {who} via Slack: {reason}"
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text, [{"type": "section", "text": {"type": "plain_text", "text": title[:2900] or "Approval request"}},
                  {"type": "context", "elements": [{"type": "mrkdwn", "text": safe[:2900]}]}]


def reason_of(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    return str(values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}).get("value") or "").strip()
