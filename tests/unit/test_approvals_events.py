"""The approvals service's events on the wire (pure): every kind round-trips through a log
record, the golden bytes written by this code still decode to the same change (and a later
additive field does not disturb them), ids are deterministic, and what cannot be applied is
rejected with the reason. Also how Cloud's and the daemon's accounts of a resolution merge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from faramesh_cloud_api.approvals.v1 import events_pb2

from faramesh_cloud.approvals import changes
from faramesh_cloud.approvals.changes import Consumed
from faramesh_cloud.approvals.domain import Resolution, State, after_daemon_event, resolution
from faramesh_cloud.approvals.events import KINDS, decode, encode
from faramesh_cloud.approvals.processor import ApprovalProcessor
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import APPROVAL_EVENTS, EMERGENCY_COMMANDS, H_KIND, H_ORG, H_STACK
from faramesh_cloud.log.port import LogRecord, Message
from tests.approvals_events_samples import GOLDEN, ORG, STACK, samples


def _message(record: LogRecord, topic: str = APPROVAL_EVENTS, offset: int = 7) -> Message:
    return Message(topic, 1, offset, record.key, record.value, dict(record.headers), 0)


def _topic(kind: str) -> str:
    return EMERGENCY_COMMANDS if kind.startswith("EmergencyCommand") else APPROVAL_EVENTS


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_through_a_log_record(kind: str) -> None:
    change = samples()[kind]
    record = encode(change)
    assert record.key == f"{ORG}/{STACK}".encode()
    assert dict(record.headers) == {"org": ORG.encode(), "stack": STACK.encode(), "kind": kind.encode(),
                                    "event-id": change.event_id.encode()}
    assert decode(_message(record)) == change
    assert changes.topic_of(change) == _topic(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_the_golden_bytes_of_each_kind_still_decode_to_the_same_change(kind: str) -> None:
    stored = (GOLDEN / f"{kind}.bin").read_bytes()
    headers = {H_KIND: kind.encode(), H_ORG: ORG.encode(), H_STACK: STACK.encode()}
    change = decode(Message(_topic(kind), 0, 0, b"", stored, headers, 0))
    assert change == samples()[kind]
    assert encode(change).value == stored  # type: ignore[arg-type]  # this code still writes the same bytes


@pytest.mark.parametrize("kind", KINDS)
def test_a_field_added_by_newer_code_is_skipped(kind: str) -> None:
    stored = (GOLDEN / f"{kind}.bin").read_bytes()
    newer = stored + bytes([0xA2, 0x06, 0x05]) + b"later"  # field 100, a string this code does not know
    headers = {H_KIND: kind.encode(), H_ORG: ORG.encode(), H_STACK: STACK.encode()}
    assert decode(Message(_topic(kind), 0, 0, b"", newer, headers, 0)) == samples()[kind]


def test_ids_are_uuid5_of_natural_keys_so_a_rebuild_gives_the_same_ones() -> None:
    approval = changes.approval_key(ORG, STACK, "defer-0001")
    assert approval == changes.approval_key(ORG.upper(), STACK, "defer-0001")  # one spelling of the org
    assert approval != changes.approval_key(ORG, STACK, "defer-0002")
    assert approval != changes.approval_key(ORG, "other-stack", "defer-0001")
    first, again = samples()["ApprovalDecided"], samples()["ApprovalDecided"]
    assert first.event_id == again.event_id and first.decision_id == changes.decision_key(approval)  # type: ignore[union-attr]
    assert len({c.event_id for c in samples().values()}) == len(KINDS)
    twice = changes.handed_out(ORG, STACK, first.decision_id, approval, 3, first.occurred_at)  # type: ignore[union-attr]
    assert twice.event_id != samples()["DeliveryHandedOut"].event_id  # each hand-out is its own event


def test_the_namespace_of_the_ids_never_changes() -> None:
    assert changes.approval_key(ORG, STACK, "defer-0001") == "f5b93f7f-fc08-53fc-bb27-20f82ee0dee2"


def _with(kind: str, **fields: object) -> bytes:
    body = getattr(events_pb2, kind).FromString(encode(samples()[kind]).value)
    for name, value in fields.items():
        setattr(body, name, value)
    return bytes(body.SerializeToString())


def _headers(kind: str = "ApprovalDecided", org: str = ORG) -> dict[str, bytes]:
    return {H_KIND: kind.encode(), H_ORG: org.encode(), H_STACK: STACK.encode()}


@pytest.mark.parametrize(("headers", "value", "reason"), [
    (_headers("ApprovalReopened"), b"", "unknown approvals event kind 'ApprovalReopened'"),
    ({H_ORG: ORG.encode(), H_STACK: STACK.encode()}, b"", "unknown approvals event kind ''"),
    ({H_KIND: b"ApprovalDecided", H_STACK: STACK.encode()}, b"", "without a readable tenant header"),
    (_headers(), b"\xff\xff\xff", "not a ApprovalDecided"),
    (_headers(org="2b3c4d5e-6f70-4d8e-9f0a-7d3f4e2a1b6c"), None, "names org/stack"),
    (_headers(), _with("ApprovalDecided", approval_id="not-a-uuid"), "no valid approval_id"),
    (_headers(), _with("ApprovalDecided", bulk_action_id="bulk-1"), "no valid bulk_action_id"),
    (_headers(), _with("ApprovalDecided", event_id=""), "needs an event_id"),
    (_headers(), _with("ApprovalDecided", verdict=0), "neither approve nor deny"),
    (_headers(), _with("ApprovalDecided", reason="a\x00b"), "NUL character"),
    (_headers("DeliveryHandedOut"), _with("DeliveryHandedOut", handed_out=2**31), "out of range"),
    (_headers("EmergencyCommandIssued"), _with("EmergencyCommandIssued", command_type=0), "neither kill nor isolate"),
])
def test_what_cannot_be_applied_is_rejected_with_the_reason(
        headers: dict[str, bytes], value: bytes | None, reason: str) -> None:
    body = encode(samples()["ApprovalDecided"]).value if value is None else value
    got = decode(Message(APPROVAL_EVENTS, 0, 0, b"", body, headers, 0))
    assert isinstance(got, Rejected) and reason in got.reason, got


def test_the_processor_reads_the_service_topics_with_their_positions() -> None:
    processor = ApprovalProcessor()
    decided = samples()["ApprovalDecided"]
    got = processor.process(_message(encode(decided), APPROVAL_EVENTS, 41))
    assert got == Consumed(APPROVAL_EVENTS, 1, 41, decided)
    issued = samples()["EmergencyCommandIssued"]
    assert processor.process(_message(encode(issued), EMERGENCY_COMMANDS, 3)) == Consumed(
        EMERGENCY_COMMANDS, 1, 3, issued)
    misplaced = processor.process(_message(encode(issued), APPROVAL_EVENTS))
    assert isinstance(misplaced, Rejected) and "belongs on commands.emergency.v1" in misplaced.reason


T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
CLOUD_APPROVED = Resolution(State.APPROVED, T0, "u-alice", "alice@example.com", "verified", "cloud")
CLOUD_EXPIRED = Resolution(State.EXPIRED, T0, "", "", "expired", "timeout")


def _daemon(state: State, source: str) -> Resolution:
    return Resolution(state, T0 + timedelta(seconds=5), "ops-cli" if source == "local" else "", "", "from daemon",
                      source)


@pytest.mark.parametrize(("cloud", "daemon"), [
    (None, None), (CLOUD_APPROVED, None), (CLOUD_EXPIRED, None),
    (None, _daemon(State.DENIED, "local")), (None, _daemon(State.APPROVED, "cloud")),
    (CLOUD_APPROVED, _daemon(State.APPROVED, "cloud")), (CLOUD_APPROVED, _daemon(State.APPROVED, "")),
    (CLOUD_APPROVED, _daemon(State.DENIED, "local")), (CLOUD_APPROVED, _daemon(State.EXPIRED, "timeout")),
    (CLOUD_EXPIRED, _daemon(State.EXPIRED, "timeout")), (CLOUD_EXPIRED, _daemon(State.APPROVED, "local")),
    (None, _daemon(State.WITHDRAWN, "local")),
])
def test_the_shown_resolution_is_cloud_then_the_daemon_whatever_arrived_first(
        cloud: Resolution | None, daemon: Resolution | None) -> None:
    shown = resolution(cloud, daemon)
    if daemon is None:
        assert shown == (cloud or Resolution(State.PENDING))
        return
    # What the live projection did: Cloud resolved first (it needs "pending"), the daemon reported after.
    assert shown.state is after_daemon_event(cloud.state if cloud else State.PENDING, daemon.state, daemon.source)
    if cloud is CLOUD_APPROVED and daemon.source == "cloud":
        assert shown == replace(CLOUD_APPROVED, state=shown.state)  # Cloud's approver and reason kept
    else:
        assert (shown.at, shown.by, shown.by_label, shown.reason) == (daemon.at, daemon.by, "", daemon.reason)
        assert shown.source == (daemon.source or "daemon")
