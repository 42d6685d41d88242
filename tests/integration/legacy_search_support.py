"""The legacy feed and webhooks end to end: a daemon's decisions posted over HTTP to the
gateway's /v1 routes in the upstream wire format, consumed by the real audit index (legacy
consumer and DPR consumer, chDB + PostgreSQL), read back through the gateway's REST API and
pages (explorer and Fleet), as the runtime wires them.

Wire formats (FARAMESH_FORMATS 2.1, 2.4):

* Horizon batch: Go-JSON of a map (top-level keys sorted), each event's keys in the daemon's
  struct order, optional ones omitted when empty, ``timestamp`` in the daemon's local zone
  (``+02:00`` here) with Go's RFC3339Nano fraction (trailing zeros trimmed), upper-case effects;
  at most 50 events a request.
* Webhook: ``{"version":"1.0","type":<lower-case>,"timestamp":<RFC 3339 seconds, UTC>,...}``
  signed ``X-Faramesh-Signature: sha256=<hex HMAC>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS, SYNC_ITEMS
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.ingest.legacy_http import LegacyHttp, create_legacy_app
from faramesh_cloud.ingest.webhook_events import signature_for
from faramesh_cloud.stacks.orgs import OrgStore
from tests.integration.audit_support import fast_config
from tests.integration.fleet_audit_support import FleetAuditIndex

RECEIVED_NS = 1_779_025_400_000_000_000  # the feeds' injected wall clock
LOCAL = timezone(timedelta(hours=2))  # the daemon's local zone
_EVENT_KEYS = ("effect", "rule_id", "reason_code", "policy_version", "latency_ms", "agent_id", "tool_id",
               "session_id", "record_id", "timestamp")
_ALWAYS = frozenset({"effect", "reason_code", "latency_ms", "timestamp"})


def local_rfc3339(ns: int, zone: timezone = LOCAL) -> str:
    """Go's time.RFC3339Nano of the instant ``ns`` in ``zone``."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=zone)
    digits = f"{fraction:09d}".rstrip("0")
    offset = moment.strftime("%z")
    return (moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if digits else "")
            + ("Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"))


