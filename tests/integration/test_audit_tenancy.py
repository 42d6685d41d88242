"""Tenant isolation: organisation B sees nothing of organisation A by any query of the audit
API, even when it asks for A's real record ids, sessions, stacks and cursors."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.views import SearchFilters, TimeRange
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG_A, ORG_B, STACK = "org-a", "org-b", "stack-shared-name"


async def test_org_b_sees_nothing_of_org_a_by_any_query(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    recs = records(fleet(STACK, 2, ["sess-a"], seed=3), 30)
    tampered = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    await publish(postgres_log, ORG_A, STACK, recs)
    await publish(postgres_log, ORG_A, "stack-tampered", tampered)
    index = await run_index(database, postgres_log, chdb, fast_config(olap_database), 36)
    q = index.queries
    a_page = await q.search(ORG_A, limit=10)
    assert a_page.records and a_page.next_cursor
    assert await q.alerts(ORG_A) and await q.chain_integrity(ORG_A)  # A does have all of it

    record = recs[0]
    assert (await q.search(ORG_B)).records == []
    assert (await q.search(ORG_B, SearchFilters(stack_id=STACK, agent_id=record["agent_id"],
                                                session_id="sess-a"))).records == []
    assert (await q.search(ORG_B, cursor=a_page.next_cursor)).records == []
    assert (await q.search(ORG_B, time_range=TimeRange(0, 2**62))).records == []
    assert await q.counts_by_effect(ORG_B) == {}
    assert await q.counts_by_effect(ORG_B, SearchFilters(stack_id=STACK)) == {}
    assert await q.get_record(ORG_B, record["record_id"]) == []
    assert await q.get_record(ORG_B, record["record_id"], stack_id=STACK, agent_id=record["agent_id"]) == []
    assert await q.get_record(ORG_B, "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03") == []
    assert (await q.session_timeline(ORG_B, "sess-a")).records == []
    assert await q.chain_integrity(ORG_B) == []
    assert await q.chain_integrity(ORG_B, STACK) == []
    assert await q.alerts(ORG_B, include_acknowledged=True) == []
    tail = await q.recent(ORG_B)
    assert tail.records == []
    assert (await q.recent(ORG_B, after=(await q.recent(ORG_A, limit=1)).cursor)).records == []
    assert (await q.recent(ORG_B, after=tail.cursor)).records == []
