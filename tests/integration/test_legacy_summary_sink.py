"""The legacy sink's idempotency on real parts (PostgresLog, PostgreSQL, chDB): a batch whose
PostgreSQL commit failed after its ClickHouse insert is not inserted twice, and a row such an
attempt left behind is hidden when the DPR with its key was indexed in between."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from faramesh_cloud.audit_index.clickhouse import SummaryWriter
from faramesh_cloud.audit_index.domain import SummaryRow
from faramesh_cloud.audit_index.legacy_processor import LegacyProcessor
from faramesh_cloud.audit_index.legacy_sink import LegacySink
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.search_processor import SearchProcessor
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.views import SearchFilters
from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import DPR_RECORDS, LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import fast_config, fleet, publish, records

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG, STACK = "org-sink", "stack-sink"


class _InsertsThenFails(SummaryWriter):
    """The real writer; its first insert lands in ClickHouse, then reports a failure, as a
    connection lost after the insert would (PostgreSQL then rolls the batch back)."""

    failed = False

    def insert(self, rows: Sequence[SummaryRow], seqs: Sequence[int]) -> None:
        super().insert(rows, seqs)
        if not self.failed:
            self.failed = True
            raise OSError("connection lost after the insert")


async def summaries(database: Database, log: PostgresLog, chdb: ChdbOlap, olap_database: str,
                    decisions: list[dict[str, object]]) -> tuple[AuditIndex, list[SummaryRow]]:
    """The decisions as Horizon summaries on decisions.legacy.v1, read back and processed."""
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, log, chdb, fast_config(olap_database))
    await index.prepare()
    batch = []
    for i, d in enumerate(decisions):
        event = LegacyDecision(source=SOURCE_HORIZON, effect=str(d["effect"]), timestamp=str(d["created_at"]),
                               decided_at_ns=1_780_000_000_000_000_000 + i, record_id=str(d["record_id"]),
                               agent_id=str(d["agent_id"]), latency_ms=1)
        batch.append(LogRecord(stack_key(ORG, STACK), event.to_json(),
                               Origin(ORG, STACK, SOURCE_HORIZON, i, "req", 1_780_000_001_000_000_000).headers()))
    await log.append(LEGACY_DECISIONS, batch)
    consumer = await log.consumer(LEGACY_DECISIONS, "read-back")
    messages = []
    while len(messages) < len(decisions):
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [LegacyProcessor().process(m) for m in messages]
    assert all(isinstance(r, SummaryRow) for r in rows)
    return index, rows  # type: ignore[return-value]


async def test_a_summary_batch_whose_commit_failed_after_the_insert_is_not_inserted_twice(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    decisions = records(fleet("s", 2, ["sess"], seed=1), 30)
    index, rows = await summaries(database, postgres_log, chdb, olap_database, decisions)
    sink = LegacySink(database, _InsertsThenFails(chdb, index.tables))

    with pytest.raises(OSError):
        await sink.write(rows)
    await sink.write(rows)  # the runner's retry
    await sink.write(rows)  # a redelivery

    assert (sink.stats.indexed, sink.stats.already_indexed, sink.stats.already_applied) == (0, 30, 30)
    assert await index.queries.counts_by_effect(ORG) == dict(sorted(Counter(d["effect"] for d in decisions).items()))
    tail = (await index.queries.recent(ORG, limit=1000)).records
    assert sorted(r.org_seq for r in tail) == list(range(30))  # no sequence reused


async def test_a_row_left_by_a_failed_attempt_is_hidden_when_its_dpr_came_in_between(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    decisions = records(fleet("s", 1, ["sess"], seed=2), 6)
    index, rows = await summaries(database, postgres_log, chdb, olap_database, decisions)
    sink = LegacySink(database, _InsertsThenFails(chdb, index.tables))
    with pytest.raises(OSError):
        await sink.write(rows)
    # The DPRs of the first two are indexed before the retry: no summary was committed, so
    # the DPR sink had nothing to replace.
    await publish(postgres_log, ORG, STACK, decisions[:2])
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages = await consumer.poll(max_records=10, timeout_s=1.0)
    await consumer.close()
    await index.sink.write([DprProcessor().process(m) for m in messages])  # type: ignore[misc]
    assert index.sink.stats.indexed == 2 and index.sink.stats.summaries_replaced == 0
    await sink.write(rows)

    shown = (await index.queries.search(ORG, limit=100)).records
    assert sorted((r.record_id, r.verification) for r in shown) == sorted(
        [(str(d["record_id"]), "verified") for d in decisions[:2]]
        + [(str(d["record_id"]), "unverified") for d in decisions[2:]])
    assert sum((await index.queries.counts_by_effect(ORG)).values()) == 6
    unverified = await index.queries.search(ORG, SearchFilters(verification="unverified"))
    assert len(unverified.records) == 4


async def test_a_summary_defers_to_a_dpr_the_search_index_holds_before_the_verifier_has_it(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    """Issue 18: the search index makes a DPR searchable before the chain verifier places it on
    its chain. A summary of the same key arriving in between must still defer to the DPR (it
    asks the search index's rows, not the verifier's chain members), or counts would double."""
    decisions = records(fleet("s", 1, ["sess"], seed=3), 6)
    index, rows = await summaries(database, postgres_log, chdb, olap_database, decisions)
    await publish(postgres_log, ORG, STACK, decisions)
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages = []
    while len(messages) < len(decisions):
        messages.extend(await consumer.poll(max_records=10, timeout_s=1.0))
    await consumer.close()
    await index.sink.write([SearchProcessor().process(m) for m in messages])  # type: ignore[misc]
    assert index.sink.stats.indexed == 6
    async with database.connection() as conn:  # the verifier has not run: no chain member yet
        assert await (await conn.execute("SELECT count(*) FROM audit_chain_records")).fetchone() == (0,)

    sink = LegacySink(database, SummaryWriter(chdb, index.tables))
    await sink.write(rows)

    assert (sink.stats.indexed, sink.stats.replaced) == (0, 6)
    assert sum((await index.queries.counts_by_effect(ORG)).values()) == 6
    shown = (await index.queries.search(ORG, limit=100)).records
    assert sorted((r.record_id, r.verification) for r in shown) == sorted(
        (str(d["record_id"]), "verified") for d in decisions)
