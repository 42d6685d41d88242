"""Daemon webhooks: signature checks and what a permit/deny/defer event becomes (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.events.legacy import SOURCE_WEBHOOK
from faramesh_cloud.ingest.legacy_feed import FeedError
from faramesh_cloud.ingest.webhook_events import parse_event, signature_for, signature_valid

SECRET = b"fmc_whsec_test-secret-0123456789"
# Exactly what the daemon's webhook sender marshals for a DEFER (omitempty fields left out).
DEFER = (b'{"version":"1.0","type":"defer","timestamp":"2026-05-17T13:42:20Z","agent_id":"payments-bot",'
         b'"session_id":"sess-7c1d","tool_id":"stripe/refund","effect":"DEFER","rule_id":"rule-5",'
         b'"reason_code":"RULE_DEFER","reason":"refunds over $100 need a human",'
         b'"record_id":"0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03","defer_token":"9f3a2c71"}')


def test_signature_is_hmac_sha256_hex_of_the_raw_body() -> None:
    expected = "sha256=" + hmac.new(SECRET, DEFER, hashlib.sha256).hexdigest()
    assert signature_for(SECRET, DEFER) == expected
    assert signature_valid(expected, DEFER, [SECRET])
    assert signature_valid(expected.upper().replace("SHA256=", "sha256="), DEFER, [SECRET])


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha256=" + "0" * 64, signature_for(b"another-secret-of-16+", DEFER),
    signature_for(SECRET, DEFER)[len("sha256="):],  # no scheme
    signature_for(SECRET, DEFER + b" "),  # signed a different body
])
def test_a_wrong_or_missing_signature_is_refused(header: str | None) -> None:
    assert not signature_valid(header, DEFER, [SECRET])


def test_no_secret_verifies_nothing() -> None:
    assert not signature_valid(signature_for(SECRET, DEFER), DEFER, [])


def test_either_secret_of_a_rotation_overlap_verifies() -> None:
    old, new = b"old-secret-0123456789", b"new-secret-0123456789"
    assert signature_valid(signature_for(old, DEFER), DEFER, [new, old])
    assert signature_valid(signature_for(new, DEFER), DEFER, [new, old])


def test_defer_event_carries_a_pending_approval() -> None:
    event = parse_event(DEFER)
    decision = event.decision
    assert (decision.source, decision.effect, decision.defer_token) == (SOURCE_WEBHOOK, "DEFER", "9f3a2c71")
    assert decision.decided_at == "2026-05-17T13:42:20.000000000Z" and decision.latency_ms is None
    pending = event.pending
    assert pending is not None
    assert (pending.defer_token, pending.agent_id, pending.tool_id, pending.session_id) == (
        "9f3a2c71", "payments-bot", "stripe/refund", "sess-7c1d")
    assert (pending.matched_rule_id, pending.reason_code, pending.reason, pending.dpr_record_id) == (
        "rule-5", "RULE_DEFER", "refunds over $100 need a human", "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03")
    assert pending.kind == approvals_pb2.DEFER_KIND_DEFER
    assert pending.created_at.ToJsonString() == "2026-05-17T13:42:20Z"
    assert not pending.HasField("deadline")  # the webhook does not say; nothing is invented


def test_permit_event_has_no_pending_approval() -> None:
    body = json.dumps({"version": "1.0", "type": "permit", "timestamp": "2026-05-17T13:42:18Z",
                       "agent_id": "a", "effect": "SHADOW", "record_id": "r"}).encode()
    event = parse_event(body)
    assert event.pending is None and event.decision.effect == "SHADOW"


@pytest.mark.parametrize(("changes", "field"), [
    ({"type": "defer_resolved"}, "type"),
    ({"type": None}, "type"),
    ({"version": "2.0"}, "version"),
    ({"timestamp": "today"}, "timestamp"),
    ({"defer_token": None}, "defer_token"),
    ({"agent_id": None}, "agent_id"),
    ({"effect": "defer"}, "effect"),
    ({"reason": 5}, "reason"),
])
def test_a_bad_webhook_field_is_named(changes: dict[str, object], field: str) -> None:
    body = json.loads(DEFER)
    body.update(changes)
    with pytest.raises(FeedError) as caught:
        parse_event(json.dumps({k: v for k, v in body.items() if v is not None}).encode())
    assert (caught.value.status, caught.value.field) == (422, field)
