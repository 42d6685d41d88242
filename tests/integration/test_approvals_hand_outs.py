"""A daemon that polls and never acknowledges does not flood the log (issue 13 review): on
real PostgreSQL and the PostgreSQL log, many polls of one delivery write one
DeliveryHandedOut, then at most one per interval (by the sweep when nobody polls), and one
with the exact count before the acknowledgement; the count a person sees stays exact; and
replaying the log into an empty database rebuilds the same delivery row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import deliveries_pb2

from faramesh_cloud.approvals.domain import Verdict
from faramesh_cloud.approvals.processor import ApprovalProcessor
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.events.topics import APPROVAL_EVENTS, H_KIND
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import drain, pending_event, push_events
from tests.fixtures.ingest import read_topic
from tests.fixtures.postgres import fresh_database
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ALICE = Actor(ActorType.USER, "11111111-1111-1111-1111-111111111111", "alice@example.com")
POLLS = 50


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log, ApprovalsConfig(
        group="approvals-hand-outs", sweep_interval_s=0.1, hand_out_events_every_s=3600))
    await service.start()
    await eventually(lambda: not service.catch_up.behind, "the catch-up at start", within_s=30)
    yield service
    await service.stop()


async def _hand_outs(log: PostgresLog) -> list[int]:
    """The counts the DeliveryHandedOut events on the log carry, in order."""
    messages = [m for m in await read_topic(log, APPROVAL_EVENTS) if m.headers[H_KIND] == b"DeliveryHandedOut"]
    return [ApprovalProcessor().process(m).change.handed_out for m in messages]  # type: ignore[union-attr]


async def _relayed(database: Database) -> bool:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM approvals_outbox")).fetchone()
    return row is not None and row[0] == 0


async def _applied(database: Database, log: PostgresLog) -> bool:
    """The service's own consumer has applied every event of approvals.events.v1 (it re-applies
    what the service wrote; a hand-out event moves handed_out_logged_at forward)."""
    end = sum((await log.end_offsets(APPROVAL_EVENTS)).values())
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT coalesce(sum(next_offset), 0) FROM approvals_positions "
                                        "WHERE topic = %s", (APPROVAL_EVENTS,))).fetchone()
    return row is not None and row[0] == end


async def _delivery_row(database: Database) -> list[tuple[Any, ...]]:
    async with database.connection() as conn:
        return await (await conn.execute("SELECT * FROM approval_deliveries ORDER BY delivery_id")).fetchall()


async def test_polls_without_an_ack_write_a_bounded_number_of_events_and_a_replay_converges(
        approvals: Approvals, database: Database, postgres_log: PostgresLog, stack_store: StackStore,
        embedded_postgres: EmbeddedPostgres, pg_template: str) -> None:
    org = (await stack_store.create_org("acme", "Acme")).org_id
    stack_id = (await stack_store.register_stack(org, "payments-prod", "prod"))[0].stack_id
    await push_events(postgres_log, org, stack_id, [pending_event("0000f001")])

    async def projected() -> bool:
        return len(await approvals.queries.pending(org)) == 1
    await eventually(projected, "the pending approval", within_s=30)
    [pending] = await approvals.queries.pending(org)
    decision = await approvals.decisions.decide(org, pending.approval_id, ALICE, Verdict.APPROVE, "ok")

    for _ in range(POLLS):  # a daemon that polls and never acknowledges (ingest's path into the service)
        assert len((await approvals.control.poll_decisions(org, stack_id, 10))[0]) == 1
    await eventually(lambda: _relayed(database), "relayed", within_s=30)
    assert await _hand_outs(postgres_log) == [1]  # one event, not fifty
    assert (await approvals.api.delivery(org, decision.decision_id) or (0,))[0] == POLLS  # the count shown is exact

    # The interval passes with no poll (the last event's time moved back, as the clock would):
    # the sweep records the hand-outs no event carries yet, once. (Once the own consumer has
    # re-applied the first event: it would move the time forward again.)
    await eventually(lambda: _applied(database, postgres_log), "the hand-out event applied", within_s=30)
    async with database.connection() as conn:
        await conn.execute("UPDATE approval_deliveries SET handed_out_logged_at = handed_out_logged_at "
                           "- interval '2 hours'")

    async def recorded() -> bool:
        return await _relayed(database) and await _hand_outs(postgres_log) == [1, POLLS]
    await eventually(recorded, "the sweep's event", within_s=30)
    await asyncio.sleep(0.5)  # several more sweeps: nothing new to record
    assert await _hand_outs(postgres_log) == [1, POLLS]

    for _ in range(5):
        await approvals.control.poll_decisions(org, stack_id, 10)
    await approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
        delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, dpr_record_id="rec-1")])
    await eventually(lambda: _relayed(database), "relayed", within_s=30)
    assert await _hand_outs(postgres_log) == [1, POLLS, POLLS + 5]  # the exact count, before the ack
    shown = await approvals.api.delivery(org, decision.decision_id)
    assert shown is not None and shown[0] == POLLS + 5 and shown[2] == "accepted"
    live = await _delivery_row(database)

    # Every topic replayed into an empty database: the same delivery row, the same count shown.
    with fresh_database(embedded_postgres, pg_template, prefix="hand-outs") as url:
        async with Database(url, max_size=4) as fresh:
            async with database.connection() as conn:
                [org_row] = await (await conn.execute("SELECT * FROM orgs WHERE org_id = %s", (org,))).fetchall()
                columns = [c.name for c in (await conn.execute("SELECT * FROM orgs LIMIT 0")).description or ()]
            async with fresh.transaction() as conn:
                await conn.execute(f"INSERT INTO orgs ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                                   org_row)
            rebuilt = Approvals(fresh, postgres_log, ApprovalsConfig(group="approvals-hand-outs-rebuild"))
            await rebuilt.prepare()
            for runner in rebuilt.consumers():
                await drain(runner, postgres_log)
            assert await _delivery_row(fresh) == live
            assert await rebuilt.api.delivery(org, decision.decision_id) == shown



async def test_a_daemons_ack_is_not_held_by_the_projection_reapplying_the_decision(
        approvals: Approvals, database: Database, postgres_log: PostgresLog, stack_store: StackStore) -> None:
    """The service's own consumer re-applies each decision (the approval's row locked, then the
    delivery's insert), while a daemon's ack updates the delivery twice in its transaction (the
    hand-outs no event carries yet, then the ack), whose second update checks the foreign key to
    the approval (KEY SHARE on its row). Locking the approval FOR UPDATE blocked that check, and
    the two transactions deadlocked (seen in a full run); the projection and the deciders lock
    it FOR NO KEY UPDATE, which a foreign-key check passes."""
    from faramesh_cloud.approvals.changes import ApprovalDecided
    from faramesh_cloud.approvals.projection import apply

    org = (await stack_store.create_org("acme", "Acme")).org_id
    stack_id = (await stack_store.register_stack(org, "payments-prod", "prod"))[0].stack_id
    await push_events(postgres_log, org, stack_id, [pending_event("0000f002")])

    async def projected() -> bool:
        return len(await approvals.queries.pending(org)) == 1
    await eventually(projected, "the pending approval", within_s=30)
    [pending] = await approvals.queries.pending(org)
    decision = await approvals.decisions.decide(org, pending.approval_id, ALICE, Verdict.APPROVE, "ok")
    for _ in range(2):  # the second hand-out is not on the log yet: the ack writes it first
        await approvals.control.poll_decisions(org, stack_id, 10)
    await eventually(lambda: _relayed(database), "relayed", within_s=30)
    [decided] = [c for m in await read_topic(postgres_log, APPROVAL_EVENTS)
                 if isinstance(c := ApprovalProcessor().process(m).change, ApprovalDecided)]  # type: ignore[union-attr]

    async with database.transaction() as consumer:  # the projection re-applying the decision, not committed yet
        await apply(consumer, decided)
        await asyncio.wait_for(approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
            delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED,
            dpr_record_id="rec-2")]), 20)
    shown = await approvals.api.delivery(org, decision.decision_id)
    assert shown is not None and shown[2] == "accepted" and shown[0] == 2
