"""The audit index's processor of decisions.legacy.v1 and the legacy sink's plan: pure.

Events are made the way ingest makes them from the daemon's wire format (the Horizon batch
vector, a webhook body), so the processor sees exactly what the log carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faramesh_cloud.audit_index.domain import SummaryRow
from faramesh_cloud.audit_index.legacy_postgres import StoredSummary
from faramesh_cloud.audit_index.legacy_processor import LegacyProcessor
from faramesh_cloud.audit_index.legacy_sink import plan
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.legacy import SOURCE_HORIZON, SOURCE_WEBHOOK, LegacyDecision
from faramesh_cloud.events.topics import LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.ingest.legacy_feed import parse_batch
from faramesh_cloud.ingest.webhook_events import parse_event
from faramesh_cloud.log.port import Message

ORG, STACK = "org-acme", "stack-pay"
RECEIVED_NS = 1_779_025_400_000_000_000


def message(event: LegacyDecision | bytes, *, offset: int = 5, source: str | None = None,
            key: bytes | None = None) -> Message:
    value = event if isinstance(event, bytes) else event.to_json()
    origin = Origin(ORG, STACK, source or (event.source if isinstance(event, LegacyDecision) else SOURCE_HORIZON),
                    0, "req-1", RECEIVED_NS)
    return Message(LEGACY_DECISIONS, 2, offset, stack_key(ORG, STACK) if key is None else key, value,
                   origin.headers(), RECEIVED_NS // 1_000_000)


def row(result: SummaryRow | Rejected) -> SummaryRow:
    assert isinstance(result, SummaryRow), result
    return result


def horizon(timestamp: str, **changes: object) -> LegacyDecision:
    event = {"effect": "DENY", "rule_id": "rule-9", "reason_code": "RULE_DENY", "policy_version": "3f2a",
             "latency_ms": 5, "agent_id": "payments-bot", "tool_id": "http/post", "session_id": "sess-1",
             "record_id": "0b7e2c4a-0001", "timestamp": timestamp, **changes}
    body = {"agent_id": "payments-bot", "events": [{k: v for k, v in event.items() if v is not None}], "org_id": ""}
    return parse_batch(json.dumps(body).encode()).events[0]


def test_the_horizon_vector_becomes_rows_at_the_instant_in_utc(vectors_dir: Path) -> None:
    batch = parse_batch((vectors_dir / "horizon_ingest_batch_example.json").read_bytes())
    rows = [row(LegacyProcessor().process(message(e, offset=i))) for i, e in enumerate(batch.events)]
    assert [r.record_id for r in rows] == [e.record_id for e in batch.events]
    assert rows[0].created_at_text == "2026-05-17T13:42:18.123456789Z"
    assert rows[0].created_ns == 1_779_025_338_123_456_789
    assert rows[4].created_at_text == "2026-05-17T13:46:00.000000100Z"
    assert {r.source for r in rows} == {SOURCE_HORIZON} and rows[1].effect == "DENY"
    assert (rows[1].org_id, rows[1].stack_id, rows[1].matched_rule_id) == (
        ORG, STACK, batch.events[1].rule_id)
    assert json.loads(rows[1].raw)["timestamp"] == "2026-05-17T13:42:19.5Z"


@pytest.mark.parametrize(("timestamp", "utc"), [
    ("2026-05-17T15:42:18.1+02:00", "2026-05-17T13:42:18.100000000Z"),
    ("2026-05-17T08:12:18.123456789-05:30", "2026-05-17T13:42:18.123456789Z"),
    ("2026-05-18T01:42:18+12:00", "2026-05-17T13:42:18.000000000Z"),
])
def test_a_local_zone_timestamp_is_stored_in_utc_and_kept_as_sent(timestamp: str, utc: str) -> None:
    out = row(LegacyProcessor().process(message(horizon(timestamp))))
    assert out.created_at_text == utc
    assert json.loads(out.raw)["timestamp"] == timestamp  # Explain shows what the daemon sent


def test_a_webhook_has_utc_seconds_and_no_latency() -> None:
    body = json.dumps({"version": "1.0", "type": "deny", "timestamp": "2026-05-17T13:42:19Z", "agent_id": "bot",
                       "effect": "DENY", "record_id": "r-1", "reason": "egress"}).encode()
    out = row(LegacyProcessor().process(message(parse_event(body).decision)))
    assert (out.source, out.created_at_text, out.reason, out.effect) == (
        SOURCE_WEBHOOK, "2026-05-17T13:42:19.000000000Z", "egress", "DENY")
    assert json.loads(out.raw)["latency_ms"] is None


def test_go_zero_time_or_a_time_the_index_cannot_hold_is_placed_at_receipt() -> None:
    for timestamp in ("0001-01-01T00:00:00Z", "1800-01-01T00:00:00+01:00", "1677-09-22T00:00:00Z"):
        out = row(LegacyProcessor().process(message(horizon(timestamp))))
        assert out.created_ns == RECEIVED_NS, timestamp


def test_an_event_without_record_id_gets_an_id_from_its_place_on_the_log() -> None:
    first = row(LegacyProcessor().process(message(horizon("2026-05-17T13:42:18Z", record_id=None), offset=8)))
    again = row(LegacyProcessor().process(message(horizon("2026-05-17T13:42:18Z", record_id=None), offset=9)))
    assert (first.record_id, again.record_id) == ("no-record-id-2-8", "no-record-id-2-9")


def test_processing_the_same_message_twice_gives_the_same_row() -> None:
    msg = message(horizon("2026-05-17T15:42:18.1+02:00"))
    assert LegacyProcessor().process(msg) == LegacyProcessor().process(msg)


@pytest.mark.parametrize(("msg", "reason"), [
    (message(b"not json"), "not a legacy decision event: not JSON"),
    (message(b'{"schema":"other"}'), "schema must be"),
    (message(horizon("2026-05-17T13:42:18Z"), source=SOURCE_WEBHOOK), "disagrees with the event's source"),
    (message(horizon("2026-05-17T13:42:18Z"), key=b"org-acme/other"), "does not match its origin headers"),
    (message(horizon("2026-05-17T13:42:18Z", record_id="a\x00b")), "NUL"),
])
def test_what_the_index_cannot_use_is_rejected_with_a_reason(msg: Message, reason: str) -> None:
    result = LegacyProcessor().process(msg)
    assert isinstance(result, Rejected) and reason in result.reason, result


def test_a_message_without_origin_headers_is_rejected() -> None:
    msg = message(horizon("2026-05-17T13:42:18Z"))
    result = LegacyProcessor().process(Message(msg.topic, msg.partition, msg.offset, msg.key, msg.value, {}, 0))
    assert isinstance(result, Rejected) and "origin headers" in result.reason


def summary(source: str, offset: int, record_id: str = "r-1") -> SummaryRow:
    event = horizon("2026-05-17T13:42:18Z", record_id=record_id)
    if source == SOURCE_WEBHOOK:
        body = json.dumps({"version": "1.0", "type": "deny", "timestamp": "2026-05-17T13:42:18Z",
                           "effect": "DENY", "record_id": record_id}).encode()
        event = parse_event(body).decision
    return row(LegacyProcessor().process(message(event, offset=offset)))


def test_the_first_copy_of_a_key_wins_and_later_ones_are_deliveries() -> None:
    batch = [summary(SOURCE_WEBHOOK, 1), summary(SOURCE_WEBHOOK, 2), summary(SOURCE_HORIZON, 3),
             summary(SOURCE_HORIZON, 4, "r-2")]
    out = plan(batch, {}, set())
    assert [r.offset for r in out.rows] == [1, 4] and out.repeats == 2 and out.hidden == []
    first = out.summaries[(ORG, STACK, "r-1")]
    assert (first.first_source, first.sources, first.deliveries, first.in_index) == (
        SOURCE_WEBHOOK, [SOURCE_WEBHOOK, SOURCE_HORIZON], 3, True)


def test_a_key_already_stored_or_held_by_a_dpr_gets_no_row() -> None:
    stored = {(ORG, STACK, "r-1"): StoredSummary(SOURCE_HORIZON, [SOURCE_HORIZON], 1, "p", 1, True, None)}
    out = plan([summary(SOURCE_WEBHOOK, 1), summary(SOURCE_HORIZON, 2, "r-2")], stored, {(ORG, STACK, "r-2")})
    assert out.rows == [] and [r.record_id for r in out.hidden] == ["r-2"]
    assert out.summaries[(ORG, STACK, "r-1")].deliveries == 2
    replaced = out.summaries[(ORG, STACK, "r-2")]
    assert (replaced.in_index, replaced.superseded_ns) == (False, RECEIVED_NS)
