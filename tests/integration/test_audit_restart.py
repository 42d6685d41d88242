"""The audit index survives a restart: chDB closed and reopened, the PostgreSQL server
stopped and started again. Chains continue from the stored tips (no false gap or genesis
finding), and the consumer group resumes where it committed."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.integration.audit_support import fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG, STACK = "org-restart", "stack-1"


class Parts:
    """PostgreSQL server, database, log and chDB of one 'process lifetime'."""

    def __init__(self, pg_dir: Path, chdb_dir: Path) -> None:
        self.server = EmbeddedPostgres(pg_dir)
        self.chdb_dir = chdb_dir

    async def __aenter__(self) -> Parts:
        url = await asyncio.to_thread(self.server.start)
        self.db = Database(url, max_size=4)
        await self.db.open()
        self.log = PostgresLog(self.db)
        await self.log.start()
        self.olap = ChdbOlap(self.chdb_dir)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.log.close()
        self.olap.close()
        await self.db.close()
        await asyncio.to_thread(self.server.stop)


async def test_chain_state_and_index_survive_closing_and_reopening_everything(
    pg_data_dir: Path, chdb_data_dir: Path, olap_database: str,
) -> None:
    writers = fleet(STACK, 2, ["sess-r"], seed=11)
    first: list[dict[str, Any]] = records(writers, 40)
    second = records(writers, 40, start_ns=1_790_000_000_000_000_000)
    config = fast_config(olap_database)

    async with Parts(pg_data_dir / "pg", chdb_data_dir) as parts:
        await publish(parts.log, ORG, STACK, first)
        await run_index(parts.db, parts.log, parts.olap, config, len(first))

    async with Parts(pg_data_dir / "pg", chdb_data_dir) as parts:
        queries = AuditQueries(parts.olap, parts.db, AuditTables(olap_database))
        assert await queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in first))
        before = await queries.chain_integrity(ORG)
        assert [a.chain_length for a in before[0].agents] == [20, 20]
        await publish(parts.log, ORG, STACK, second, first_seq=len(first))
        index = await run_index(parts.db, parts.log, parts.olap, config, len(second))
        assert index.sink.stats.indexed == len(second)  # resumed, nothing consumed twice

    async with Parts(pg_data_dir / "pg", chdb_data_dir) as parts:
        queries = AuditQueries(parts.olap, parts.db, AuditTables(olap_database))
        (stack,) = await queries.chain_integrity(ORG)
        assert [(a.chain_length, a.segments, a.findings) for a in stack.agents] == [(40, 1, []), (40, 1, [])]
        assert [a.tip_record_id for a in stack.agents] == [r["record_id"] for r in second[-2:]]
        assert await queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in first + second))
        tail = await queries.recent(ORG, limit=1000)
        assert [r.record_id for r in tail.records] == [r["record_id"] for r in first + second]
