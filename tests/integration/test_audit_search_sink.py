"""The search index's sink (issue 18) on real parts: PostgresLog, embedded PostgreSQL, chDB.

Counted through the query API (what a user sees): a batch written twice, a record pushed
again at new offsets (the sink has no chain members to tell it a repeat), and a batch whose
commit failed after its ClickHouse insert. No hash, link or signature is checked here: a
tampered record is searchable at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.audit_index.clickhouse import SearchWriter, created_ranges
from faramesh_cloud.audit_index.domain import VERIFIER_PROJECTION
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.search_processor import SearchProcessor, SearchRow
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.views import SearchFilters
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-acme"
SESSIONS = ["sess-1", "sess-2"]


async def _index(database: Database, log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> AuditIndex:
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, log, chdb, fast_config(olap_database))
    await index.prepare()
    # The split's reads: a row is checked once the chain verifier (not this sink) passed it.
    index.queries = AuditQueries(chdb, database, index.tables, verified_by=VERIFIER_PROJECTION)
    return index


async def _rows(log: PostgresLog, count: int, group: str) -> list[SearchRow]:
    consumer = await log.consumer(DPR_RECORDS, group)
    messages = []
    while len(messages) < count:
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [SearchProcessor().process(m) for m in messages]
    assert all(isinstance(r, SearchRow) for r in rows)
    return rows  # type: ignore[return-value]


async def test_a_batch_is_searchable_once_however_often_it_is_written(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    index = await _index(database, postgres_log, chdb, olap_database)
    published = records(fleet("stack-pay", 3, SESSIONS, seed=0), 150)
    await publish(postgres_log, ORG, "stack-pay", published)
    rows = await _rows(postgres_log, len(published), "read-back")
    sink = SearchIndexSink(database, SearchWriter(chdb, index.tables))

    await sink.write(rows[:100])
    await sink.write(rows)  # a redelivery overlapping the first batch
    await sink.write(rows)

    assert (sink.stats.indexed, sink.stats.already_applied) == (150, 100 + 150)
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in published))
    tail = (await index.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(150))
    assert {r.link_status for r in tail} == {"unchecked"}  # nothing verified here


async def test_a_record_pushed_again_at_new_offsets_is_not_indexed_twice(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    index = await _index(database, postgres_log, chdb, olap_database)
    continued = records(fleet("stack-pay", 3, SESSIONS, seed=0), 130)
    await publish(postgres_log, ORG, "stack-pay", continued[:120])
    sink = SearchIndexSink(database, SearchWriter(chdb, index.tables))
    await sink.write(await _rows(postgres_log, 120, "first"))

    # A daemon pushes 30 records again (its ack was lost), then 10 new ones.
    await publish(postgres_log, ORG, "stack-pay", [*continued[:30], *continued[120:]], first_seq=1_000)
    everything = await _rows(postgres_log, 160, "second")
    await sink.write(everything[120:])

    assert (sink.stats.indexed, sink.stats.already_indexed) == (130, 30)
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in continued))
    tail = (await index.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(130))


async def test_a_repeat_in_a_batch_that_spans_an_hour_of_catch_up_is_found(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    """A daemon back after an hour pushes its backlog next to live stacks: the existence check
    looks the batch up as several created_at ranges (``created_ranges``), and a repeat in
    any of them is still found."""
    index = await _index(database, postgres_log, chdb, olap_database)
    hour = 3_600 * 1_000_000_000
    backlog = records(fleet("stack-back", 2, SESSIONS, seed=2), 40, start_ns=BASE_NS - hour)
    live = records(fleet("stack-live", 2, SESSIONS, seed=3), 20)
    middle = records(fleet("stack-mid", 2, SESSIONS, seed=4), 10, start_ns=BASE_NS - hour // 2)
    await publish(postgres_log, ORG, "stack-back", backlog[:30])
    await publish(postgres_log, ORG, "stack-live", live[:5])
    sink = SearchIndexSink(database, SearchWriter(chdb, index.tables))
    first = await _rows(postgres_log, 35, "first")
    await sink.write(first)

    # The backlog and the live stack again from their start (the acks of what the first
    # batch held were lost), and the half-hour-old stack, all in one batch: repeats at both
    # ends of the hour.
    await publish(postgres_log, ORG, "stack-back", backlog, first_seq=1_000)
    await publish(postgres_log, ORG, "stack-live", live, first_seq=1_000)
    await publish(postgres_log, ORG, "stack-mid", middle)
    written = {(r.partition, r.offset) for r in first}
    batch = [r for r in await _rows(postgres_log, 35 + 40 + 20 + 10, "second") if (r.partition, r.offset) not in written]
    assert len(batch) == 70 and len(created_ranges([r.created_ns for r in batch])) == 3
    await sink.write(batch)

    assert (sink.stats.indexed, sink.stats.already_indexed) == (35 + 10 + 15 + 10, 35)
    everyone = [*backlog, *live, *middle]
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in everyone))


class _InsertsThenFails(SearchWriter):
    """The real writer; its first insert lands in ClickHouse, then reports a failure."""

    failed = False

    def insert(self, rows: Sequence[SearchRow], seqs: Sequence[int]) -> None:
        super().insert(rows, seqs)
        if not self.failed:
            self.failed = True
            raise OSError("connection lost after the insert")


async def test_a_batch_whose_commit_failed_after_the_insert_is_not_inserted_twice(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    index = await _index(database, postgres_log, chdb, olap_database)
    published: list[dict[str, Any]] = records(fleet("stack-ops", 2, SESSIONS, seed=1), 80)
    await publish(postgres_log, ORG, "stack-ops", published)
    rows = await _rows(postgres_log, len(published), "read-back")
    sink = SearchIndexSink(database, _InsertsThenFails(chdb, index.tables))

    with pytest.raises(OSError):
        await sink.write(rows)
    await sink.write(rows)  # the runner's retry

    assert (sink.stats.indexed, sink.stats.already_indexed) == (0, len(published))
    assert await index.queries.counts_by_effect(ORG) == dict(Counter(r["effect"] for r in published))
    tail = (await index.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(len(published)))


async def test_a_tampered_record_is_searchable_at_once(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    index = await _index(database, postgres_log, chdb, olap_database)
    lines = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    await publish(postgres_log, ORG, "stack-pay", lines)
    sink = SearchIndexSink(database, SearchWriter(chdb, index.tables))
    await sink.write(await _rows(postgres_log, len(lines), "read-back"))

    page = await index.queries.search(ORG, filters=SearchFilters(stack_id="stack-pay"))
    assert len(page.records) == len(lines)
