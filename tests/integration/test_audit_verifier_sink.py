"""The chain verifier's sink (issue 18) on real parts: PostgresLog, embedded PostgreSQL (and
chDB only for today's sink, the reference).

On every chain vector the verifier leaves PostgreSQL exactly as today's single consumer
does (chains, members, findings, alerts and their events), writes nothing to ClickHouse and
no tail sequence, and a redelivery or replay adds no finding, alert or event.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.audit_index.clickhouse import IndexWriter, SearchWriter
from faramesh_cloud.audit_index.domain import PROJECTION, VERIFIER_PROJECTION, IndexedRecord
from faramesh_cloud.audit_index.integrity import verifier_watermark
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.search_processor import SearchProcessor
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.sink import AuditIndexSink
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import fast_config, publish

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-acme"
CHAIN_TABLES = {
    "audit_chain_agents": "org_id, stack_id, agent_id, tip_hash, tip_record_id, chain_length, segments, "
                          "last_lamport, first_created_at, last_created_at, last_verified_ns",
    "audit_chain_records": "org_id, stack_id, agent_id, record_hash, record_id, chain_index",
    "audit_chain_findings": "org_id, stack_id, agent_id, record_id, record_hash, kind, severity, message, "
                            "chain_index, log_position, record_created_at, detected_ns",
    "audit_alerts": "org_id, stack_id, agent_id, record_id, record_hash, kind",
    "audit_index_outbox": "topic, key, value, headers",
}


async def _published(log: PostgresLog, vectors_dir: Path) -> list[IndexedRecord]:
    total = 0
    for n, path in enumerate(sorted(vectors_dir.glob("dpr_chain_*.jsonl"))):
        lines = path.read_bytes().splitlines()
        await publish(log, ORG, f"stack-{n}", lines, first_seq=total)
        total += len(lines)
    consumer = await log.consumer(DPR_RECORDS, "read-back")
    messages = []
    while len(messages) < total:
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [DprProcessor().process(m) for m in messages]
    assert all(isinstance(r, IndexedRecord) for r in rows)
    return rows  # type: ignore[return-value]


async def _late_predecessor(log: PostgresLog, vectors_dir: Path, first_seq: int) -> list[IndexedRecord]:
    """1a01, 1a03 (ahead of its predecessor: a gap), 1a02 (late), 1a03 again: by then its
    predecessor is its chain's tip, and it is a stored member."""
    first, second, third = (vectors_dir / "dpr_chain_valid_jcs.jsonl").read_bytes().splitlines()[:3]
    await publish(log, ORG, "stack-late", [first, third, second, third], first_seq=first_seq)
    consumer = await log.consumer(DPR_RECORDS, "read-back-late")
    messages: list[Any] = []
    while len(messages) < first_seq + 4:
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    rows = [DprProcessor().process(m) for m in messages]
    return [r for r in rows if isinstance(r, IndexedRecord) and r.stack_id == "stack-late"]


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with db.connection() as conn:
        for table, columns in CHAIN_TABLES.items():
            cur = await conn.execute(f"SELECT {columns} FROM {table}")
            out[table] = sorted(await cur.fetchall(), key=repr)
    return out


async def _count(db: Database, sql: str) -> int:
    async with db.connection() as conn:
        row = await (await conn.execute(sql)).fetchone()
    assert row is not None
    return int(row[0])


async def test_the_verifier_leaves_the_chain_state_todays_sink_leaves(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    rows = await _published(postgres_log, vectors_dir)
    await AuditIndexSink(database, IndexWriter(chdb, index.tables)).write(rows)
    today = await _snapshot(database)
    async with database.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(CHAIN_TABLES)}, audit_alert_closures")
    rows_before = chdb.query(f"SELECT count() FROM {index.tables.dpr}").scalar()
    sequences_before = await _count(database, "SELECT coalesce(sum(next_seq), 0) FROM audit_org_sequences")

    verifier = VerifierSink(database)
    await verifier.write(rows)

    assert await _snapshot(database) == today
    assert today["audit_chain_findings"] and today["audit_alerts"]  # the vectors do find things
    assert verifier.stats.findings == len(today["audit_chain_findings"])
    assert chdb.query(f"SELECT count() FROM {index.tables.dpr}").scalar() == rows_before  # no row written
    assert await _count(database, "SELECT coalesce(sum(next_seq), 0) FROM audit_org_sequences") == sequences_before


