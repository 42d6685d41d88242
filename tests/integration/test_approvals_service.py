"""The approvals service on real PostgreSQL and PostgresLog: the projection from
``sync.items.v1`` (idempotent on replay), decisions (mandatory reason, exactly one wins,
refused once resolved or expired), bulk decisions, the expiry sweep, deliveries until the
daemon acknowledges, emergency commands and their audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, emergency_pb2, sync_pb2

from faramesh_cloud.approvals.domain import (
    Conflict,
    DecisionRefused,
    State,
    UnknownApproval,
    Verdict,
)
from faramesh_cloud.approvals.emergency import CommandRefused
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import ApprovalSink
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import pending_event, push_events
from tests.fixtures.ingest import read_topic
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ALICE = Actor(ActorType.USER, "11111111-1111-1111-1111-111111111111", "alice@example.com")
BOB = Actor(ActorType.USER, "22222222-2222-2222-2222-222222222222", "bob@example.com")


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log, ApprovalsConfig(group="approvals-test", sweep_interval_s=0.1))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


@pytest.fixture
async def stack(stack_store: StackStore) -> tuple[str, str]:
    org = await stack_store.create_org("acme", "Acme")
    registered, _ = await stack_store.register_stack(org.org_id, "payments-prod", "prod")
    return org.org_id, registered.stack_id


async def _pending(approvals: Approvals, org: str, count: int) -> list:  # type: ignore[type-arg]
    async def enough() -> bool:
        return len(await approvals.queries.pending(org)) >= count
    await eventually(enough, f"{count} pending approvals projected", within_s=30)
    return await approvals.queries.pending(org)


async def test_pending_approvals_are_projected_oldest_first_and_a_replay_changes_nothing(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog, database: Database) -> None:
    org, stack_id = stack
    now = datetime.now(UTC)
    await push_events(postgres_log, org, stack_id, [
        pending_event("0000000b", created=now - timedelta(seconds=10)),
        pending_event("0000000a", "support-triage", created=now - timedelta(seconds=60)),
    ])
    queue = await _pending(approvals, org, 2)
    assert [a.defer_token for a in queue] == ["0000000a", "0000000b"]
    assert queue[1].args_json == '{"amount":120}' and queue[1].matched_rule_id == "refunds-over-100"
    # Replay the topic from offset 0 into the same projection: the stored position skips it.
    sink = ApprovalSink(database)
    processor = ApprovalProcessor()
    facts = [processor.process(m) for m in await read_topic(postgres_log, SYNC_ITEMS)]
    await sink.write([f for f in facts if isinstance(f, ApprovalFact)])
    await approvals.decisions.decide(org, queue[0].approval_id, ALICE, Verdict.DENY, "not this one")
    await sink.write([f for f in facts if isinstance(f, ApprovalFact)])  # again, after a decision
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT defer_token, state FROM approvals ORDER BY defer_token")).fetchall()
    assert rows == [("0000000a", "denied"), ("0000000b", "pending")]


async def test_a_decision_needs_a_reason_and_becomes_a_delivery_until_acknowledged(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    org, stack_id = stack
    await push_events(postgres_log, org, stack_id, [pending_event("0000001a")])
    [item] = await _pending(approvals, org, 1)
    with pytest.raises(DecisionRefused, match="reason is required"):
        await approvals.decisions.decide(org, item.approval_id, ALICE, Verdict.APPROVE, "   ")
    decision = await approvals.decisions.decide(org, item.approval_id, ALICE, Verdict.APPROVE, "refund is legit")
    assert decision.state is State.APPROVED
    assert await approvals.queries.pending(org) == []

    for _ in range(2):  # handed out again until acknowledged
        deliveries, more = await approvals.control.poll_decisions(org, stack_id, 10)
        assert not more and [d.delivery_id for d in deliveries] == [decision.decision_id]
    sent = deliveries[0].approval_decision
    assert (sent.defer_token, sent.agent_id, sent.verdict, sent.reason) == (
        "0000001a", "payments-bot", approvals_pb2.APPROVAL_VERDICT_APPROVE, "refund is legit")
    assert sent.approver.email == "alice@example.com" and sent.dpr_record_id == "rec-0000001a"
    assert await approvals.control.poll_decisions(org, "other-stack", 10) == ([], False)

    await approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
        delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, dpr_record_id="rec-next")])
    assert await approvals.control.poll_decisions(org, stack_id, 10) == ([], False)
    delivery = await approvals.queries.delivery(org, decision.decision_id)
    assert delivery is not None and delivery[0] == 2 and delivery[2:] == ("accepted", "rec-next")

    entries = await approvals.audit.entries(org)
    decided = [e for e in entries if e.action == "approvals:request:decide"]
    assert len(decided) == 1 and decided[0].details["reason"] == "refund is legit"
    assert decided[0].actor.label == "alice@example.com"


async def test_two_approvers_at_once_one_wins_the_other_gets_a_conflict(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    org, stack_id = stack
    await push_events(postgres_log, org, stack_id, [pending_event("0000002a")])
    [item] = await _pending(approvals, org, 1)
    results = await asyncio.gather(
        approvals.decisions.decide(org, item.approval_id, ALICE, Verdict.APPROVE, "looks fine"),
        approvals.decisions.decide(org, item.approval_id, BOB, Verdict.DENY, "too large"),
        return_exceptions=True)
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], Conflict) and "already" in str(losses[0])
    deliveries, _ = await approvals.control.poll_decisions(org, stack_id, 10)
    assert len(deliveries) == 1 and deliveries[0].delivery_id == wins[0].decision_id
    stored = await approvals.queries.get(org, item.approval_id)
    assert stored.state == wins[0].state.value


async def test_resolved_by_the_daemon_or_expired_is_refused_with_the_reason(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    org, stack_id = stack
    now = datetime.now(UTC)
    await push_events(postgres_log, org, stack_id, [
        pending_event("0000003a"),
        pending_event("0000003b", created=now - timedelta(minutes=6), deadline=now - timedelta(minutes=1)),
        pending_event("0000003c"),
    ])
    first, ended = await _pending(approvals, org, 2)  # the overdue one is never in the queue
    assert (first.defer_token, ended.defer_token) == ("0000003a", "0000003c")
    await push_events(postgres_log, org, stack_id, [
        pending_event("0000003a", state=approvals_pb2.APPROVAL_STATE_DENIED,
                      source=approvals_pb2.RESOLUTION_SOURCE_LOCAL, approver="ops-cli", reason="denied via CLI"),
        pending_event("0000003c", state=approvals_pb2.APPROVAL_STATE_WITHDRAWN,
                      source=approvals_pb2.RESOLUTION_SOURCE_LOCAL, reason="agent session ended")])

    async def settled() -> bool:
        return {a.defer_token: a.state for a in await approvals.queries.history(org)} == {
            "0000003a": "withdrawn", "0000003b": "expired", "0000003c": "withdrawn"}
    await eventually(settled, "the daemon's resolutions projected and the sweep expired the overdue one",
                     within_s=30)
    assert await approvals.queries.pending(org) == []
    with pytest.raises(Conflict, match=r"withdrew this approval: it was denied on the daemon host by ops-cli "
                                       r"\(denied via CLI\)") as local:
        await approvals.decisions.decide(org, first.approval_id, ALICE, Verdict.APPROVE, "ok")
    assert local.value.code == "withdrawn"
    with pytest.raises(Conflict, match="withdrew this approval: the daemon dropped it: agent session ended"):
        await approvals.decisions.decide(org, ended.approval_id, ALICE, Verdict.DENY, "no")
    overdue = next(a for a in await approvals.queries.history(org) if a.defer_token == "0000003b")
    with pytest.raises(Conflict, match="expired"):
        await approvals.decisions.decide(org, overdue.approval_id, ALICE, Verdict.APPROVE, "ok")
    history = {a.defer_token: a for a in await approvals.queries.history(org)}
    assert {t: a.state for t, a in history.items()} == {
        "0000003a": "withdrawn", "0000003b": "expired", "0000003c": "withdrawn"}
    assert (history["0000003a"].daemon_state, history["0000003a"].resolution_source) == ("denied", "local")
    assert await approvals.control.poll_decisions(org, stack_id, 10) == ([], False)  # nothing was sent


async def test_bulk_decide_one_reason_each_on_its_own(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    org, stack_id = stack
    await push_events(postgres_log, org, stack_id, [pending_event(f"0000004{i}") for i in range(3)])
    items = await _pending(approvals, org, 3)
    await approvals.decisions.decide(org, items[0].approval_id, BOB, Verdict.DENY, "first")
    result = await approvals.decisions.bulk_decide(
        org, [a.approval_id for a in items] + ["not-an-id"], ALICE, Verdict.APPROVE, "batch approved")
    assert sorted(d.approval_id for d in result.decided) == sorted(a.approval_id for a in items[1:])
    assert set(result.refused) == {items[0].approval_id, "not-an-id"}
    deliveries, _ = await approvals.control.poll_decisions(org, stack_id, 10)
    bulk = [d.approval_decision for d in deliveries if d.approval_decision.bulk_action_id]
    assert len(bulk) == 2 and {d.bulk_action_id for d in bulk} == {result.bulk_action_id}
    assert {d.reason for d in bulk} == {"batch approved"}


async def test_a_bulk_decision_mixing_patterns_decides_nothing(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    org, stack_id = stack
    await push_events(postgres_log, org, stack_id, [pending_event("0000006a"), pending_event("0000006b", "other-bot")])
    items = await _pending(approvals, org, 2)
    with pytest.raises(DecisionRefused, match="2 agents") as refused:
        await approvals.decisions.bulk_decide(org, [a.approval_id for a in items], ALICE, Verdict.DENY, "freeze")
    assert refused.value.code == "mixed_pattern"
    assert len(await approvals.queries.pending(org)) == 2
    assert await approvals.control.poll_decisions(org, stack_id, 10) == ([], False)


async def test_another_org_cannot_see_or_decide(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog, stack_store: StackStore) -> None:
    org, stack_id = stack
    other = await stack_store.create_org("other", "Other")
    await push_events(postgres_log, org, stack_id, [pending_event("0000005a")])
    [item] = await _pending(approvals, org, 1)
    assert await approvals.queries.pending(other.org_id) == []
    with pytest.raises(UnknownApproval):
        await approvals.queries.get(other.org_id, item.approval_id)
    with pytest.raises(UnknownApproval):
        await approvals.decisions.decide(other.org_id, item.approval_id, ALICE, Verdict.APPROVE, "mine now")


async def test_emergency_command_issued_delivered_acknowledged_and_refusals_logged(
        approvals: Approvals, stack: tuple[str, str]) -> None:
    org, stack_id = stack
    with pytest.raises(CommandRefused, match="does not include fleet:agent:kill"):
        await approvals.commands.issue(org, stack_id, "payments-bot", BOB, "rogue", "kill", permitted=False)
    with pytest.raises(CommandRefused, match="reason is required"):
        await approvals.commands.issue(org, stack_id, "payments-bot", ALICE, "", "kill", permitted=True)
    command = await approvals.commands.issue(org, stack_id, "payments-bot", ALICE, "runaway refunds", "kill",
                                             permitted=True)
    assert command.state == "issued"
    [sent] = await approvals.control.poll_commands(org, stack_id)
    assert (sent.command_id, sent.type, sent.agent_id, sent.reason) == (
        command.command_id, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, "payments-bot", "runaway refunds")
    assert (await approvals.commands.get(org, command.command_id)).state == "delivered"
    assert not await approvals.control.ack_command(org, stack_id, sync_pb2.AckEmergencyCommandRequest(
        command_id="00000000-0000-0000-0000-000000000000", outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED))
    ack = sync_pb2.AckEmergencyCommandRequest(command_id=command.command_id, dpr_record_id="rec-kill",
                                              outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED)
    ack.applied_at.FromDatetime(datetime.now(UTC))
    assert await approvals.control.ack_command(org, stack_id, ack)
    assert await approvals.control.ack_command(org, stack_id, ack)  # a repeat is fine
    done = await approvals.commands.get(org, command.command_id)
    assert (done.state, done.outcome, done.dpr_record_id) == ("acknowledged", "applied", "rec-kill")
    assert await approvals.control.poll_commands(org, stack_id) == []

    kills = [e for e in await approvals.audit.entries(org) if e.action == "fleet:agent:kill"]
    assert [("refused" in e.details, e.actor.label) for e in kills] == [
        (True, "bob@example.com"), (True, "alice@example.com"), (False, "alice@example.com")]