def utc_text(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def created_ns(record: dict[str, Any]) -> int:
    text = record["created_at"]
    whole, _, rest = text.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + int((rest + "000000000")[:9])


def horizon_event(record: dict[str, Any], latency_ms: int = 3) -> dict[str, Any]:
    """What the daemon's Horizon syncer sends for the decision ``record`` (a DPR dict)."""
    values = {"effect": record["effect"], "rule_id": record.get("matched_rule_id", ""),
              "reason_code": record.get("reason_code", ""), "policy_version": record.get("policy_version", ""),
              "latency_ms": latency_ms, "agent_id": record["agent_id"], "tool_id": record.get("tool_id", ""),
              "session_id": record.get("session_id", ""), "record_id": record["record_id"],
              "timestamp": local_rfc3339(created_ns(record))}
    return {k: values[k] for k in _EVENT_KEYS if k in _ALWAYS or values[k] not in ("", None)}


def horizon_body(events: Sequence[dict[str, Any]], org_id: str, agent_id: str = "payments-bot") -> bytes:
    """The POST /v1/ingest/dpr body: Go-JSON of the map, keys sorted, compact."""
    assert len(events) <= 50, "the daemon flushes at 50 events"
    return json.dumps({"agent_id": agent_id, "events": list(events), "org_id": org_id},
                      separators=(",", ":"), ensure_ascii=False).encode()


def webhook_body(record: dict[str, Any], **changes: str) -> bytes:
    """What the daemon's webhook sender posts for the decision ``record``."""
    effect = record["effect"]
    seconds = created_ns(record) // 1_000_000_000
    values = {"version": "1.0", "type": {"PERMIT": "permit", "DENY": "deny", "DEFER": "defer"}.get(effect, "permit"),
              "timestamp": datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "agent_id": record["agent_id"], "session_id": record.get("session_id", ""),
              "tool_id": record.get("tool_id", ""), "effect": effect, "rule_id": record.get("matched_rule_id", ""),
              "reason_code": record.get("reason_code", ""), "reason": record.get("reason", ""),
              "record_id": record["record_id"], "defer_token": record.get("defer_token", ""), **changes}
    return json.dumps({k: v for k, v in values.items() if v != "" or k in ("version", "type", "timestamp")},
                      separators=(",", ":")).encode()


@dataclass
class Daemon:
    """One stack's daemon talking to Cloud over the legacy HTTP feeds."""

    http: httpx.AsyncClient
    org_id: str
    stack_id: str
    key: str
    secret: str = ""

    async def push(self, events: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(events), 50):
            body = horizon_body(events[start:start + 50], self.org_id)
            response = await self.http.post("/v1/ingest/dpr", content=body, headers={
                "Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                "User-Agent": "faramesh-cli/1.4.2"})
            assert response.status_code == 200, response.text

    async def webhook(self, body: bytes) -> None:
        response = await self.http.post(f"/v1/webhooks/faramesh/{self.stack_id}", content=body, headers={
            "Content-Type": "application/json", "User-Agent": "faramesh-webhook/1.0",
            "X-Faramesh-Signature": signature_for(self.secret.encode(), body)})
        assert response.status_code == 200, response.text


@dataclass
class Cloud:
    """The gateway app (explorer, Fleet and the daemon feeds at /v1) and a running audit index."""

    fleet: FleetAuditIndex
    app: FastAPI
    secrets: WebhookSecretStore
    index: AuditIndex

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")

    async def daemon(self, org_id: str, stack_id: str, key: str, http: httpx.AsyncClient) -> Daemon:
        return Daemon(http, org_id, stack_id, key, await self.secrets.set_secret(org_id, stack_id))

    async def settle(self, summaries: int, dprs: int = 0, timeout_s: float = 60.0) -> None:
        """Wait until the index has consumed (and committed) this many messages of each topic."""
        async with asyncio.timeout(timeout_s):
            while True:
                failure = self.index.failure()
                if failure is not None:
                    raise failure
                legacy = getattr(self.index, "legacy_runner", None)  # an index without one never settles
                consumed = legacy.stats.messages if legacy is not None else 0
                if consumed >= summaries and self.index.handled() >= dprs:
                    return
                if legacy is None and self.index.handled() >= dprs:
                    await asyncio.sleep(1.0)  # nothing reads decisions.legacy.v1: let the test say what is missing
                    return
                await asyncio.sleep(0.02)


def build_app(fleet: FleetAuditIndex, secrets: WebhookSecretStore) -> FastAPI:
    app = fleet.app()
    feeds = LegacyHttp(log=fleet.log, stacks=fleet.stacks, orgs=OrgStore(fleet.database), webhooks=secrets,
                       wall_ns=lambda: RECEIVED_NS)
    app.mount("/v1", create_legacy_app(feeds))  # as runtime/gateway_service.py mounts it
    return app


@pytest.fixture(name="cloud")
async def cloud_fixture(fleet_audit: FleetAuditIndex) -> AsyncIterator[Cloud]:
    secrets = WebhookSecretStore(fleet_audit.database)
    await fleet_audit.stacks.start()
    await secrets.start()
    for topic in (LEGACY_DECISIONS, SYNC_ITEMS):  # as ingest creates them (a defer webhook: an approval item)
        await fleet_audit.log.create_topic(topic, DEFAULT_PARTITIONS[topic])
    index = AuditIndex(fleet_audit.database, fleet_audit.log, fleet_audit.olap,
                       fast_config(fleet_audit.olap_database))
    await index.start()
    try:
        yield Cloud(fleet_audit, build_app(fleet_audit, secrets), secrets, index)
    finally:
        await index.stop()


def sse_records(text: str) -> list[dict[str, Any]]:
    """The ``dpr`` events of a server-sent event stream."""
    out = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if "event: dpr" in lines:
            out.append(json.loads(next(line for line in lines if line.startswith("data: "))[6:]))
    return out
