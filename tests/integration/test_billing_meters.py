"""Billing's meters end to end on real PostgreSQL, the PostgreSQL log and the real sync
channel: a daemon pushes DPRs and its stack status over gRPC/TLS → ingest appends → billing's
consumer groups count them into the meters in their sinks' transactions → the usage an owner
reads back. Reports and registry versions come as the compliance and registry services write
them (their own codecs); seats from identity's memberships. Organisations are kept apart,
a redelivered batch counts nothing twice, and a replay from offset 0 gives the same meters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from faramesh_cloud.billing.domain import Meter, month_of
from faramesh_cloud.billing.processor import DecisionCounter
from faramesh_cloud.billing.service import Billing
from faramesh_cloud.billing.sink import UsageSink
from faramesh_cloud.events.topics import COMPLIANCE_EVENTS, DPR_RECORDS, REGISTRY_EVENTS
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import push_item
from faramesh_cloud.sql.database import Database
from tests.billing_support import billing, report_recorded, version_published
from tests.fixtures.identity import People
from tests.fixtures.ingest import MakeClient, MakeTenant, Tenant, read_topic
from tests.notifications_support import FakeClock
from tests.simulator_support import eventually
from tests.sync_items import dpr_item, other_payloads, synthetic_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


@pytest.fixture
async def start(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Callable[..., Any]]:
    started: list[Billing] = []

    async def _start(clock: Any) -> Billing:
        service = billing(database, postgres_log, clock)
        await service.start()
        started.append(service)
        return service

    yield _start
    for service in started:
        await service.stop()


async def push(sync_client: MakeClient, tenant: Tenant, raws: list[bytes], *, status: bool = True) -> None:
    items = [dpr_item(i, raw) for i, raw in enumerate(raws, start=1)]
    if status:
        items.append(push_item(len(items) + 1, other_payloads()["stack_status"]))
    response = await sync_client(tenant.key).push(str(uuid.uuid4()), items)
    assert response.acked_through_sequence == len(items)


async def meters(service: Billing, org_id: str) -> dict[Meter, int]:
    [month] = await service.api.usage(org_id, 1)
    return month.meters


async def test_pushed_decisions_stacks_reports_storage_and_seats_are_metered_per_org(
        start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, people: People,
        postgres_log: PostgresLog) -> None:
    clock = FakeClock(datetime.now(UTC))
    service: Billing = await start(clock)
    owner = await people.org("acme")
    await people.member(owner, Role.OPERATOR)
    await people.member(owner, Role.VIEWER)  # not a seat
    await people.member(owner, Role.ADMIN)
    other_owner = await people.org("globex")
    payments = await tenant(owner.org, "payments-prod")
    search = await tenant(owner.org, "search-prod")
    idle = await tenant(owner.org, "idle-prod")  # connected nothing this month: not counted
    globex = await tenant(other_owner.org, "globex-prod")
    records = synthetic_records(9)
    await push(sync_client, payments, records[:5])
    await push(sync_client, search, records[5:8])
    await push(sync_client, globex, records[8:], status=False)
    now = clock()
    await postgres_log.append(COMPLIANCE_EVENTS, [report_recorded(owner.org.org_id, now),
                                                  report_recorded(owner.org.org_id, now, kind="dpr-export"),
                                                  report_recorded(other_owner.org.org_id, now)])
    await postgres_log.append(REGISTRY_EVENTS, [version_published(owner.org.org_id, now, "acme/pci", 4096),
                                                version_published(owner.org.org_id, now, "acme/soc", 1000),
                                                version_published("", now, "faramesh/official", 10**6)])
    expected = {Meter.DECISIONS: 8, Meter.STACKS: 2, Meter.REPORTS: 1, Meter.REGISTRY_BYTES: 5096,
                Meter.SEATS: 3}

    async def acme_metered() -> bool:
        return await meters(service, owner.org.org_id) == expected

    globex_expected = {Meter.DECISIONS: 1, Meter.STACKS: 0, Meter.REPORTS: 1, Meter.REGISTRY_BYTES: 0,
                       Meter.SEATS: 1}

    async def globex_metered() -> bool:  # its stack's records sit on another partition: wait for it too
        return await meters(service, other_owner.org.org_id) == globex_expected

    await eventually(acme_metered, "acme's meters read back")
    await eventually(globex_metered, "globex's meters read back")
    assert idle.stack.stack_id  # registered, but it never reported status
    assert await meters(service, owner.org.org_id) == expected  # nothing of globex's landed on acme


async def test_a_redelivered_batch_and_a_replay_from_offset_zero_count_nothing_twice(
        database: Database, postgres_log: PostgresLog, tenant: MakeTenant, sync_client: MakeClient,
        people: People) -> None:
    clock = FakeClock(datetime.now(UTC))
    service = billing(database, postgres_log, clock)
    await service.prepare()  # tables and topics; the test drives the consumer itself
    owner = await people.org("initech")
    stack = await tenant(owner.org, "prod")
    await push(sync_client, stack, synthetic_records(6), status=False)
    rows = [DecisionCounter().process(m) for m in await read_topic(postgres_log, DPR_RECORDS)]
    sink = UsageSink(database)
    await sink.write(rows)  # type: ignore[arg-type]
    await sink.write(rows)  # type: ignore[arg-type]  # redelivered
    assert (await meters(service, owner.org.org_id))[Meter.DECISIONS] == 6
    async with database.transaction() as conn:  # an empty projection read again from offset 0
        await conn.execute("DELETE FROM billing_usage_counts")
        await conn.execute("DELETE FROM billing_positions")
    await sink.write(rows)  # type: ignore[arg-type]
    assert (await meters(service, owner.org.org_id))[Meter.DECISIONS] == 6
    assert month_of(clock()) == (await service.api.usage(owner.org.org_id, 1))[0].month
