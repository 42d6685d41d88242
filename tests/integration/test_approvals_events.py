"""The approvals service's changes as events, on real PostgreSQL and the PostgreSQL log:
each handler commits its change with its event in the service's outbox and the relay puts
it on ``approvals.events.v1`` / ``commands.emergency.v1``; a refused decision writes none;
the projection's ``apply`` converges to the same rows whatever order the topics arrive in
(a replay may bring a decision before the daemon's snapshot) and re-applying changes
nothing; an event the consumer cannot read is dead-lettered with the reason and does not
block what follows."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, emergency_pb2, sync_pb2

from faramesh_cloud.approvals import changes
from faramesh_cloud.approvals.changes import Change
from faramesh_cloud.approvals.domain import Conflict, Verdict
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import apply
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.events.topics import (
    APPROVAL_EVENTS,
    DEAD_LETTERS,
    EMERGENCY_COMMANDS,
    H_KIND,
    SYNC_ITEMS,
    Origin,
    stack_key,
)
from faramesh_cloud.log.port import LogRecord, Message
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
    service = Approvals(database, postgres_log, ApprovalsConfig(group="approvals-events", sweep_interval_s=0.1))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


@pytest.fixture
async def stack(stack_store: StackStore) -> tuple[str, str]:
    org = await stack_store.create_org("acme", "Acme")
    registered, _ = await stack_store.register_stack(org.org_id, "payments-prod", "prod")
    return org.org_id, registered.stack_id


async def _kinds(log: PostgresLog, topic: str) -> list[str]:
    return [m.headers[H_KIND].decode() for m in await read_topic(log, topic)]


async def _outbox_rows(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM approvals_outbox")).fetchone()
    assert row is not None
    return int(row[0])


async def test_every_change_is_an_event_on_the_log_and_a_refused_one_is_none(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog, database: Database) -> None:
    org, stack_id = stack
    now = datetime.now(UTC)
    await push_events(postgres_log, org, stack_id, [
        pending_event("0000e001"), pending_event("0000e002"),
        pending_event("0000e003", created=now - timedelta(minutes=6), deadline=now - timedelta(minutes=1))])

    async def projected() -> bool:
        return len(await approvals.queries.pending(org)) == 2 and len(await approvals.queries.history(org)) == 1
    await eventually(projected, "two pending approvals and one expired by the sweep", within_s=30)
    first, second = await approvals.queries.pending(org)
    decision = await approvals.decisions.decide(org, first.approval_id, ALICE, Verdict.APPROVE, "verified")
    with pytest.raises(Conflict, match=r"already approved by alice@example\.com"):
        await approvals.decisions.decide(org, first.approval_id, BOB, Verdict.DENY, "too late")
    bulk = await approvals.decisions.bulk_decide(org, [second.approval_id], BOB, Verdict.DENY, "freeze")
    deliveries, _ = await approvals.control.poll_decisions(org, stack_id, 10)
    await approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
        delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, dpr_record_id="rec-9")])
    command = await approvals.commands.issue(org, stack_id, "payments-bot", ALICE, "runaway refunds", "kill",
                                             permitted=True)
    await approvals.control.poll_commands(org, stack_id)
    ack = sync_pb2.AckEmergencyCommandRequest(command_id=command.command_id, dpr_record_id="rec-kill",
                                              outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED)
    assert await approvals.control.ack_command(org, stack_id, ack)
    assert await approvals.control.ack_command(org, stack_id, ack)  # a repeat: no second event

    async def relayed() -> bool:
        return len(await read_topic(postgres_log, APPROVAL_EVENTS)) == 6 and \
            len(await read_topic(postgres_log, EMERGENCY_COMMANDS)) == 3
    await eventually(relayed, "every change relayed to the log", within_s=30)
    assert await _outbox_rows(database) == 0
    assert sorted(await _kinds(postgres_log, APPROVAL_EVENTS)) == sorted([
        "ApprovalExpired", "ApprovalDecided", "ApprovalDecided", "DeliveryHandedOut", "DeliveryHandedOut",
        "DeliveryAcknowledged"])
    assert await _kinds(postgres_log, EMERGENCY_COMMANDS) == [
        "EmergencyCommandIssued", "EmergencyCommandDelivered", "EmergencyCommandAcknowledged"]
    events = await read_topic(postgres_log, APPROVAL_EVENTS)
    assert {m.key for m in events} == {stack_key(org, stack_id)}  # one stack: one partition, in commit order
    assert [m.headers[H_KIND] for m in events].index(b"DeliveryAcknowledged") == len(events) - 1
    decoded = [ApprovalProcessor().process(m) for m in events]
    decisions = {c.change.decision_id: c.change for c in decoded  # type: ignore[union-attr]
                 if type(c.change).__name__ == "ApprovalDecided"}  # type: ignore[union-attr]
    assert decisions[decision.decision_id].approver == ALICE and decisions[decision.decision_id].reason == "verified"
    denied = decisions[bulk.decided[0].decision_id]
    assert (denied.bulk_action_id, denied.reason, denied.approver.label) == (
        bulk.bulk_action_id, "freeze", "bob@example.com")
    assert {d.delivery_id for d in deliveries} == set(decisions)
    assert len({m.headers["event-id"] for m in events}) == len(events)

    # The consumer read every one of them back: a no-op, the rows are as the handlers left them.
    async def consumed() -> bool:
        async with database.connection() as conn:
            rows = await (await conn.execute(
                "SELECT topic, sum(next_offset) FROM approvals_positions GROUP BY topic")).fetchall()
        return dict(rows).get(APPROVAL_EVENTS) == 6 and dict(rows).get(EMERGENCY_COMMANDS) == 3
    await eventually(consumed, "the projection consumed its own events", within_s=30)
    assert (await approvals.queries.delivery(org, decision.decision_id))[0:1] == (1,)  # type: ignore[index]
    done = await approvals.commands.get(org, command.command_id)
    assert (done.state, done.outcome, done.dpr_record_id) == ("acknowledged", "applied", "rec-kill")


# -- convergence: every interleaving of the topics gives the same rows ----------------------

ORG_FIXED = "a1a1a1a1-0000-4000-8000-000000000001"
T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def _fact(org: str, stack: str, event: approvals_pb2.ApprovalEvent, offset: int) -> ApprovalFact:
    headers = Origin(org, stack, "sync", offset + 1, "buf", time.time_ns()).headers()
    headers[H_KIND] = b"approval_event"
    fact = ApprovalProcessor().process(Message(SYNC_ITEMS, 0, offset, stack_key(org, stack),
                                               event.SerializeToString(), headers, 0))
    assert isinstance(fact, ApprovalFact)
    return fact


def _resolved(token: str, state: int, source: int, approver: str = "", reason: str = "") -> approvals_pb2.ApprovalEvent:
    event = pending_event(token, created=T0, state=state, source=source, approver=approver, reason=reason)
    event.resolution.resolved_at.FromDatetime(T0 + timedelta(minutes=1))
    return event


def _scenarios(org: str, stack: str) -> dict[str, tuple[list[ApprovalFact], list[Change]]]:
    def approval(token: str) -> str:
        return changes.approval_key(org, stack, token)

    def decided(token: str, verdict: Verdict) -> changes.ApprovalDecided:
        return changes.decided(org, stack, approval(token), token, verdict, ALICE, "looked fine", None,
                               "payments-bot", f"rec-{token}", T0 + timedelta(seconds=20))

    a, b, e = decided("000000a1", Verdict.APPROVE), decided("000000b1", Verdict.DENY), decided("000000e1",
                                                                                                 Verdict.APPROVE)
    resent = pending_event("000000e1", created=T0, deadline=T0 + timedelta(minutes=9))
    pending = {t: pending_event(t, created=T0) for t in ("000000a1", "000000b1", "000000c1", "000000d1",
                                                              "000000e1")}
    s, cloud, local, timeout = (approvals_pb2.APPROVAL_STATE_APPROVED, approvals_pb2.RESOLUTION_SOURCE_CLOUD,
                                approvals_pb2.RESOLUTION_SOURCE_LOCAL, approvals_pb2.RESOLUTION_SOURCE_TIMEOUT)

    def facts(*events: approvals_pb2.ApprovalEvent) -> list[ApprovalFact]:
        return [_fact(org, stack, ev, i) for i, ev in enumerate(events)]

    def later(seconds: int) -> datetime:
        return T0 + timedelta(seconds=seconds)

    return {
        "decided, handed out twice, acked, applied by the daemon": (
            facts(pending["000000a1"], _resolved("000000a1", s, cloud, ALICE.id, "looked fine")),
            [a, changes.handed_out(org, stack, a.decision_id, a.approval_id, 1, later(21)),
             changes.handed_out(org, stack, a.decision_id, a.approval_id, 2, later(25)),
             changes.delivery_acknowledged(org, stack, a.decision_id, a.approval_id, "accepted", "", "rec-x",
                                           later(26))]),
        "decided, then resolved on the daemon host": (
            facts(pending["000000b1"], _resolved("000000b1", s, local, "ops-cli", "approved via CLI")),
            [b, changes.handed_out(org, stack, b.decision_id, b.approval_id, 1, later(21)),
             changes.delivery_acknowledged(org, stack, b.decision_id, b.approval_id, "conflict", "resolved", "",
                                           later(22))]),
        "expired by the sweep and by the daemon": (
            facts(pending["000000c1"], _resolved("000000c1", approvals_pb2.APPROVAL_STATE_EXPIRED, timeout)),
            [changes.expired(org, stack, approval("000000c1"), "000000c1", "payments-bot", T0 + timedelta(minutes=5))]),
        "expired by the sweep, approved on the daemon host": (
            facts(pending["000000d1"], _resolved("000000d1", s, local, "ops-cli")),
            [changes.expired(org, stack, approval("000000d1"), "000000d1", "payments-bot", T0 + timedelta(minutes=5))]),
        "decided, a re-sent snapshot, expired on the daemon": (
            facts(pending["000000e1"], resent, _resolved("000000e1", approvals_pb2.APPROVAL_STATE_EXPIRED, timeout)),
            [e]),
    }


def _interleavings(first: Sequence[Any], second: Sequence[Any]) -> list[list[Any]]:
    """Every merge of two sequences that keeps each one's order (two topics, each in order)."""
    n = len(first) + len(second)
    merged = []
    for slots in itertools.combinations(range(n), len(first)):
        a, b = iter(first), iter(second)
        merged.append([next(a) if i in slots else next(b) for i in range(n)])
    return merged


