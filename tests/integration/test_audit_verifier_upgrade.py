"""Issue 18, upgrading an install: the single consumer of earlier versions placed records on
their chains up to its positions (projection ``audit-index``); the chain verifier that takes
over (projection ``audit-verifier``) starts there (migration 0010), so nothing it already placed
is placed again as a ``duplicate_record``, and what arrives after the upgrade is verified."""

from __future__ import annotations

import asyncio

import pytest

from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.sink import AuditIndexSink
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import fast_config, fleet, publish, records

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG, STACK = "org-upgrade", "stack-upgrade"


async def _scalar(db: Database, sql: str) -> int:
    async with db.connection() as conn:
        row = await (await conn.execute(sql)).fetchone()
    assert row is not None
    return int(row[0])


async def test_the_verifier_starts_where_the_single_consumer_stopped(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    await migrate(database, [COMPONENT])
    config = fast_config(olap_database)
    before = AuditIndex(database, postgres_log, chdb, config)
    await before.prepare()
    pushed = records(fleet(STACK, 2, ["s"], seed=5), 40)
    await publish(postgres_log, ORG, STACK, pushed[:30])
    # The earlier version: its one consumer (group audit-index) indexed and chained the first 30.
    consumer = await postgres_log.consumer(DPR_RECORDS, "audit-index")
    messages = []
    while len(messages) < 30:
        messages.extend(await consumer.poll(max_records=100, timeout_s=1.0))
    await consumer.commit({m.partition: m.offset + 1 for m in messages})
    await consumer.close()
    await AuditIndexSink(database, IndexWriter(chdb, before.tables)).write(
        [DprProcessor().process(m) for m in messages])  # type: ignore[misc]
    assert await _scalar(database, "SELECT count(*) FROM audit_chain_records") == 30
    # The upgrade: this version's migrations run on that state.
    async with database.connection() as conn:
        await conn.execute("DELETE FROM schema_migrations WHERE component = 'audit_index' AND version >= 10")
    await migrate(database, [COMPONENT])

    await publish(postgres_log, ORG, STACK, pushed[30:], first_seq=30)
    index = AuditIndex(database, postgres_log, chdb, config)
    await index.start()
    try:
        async with asyncio.timeout(60):
            while sum(r.stats.messages for r in index.verifiers) < 10 or index.verifier_sink.stats.verified < 10:
                assert index.failure() is None
                await asyncio.sleep(0.02)
    finally:
        await index.stop()

    assert index.verifier_sink.stats.verified == 10  # only what came after the upgrade
    assert await _scalar(database, "SELECT count(*) FROM audit_chain_findings") == 0
    assert await _scalar(database, "SELECT count(*) FROM audit_chain_records") == 40
    assert sum((await index.queries.counts_by_effect(ORG)).values()) == 40
