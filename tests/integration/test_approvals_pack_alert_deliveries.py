"""Registry pack alerts delivered like decisions (issue 15 item 6), on real PostgreSQL and the
PostgreSQL log: a ``PackAlertRaised`` record on ``registry.events.v1`` becomes one delivery
for its stack (the same one however often the record is read), handed out by PollDecisions
until AckDecisions acknowledges it, the acknowledgement going to ``approvals.events.v1`` like a
decision's; another organisation's stack of the same name is handed nothing; and replaying
every topic into an empty database (the acknowledgement read before the alert) rebuilds the
same delivery row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import deliveries_pb2

from faramesh_cloud.approvals.processor import ApprovalProcessor
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.events.topics import APPROVAL_EVENTS, H_KIND
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import drain
from tests.fixtures.ingest import read_topic
from tests.fixtures.postgres import fresh_database
from tests.registry_alert_support import alert, append_alert
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log, ApprovalsConfig(group="approvals-pack-alerts", sweep_interval_s=0.1))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


async def _rows(database: Database, org: str) -> list[tuple[Any, ...]]:
    async with database.connection() as conn:
        return await (await conn.execute("SELECT * FROM approval_deliveries WHERE org_id = %s ORDER BY delivery_id",
                                         (org,))).fetchall()


async def test_a_pack_alert_is_handed_out_until_acknowledged_and_a_replay_converges(
        approvals: Approvals, database: Database, postgres_log: PostgresLog, stack_store: StackStore,
        embedded_postgres: EmbeddedPostgres, pg_template: str) -> None:
    org = (await stack_store.create_org("alerts-a", "A")).org_id
    other = (await stack_store.create_org("alerts-b", "B")).org_id
    stack_id = (await stack_store.register_stack(org, "payments-prod", "prod"))[0].stack_id
    other_stack = (await stack_store.register_stack(other, "payments-prod", "prod"))[0].stack_id
    raised = alert()
    await append_alert(postgres_log, org, stack_id, raised)
    await append_alert(postgres_log, org, stack_id, raised)  # read twice (a producer's retry): one delivery
    await append_alert(postgres_log, org, stack_id, alert(), kind=b"VersionPublished")  # not an alert: skipped

    async def handed() -> bool:
        return bool((await approvals.control.poll_decisions(org, stack_id, 10))[0])
    await eventually(handed, "the alert's delivery", within_s=30)
    [delivery], more = await approvals.control.poll_decisions(org, stack_id, 10)
    assert not more and delivery.delivery_id == raised.alert_id
    assert delivery.WhichOneof("payload") == "registry_pack_alert"
    assert delivery.registry_pack_alert == raised
    assert (await approvals.control.poll_decisions(other, other_stack, 10))[0] == []

    await approvals.control.ack_decisions(org, stack_id, [deliveries_pb2.DeliveryAck(
        delivery_id=raised.alert_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, message="alert recorded")])
    assert (await approvals.control.poll_decisions(org, stack_id, 10))[0] == []

    async def acknowledged_on_the_log() -> bool:
        found = [ApprovalProcessor().process(m) for m in await read_topic(postgres_log, APPROVAL_EVENTS)
                 if m.headers[H_KIND] == b"DeliveryAcknowledged"]
        return any(getattr(f, "change", None) is not None and f.change.delivery_id == raised.alert_id  # type: ignore[union-attr]
                   for f in found)
    await eventually(acknowledged_on_the_log, "DeliveryAcknowledged on approvals.events.v1", within_s=30)
    [ack] = [ApprovalProcessor().process(m).change for m in await read_topic(postgres_log, APPROVAL_EVENTS)  # type: ignore[union-attr]
             if m.headers[H_KIND] == b"DeliveryAcknowledged"]
    assert (ack.approval_id, ack.outcome, ack.message) == ("", "accepted", "alert recorded")
    live = await _rows(database, org)
    assert len(live) == 1 and live[0][3] is None  # no approval

    with fresh_database(embedded_postgres, pg_template, prefix="pack-alerts") as url:
        async with Database(url, max_size=4) as fresh:
            async with database.connection() as conn:
                columns = [c.name for c in (await conn.execute("SELECT * FROM orgs LIMIT 0")).description or ()]
                orgs = await (await conn.execute("SELECT * FROM orgs WHERE org_id = ANY(%s::uuid[])",
                                                 ([org, other],))).fetchall()
            async with fresh.transaction() as conn:
                for row in orgs:
                    await conn.execute(f"INSERT INTO orgs ({', '.join(columns)}) "
                                       f"VALUES ({', '.join(['%s'] * len(columns))})", row)
            rebuilt = Approvals(fresh, postgres_log, ApprovalsConfig(group="approvals-pack-alerts-rebuild"))
            await rebuilt.prepare()
            for runner in rebuilt.consumers():  # approvals.events.v1 (the ack) before registry.events.v1
                await drain(runner, postgres_log)
            assert await _rows(fresh, org) == live
