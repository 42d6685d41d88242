"""Golden bytes of the audit index's alert events, the stacks component's pin events and the
notifications service's alert events (tests/data/events/<service>/v1/<Kind>.bin, written by
this code): every consumer of today must read them, so code that can no longer read an event
a rolling restart leaves on the log fails here. Fields are only ever added."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import (
    AlertAcknowledged,
    AlertKey,
    AlertRaised,
    AlertRetracted,
)
from faramesh_cloud.audit_index.pins import PinEvent, PinEventProcessor
from faramesh_cloud.events.records import event_headers
from faramesh_cloud.events.topics import SIGNING_KEYS, stack_key
from faramesh_cloud.log.port import Message
from faramesh_cloud.notifications.alert_events import (
    Closed,
    PassedOn,
    Raised,
    Routed,
    decode_alert_event,
    decode_own_event,
)
from faramesh_cloud.stacks.events import SigningKeyPinned, SigningKeyUnpinned

EVENTS = Path(__file__).resolve().parents[1] / "data" / "events"
ORG = "0b0c6a53-3f1e-4a8e-9a55-0f3c1e7d2b10"
STACK = "5d1e2f3a-4b5c-4d6e-8f70-819203a4b5c6"
KEY = AlertKey(ORG, STACK, "payments-bot", "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03", "sha256:" + "ab" * 32,
               "record_hash_mismatch")
RAISED_AT = datetime(2026, 5, 28, 20, 26, 40, 123456, tzinfo=UTC)
ACKED_AT = datetime(2026, 5, 29, 8, 15, 0, 250000, tzinfo=UTC)
ALERT_ID = 8468222740411179  # KEY.alert_id(): the id is derived from the identity


def golden(service: str, kind: str) -> bytes:
    return (EVENTS / service / "v1" / f"{kind}.bin").read_bytes()


def test_the_alert_id_is_derived_from_the_identity_and_fits_a_json_number() -> None:
    assert KEY.alert_id() == ALERT_ID < 2**53
    assert AlertKey(*KEY.as_tuple()[:5], "gap").alert_id() != ALERT_ID


def test_alert_raised_is_read_by_the_index_and_by_notifications() -> None:
    value = golden("audit_index", "AlertRaised")
    event = codec.decode("AlertRaised", value)
    assert event == AlertRaised(key=KEY, occurred_at=RAISED_AT, alert_id=ALERT_ID, severity="critical",
                                message="record_hash does not match the canonical bytes",
                                record_created_at="2026-05-28T20:26:39.987654321Z")
    assert codec.encode(event) == value
    assert decode_alert_event("AlertRaised", value) == Raised(
        KEY.as_tuple(), ALERT_ID, "record_hash does not match the canonical bytes", RAISED_AT)


def test_alert_acknowledged_is_read_by_the_index_and_by_notifications() -> None:
    value = golden("audit_index", "AlertAcknowledged")
    event = codec.decode("AlertAcknowledged", value)
    assert event == AlertAcknowledged(key=KEY, occurred_at=ACKED_AT, alert_id=ALERT_ID, actor_type="user",
                                      actor_id="7f9c1d2e-0000-4000-8000-000000000001",
                                      actor_label="olga@example.test", note="re-keyed the agent; the edit was a drill")
    assert codec.encode(event) == value
    assert decode_alert_event("AlertAcknowledged", value) == Closed(
        KEY.as_tuple(), ALERT_ID, ACKED_AT, "olga@example.test", "re-keyed the agent; the edit was a drill")


def test_alert_retracted_is_read_by_the_index_and_by_notifications() -> None:
    value = golden("audit_index", "AlertRetracted")
    event = codec.decode("AlertRetracted", value)
    assert event == AlertRetracted(key=KEY, occurred_at=ACKED_AT, alert_id=ALERT_ID,
                                   actor_label="faramesh-cloud verifier",
                                   note="Retracted automatically: the record verifies.", from_revision=1,
                                   to_revision=2, cause="verifier-revision-2")
    assert codec.encode(event) == value
    assert decode_alert_event("AlertRetracted", value) == Closed(
        KEY.as_tuple(), ALERT_ID, ACKED_AT, "faramesh-cloud verifier", "Retracted automatically: the record verifies.")


def _pin_message(kind: str, event_id: str) -> Message:
    headers = {"org": ORG.encode(), "stack": STACK.encode(), "kind": kind.encode(), "event-id": event_id.encode()}
    return Message(SIGNING_KEYS, 0, 3, stack_key(ORG, STACK), golden("stacks", kind), headers, 0)


def test_signing_key_pinned_is_read_by_the_audit_index() -> None:
    event_id = "3f2b8a4e-6c1d-4e9f-a0b1-c2d3e4f5a6b7"
    read = PinEventProcessor().process(_pin_message("SigningKeyPinned", event_id))
    assert isinstance(read, PinEvent) and read.event_id == event_id and read.actor == "olga@example.test"
    assert read.change is not None
    assert (read.change.org_id, read.change.stack_id, read.change.key_id, read.change.public_key,
            read.change.pinned) == (ORG, STACK, "c" * 64, "ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY=", True)
    assert read.change.effective_ns == int(RAISED_AT.timestamp()) * 10**9 + 123456000
    again = SigningKeyPinned(ORG, STACK, "c" * 64, "ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY=", "prod daemon 2026",
                             "olga@example.test", effective_at=RAISED_AT, event_id=event_id).record()
    assert again.value == golden("stacks", "SigningKeyPinned")
    assert event_headers(again.key, again.headers).kind == "SigningKeyPinned"


def test_signing_key_unpinned_is_read_by_the_audit_index() -> None:
    event_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    read = PinEventProcessor().process(_pin_message("SigningKeyUnpinned", event_id))
    assert isinstance(read, PinEvent) and read.actor == "cli:root" and read.change is not None
    assert (read.change.key_id, read.change.public_key, read.change.pinned) == ("c" * 64, "", False)
    assert read.change.effective_ns == int(ACKED_AT.timestamp()) * 10**9 + 250000000
    again = SigningKeyUnpinned(ORG, STACK, "c" * 64, "cli:root", effective_at=ACKED_AT, event_id=event_id).record()
    assert again.value == golden("stacks", "SigningKeyUnpinned")


def test_the_notifications_alert_events_are_read_back() -> None:
    routed = decode_own_event("ChainAlertRouted", golden("notifications", "ChainAlertRouted"))
    assert routed == Routed(KEY.as_tuple(), ALERT_ID, "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                            ("2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",), False,
                            "record_hash does not match the canonical bytes", RAISED_AT, RAISED_AT)
    assert routed.record().value == golden("notifications", "ChainAlertRouted")
    closed = decode_own_event("ChainAlertClosed", golden("notifications", "ChainAlertClosed"))
    assert closed == PassedOn(KEY.as_tuple(), ACKED_AT, ("2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",), ACKED_AT)
    assert closed.record().value == golden("notifications", "ChainAlertClosed")


def test_an_event_kind_from_newer_code_is_skipped_not_rejected() -> None:
    assert codec.decode("AlertEscalated", b"\x0a\x01x") is None
    assert decode_alert_event("AlertEscalated", b"\x0a\x01x") is None
    assert decode_own_event("ChainAlertMuted", b"") is None
