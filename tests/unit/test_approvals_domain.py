"""The approval lifecycle and the ApprovalEvent processor (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.approvals.domain import (
    AgeBand,
    Conflict,
    DecisionRefused,
    Pattern,
    State,
    Verdict,
    after_daemon_event,
    bulk_pattern,
    check_reason,
    may_expire,
    refusal,
    withdrawal,
)
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.log.port import Message
from tests.approvals_support import pending_event

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=5)


def test_a_pending_approval_before_its_deadline_may_be_decided() -> None:
    assert refusal(State.PENDING, DEADLINE, NOW) is None
    assert Verdict.APPROVE.state is State.APPROVED and Verdict.DENY.state is State.DENIED


@pytest.mark.parametrize(("state", "code", "words"), [
    (State.APPROVED, "already_resolved", "already approved by ops"),
    (State.DENIED, "already_resolved", "already denied by ops"),
    (State.EXPIRED, "expired", "already expired"),
    (State.WITHDRAWN, "withdrawn", "withdrew"),
])
def test_a_resolved_approval_refuses_a_second_decision_with_the_reason(state: State, code: str, words: str) -> None:
    why = refusal(state, DEADLINE, NOW, "ops")
    assert isinstance(why, Conflict) and why.code == code and words in str(why)


def test_a_pending_approval_past_its_deadline_is_refused_as_expired() -> None:
    why = refusal(State.PENDING, DEADLINE, DEADLINE)
    assert isinstance(why, Conflict) and why.code == "expired"
    assert may_expire(State.PENDING, DEADLINE, DEADLINE) and not may_expire(State.PENDING, DEADLINE, NOW)
    assert not may_expire(State.APPROVED, DEADLINE, DEADLINE + timedelta(hours=1))


def test_the_daemon_is_the_authority_but_a_late_pending_snapshot_never_reopens() -> None:
    assert after_daemon_event(None, State.PENDING) is State.PENDING
    assert after_daemon_event(State.APPROVED, State.PENDING) is State.APPROVED
    assert after_daemon_event(State.APPROVED, State.EXPIRED) is State.EXPIRED  # the daemon refused it
    assert after_daemon_event(State.PENDING, State.DENIED, "cloud") is State.DENIED
    assert after_daemon_event(State.DENIED, State.DENIED) is State.DENIED  # an unlabelled echo of Cloud's


@pytest.mark.parametrize(("current", "reported", "source"), [
    (State.PENDING, State.APPROVED, "local"),  # the daemon's CLI approved it
    (State.PENDING, State.DENIED, "local"),
    (State.PENDING, State.DENIED, ""),  # a verdict not from Cloud
    (State.APPROVED, State.DENIED, "local"),  # the CLI beat Cloud's decision to the daemon
    (State.EXPIRED, State.APPROVED, "local"),
    (None, State.APPROVED, "local"),
    (State.PENDING, State.WITHDRAWN, "local"),  # the session ended
])
def test_a_verdict_taken_on_the_daemon_host_withdraws_the_approval(
        current: State | None, reported: State, source: str) -> None:
    assert after_daemon_event(current, reported, source) is State.WITHDRAWN


def test_a_withdrawn_approval_is_refused_saying_how_the_daemon_resolved_it() -> None:
    local = refusal(State.WITHDRAWN, DEADLINE, NOW, "local-cli", withdrawal("approved", "local-cli", "approved via CLI"))
    assert isinstance(local, Conflict) and local.code == "withdrawn"
    assert "withdrew this approval: it was approved on the daemon host by local-cli (approved via CLI)" in str(local)
    ended = refusal(State.WITHDRAWN, DEADLINE, NOW, "", withdrawal("withdrawn", "", "agent session ended"))
    assert ended is not None and "the daemon dropped it: agent session ended" in str(ended)


def test_the_processor_reads_a_withdrawal() -> None:
    event = pending_event("abcd1235", state=approvals_pb2.APPROVAL_STATE_WITHDRAWN,
                          source=approvals_pb2.RESOLUTION_SOURCE_LOCAL, reason="agent session ended")
    fact = ApprovalProcessor().process(_message(event.SerializeToString()))
    assert isinstance(fact, ApprovalFact)
    assert (fact.state, fact.resolution_source, fact.resolution_reason) == (
        State.WITHDRAWN, "local", "agent session ended")


def test_a_reason_is_mandatory_and_bounded() -> None:
    assert check_reason("  fine  ") == "fine"
    with pytest.raises(DecisionRefused, match="reason is required"):
        check_reason(" \n ")
    with pytest.raises(DecisionRefused, match="under 2000"):
        check_reason("x" * 2001)


@pytest.mark.parametrize(("seconds", "band"), [(0, "green"), (299, "green"), (300, "yellow"),
                                               (1800, "yellow"), (1801, "red")])
def test_queue_colour_by_age(seconds: float, band: str) -> None:
    assert AgeBand.of(seconds).name == band


def _message(value: bytes, kind: bytes = b"approval_event", org: bool = True) -> Message:
    headers = {"kind": kind, "stack": b"s1"}
    if org:
        headers["org"] = b"o1"
    return Message("sync.items.v1", 2, 17, b"o1/s1", value, headers, 1_700_000_000_000)


def test_the_processor_reads_an_approval_event_with_its_tenant_and_position() -> None:
    created = NOW - timedelta(minutes=1)
    fact = ApprovalProcessor().process(_message(pending_event("abcd1234", created=created).SerializeToString()))
    assert isinstance(fact, ApprovalFact)
    assert (fact.org_id, fact.stack_id, fact.partition, fact.offset) == ("o1", "s1", 2, 17)
    assert (fact.state, fact.defer_token, fact.agent_id, fact.priority) == (State.PENDING, "abcd1234", "payments-bot", "high")
    assert fact.created_at == created and fact.deadline == created + timedelta(minutes=5)
    assert fact.args_json == '{"amount":120}' and fact.resolved_at is None


def test_the_processor_skips_other_items_and_rejects_garbage() -> None:
    processor = ApprovalProcessor()
    assert processor.process(_message(b"whatever", kind=b"stack_status")) is None
    assert isinstance(processor.process(_message(b"\xff\xff\xff")), Rejected)
    assert isinstance(processor.process(_message(pending_event("abcd1234").SerializeToString(), org=False)), Rejected)
    no_token = approvals_pb2.ApprovalEvent(state=approvals_pb2.APPROVAL_STATE_PENDING)
    assert isinstance(processor.process(_message(no_token.SerializeToString())), Rejected)


def test_a_resolution_carries_who_why_and_where() -> None:
    event = pending_event("abcd1234", state=approvals_pb2.APPROVAL_STATE_EXPIRED,
                          source=approvals_pb2.RESOLUTION_SOURCE_TIMEOUT, reason="expired")
    fact = ApprovalProcessor().process(_message(event.SerializeToString()))
    assert isinstance(fact, ApprovalFact)
    assert (fact.state, fact.resolution_source, fact.resolution_reason) == (State.EXPIRED, "timeout", "expired")
    assert fact.resolved_at is not None


def test_a_bulk_selection_must_share_agent_tool_and_rule() -> None:
    one = Pattern("payments-bot", "stripe/refund", "refunds-over-100")
    assert bulk_pattern([one, Pattern("payments-bot", "stripe/refund", "refunds-over-100")]) == one
    for other in (Pattern("support-bot", "stripe/refund", "refunds-over-100"),
                  Pattern("payments-bot", "stripe/charge", "refunds-over-100"),
                  Pattern("payments-bot", "stripe/refund", "")):
        with pytest.raises(DecisionRefused) as refused:
            bulk_pattern([one, other])
        assert refused.value.code == "mixed_pattern" and "one agent / tool / rule pattern" in str(refused.value)
    with pytest.raises(DecisionRefused, match=r"2 agents \(payments-bot, support-bot\); 2 tools"):
        bulk_pattern([one, Pattern("support-bot", "zendesk/close", "refunds-over-100")])
    with pytest.raises(DecisionRefused) as empty:
        bulk_pattern([])
    assert empty.value.code == "empty_selection"
