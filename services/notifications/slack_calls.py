"""Slack Web API calls made with a connected workspace's bot token, for the gateway's
approve-from-Slack flow. The token is sealed in this service and never leaves it: the
gateway names the organisation, the workspace (team id) and one of a few methods, and gets
Slack's answer back.

* ``users.info`` (form-encoded ``user``): who pressed a button (``profile.email``,
  ``is_email_confirmed``), to map them to a Cloud member.
* ``views.open`` (JSON ``trigger_id``, ``view``): the modal asking for the reason.
* ``chat.update`` (JSON ``channel``, ``ts``, ``text``, ``blocks``): the message once decided.
* ``chat.postEphemeral`` (JSON ``channel``, ``user``, ``text``): a refusal only they see.

Slack answers HTTP 200 with ``{"ok": false, "error": ...}`` for its own errors; that answer is
returned as it is. A network failure, a non-JSON answer or an SSRF refusal is returned as
``{"ok": false, "error": "slack_unreachable: ..."}`` so the caller has one shape to read.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.egress.ssrf import UnsafeDestination
from faramesh_cloud.notifications.domain import InvalidRouting, Kind
from faramesh_cloud.notifications.store import org_destinations, sealed_secret
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

FORM_METHODS: Final = frozenset({"users.info"})
JSON_METHODS: Final = frozenset({"views.open", "chat.update", "chat.postEphemeral"})
METHODS: Final = FORM_METHODS | JSON_METHODS


class SlackCalls:
    def __init__(self, db: Database, box: SecretBox, http: PinnedHttp, api_base: str) -> None:
        self._db = db
        self._box = box
        self._http = http
        self._base = api_base.rstrip("/")

    async def _token(self, org_id: str, team_id: str) -> str:
        async with tenant_transaction(self._db, org_id) as conn:
            found = [d for d in await org_destinations(conn, org_id)
                     if d.kind is Kind.SLACK_APP and d.config.get("team_id") == team_id]
            if not found:
                raise LookupError(f"no Slack workspace {team_id!r} is connected to this organisation")
            sealed = await sealed_secret(conn, org_id, found[0].destination_id)
        return self._box.open(org_id, found[0].destination_id, sealed)["token"]

    async def call(self, org_id: str, team_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's answer to ``method`` called with the bot token of workspace ``team_id`` of
        ``org_id``. Raises ``InvalidRouting`` for a method not on the list, ``LookupError``
        when the organisation has no such workspace."""
        if method not in METHODS:
            raise InvalidRouting(f"Slack method {method!r} is not one Cloud calls; it calls {', '.join(sorted(METHODS))}")
        token = await self._token(org_id, team_id)
        headers = {"authorization": f"Bearer {token}", "user-agent": "faramesh-cloud-notifications/1"}
        if method in FORM_METHODS:
            content = urlencode({k: str(v) for k, v in args.items()}).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        else:
            content = json.dumps(args, separators=(",", ":"), ensure_ascii=False).encode()
            headers["content-type"] = "application/json; charset=utf-8"
        try:
            response = await self._http.post(f"{self._base}/api/{method}", content, headers)
            answer = response.json()
        except UnsafeDestination as exc:
            return {"ok": False, "error": f"slack_unreachable: refused: {exc}"}
        except (httpx.HTTPError, ValueError) as exc:
            return {"ok": False, "error": f"slack_unreachable: {type(exc).__name__}"}
        return answer if isinstance(answer, dict) else {"ok": False, "error": "slack_unreachable: not an object"}