async def _dump(database: Database) -> list[Any]:
    async with database.connection() as conn:
        approvals = await (await conn.execute("SELECT * FROM approvals ORDER BY approval_id")).fetchall()
        deliveries = await (await conn.execute("SELECT * FROM approval_deliveries ORDER BY delivery_id")).fetchall()
    return [approvals, deliveries]


async def test_the_projection_converges_whatever_order_the_topics_arrive_in(
        database: Database, stack_store: StackStore) -> None:
    org = (await stack_store.create_org("convergence", "Convergence")).org_id
    for name, (facts, events) in _scenarios(org, "stk-1").items():
        outcomes = []
        for order in _interleavings(facts, events):
            async with database.transaction() as conn:
                for change in order:
                    await apply(conn, change)
            once = await _dump(database)
            async with database.transaction() as conn:  # everything again: nothing changes
                for change in order:
                    await apply(conn, change)
            assert await _dump(database) == once, f"{name}: re-applying changed the rows"
            outcomes.append(once)
            async with database.transaction() as conn:
                await conn.execute("DELETE FROM approval_deliveries")
                await conn.execute("DELETE FROM approvals")
        assert len(outcomes) > 1 and all(o == outcomes[0] for o in outcomes), \
            f"{name}: the order of arrival changed the rows"


