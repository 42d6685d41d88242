"""The processors of the alert and pin topics (pure): what they cannot read is rejected with
the reason (the runner parks it on the dead-letter topic), a body naming another tenant than
its headers is rejected, a kind from newer code is skipped, never a blocked partition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_consumer import AlertEventProcessor, PositionedAlertEvent
from faramesh_cloud.audit_index.alert_events import AlertKey, AlertRaised
from faramesh_cloud.audit_index.pins import PinEvent, PinEventProcessor
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import AUDIT_ALERTS, NOTIFICATION_ALERTS, SIGNING_KEYS
from faramesh_cloud.log.port import LogRecord, Message
from faramesh_cloud.notifications.alert_events import Routed
from faramesh_cloud.notifications.alerts import AlertEventProcessor as HandOffProcessor
from faramesh_cloud.notifications.alerts import OwnEventProcessor, Positioned
from faramesh_cloud.stacks.events import SigningKeyPinned

ORG = "0b0c6a53-3f1e-4a8e-9a55-0f3c1e7d2b10"
WHEN = datetime(2026, 5, 28, tzinfo=UTC)
KEY = AlertKey(ORG, "s1", "agent", "rec", "hash", "gap")


def message(topic: str, record: LogRecord, **headers: bytes) -> Message:
    return Message(topic, 0, 5, record.key, record.value, {**record.headers, **headers}, 0)


def raised(key: AlertKey = KEY) -> LogRecord:
    return codec.record(AlertRaised(key=key, occurred_at=WHEN, alert_id=key.alert_id(), severity="critical",
                                    message="a gap", record_created_at=""))


@pytest.mark.parametrize("processor", [AlertEventProcessor(), HandOffProcessor()])
def test_alert_events_are_read_and_bad_ones_rejected_with_the_reason(processor: object) -> None:
    read = processor.process(message(AUDIT_ALERTS, raised()))  # type: ignore[attr-defined]
    assert isinstance(read, PositionedAlertEvent | Positioned) and read.event is not None
    garbage = processor.process(message(AUDIT_ALERTS, LogRecord(raised().key, b"\xff\xff", raised().headers)))  # type: ignore[attr-defined]
    assert isinstance(garbage, Rejected) and "not a AlertRaised" in garbage.reason
    no_kind = processor.process(Message(AUDIT_ALERTS, 0, 1, raised().key, raised().value, {"org": ORG.encode()}, 0))  # type: ignore[attr-defined]
    assert isinstance(no_kind, Rejected) and "'kind' header" in no_kind.reason
    # A body that names another tenant than its headers (and key) say.
    other = raised(AlertKey("11111111-1111-4111-8111-111111111111", "s1", "agent", "rec", "hash", "gap"))
    forged = processor.process(message(AUDIT_ALERTS, LogRecord(raised().key, other.value, raised().headers)))  # type: ignore[attr-defined]
    assert isinstance(forged, Rejected) and "headers say" in forged.reason
    newer = processor.process(message(AUDIT_ALERTS, raised(), kind=b"AlertEscalated"))  # type: ignore[attr-defined]
    assert not isinstance(newer, Rejected) and newer.event is None  # skipped, the position moves


def test_pin_events_are_read_and_bad_ones_rejected_with_the_reason() -> None:
    pin = SigningKeyPinned(ORG, "s1", "c" * 64, "ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY=", "", "olga",
                           effective_at=WHEN).record()
    read = PinEventProcessor().process(message(SIGNING_KEYS, pin))
    assert isinstance(read, PinEvent) and read.change is not None and read.change.pinned
    bad_id = PinEventProcessor().process(message(SIGNING_KEYS, pin, **{"event-id": b"not-a-uuid"}))
    assert isinstance(bad_id, Rejected)
    short = SigningKeyPinned(ORG, "s1", "c" * 63, "AAAA", "", "olga", effective_at=WHEN).record()
    assert isinstance(rejected := PinEventProcessor().process(message(SIGNING_KEYS, short)), Rejected)
    assert "key id" in rejected.reason
    elsewhere = SigningKeyPinned(ORG, "s2", "c" * 64, "ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY=", "", "olga",
                                 effective_at=WHEN).record()
    forged = PinEventProcessor().process(message(SIGNING_KEYS, LogRecord(pin.key, elsewhere.value, pin.headers)))
    assert isinstance(forged, Rejected) and "headers say" in forged.reason
    newer = PinEventProcessor().process(message(SIGNING_KEYS, pin, kind=b"SigningKeyRotated"))
    assert isinstance(newer, PinEvent) and newer.change is None


def test_own_notification_events_naming_no_organisation_of_this_installation_are_rejected() -> None:
    routed = Routed(("org-acme", "s1", "agent", "rec", "hash", "gap"), 1, "", (), False, "m", WHEN, WHEN)
    rejected = OwnEventProcessor().process(message(NOTIFICATION_ALERTS, routed.record()))
    assert isinstance(rejected, Rejected) and "not a UUID" in rejected.reason
    fine = Routed((ORG, "s1", "agent", "rec", "hash", "gap"), 1, "", (), False, "m", WHEN, WHEN)
    assert isinstance(OwnEventProcessor().process(message(NOTIFICATION_ALERTS, fine.record())), Positioned)
