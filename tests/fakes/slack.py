"""A local fake of Slack for tests: the OAuth v2 install and the Web API methods Cloud calls,
on 127.0.0.1, with Slack's paths, auth and answer shapes (docs.slack.dev / api.slack.com),
and the other direction: interaction requests signed the way Slack signs them.

* ``GET /oauth/v2/authorize?client_id&scope&redirect_uri&state``: the person's consent (the
  fake consents at once, as ``installer``) and a 302 to ``redirect_uri?code=...&state=...``;
  ``error=access_denied`` instead when ``deny_install`` is set.
* ``POST /api/oauth.v2.access`` (form ``code``, ``redirect_uri``; the client id and secret by
  HTTP Basic or as form fields): ``{"ok": true, "access_token": "xoxb-...", "token_type":
  "bot", "scope", "bot_user_id", "app_id", "team": {"id", "name"}, "enterprise": null,
  "authed_user": {"id"}, "is_enterprise_install": false}``; a code works once and only with the
  ``redirect_uri`` it was issued for.
* ``POST /api/chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``views.open`` (JSON
  or form), ``users.info`` (form or query): ``Authorization: Bearer xoxb-...``.
* Errors the Slack way: HTTP 200 with ``{"ok": false, "error": "<code>"}`` (``not_authed``,
  ``invalid_auth``, ``invalid_code``, ``bad_redirect_uri``, ``bad_client_secret``,
  ``invalid_client_id``, ``channel_not_found``, ``message_not_found``, ``user_not_found``,
  ``invalid_trigger_id``, ``expired_trigger_id``, ``invalid_arguments``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = "fake-client-secret-0123456789abcdef"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class SlackUser:
    user_id: str
    email: str
    confirmed: bool = True
    team_id: str = "T0FAKE0001"
    is_bot: bool = False
    deleted: bool = False


@dataclass
class Call:
    method: str
    token: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    team_id: str = "T0FAKE0001"
    team_name: str = "Acme Payments"
    installer: str = "U0INSTALL1"
    bot_user_id: str = "U0BOTUSER1"
    deny_install: bool = False
    users: dict[str, SlackUser] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # bot token -> team id
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri
    triggers: dict[str, float] = field(default_factory=dict)  # trigger_id -> issued at
    base: str = ""
    trigger_ttl_s: float = 60.0  # Slack's is 3 s; generous here so a slow test box is not refused
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # What tests read --------------------------------------------------------------------
    def on(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def add_user(self, user_id: str, email: str, *, confirmed: bool = True) -> SlackUser:
        user = SlackUser(user_id, email, confirmed, self.team_id)
        self.users[user_id] = user
        return user

    # Slack → the app: interaction requests, signed -----------------------------------
    def trigger(self) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = time.time()
        return trigger_id

    def block_actions(self, user_id: str, message: tuple[str, str], action_id: str) -> dict[str, Any]:
        """The ``block_actions`` payload of ``user_id`` pressing ``action_id`` on a posted message."""
        channel, ts = message
        posted = self.messages[message]
        button = next(e for b in posted["blocks"] if b.get("type") == "actions" for e in b["elements"]
                      if e.get("action_id") == action_id)
        return {
            "type": "block_actions", "api_app_id": "A0FAKEAPP1", "token": "legacy-verification-token",
            "team": {"id": self.team_id, "domain": "acme-payments"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": self.trigger(), "channel": {"id": channel, "name": "approvals"},
            "message": {"type": "message", "ts": ts, "text": posted.get("text", ""), "blocks": posted["blocks"]},
            "response_url": f"{self.base}/actions/{self.team_id}/{ts}/response",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "faramesh_decision",
                         "value": button["value"], "text": button["text"], "action_ts": f"{time.time():.6f}"}],
        }

    def view_submission(self, user_id: str, view: dict[str, Any], reason: str) -> dict[str, Any]:
        """The ``view_submission`` payload of ``user_id`` submitting ``view`` (as views.open got it)."""
        values = {b["block_id"]: {b["element"]["action_id"]: {"type": "plain_text_input", "value": reason}}
                  for b in view["blocks"] if b.get("type") == "input"}
        return {
            "type": "view_submission", "api_app_id": "A0FAKEAPP1", "token": "legacy-verification-token",
            "team": {"id": self.team_id, "domain": "acme-payments"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id},
            "trigger_id": self.trigger(),
            "view": {**view, "id": "V0FAKEVIEW1", "team_id": self.team_id, "app_id": "A0FAKEAPP1",
                     "state": {"values": values}, "hash": "1700000000.abcdef"},
            "response_urls": [], "is_enterprise_install": False,
        }

    # The Web API ------------------------------------------------------------------------
    def handle(self, method: str, headers: dict[str, str], args: dict[str, Any]) -> dict[str, Any]:
        if method == "oauth.v2.access":
            return self._oauth_access(headers, args)
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else str(args.get("token", ""))
        with self._lock:
            self.calls.append(Call(method, token, args))
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        match method:
            case "chat.postMessage":
                return self._post(args)
            case "chat.update":
                key = (str(args.get("channel", "")), str(args.get("ts", "")))
                if key not in self.messages:
                    return {"ok": False, "error": "message_not_found"}
                self.messages[key] = {**self.messages[key], "text": args.get("text", ""),
                                      "blocks": args.get("blocks", [])}
                return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}
            case "chat.postEphemeral":
                if not args.get("channel") or not args.get("user"):
                    return {"ok": False, "error": "invalid_arguments"}
                return {"ok": True, "message_ts": self._next_ts()}
            case "users.info":
                user = self.users.get(str(args.get("user", "")))
                if user is None:
                    return {"ok": False, "error": "user_not_found"}
                return {"ok": True, "user": {
                    "id": user.user_id, "team_id": user.team_id, "name": user.email.split("@")[0],
                    "deleted": user.deleted, "is_bot": user.is_bot, "is_admin": False, "tz": "Europe/London",
                    "is_email_confirmed": user.confirmed,
                    "profile": {"email": user.email, "real_name": user.email.split("@")[0], "display_name": ""}}}
            case "views.open":
                issued = self.triggers.pop(str(args.get("trigger_id", "")), None)
                if issued is None:
                    return {"ok": False, "error": "invalid_trigger_id"}
                if time.time() - issued > self.trigger_ttl_s:
                    return {"ok": False, "error": "expired_trigger_id"}
                view = args.get("view")
                if isinstance(view, str):
                    view = json.loads(view)
                return {"ok": True, "view": {**view, "id": "V0FAKEVIEW1", "team_id": self.team_id,
                                             "state": {"values": {}}, "hash": "1700000000.abcdef"}}
        return {"ok": False, "error": "unknown_method"}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel or channel == "C0MISSING00":
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        blocks = args.get("blocks", [])
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        message = {"type": "message", "text": args.get("text", ""), "blocks": blocks, "ts": ts,
                   "bot_id": "B0FAKEBOT1"}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _oauth_access(self, headers: dict[str, str], args: dict[str, Any]) -> dict[str, Any]:
        client_id, client_secret = str(args.get("client_id", "")), str(args.get("client_secret", ""))
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        with self._lock:
            self.calls.append(Call("oauth.v2.access", "", {**args, "client_id": client_id}))
        if client_id != CLIENT_ID:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != CLIENT_SECRET:
            return {"ok": False, "error": "bad_client_secret"}
        redirect = self.codes.pop(str(args.get("code", "")), None)
        if redirect is None:
            return {"ok": False, "error": "invalid_code"}
        if redirect != str(args.get("redirect_uri", "")):
            return {"ok": False, "error": "bad_redirect_uri"}
        token = f"xoxb-{secrets.randbelow(10**11)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self.tokens[token] = self.team_id
        return {"ok": True, "access_token": token, "token_type": "bot", "scope": "chat:write,users:read,users:read.email",
                "bot_user_id": self.bot_user_id, "app_id": "A0FAKEAPP1",
                "team": {"id": self.team_id, "name": self.team_name}, "enterprise": None,
                "authed_user": {"id": self.installer}, "is_enterprise_install": False}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """The consent screen, consented (or refused): where Slack sends the browser next."""
        if query.get("client_id") != CLIENT_ID or not query.get("redirect_uri"):
            return 400, {}
        redirect = query["redirect_uri"]
        if self.deny_install:
            return 302, {"location": f"{redirect}?{urlencode({'error': 'access_denied', 'state': query.get('state', '')})}"}
        code = f"{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        self.codes[code] = redirect
        return 302, {"location": f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}"}


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's signature headers of an interaction request body."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


def interaction_body(payload: dict[str, Any]) -> bytes:
    """How Slack sends an interaction: form-encoded ``payload`` holding the JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
            content = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def _args(self, raw: bytes) -> dict[str, Any]:
            kind = self.headers.get("content-type", "")
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if kind.startswith("application/json"):
                loaded = json.loads(raw or b"{}")
                return {**query, **loaded}
            return {**query, **{k: v[0] for k, v in parse_qs(raw.decode()).items()}}

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/oauth/v2/authorize":
                status, headers = fake.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                self._answer(status, None, headers)
            elif url.path.startswith("/api/"):
                self._api(url.path[5:], b"")
            else:
                self._answer(404, {"ok": False, "error": "not_found"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            path = urlsplit(self.path).path
            if not path.startswith("/api/"):
                self._answer(404, {"ok": False, "error": "not_found"})
                return
            self._api(path[5:], raw)

        def _api(self, method: str, raw: bytes) -> None:
            try:
                args = self._args(raw)
            except ValueError:
                self._answer(200, {"ok": False, "error": "invalid_json"})
                return
            self._answer(200, fake.handle(method, {k.lower(): v for k, v in self.headers.items()}, args))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
