"""Pure validation of the legacy Horizon feed's ``POST /v1/ingest/dpr`` body (FARAMESH_FORMATS 2.1).

The daemon's body (Go-JSON of a map, so keys sorted)::

    {"agent_id": "<policy doc agent id>", "events": [{...}, ...], "org_id": "<from auth.json>"}

with each event's keys ``effect, rule_id, reason_code, policy_version, latency_ms,
agent_id, tool_id, session_id, record_id, timestamp``: ``effect``, ``reason_code``,
``latency_ms`` and ``timestamp`` always present, the others omitted when empty. Unknown
keys are ignored (a newer daemon may add some). The whole batch is accepted or refused:
:class:`FeedError` names the first offending field, so nothing of a bad batch is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision

MAX_EVENTS: Final = 1000  # the daemon sends at most 50 (its whole channel holds 1,000)
MAX_TEXT: Final = 4096  # characters in any one string field
GO_ZERO_TIME: Final = "0001-01-01T00:00:00Z"

_EFFECT: Final = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# Go's time.RFC3339Nano as json.Marshal writes it: fraction with trailing zeros trimmed,
# "Z" or a numeric offset.
_RFC3339: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$"
)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MIN_NS: Final = -(2**63)  # decided_at_ns is a signed 64-bit value (events/legacy.py, consumers)
_MAX_NS: Final = 2**63 - 1
_OPTIONAL_TEXT: Final = ("rule_id", "policy_version", "agent_id", "tool_id", "session_id", "record_id")


class FeedError(ValueError):
    """The body cannot be accepted. ``status`` is the HTTP status to answer (400: not JSON
    at all, 422: a field is missing or mistyped), ``field`` the path of the offending field."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.field = field


@dataclass(frozen=True, slots=True)
class HorizonBatch:
    org_id: str  # as the body states it ("" when the daemon logged in offline)
    agent_id: str
    events: list[LegacyDecision]


def instant_ns(text: str) -> int | None:
    """Nanoseconds since the Unix epoch of an RFC 3339 timestamp with an offset, or None for
    Go's zero time. ValueError for anything else."""
    if text == GO_ZERO_TIME:
        return None
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"{text[:64]!r} is not an RFC 3339 timestamp with a zone offset "
                         "(e.g. 2026-05-17T15:42:18.123+02:00)")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    offset = dt.timedelta(0)
    if match.group(8) != "Z":
        if int(match.group(10)) > 23 or int(match.group(11)) > 59:
            raise ValueError(f"{text[:64]!r} has an impossible zone offset")
        offset = dt.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        if match.group(9) == "-":
            offset = -offset
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError as exc:
        raise ValueError(f"{text[:64]!r} is not a real date and time ({exc})") from None
    fraction = (match.group(7) or "").ljust(9, "0")
    nanos = (moment - _EPOCH) // dt.timedelta(seconds=1) * 1_000_000_000 + int(fraction or 0)
    if not _MIN_NS <= nanos <= _MAX_NS:
        raise ValueError(f"{text[:64]!r} is outside the years 1677-2262 that nanoseconds since 1970 can "
                         "hold; check the daemon's clock")
    return nanos


def decode_object(body: bytes, what: str) -> dict[str, Any]:
    """The body as a JSON object; FeedError(400) when it is not one."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FeedError(400, "", f"the body is not valid JSON ({exc}); send {what}") from None
    if not isinstance(value, dict):
        raise FeedError(400, "", f"the body must be a JSON object, got {type(value).__name__}; send {what}")
    return value


def text_field(obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise FeedError(422, path, "required")
        return ""
    if not isinstance(value, str):
        raise FeedError(422, path, f"must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise FeedError(422, path, f"{len(value)} characters exceed the limit of {MAX_TEXT}")
    return value


def effect_field(obj: Mapping[str, Any], path: str) -> str:
    effect = text_field(obj, "effect", path, required=True)
    if _EFFECT.match(effect) is None:
        raise FeedError(422, path, f"{effect[:64]!r} is not an upper-case effect such as PERMIT, DENY or DEFER")
    return effect


def timestamp_field(obj: Mapping[str, Any], path: str) -> tuple[str, int | None]:
    text = text_field(obj, "timestamp", path, required=True)
    try:
        return text, instant_ns(text)
    except ValueError as exc:
        raise FeedError(422, path, str(exc)) from None


def _latency(event: Mapping[str, Any], path: str) -> int:
    if "latency_ms" not in event:
        raise FeedError(422, path, "required")
    value = event["latency_ms"]
    if type(value) is not int:
        raise FeedError(422, path, f"must be a whole number of milliseconds, got {value!r:.64}")
    if not 0 <= value < 2**63:
        raise FeedError(422, path, f"{value} is outside 0..2^63-1")
    return value


def _event(event: Any, path: str, batch_agent_id: str) -> LegacyDecision:
    if not isinstance(event, dict):
        raise FeedError(422, path, f"each event must be a JSON object, got {type(event).__name__}")
    texts = {key: text_field(event, key, f"{path}.{key}") for key in _OPTIONAL_TEXT}
    timestamp, decided_at_ns = timestamp_field(event, f"{path}.timestamp")
    return LegacyDecision(
        source=SOURCE_HORIZON,
        effect=effect_field(event, f"{path}.effect"),
        reason_code=text_field(event, "reason_code", f"{path}.reason_code", required=True),
        latency_ms=_latency(event, f"{path}.latency_ms"),
        timestamp=timestamp,
        decided_at_ns=decided_at_ns,
        batch_agent_id=batch_agent_id,
        **texts,
    )


def parse_batch(body: bytes) -> HorizonBatch:
    """Validate a whole body; FeedError for the first problem found."""
    what = 'the Horizon batch {"agent_id":..., "events":[...], "org_id":...}'
    obj = decode_object(body, what)
    org_id = text_field(obj, "org_id", "org_id")
    agent_id = text_field(obj, "agent_id", "agent_id")
    events = obj.get("events")
    if events is None:
        raise FeedError(422, "events", "required: the list of decision events")
    if not isinstance(events, list):
        raise FeedError(422, "events", f"must be a list, got {type(events).__name__}")
    if len(events) > MAX_EVENTS:
        raise FeedError(422, "events", f"{len(events)} events exceed the limit of {MAX_EVENTS} per request; "
                        "send smaller batches (the daemon sends at most 50)")
    return HorizonBatch(org_id, agent_id, [_event(e, f"events[{i}]", agent_id) for i, e in enumerate(events)])
