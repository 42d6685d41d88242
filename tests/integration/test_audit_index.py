"""The audit index end to end on real parts: PostgresLog, embedded PostgreSQL, chDB.

Idempotency is counted through the query API (what a user sees): the same batch twice, the
topic replayed from offset 0 over the existing state, a rebuild from offset 0 into empty
tables, and an attempt that inserted into ClickHouse but never committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest

from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.sink import AuditIndexSink
from faramesh_cloud.audit_index.views import InvalidCursor, SearchFilters
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.olap.port import OlapError
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import (
    fast_config,
    fleet,
    publish,
    records,
    run_index,
    snapshot,
)

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-acme"
SESSIONS = ["sess-shared-1", "sess-shared-2", "sess-shared-3"]
AUDIT_TABLES = ("audit_chain_agents", "audit_chain_records", "audit_chain_findings", "audit_alerts",
                "audit_org_sequences", "audit_index_positions")


@pytest.fixture
async def audit_db(database: Database) -> Database:
    await migrate(database, [COMPONENT])
    return database


@pytest.fixture
async def published(postgres_log: PostgresLog) -> AsyncIterator[list[dict[str, Any]]]:
    """240 records of two stacks (three agents each) sharing sessions across agents."""
    out = []
    for n, stack in enumerate(("stack-pay", "stack-ops")):
        recs = records(fleet(stack, 3, SESSIONS, seed=n), 120)
        await publish(postgres_log, ORG, stack, recs)
        out.extend(recs)
    yield out


async def test_indexes_every_record_once_with_counts_by_effect(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(published))
    queries = index.queries

    view = await snapshot(queries, ORG, SESSIONS[0], "stack-pay-agent-1")

    assert sorted(r[2] for r in view["search"]) == sorted(r["record_id"] for r in published)
    assert view["counts"] == dict(Counter(r["effect"] for r in published))
    assert [r[8] for r in view["search"]] == sorted((r[8] for r in view["search"]), reverse=True)
    assert all(r[5] and r[7] == "linked" for r in view["search"])
    in_session = [r for r in published if r["session_id"] == SESSIONS[0]]
    assert sorted(r[2] for r in view["timeline"]) == sorted(r["record_id"] for r in in_session)
    assert {r[1] for r in view["timeline"]} >= {"stack-pay-agent-0", "stack-ops-agent-0"}  # across agents
    assert [s["chain_length"] for s in view["integrity"]] == [120, 120]
    assert view["alerts"] == []


async def test_the_same_batch_twice_and_a_replay_from_offset_zero_change_no_count(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(published))
    before = await snapshot(index.queries, ORG, SESSIONS[1], "stack-ops-agent-2")

    # The same batch again, as a redelivery after a lost commit would hand it to the sink.
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages = []
    while len(messages) < len(published):
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [DprProcessor().process(m) for m in messages]
    await index.sink.write(rows)  # type: ignore[arg-type]
    await index.sink.write(rows[:50])  # type: ignore[arg-type]
    assert index.sink.stats.already_applied == len(published) + 50
    # The whole topic from offset 0 (a new consumer group) over the same state.
    replay = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database, group="replay"),
                             len(published))
    assert replay.sink.stats.indexed == 0

    assert await snapshot(index.queries, ORG, SESSIONS[1], "stack-ops-agent-2") == before


async def test_a_rebuild_from_offset_zero_into_empty_tables_gives_the_same_view(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    first = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(published))
    before = await snapshot(first.queries, ORG, SESSIONS[2], "stack-pay-agent-0")

    async with audit_db.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(AUDIT_TABLES)}")
    chdb.command(f"TRUNCATE TABLE {first.tables.dpr}")
    rebuilt = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database, group="rebuild"),
                              len(published))

    assert rebuilt.sink.stats.indexed == len(published)
    assert await snapshot(rebuilt.queries, ORG, SESSIONS[2], "stack-pay-agent-0") == before


async def test_rows_of_an_attempt_that_never_committed_are_not_inserted_again(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    # A previous attempt got its rows into ClickHouse, then died before the PostgreSQL
    # commit (emptied here): no position moved, so every batch comes again, with more behind
    # it. (The first run sees only the first stack's records, so what it indexed is exact:
    # a run stopped after "at least N messages" may have indexed more.)
    pay = records(fleet("stack-pay", 3, SESSIONS, seed=0), 120)
    ops = records(fleet("stack-ops", 3, SESSIONS, seed=1), 120)
    await publish(postgres_log, ORG, "stack-pay", pay)
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database, batch=100), len(pay))
    async with audit_db.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(AUDIT_TABLES)}")
    await publish(postgres_log, ORG, "stack-ops", ops)
    published = [*pay, *ops]
    again = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database, group="retry"),
                            len(published))

    assert index.sink.stats.indexed == len(pay)
    assert again.sink.stats.already_indexed == len(pay)
    assert again.sink.stats.indexed == len(ops)
    counts = await again.queries.counts_by_effect(ORG)
    assert counts == dict(Counter(r["effect"] for r in published))
    tail = (await again.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(len(published)))  # no sequence reused


async def test_a_record_pushed_again_at_new_offsets_is_not_indexed_twice(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(published))
    assert (index.sink.stats.indexed, index.sink.stats.already_indexed) == (len(published), 0)

    # A daemon pushes 30 records again (its ack was lost), then 10 new ones of the same chains.
    continued = records(fleet("stack-pay", 3, SESSIONS, seed=0), 130)
    assert continued[:120] == published[:120]
    await publish(postgres_log, ORG, "stack-pay", [*continued[:30], *continued[120:]], first_seq=1_000)
    again = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), 40)

    # The search index asks ClickHouse on every batch (it holds no chain to know a hash from):
    # the 30 records pushed again are found there, not inserted twice.
    assert (again.sink.stats.indexed, again.sink.stats.already_indexed) == (10, 30)
    counts = await again.queries.counts_by_effect(ORG)
    assert counts == dict(Counter(r["effect"] for r in [*published, *continued[120:]]))


class _InsertsThenFails(IndexWriter):
    """The real writer; its first insert lands in ClickHouse and then reports a failure, as
    a connection lost after the insert would (PostgreSQL then rolls the batch back)."""

    failed = False

    def insert(self, records: Sequence[IndexedRecord], links: Sequence[LinkStatus], seqs: Sequence[int]) -> None:
        super().insert(records, links, seqs)
        if not self.failed:
            self.failed = True
            raise OSError("connection lost after the insert")


async def test_a_batch_whose_commit_failed_after_the_insert_is_not_inserted_twice(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    index = AuditIndex(audit_db, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages = []
    while len(messages) < len(published):
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [row for row in map(DprProcessor().process, messages) if isinstance(row, IndexedRecord)]
    sink = AuditIndexSink(audit_db, _InsertsThenFails(chdb, index.tables))

    with pytest.raises(OSError):
        await sink.write(rows)
    await sink.write(rows)  # the runner's retry

    assert (sink.stats.indexed, sink.stats.already_indexed) == (0, len(published))
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in published))
    tail = (await index.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(len(published)))


async def test_a_batch_clickhouse_refuses_at_commit_moves_no_position_and_lands_on_retry(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    """ClickHouse refuses the insert while committing it (here a CHECK constraint every row
    fails). chDB's streaming insert used to report success and store nothing, and the sink
    then committed the positions of records that were never indexed."""
    index = AuditIndex(audit_db, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages = []
    while len(messages) < len(published):
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [row for row in map(DprProcessor().process, messages) if isinstance(row, IndexedRecord)]
    sink = AuditIndexSink(audit_db, IndexWriter(chdb, index.tables))
    chdb.command(f"ALTER TABLE {index.tables.dpr} ADD CONSTRAINT refused CHECK org_id = 'nobody'")

    with pytest.raises(OlapError, match="refused"):
        await sink.write(rows)

    async with audit_db.connection() as conn:
        stored = await (await conn.execute("SELECT count(*) FROM audit_index_positions")).fetchone()
    assert stored == (0,)  # the runner retries the batch from where it was
    assert chdb.query(f"SELECT count() FROM {index.tables.dpr}").scalar() == 0
    chdb.command(f"ALTER TABLE {index.tables.dpr} DROP CONSTRAINT refused")
    await sink.write(rows)  # the runner's retry
    assert sink.stats.indexed == len(published)
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in published))


async def test_a_value_that_is_not_a_dpr_goes_to_the_dead_letter_topic_and_blocks_nothing(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    recs = records(fleet("stack-x", 1, SESSIONS, seed=9), 3)
    await publish(postgres_log, ORG, "stack-x", [recs[0], b'{"not": "a dpr"}', recs[1], recs[2]])

    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), 4)

    page = await index.queries.search(ORG)
    assert sorted(r.record_id for r in page.records) == sorted(r["record_id"] for r in recs)
    consumer = await postgres_log.consumer(DEAD_LETTERS, "inspect")
    (parked,) = await consumer.poll(max_records=10, timeout_s=2.0)
    await consumer.close()
    assert parked.value == b'{"not": "a dpr"}'
    assert b"missing or empty required field" in parked.headers["dlq-reason"]
    assert parked.headers["dlq-topic"] == DPR_RECORDS.encode()


async def test_keyset_pages_cover_each_record_once_in_order_and_the_tail_skips_nothing(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
    published: list[dict[str, Any]],
) -> None:
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(published))
    queries = index.queries

    first = await queries.search(ORG, SearchFilters(stack_id="stack-pay"), limit=50)
    seen = list(first.records)
    cursor = first.next_cursor
    while cursor:
        page = await queries.search(ORG, SearchFilters(stack_id="stack-pay"), cursor=cursor, limit=50)
        seen.extend(page.records)
        cursor = page.next_cursor
    keys = [(r.created_ns, r.record_id, r.log_partition, r.log_offset) for r in seen]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys) == 120
    with pytest.raises(InvalidCursor):
        await queries.search(ORG, cursor="bm9wZQ")

    tail = await queries.recent(ORG, limit=10)
    assert len(tail.records) == 10
    more = records(fleet("stack-pay", 3, SESSIONS, seed=0), 130)[120:]  # the same chains, continued
    await publish(postgres_log, ORG, "stack-pay", more, first_seq=120)
    await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), len(more))
    newer = await queries.recent(ORG, after=tail.cursor)
    assert [r.record_id for r in newer.records] == [r["record_id"] for r in more]
    assert (await queries.recent(ORG, after=newer.cursor)).records == []
    detail = (await queries.get_record(ORG, more[-1]["record_id"]))[0]
    assert orjson.loads(detail.raw) == orjson.loads(orjson.dumps(more[-1]))
    assert detail.chain_index == 129 // 3 and detail.summary.link_status == "linked"


async def test_a_nul_character_or_a_huge_counter_never_blocks_the_partition(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    writer = fleet("stack-nul", 1, SESSIONS, seed=4)[0]
    first = writer.next(1_780_000_000_000_000_000)
    odd = dict(writer.next(1_780_000_001_000_000_000), prev_record_hash="ab\x00cd")  # quoted by findings
    nul_id = dict(writer.next(1_780_000_002_000_000_000), agent_id="a\x00b")
    huge = writer.next(1_780_000_003_000_000_000, lamport_seq=2**64 - 1)  # beyond PostgreSQL bigint
    await publish(postgres_log, ORG, "stack-nul", [first, odd, nul_id, huge])

    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), 4)

    stored = [r.record_id for r in (await index.queries.search(ORG)).records]
    assert sorted(stored) == sorted([first["record_id"], odd["record_id"], huge["record_id"]])
    (stack,) = await index.queries.chain_integrity(ORG)
    gap = next(f for f in stack.agents[0].findings if f.kind == "gap")
    assert gap.record_id == odd["record_id"] and "ab\\u0000cd" in gap.message
    assert index.runners[0].stats.rejected == 1


async def test_pages_stay_exact_through_a_tie_on_created_at_larger_than_a_fetch(
    audit_db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    writers = fleet("stack-burst", 4, ["sess-burst"], seed=8)
    same = [writers[i % 4].next(1_780_000_000_000_000_000, session_id="sess-burst")
            for i in range(130)]  # all in one nanosecond
    later = [writers[i % 4].next(1_780_000_000_000_000_001 + i, session_id="sess-burst") for i in range(20)]
    await publish(postgres_log, ORG, "stack-burst", same + later)
    index = await run_index(audit_db, postgres_log, chdb, fast_config(olap_database), 150)
    queries = index.queries

    async def walk(session: bool) -> list[Any]:
        rows: list[Any] = []
        cursor = None
        while True:
            page = (await queries.session_timeline(ORG, "sess-burst", cursor, limit=10) if session
                    else await queries.search(ORG, cursor=cursor, limit=10))
            assert len(page.records) <= 10
            rows.extend(page.records)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    for session in (False, True):
        rows = await walk(session)
        keys = [(r.created_ns, r.record_id, r.log_partition, r.log_offset) for r in rows]
        assert keys == sorted(keys, reverse=not session)
        assert sorted(r.record_id for r in rows) == sorted(r["record_id"] for r in same + later)
