"""The audit index's alert rules and identities (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faramesh_cloud.audit_index.alert_events import (
    MAX_NOTE,
    AlertKey,
    AlertState,
    AlreadyAcknowledged,
    decide_acknowledgement,
)

KEY = AlertKey("org", "stack", "agent", "rec", "hash", "gap")
NOW = datetime(2026, 5, 29, 8, 0, tzinfo=UTC)


def test_acknowledging_an_open_alert_gives_its_event() -> None:
    event = decide_acknowledgement(AlertState(KEY, 7, False, None, ""), "  looked at it  ", "user", "u-1",
                                   "olga@example.test", NOW)
    assert (event.key, event.alert_id, event.note, event.actor_label, event.occurred_at) == (
        KEY, 7, "looked at it", "olga@example.test", NOW)
    assert event.event_id == KEY.event_id("acknowledged")  # one acknowledgement per alert


def test_an_acknowledged_alert_is_a_conflict_naming_who_and_when() -> None:
    done = AlertState(KEY, 7, True, datetime(2026, 5, 28, 9, 30, tzinfo=UTC), "pete@example.test")
    with pytest.raises(AlreadyAcknowledged, match=r"acknowledged by pete@example\.test at 2026-05-28 09:30:00"):
        decide_acknowledgement(done, "me too", "user", "u-1", "olga@example.test", NOW)


@pytest.mark.parametrize("note", ["", "   ", "x" * (MAX_NOTE + 1)])
def test_a_note_is_required_and_bounded(note: str) -> None:
    with pytest.raises(ValueError, match="note"):
        decide_acknowledgement(AlertState(KEY, 7, False, None, ""), note, "user", "u-1", "o", NOW)


def test_ids_are_derived_from_the_identity_and_never_mix_fields() -> None:
    assert KEY.alert_id() == AlertKey(*KEY.as_tuple()).alert_id()
    assert 0 < KEY.alert_id() < 2**53 and KEY.alert_id(1) != KEY.alert_id()
    shifted = AlertKey("org", "stack", "agent", "rechash", "", "gap")  # same characters, other fields
    assert shifted.alert_id() != KEY.alert_id() and shifted.event_id("raised") != KEY.event_id("raised")