async def test_the_converged_rows_are_what_the_live_order_shows(database: Database, stack_store: StackStore) -> None:
    org = (await stack_store.create_org("live-order", "Live order")).org_id
    expected = {
        "000000a1": ("approved", "approved", "cloud", ALICE.id, "alice@example.com", "looked fine"),
        "000000b1": ("withdrawn", "approved", "local", "ops-cli", "", "approved via CLI"),
        "000000c1": ("expired", "expired", "timeout", "", "", ""),
        "000000d1": ("withdrawn", "approved", "local", "ops-cli", "", ""),
        "000000e1": ("expired", "expired", "timeout", "", "", ""),
    }
    for facts, events in _scenarios(org, "stk-1").values():
        async with database.transaction() as conn:
            for change in [*events, *facts]:  # the order a replay of the event topics first gives
                await apply(conn, change)
    async with database.connection() as conn:
        rows = await (await conn.execute(
            "SELECT defer_token, state, daemon_state, resolution_source, resolved_by, resolved_by_label, "
            "resolution_reason, snapshot_seen, tool_id, approval_id::text, deadline FROM approvals "
            "WHERE org_id = %s ORDER BY defer_token", (org,))).fetchall()
        handed = await (await conn.execute(
            "SELECT handed_out, outcome, dpr_record_id FROM approval_deliveries WHERE org_id = %s "
            "ORDER BY created_at, delivery_id", (org,))).fetchall()
    # a1: the daemon applied Cloud's decision, Cloud's approver and reason kept; b1: resolved on the
    # daemon host after Cloud's decision, so withdrawn and no longer Cloud's approver.
    assert {r[0]: r[1:7] for r in rows} == expected
    assert all(r[7] and r[8] == "stripe/refund" for r in rows)  # the snapshot filled in the placeholders
    assert all(r[9] == changes.approval_key(org, "stk-1", r[0]) for r in rows)
    assert {r[0]: r[10] for r in rows}["000000e1"] == T0 + timedelta(minutes=9)  # the re-sent deadline
    assert sorted(handed) == [(0, "", ""), (1, "conflict", ""), (2, "accepted", "rec-x")]