async def test_redelivery_and_replay_add_no_finding_alert_or_event(
    database: Database, postgres_log: PostgresLog, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    rows = await _published(postgres_log, vectors_dir)
    verifier = VerifierSink(database)
    await verifier.write(rows[: len(rows) // 2])
    await verifier.write(rows)
    once = await _snapshot(database)

    await verifier.write(rows)  # a redelivery
    replay = VerifierSink(database)
    await replay.write(rows)  # a replay from offset 0 (positions stored)

    assert await _snapshot(database) == once
    assert len(once["audit_index_outbox"]) == len(once["audit_alerts"])  # one AlertRaised per alert
    assert (verifier.stats.verified, replay.stats.already_applied) == (len(rows), len(rows))
    async with database.connection() as conn:
        cur = await conn.execute("SELECT DISTINCT projection FROM audit_index_positions")
        assert {p for (p,) in await cur.fetchall()} == {VERIFIER_PROJECTION} != {PROJECTION}


async def test_the_watermark_covers_exactly_the_records_the_verifier_committed(
    database: Database, postgres_log: PostgresLog, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    rows = await _published(postgres_log, vectors_dir)
    before = await verifier_watermark(database, DPR_RECORDS)
    assert not any(before.covers(r.partition, r.offset) for r in rows)
    done, pending = rows[: len(rows) // 2], rows[len(rows) // 2:]

    await VerifierSink(database).write(done)

    mark = await verifier_watermark(database, DPR_RECORDS)
    assert all(mark.covers(r.partition, r.offset) for r in done)
    assert not any(mark.covers(r.partition, r.offset) for r in pending if r.offset > max(
        (d.offset for d in done if d.partition == r.partition), default=-1))


async def test_the_services_verifier_applies_a_batch_only_once_the_search_index_has_it(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    """Searchable first, verified right after, never the reverse: the pin consumer re-judges
    checked records by their ClickHouse rows, so a record checked before it was searchable
    would keep a verdict given under older pins if a pin arrived in between."""
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    await index.trust.refresh()
    rows = await _published(postgres_log, vectors_dir)
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back-search")
    messages: list[Any] = []
    while len(messages) < len(rows):
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()

    verifying = asyncio.create_task(index.verifier_sink.write(rows))
    while index.verifier_sink.stats.waited < 3:  # it polls the search index's positions
        assert not verifying.done()
        await asyncio.sleep(0.02)
    assert not verifying.done()
    early = await verifier_watermark(database, DPR_RECORDS)
    assert not any(early.covers(r.partition, r.offset) for r in rows)

    await SearchIndexSink(database, SearchWriter(chdb, index.tables)).write(
        [SearchProcessor().process(m) for m in messages])  # type: ignore[misc]
    await asyncio.wait_for(verifying, 30)
    assert index.verifier_sink.stats.verified == len(rows)
    mark = await verifier_watermark(database, DPR_RECORDS)
    assert all(mark.covers(r.partition, r.offset) for r in rows)


async def test_record_by_record_the_verifier_looks_up_less_and_leaves_what_todays_sink_leaves(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    """The verifier looks up no hash of a record that extends its chain's tip
    (``chain.lookup_hashes``); a repeat whose predecessor arrived late is the one case where
    that misses a stored member, and then the batch is placed again with every hash."""
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    rows = await _published(postgres_log, vectors_dir)
    rows += await _late_predecessor(postgres_log, vectors_dir, first_seq=len(rows))
    reference = AuditIndexSink(database, IndexWriter(chdb, index.tables))
    for row in rows:
        await reference.write([row])
    today = await _snapshot(database)
    async with database.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(CHAIN_TABLES)}, audit_alert_closures")

    verifier = VerifierSink(database)
    for row in rows:
        await verifier.write([row])

    assert await _snapshot(database) == today
    late = [f for f in today["audit_chain_findings"] if f[1] == "stack-late"]
    assert sorted(f[5] for f in late) == ["broken_link", "duplicate_record", "gap"]
    assert verifier.stats.looked_up_again == 1
    assert verifier.stats.verified == len(rows)
