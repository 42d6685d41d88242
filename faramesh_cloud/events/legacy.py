"""Unverified decision summaries on ``decisions.legacy.v1`` (pure: the event's JSON contract).

Two ways in produce them, and neither carries a record hash, a chain link or a signature,
so nothing in them can be verified: they are shown as "unverified (legacy feed)".

* ``legacy-feed``: the daemon's Horizon syncer (``faramesh serve --sync-horizon``),
  ``POST /v1/ingest/dpr`` (FARAMESH_FORMATS 2.1);
* ``webhook``: the daemon's signed webhooks, ``POST /v1/webhooks/faramesh/{stack_id}``
  (FARAMESH_FORMATS 2.4).

One log record per decision. Tenancy is in the record's Origin headers (``org``,
``stack``, ``source``), never in this body, like every other topic. The value is this JSON
object (UTF-8, keys in this order, every key always present)::

    {"schema": "faramesh-cloud/legacy-decision/v1",
     "verification": "unverified (legacy feed)",
     "source": "legacy-feed",                 # or "webhook"
     "record_id": "0b7e2c4a-...",             # "" when the daemon sent none
     "effect": "PERMIT",                      # upper case, as the daemon wrote it
     "reason_code": "RULE_PERMIT", "reason": "",
     "rule_id": "rule-3", "policy_version": "3f2a9c1b7d4e5f60",
     "agent_id": "payments-bot", "tool_id": "stripe/charge", "session_id": "sess-7c1d",
     "latency_ms": 3,                         # null: the source does not report it
     "defer_token": "",                       # webhooks of DEFER decisions carry one
     "batch_agent_id": "payments-bot",        # the Horizon body's top-level agent_id
     "timestamp": "2026-05-17T15:42:18.1+02:00",     # the daemon's text, unchanged
     "decided_at": "2026-05-17T13:42:18.100000000Z", # the same instant in UTC, or null
     "decided_at_ns": 1779025338100000000}           # ns since the Unix epoch, or null

``decided_at`` / ``decided_at_ns`` are null when the daemon sent Go's zero time
(``0001-01-01T00:00:00Z``: it did not know when). The daemon has no idempotency key and
webhooks are retried, so consumers dedupe on ``(org, stack, record_id)`` (headers + body)
and keep the first copy; an event with an empty ``record_id`` cannot be deduplicated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import orjson

SCHEMA: Final = "faramesh-cloud/legacy-decision/v1"
VERIFICATION: Final = "unverified (legacy feed)"
SOURCE_HORIZON: Final = "legacy-feed"
SOURCE_WEBHOOK: Final = "webhook"
SOURCES: Final = frozenset({SOURCE_HORIZON, SOURCE_WEBHOOK})

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class LegacyEventError(ValueError):
    """A value on ``decisions.legacy.v1`` is not a legacy decision event."""


def utc_text(nanos: int) -> str:
    """RFC 3339 in UTC with exactly nine fraction digits (sorts as text)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{fraction:09d}Z")


@dataclass(frozen=True, slots=True)
class LegacyDecision:
    """One decision summary. Build it in ingest; read it back with :meth:`from_json`."""

    source: str
    effect: str
    timestamp: str
    decided_at_ns: int | None
    reason_code: str = ""
    record_id: str = ""
    reason: str = ""
    rule_id: str = ""
    policy_version: str = ""
    agent_id: str = ""
    tool_id: str = ""
    session_id: str = ""
    latency_ms: int | None = None
    defer_token: str = ""
    batch_agent_id: str = ""

    @property
    def decided_at(self) -> str | None:
        return None if self.decided_at_ns is None else utc_text(self.decided_at_ns)

    def to_json(self) -> bytes:
        body: dict[str, Any] = {"schema": SCHEMA, "verification": VERIFICATION, "source": self.source,
                                "record_id": self.record_id}
        values = asdict(self)
        for name in _BODY_ORDER:
            body[name] = values[name]
        body["decided_at"] = self.decided_at
        body["decided_at_ns"] = self.decided_at_ns
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> LegacyDecision:
        """Strict decoding for consumers; LegacyEventError says what is wrong."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LegacyEventError(f"not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise LegacyEventError("a legacy decision event is a JSON object")
        if body.get("schema") != SCHEMA:
            raise LegacyEventError(f"schema must be {SCHEMA!r}, got {body.get('schema')!r}")
        if body.get("source") not in SOURCES:
            raise LegacyEventError(f"source must be one of {sorted(SOURCES)}, got {body.get('source')!r}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = body.get(f.name)
            nullable = f.name in ("decided_at_ns", "latency_ms")
            if value is None and nullable:
                values[f.name] = None
            elif nullable and (type(value) is not int):
                raise LegacyEventError(f"{f.name} must be an integer or null")
            elif not nullable and not isinstance(value, str):
                raise LegacyEventError(f"{f.name} must be a string")
            else:
                values[f.name] = value
        return cls(**values)


# Body keys after schema/verification/source/record_id, before decided_at(_ns).
_BODY_ORDER: Final = ("effect", "reason_code", "reason", "rule_id", "policy_version", "agent_id",
                      "tool_id", "session_id", "latency_ms", "defer_token", "batch_agent_id",
                      "timestamp")