# -- a consumer meets an event it cannot read -----------------------------------------------

async def test_an_event_the_consumer_cannot_read_is_dead_lettered_and_does_not_block(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog, database: Database) -> None:
    org, stack_id = stack
    key = stack_key(org, stack_id)
    await postgres_log.append(APPROVAL_EVENTS, [
        LogRecord(key, b"\x0a\xff\xff", {"org": org.encode(), "stack": stack_id.encode(),
                                         "kind": b"ApprovalDecided", "event-id": str(uuid.uuid4()).encode()}),
        LogRecord(key, b"", {"org": org.encode(), "stack": stack_id.encode(), "kind": b"ApprovalReopened"})])
    await push_events(postgres_log, org, stack_id, [pending_event("0000d001")])

    async def projected() -> bool:
        return bool(await approvals.queries.pending(org))
    await eventually(projected, "the pending approval", within_s=30)
    [item] = await approvals.queries.pending(org)
    await approvals.decisions.decide(org, item.approval_id, ALICE, Verdict.DENY, "no")  # after the bad ones

    async def parked() -> bool:
        return len(await read_topic(postgres_log, DEAD_LETTERS)) == 2
    await eventually(parked, "both unreadable events dead-lettered", within_s=30)
    reasons = sorted(m.headers["dlq-reason"].decode() for m in await read_topic(postgres_log, DEAD_LETTERS))
    assert reasons[0].startswith("not a ApprovalDecided") and "unknown approvals event kind 'ApprovalReopened'" in \
        reasons[1]
    assert {m.headers["dlq-topic"] for m in await read_topic(postgres_log, DEAD_LETTERS)} == {APPROVAL_EVENTS.encode()}

    async def past_them() -> bool:  # the decision's event, after the bad ones on the same partition, was read
        async with database.connection() as conn:
            row = await (await conn.execute(
                "SELECT sum(next_offset) FROM approvals_positions WHERE topic = %s", (APPROVAL_EVENTS,))).fetchone()
        return row is not None and row[0] == 3
    await eventually(past_them, "the consumer moved past the unreadable events", within_s=30)
    assert (await approvals.queries.get(org, item.approval_id)).state == "denied"


async def test_a_daemon_acknowledgement_holding_a_nul_character_is_taken_not_failed_for_ever(
        approvals: Approvals, stack: tuple[str, str], postgres_log: PostgresLog) -> None:
    """PostgreSQL text cannot hold NUL; a daemon's free text with one used to fail the ack on
    every retry (the delivery handed out for ever). It is stored with U+FFFD instead."""
    org, stack_id = stack
    await push_events(postgres_log, org, stack_id, [pending_event("0000f001")])

    async def projected() -> bool:
        return bool(await approvals.queries.pending(org))
    await eventually(projected, "the pending approval", within_s=30)
    [item] = await approvals.queries.pending(org)
    decision = await approvals.decisions.decide(org, item.approval_id, ALICE, Verdict.APPROVE, "ok")
    command = await approvals.commands.issue(org, stack_id, "payments-bot", ALICE, "stop", "kill", permitted=True)
    await approvals.control.poll_decisions(org, stack_id, 10)
    await approvals.control.poll_commands(org, stack_id)
    await approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
        delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, message="bad\x00byte",
        dpr_record_id="rec\x00")])
    assert await approvals.control.ack_command(org, stack_id, sync_pb2.AckEmergencyCommandRequest(
        command_id=command.command_id, outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_FAILED, message="oops\x00"))
    assert await approvals.control.poll_decisions(org, stack_id, 10) == ([], False)
    assert (await approvals.queries.delivery(org, decision.decision_id))[2:] == ("accepted", "rec\ufffd")  # type: ignore[index]
    done = await approvals.commands.get(org, command.command_id)
    assert (done.state, done.outcome, done.message) == ("acknowledged", "failed", "oops\ufffd")


# -- approvals from before the outbox (migration 0002) --------------------------------------

