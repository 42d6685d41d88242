"""The legacy Horizon feed's body and the unverified decision events it becomes (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faramesh_cloud.events.legacy import (
    SCHEMA,
    SOURCE_HORIZON,
    VERIFICATION,
    LegacyDecision,
    LegacyEventError,
    utc_text,
)
from faramesh_cloud.ingest.legacy_feed import MAX_EVENTS, FeedError, instant_ns, parse_batch

VECTOR = "horizon_ingest_batch_example.json"


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-05-17T13:42:18.123456789Z", "2026-05-17T13:42:18.123456789Z"),
    ("2026-05-17T13:42:19.5Z", "2026-05-17T13:42:19.500000000Z"),
    ("2026-05-17T13:42:20Z", "2026-05-17T13:42:20.000000000Z"),
    # The daemon writes its LOCAL zone: the instant is what counts.
    ("2026-05-17T15:42:18.1+02:00", "2026-05-17T13:42:18.100000000Z"),
    ("2026-05-17T08:12:18.000000001-05:30", "2026-05-17T13:42:18.000000001Z"),
    ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000000Z"),
])
def test_local_zone_timestamps_become_the_same_instant_in_utc(text: str, utc: str) -> None:
    nanos = instant_ns(text)
    assert nanos is not None and utc_text(nanos) == utc


def test_go_zero_time_means_unknown() -> None:
    assert instant_ns("0001-01-01T00:00:00Z") is None


@pytest.mark.parametrize("text", [
    "2026-05-17 13:42:18Z",  # no T
    "2026-05-17T13:42:18",  # no offset: ambiguous
    "2026-05-17T13:42:18.1234567891Z",  # ten fraction digits
    "2026-02-30T00:00:00Z",  # no such day
    "2026-05-17T25:00:00Z",
    "2026-05-17T13:42:18+24:00",
    "yesterday",
    "2999-01-01T00:00:00Z",  # a real date, but not as int64 nanoseconds (the event's decided_at_ns)
    "1600-01-01T00:00:00+01:00",
])
def test_timestamps_that_are_not_rfc3339_with_offset_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        instant_ns(text)


def test_the_vector_body_parses_into_six_unverified_summaries(vectors_dir: Path) -> None:
    body = (vectors_dir / VECTOR).read_bytes()
    batch = parse_batch(body)
    expected = json.loads(body)
    assert (batch.org_id, batch.agent_id) == ("org_01HZX3EXAMPLE", "payments-bot")
    assert len(batch.events) == len(expected["events"]) == 6
    for event, source in zip(batch.events, expected["events"], strict=True):
        assert event.source == SOURCE_HORIZON
        for name in ("effect", "rule_id", "reason_code", "policy_version", "latency_ms", "agent_id",
                     "tool_id", "session_id", "record_id", "timestamp"):
            assert getattr(event, name) == source[name], name
        assert event.batch_agent_id == "payments-bot"
    # The escaped rule id survives exactly (\u003c, \u0026, \u2028, \u0001, é).
    assert batch.events[1].rule_id == 'governance.fms:18 <egress & "exfil">\u2028\u0001é'
    assert [e.effect for e in batch.events] == ["PERMIT", "DENY", "DEFER", "PERMIT", "SHADOW_PERMIT", "DEFER"]
    assert batch.events[4].decided_at == "2026-05-17T13:46:00.000000100Z"


def test_event_json_round_trips_and_says_it_is_unverified(vectors_dir: Path) -> None:
    event = parse_batch((vectors_dir / VECTOR).read_bytes()).events[1]
    raw = event.to_json()
    body = json.loads(raw)
    assert body["schema"] == SCHEMA and body["verification"] == VERIFICATION == "unverified (legacy feed)"
    assert body["decided_at"] == "2026-05-17T13:42:19.500000000Z"
    assert body["timestamp"] == "2026-05-17T13:42:19.5Z"
    assert "org_id" not in body and "stack_id" not in body  # tenancy lives in headers only
    assert "record_hash" not in body  # nothing to verify
    assert LegacyDecision.from_json(raw) == event


def test_zero_time_event_keeps_its_text_with_no_instant() -> None:
    body = b'{"events":[{"effect":"DENY","reason_code":"X","latency_ms":0,"timestamp":"0001-01-01T00:00:00Z"}]}'
    event = parse_batch(body).events[0]
    assert (event.timestamp, event.decided_at_ns, event.decided_at) == ("0001-01-01T00:00:00Z", None, None)
    assert json.loads(event.to_json())["decided_at"] is None
    assert event.record_id == "" and parse_batch(body).org_id == ""


def test_consumers_get_a_clear_error_for_a_foreign_value() -> None:
    with pytest.raises(LegacyEventError, match="schema"):
        LegacyDecision.from_json(b'{"schema":"other"}')
    with pytest.raises(LegacyEventError, match="not JSON"):
        LegacyDecision.from_json(b"\xff")


def _event(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {"effect": "PERMIT", "reason_code": "RULE_PERMIT", "latency_ms": 3,
                                "timestamp": "2026-05-17T13:42:18Z", "record_id": "r1"}
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize(("events", "field"), [
    ([_event(timestamp="2026-05-17T13:42:18")], "events[0].timestamp"),
    ([_event(), _event(timestamp=None)], "events[1].timestamp"),
    ([_event(effect="permit")], "events[0].effect"),
    ([_event(effect=None)], "events[0].effect"),
    ([_event(latency_ms="3")], "events[0].latency_ms"),
    ([_event(latency_ms=2.5)], "events[0].latency_ms"),
    ([_event(latency_ms=-1)], "events[0].latency_ms"),
    ([_event(latency_ms=True)], "events[0].latency_ms"),
    ([_event(record_id=7)], "events[0].record_id"),
    ([_event(reason_code=None)], "events[0].reason_code"),
    ([_event(), "PERMIT"], "events[1]"),
    ([_event(tool_id="x" * 5000)], "events[0].tool_id"),
])
def test_a_mistyped_event_field_is_named(events: list[object], field: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_batch(json.dumps({"agent_id": "a", "events": events, "org_id": ""}).encode())
    assert (caught.value.status, caught.value.field) == (422, field)
    assert field in str(caught.value)


@pytest.mark.parametrize(("body", "status", "field"), [
    (b"{not json", 400, ""),
    (b"[]", 400, ""),
    (b'{"agent_id":"a"}', 422, "events"),
    (b'{"events":{}}', 422, "events"),
    (b'{"events":[],"org_id":5}', 422, "org_id"),
    (json.dumps({"events": [_event()] * (MAX_EVENTS + 1)}).encode(), 422, "events"),
])
def test_a_malformed_body_is_refused_with_its_reason(body: bytes, status: int, field: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_batch(body)
    assert (caught.value.status, caught.value.field) == (status, field)


def test_unknown_event_keys_from_a_newer_daemon_are_ignored() -> None:
    batch = parse_batch(json.dumps({"events": [_event(new_field={"x": 1})]}).encode())
    assert batch.events[0].record_id == "r1"
