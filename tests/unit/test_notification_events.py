"""The notifications service's events on the wire (``notifications.events.v1``): every kind
round-trips through the codec with its key and headers; a record that cannot be read carries
its reason (the sink dead-letters it) and a kind from a newer version is passed over; and the
golden bytes under ``tests/data/events/notifications/v1`` (one record value per kind, written
by this code) still decode to the same event, so later code that cannot read today's events
fails here. Rewrite them only for a new kind: ``python -m tests.unit.test_notification_events``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from faramesh_cloud.events.topics import NOTIFICATION_EVENTS
from faramesh_cloud.log.port import Message
from faramesh_cloud.notifications.changes import (
    KINDS,
    ApprovalRouted,
    Change,
    DeliveriesPruned,
    DestinationCreated,
    DestinationDeleted,
    DestinationSecretRotated,
    DestinationUpdated,
    NotificationDelivered,
    NotificationFailed,
    NotificationQueued,
    RoutingRuleDeleted,
    RoutingRuleSet,
    notification_id,
)
from faramesh_cloud.notifications.domain import Event, Kind, Notice, Step, Subject
from faramesh_cloud.notifications.events import ChangeProcessor, encode
from faramesh_cloud.platform_audit.events import Actor, ActorType

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "events" / "notifications" / "v1"
ORG = "0b6f3c4e-2a1d-4f5e-9c8b-7a6d5e4f3a2b"
STACK = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
DEST = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
RULE = "9f8e7d6c-5b4a-4392-8190-fedcba987654"
AT = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
ALICE = Actor(ActorType.USER, "2c1b0a9f-8e7d-4c6b-5a49-382716054f3e", "alice@example.test")
NOTICE = Notice(event=Event.ESCALATED, org_id=ORG, org_slug="acme", stack_id=STACK, stack_name="payments-prod",
                defer_token="tok-1", agent_id="payments-bot", tool_id="stripe/refund",
                reason="refund above 100 needs a human", priority="high", matched_rule_id="refunds-over-100",
                session_id="sess-1", created_at=AT.isoformat(), deadline="2026-03-14T10:26:53+00:00",
                link="https://cloud.example.test/o/acme/approvals?stack=s&agent=payments-bot", step=1,
                after_minutes=10)
NID = notification_id(ORG, DEST, STACK, "tok-1", Event.ESCALATED, 1)


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


SAMPLES: dict[str, Change] = {
    "DestinationCreated": DestinationCreated(
        _id(1), AT, ORG, ALICE, DEST, "payments-oncall", Kind.EMAIL,
        {"smtp_host": "smtp.example.test", "smtp_port": 587, "starttls": True, "username": "",
         "sender": "cloud@example.test", "to": ["oncall@example.test"]}, b"\x00" * 12 + b"sealed-bytes"),
    "DestinationSecretRotated": DestinationSecretRotated(_id(2), AT, ORG, ALICE, DEST, b"\x01" * 12 + b"sealed",
                                                         86400),
    "DestinationDeleted": DestinationDeleted(_id(3), AT, ORG, ALICE, DEST, "payments-oncall"),
    "DestinationUpdated": DestinationUpdated(
        _id(10), AT, ORG, ALICE, DEST, "payments-pager",
        {"smtp_host": "smtp.example.test", "smtp_port": 465, "starttls": False, "username": "cloud",
         "sender": "cloud@example.test", "to": ["oncall@example.test", "lead@example.test"]}),
    "DeliveriesPruned": DeliveriesPruned(_id(11), AT, ORG, datetime(2025, 12, 14, 9, 26, 53, tzinfo=UTC), 1234),
    "RoutingRuleSet": RoutingRuleSet(_id(4), AT, ORG, ALICE, RULE, Subject.APPROVALS, STACK, "payments-bot",
                                     (Step(0, (DEST,)), Step(10, (DEST, RULE)))),
    "RoutingRuleDeleted": RoutingRuleDeleted(_id(5), AT, ORG, ALICE, RULE, Subject.CHAIN_INTEGRITY, "", ""),
    "ApprovalRouted": ApprovalRouted(_id(6), AT, ORG, STACK, "tok-1", "payments-bot", "stripe/refund", "sess-1",
                                     "refund above 100 needs a human", "high", "refunds-over-100",
                                     datetime(2026, 3, 14, 9, 26, 50, tzinfo=UTC),
                                     datetime(2026, 3, 14, 10, 26, 53, tzinfo=UTC), RULE),
    "NotificationQueued": NotificationQueued(_id(7), AT, ORG, NID, DEST, NOTICE),
    "NotificationDelivered": NotificationDelivered(_id(8), AT, ORG, NID, DEST, STACK, 2, 202),
    "NotificationFailed": NotificationFailed(_id(9), AT, ORG, NID, DEST, STACK, 8, None,
                                             "ConnectTimeout: timed out"),
}


def message(change: Change, offset: int = 0) -> Message:
    record = encode(change)
    return Message(NOTIFICATION_EVENTS, 1, offset, record.key, record.value, record.headers, 0)


# The alert hand-off's own events share the topic's proto package and this folder; their codec
# and golden bytes are checked in tests/unit/test_alert_and_pin_events_golden.py.
ALERT_KINDS = {"ChainAlertRouted", "ChainAlertClosed"}


def test_there_is_a_sample_and_a_golden_file_for_every_kind() -> None:
    assert sorted(SAMPLES) == sorted(k.__name__ for k in KINDS)
    assert sorted(p.stem for p in GOLDEN.glob("*.bin") if p.stem not in ALERT_KINDS) == sorted(SAMPLES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_golden_bytes_written_by_this_code_still_decode_to_the_same_event(kind: str) -> None:
    golden = (GOLDEN / f"{kind}.bin").read_bytes()
    seen = ChangeProcessor().process(Message(NOTIFICATION_EVENTS, 0, 5, f"{ORG}/-".encode(), golden,
                                             {"org": ORG.encode(), "kind": kind.encode()}, 0))
    assert seen.problem == "" and seen.change == SAMPLES[kind]
    assert encode(SAMPLES[kind]).value == golden  # and this code still writes them so


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_round_trips_keyed_by_organisation_with_its_headers(kind: str) -> None:
    change = SAMPLES[kind]
    record = encode(change)
    assert record.key == f"{ORG}/-".encode()
    stack = b"" if kind.startswith(("Destination", "Deliveries")) or kind == "RoutingRuleDeleted" else STACK.encode()
    assert dict(record.headers) == {"org": ORG.encode(), "stack": stack, "kind": kind.encode(),
                                    "event-id": change.event_id.encode()}
    seen = ChangeProcessor().process(message(change, 7))
    assert (seen.partition, seen.offset, seen.change, seen.problem) == (1, 7, change, "")


def test_no_secret_in_clear_only_the_sealed_bytes() -> None:
    record = encode(SAMPLES["DestinationCreated"])
    assert b"sealed-bytes" in record.value and b"password" not in record.value


def test_a_record_that_cannot_be_read_carries_its_reason_and_an_unknown_kind_is_passed_over() -> None:
    process = ChangeProcessor().process
    good = message(SAMPLES["RoutingRuleSet"])

    garbage = process(Message(NOTIFICATION_EVENTS, 0, 1, good.key, b"\xff\x00garbage", good.headers, 0))
    assert garbage.change is None and "RoutingRuleSet cannot be read" in garbage.problem
    assert garbage.message is not None and garbage.message.offset == 1

    other_org = {**good.headers, "org": b"7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9"}
    forged = process(Message(NOTIFICATION_EVENTS, 0, 2, good.key, good.value, other_org, 0))
    assert forged.change is None and "org header" in forged.problem

    bad_subject = encode(RoutingRuleDeleted(_id(5), AT, ORG, ALICE, RULE, Subject.APPROVALS, "", ""))
    value = bad_subject.value.replace(b"approvals", b"everythin")
    assert "everythin" in process(Message(NOTIFICATION_EVENTS, 0, 3, good.key, value, bad_subject.headers,
                                          0)).problem

    newer = process(Message(NOTIFICATION_EVENTS, 0, 4, good.key, b"\x0a\x03abc", {**good.headers,
                                                                                  "kind": b"DestinationMuted"}, 0))
    assert (newer.change, newer.problem, newer.offset) == (None, "", 4)  # a newer version's kind: passed over

    lying = encode(NotificationQueued(_id(7), AT, ORG, NID, DEST, NOTICE))
    other_token = lying.value.replace(b'"defer_token":"tok-1"', b'"defer_token":"tok-2"')
    assert "does not match" in process(Message(NOTIFICATION_EVENTS, 0, 5, good.key, other_token, lying.headers,
                                               0)).problem


def write_golden() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for kind, change in SAMPLES.items():
        (GOLDEN / f"{kind}.bin").write_bytes(encode(change).value)


if __name__ == "__main__":
    write_golden()