_UNDO_0002 = """
DROP TABLE approvals_outbox;
ALTER TABLE approvals DROP COLUMN snapshot_seen, DROP COLUMN cloud_state, DROP COLUMN cloud_resolved_at,
    DROP COLUMN cloud_resolved_by, DROP COLUMN cloud_resolved_by_label, DROP COLUMN cloud_reason,
    DROP COLUMN daemon_resolved_at, DROP COLUMN daemon_resolved_by, DROP COLUMN daemon_reason,
    DROP COLUMN daemon_source;
DELETE FROM schema_migrations WHERE component = 'approvals' AND version IN (2, 3);
"""
_SHOWN = ("state, resolved_at, resolved_by, resolved_by_label, resolution_reason, resolution_source, "
          "decision_id, daemon_state")


async def test_approvals_from_before_the_upgrade_show_the_same_after_the_daemon_reports_again(
        database: Database, stack_store: StackStore) -> None:
    from faramesh_cloud.sql.migrate import migrate

    org = (await stack_store.create_org("upgraded", "Upgraded")).org_id
    when = T0 + timedelta(minutes=1)
    old = {  # token: (state, resolved_by, label, reason, source, decided, daemon_state) as the old code wrote them
        "000000f1": ("approved", ALICE.id, ALICE.label, "ok", "cloud", True, "approved"),
        "000000f2": ("denied", ALICE.id, ALICE.label, "no", "cloud", True, "pending"),
        "000000f3": ("expired", "", "", "expired", "timeout", False, "pending"),
        "000000f4": ("withdrawn", "ops-cli", "", "denied via CLI", "local", False, "denied"),
        "000000f5": ("pending", "", "", "", "", False, "pending"),
    }
    async with database.transaction() as conn:
        await conn.execute(_UNDO_0002)
        for token, (state, by, label, reason, source, decided, daemon) in old.items():
            await conn.execute(
                "INSERT INTO approvals (org_id, stack_id, defer_token, agent_id, tool_id, created_at, deadline, state, "
                "resolved_at, resolved_by, resolved_by_label, resolution_reason, resolution_source, decision_id, "
                "daemon_state) VALUES (%s, 'stk-1', %s, 'payments-bot', 'stripe/refund', %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s)",
                (org, token, T0, T0 + timedelta(minutes=5), state, when if state != "pending" else None, by, label,
                 reason, source, str(uuid.uuid4()) if decided else None, daemon))
    assert await migrate(database, [("approvals", "faramesh_cloud.approvals")]) == ["approvals/0002_add_outbox.sql",
                                                                                "approvals/0003_park_outbox_rows.sql"]

    async def shown() -> dict[str, tuple[Any, ...]]:
        async with database.connection() as conn:
            rows = await (await conn.execute(f"SELECT defer_token, {_SHOWN} FROM approvals WHERE org_id = %s",
                                             (org,))).fetchall()
        return {r[0]: r[1:] for r in rows}

    before = await shown()
    again = {  # what each daemon reports again (a sign-off, a re-sent resolution)
        "000000f1": _resolved("000000f1", approvals_pb2.APPROVAL_STATE_APPROVED,
                              approvals_pb2.RESOLUTION_SOURCE_CLOUD, ALICE.id, "ok"),
        "000000f2": pending_event("000000f2", created=T0),
        "000000f3": pending_event("000000f3", created=T0),
        "000000f4": _resolved("000000f4", approvals_pb2.APPROVAL_STATE_DENIED, approvals_pb2.RESOLUTION_SOURCE_LOCAL,
                              "ops-cli", "denied via CLI"),
        "000000f5": pending_event("000000f5", created=T0),
    }
    async with database.transaction() as conn:
        for offset, event in enumerate(again.values()):
            await apply(conn, _fact(org, "stk-1", event, offset))
    assert await shown() == before


async def test_a_command_acknowledgement_with_an_impossible_applied_at_still_closes_the_command(
        approvals: Approvals, stack: tuple[str, str]) -> None:
    """A time no datetime can hold used to fail the ack on every retry; it is taken as unknown."""
    org, stack_id = stack
    command = await approvals.commands.issue(org, stack_id, "payments-bot", ALICE, "stop", "kill", permitted=True)
    await approvals.control.poll_commands(org, stack_id)
    ack = sync_pb2.AckEmergencyCommandRequest(command_id=command.command_id,
                                              outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED)
    ack.applied_at.seconds = 10**12
    assert await approvals.control.ack_command(org, stack_id, ack)
    done = await approvals.commands.get(org, command.command_id)
    assert (done.state, done.outcome, done.applied_at) == ("acknowledged", "applied", None)
