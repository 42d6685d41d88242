"""The fleet projection on real PostgreSQL, fed through the real processor and, for replay,
the real consumer runner on the PostgreSQL log: latest wins by the item's own time whatever
the delivery order, a redelivered batch changes nothing, and replaying the topic from
offset 0 into empty tables rebuilds the same state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fleet_items import T0, budget, credential, health, message, record, status

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

TABLES = ("fleet_stacks", "fleet_agents", "fleet_budgets", "fleet_credentials", "fleet_applies", "fleet_providers")


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with db.connection() as conn:
        for table in TABLES:
            cur = await conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
            out[table] = list(await cur.fetchall())
    return out


def updates(records: Sequence[LogRecord], first_offset: int = 0) -> list[Any]:
    processor = FleetProcessor()
    return [processor.process(message(r, first_offset + i)) for i, r in enumerate(records)]


def stack_history(org: str, stack: str) -> list[LogRecord]:
    """What one daemon says over a morning: two applies, health, budgets, a credential."""
    return [
        record(org, stack, 1, "stack_status", status(T0, commit="1111111aaaa", summary="first apply")),
        record(org, stack, 2, "daemon_health", health(T0, uptime_s=60)),
        record(org, stack, 3, "budget_snapshot", budget(T0, "payments-bot", 4.0, 10.0)),
        record(org, stack, 4, "stack_status", status(T0 + timedelta(minutes=30), commit="2222222bbbb",
                                                     summary="second apply",
                                                     agents=(("payments-bot", False, True, 1), ("refund-bot", True, False, 0)))),
        record(org, stack, 5, "budget_snapshot", budget(T0 + timedelta(minutes=31), "payments-bot", 9.5, 10.0)),
        record(org, stack, 6, "credential_expiry", credential(T0, "payments-bot", T0 + timedelta(hours=3))),
        record(org, stack, 7, "daemon_health", health(T0 + timedelta(minutes=31), ok=False, uptime_s=1920)),
    ]


async def test_latest_wins_whatever_the_delivery_order(database: Database, stacks: StackStore) -> None:
    org = await stacks.create_org("acme", "Acme")
    stack, _ = await stacks.register_stack(org.org_id, "payments")
    items = updates(stack_history(org.org_id, stack.stack_id))
    in_order = FleetSink(database)
    await in_order.write(items)
    expected = await snapshot(database)

    query = FleetQuery(database, stacks)
    view = await query.stack(org.org_id, stack.stack_id)
    assert view is not None
    assert (view.commit, view.applied_summary, view.health, view.uptime_s) == ("2222222bbbb", "second apply",
                                                                              "unhealthy", 1920)
    assert view.agent_count == 2 and view.enforcement_layers == ["seccomp", "Landlock"]
    history = await query.apply_history(org.org_id, stack.stack_id)
    assert [h.commit for h in history] == ["2222222bbbb", "1111111aaaa"]
    assert history[1].rollback_command == "git checkout 1111111aaaa -- governance.fms && faramesh apply"
    agent = await query.agent(org.org_id, stack.stack_id, "payments-bot")
    assert agent is not None and agent.isolated is True
    assert [(b.spent_usd, b.ceiling_usd) for b in agent.budgets] == [(9.5, 10.0)]

    # The same items delivered newest first (offsets still increasing) give the same state.
    async with database.transaction() as conn:
        for table in (*TABLES, "fleet_positions"):
            await conn.execute(f"TRUNCATE {table}")
    reversed_records = list(reversed(stack_history(org.org_id, stack.stack_id)))
    await FleetSink(database).write(updates(reversed_records))
    assert await snapshot(database) == expected


async def test_a_redelivered_batch_changes_nothing(database: Database, stacks: StackStore) -> None:
    org = await stacks.create_org("acme", "Acme")
    stack, _ = await stacks.register_stack(org.org_id, "payments")
    items = updates(stack_history(org.org_id, stack.stack_id))
    sink = FleetSink(database)
    await sink.write(items)
    once = await snapshot(database)
    await sink.write(items)
    await sink.write(items[:3])
    assert await snapshot(database) == once
    assert sink.skipped == len(items) + 3


async def _consume(projection: FleetProjection, expected: int) -> None:
    await projection.start()
    try:
        async with asyncio.timeout(60):
            while projection.sink.applied + projection.sink.skipped < expected:
                assert projection.failure() is None, projection.failure()
                await asyncio.sleep(0.05)
    finally:
        await projection.stop()


async def test_replay_from_offset_zero_rebuilds_the_same_state(database: Database, stacks: StackStore,
                                                               postgres_log: PostgresLog) -> None:
    org = await stacks.create_org("acme", "Acme")
    one, _ = await stacks.register_stack(org.org_id, "payments")
    two, _ = await stacks.register_stack(org.org_id, "search")
    await postgres_log.create_topic(SYNC_ITEMS, 4)
    records = stack_history(org.org_id, one.stack_id) + stack_history(org.org_id, two.stack_id)
    for rec in records:  # one append per item, as ingest appends per push
        await postgres_log.append(SYNC_ITEMS, [rec])
    await _consume(FleetProjection(database, postgres_log, stacks, group="fleet-a"), len(records))
    first = await snapshot(database)
    assert len(first["fleet_stacks"]) == 2 and len(first["fleet_applies"]) == 4

    async with database.transaction() as conn:
        for table in (*TABLES, "fleet_positions"):
            await conn.execute(f"TRUNCATE {table}")
    await _consume(FleetProjection(database, postgres_log, stacks, group="fleet-b"), len(records))
    assert await snapshot(database) == first


async def test_queries_are_scoped_to_one_organisation(database: Database, stacks: StackStore) -> None:
    a = await stacks.create_org("acme", "Acme")
    b = await stacks.create_org("beta", "Beta")
    a_stack, _ = await stacks.register_stack(a.org_id, "payments")
    await FleetSink(database).write(updates(stack_history(a.org_id, a_stack.stack_id)))
    query = FleetQuery(database, stacks)
    assert len(await query.stacks(a.org_id)) == 1
    assert await query.stacks(b.org_id) == []
    assert await query.stack(b.org_id, a_stack.stack_id) is None
    assert await query.agents(b.org_id, a_stack.stack_id) == []
    assert await query.apply_history(b.org_id, a_stack.stack_id) == []
    assert await query.providers(b.org_id, a_stack.stack_id) == []
    assert await query.budgets_near_ceiling(b.org_id) == []
    assert await query.credentials_expiring(b.org_id, T0) == []
    assert await query.budget_burn(b.org_id) == []
    # A sees its own: the budget at 95% and the credential expiring in 3 h.
    assert [x.agent_id for x in await query.budgets_near_ceiling(a.org_id)] == ["payments-bot"]
    assert [x.agent_id for x in await query.credentials_expiring(a.org_id, T0)] == ["payments-bot"]
    assert await query.credentials_expiring(a.org_id, T0 - timedelta(days=2)) == []
