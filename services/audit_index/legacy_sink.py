"""The sink of unverified decision summaries: one batch of ``SummaryRow`` into ClickHouse
(``legacy_decisions``) and PostgreSQL (``audit_legacy_decisions``), one row per
(org, stack, record_id) whatever the log redelivers, the two feeds send, or the webhook
sender retries. Built like ``sink.py``, step for step, in one PostgreSQL transaction:

1. lock the projection's position for the batch's partitions (``audit_index_positions``,
   projection ``audit-index-legacy``); drop messages below it (a redelivered batch, or a
   replay of the topic from offset 0, stops here);
2. lock the batch's organisations' tail sequences: the lock the DPR sink takes too, so a
   summary and the DPR with its key never pass each other unseen;
3. lock the stored summaries of the batch's keys and find which keys already have a DPR
   (the search index's ``dpr_records``: it inserts before it commits and holds the same
   organisation lock across the insert, so a DPR committed is seen and one inserted but not
   yet committed is retried with the same rows; not the chain verifier's
   ``audit_chain_records``, which may lag the search index, and counts would double). Then, in log order (``plan``, pure): a key already stored, or
   earlier in the batch, is a repeat: one more delivery, its source noted, no row; a key
   with a DPR is stored as replaced and gets no row (the verified record wins); any other
   key is a new row with the next tail sequence;
4. mark the attempt (committed on its own, ``audit_index_attempts``); when the mark is ahead
   of the stored position, an attempt inserted and did not commit: ClickHouse is asked which
   of the batch's first copies it holds, and those are not inserted again. One a failed
   attempt left for a key whose DPR has been indexed since is hidden (``legacy_superseded``),
   as the DPR sink would have hidden it had the summary been committed;
5. insert the rows into ClickHouse while PostgreSQL writes the summaries, sequences and
   position; commit after both have returned.

A summary is never part of a chain: nothing here reads or writes the chain tables, findings
or alerts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from faramesh_cloud.audit_index import legacy_postgres as lpg
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.clickhouse import SummaryWriter
from faramesh_cloud.audit_index.domain import LEGACY_PROJECTION, SummaryRow
from faramesh_cloud.audit_index.legacy_postgres import Key, StoredSummary
from faramesh_cloud.audit_index.retention import hooks as retention
from faramesh_cloud.consumer.runner import in_log_order
from faramesh_cloud.sql.database import Database


@dataclass(slots=True)
class LegacySinkStats:
    batches: int = 0
    indexed: int = 0  # rows inserted into ClickHouse
    repeats: int = 0  # copies of a key already stored (other feed, webhook retry)
    replaced: int = 0  # summaries whose DPR was indexed first: stored, never shown
    already_applied: int = 0  # messages below the stored position (redelivery / replay)
    already_indexed: int = 0  # rows a failed attempt left in ClickHouse
    checked: int = 0  # rows ClickHouse was asked about


@dataclass(slots=True)
class Plan:
    """What one batch does: the summaries to store and the rows to index."""

    summaries: dict[Key, StoredSummary] = field(default_factory=dict)
    rows: list[SummaryRow] = field(default_factory=list)  # to index
    hidden: list[SummaryRow] = field(default_factory=list)  # first copies of keys a DPR holds
    repeats: int = 0


def plan(fresh: Sequence[SummaryRow], stored: Mapping[Key, StoredSummary], dprs: set[Key]) -> Plan:
    """Pure: ``fresh`` in log order against what is stored. The first copy of a key wins."""
    out = Plan()
    for row in fresh:
        key = row.key
        known = out.summaries.get(key) or stored.get(key)
        if known is not None:
            sources = known.sources if row.source in known.sources else [*known.sources, row.source]
            out.summaries[key] = StoredSummary(known.first_source, sources, known.deliveries + 1,
                                               known.first_position, known.received_ns, known.in_index,
                                               known.superseded_ns)
            out.repeats += 1
            continue
        shown = key not in dprs
        out.summaries[key] = StoredSummary(row.source, [row.source], 1, row.log_position, row.received_ns,
                                           shown, None if shown else row.received_ns)
        (out.rows if shown else out.hidden).append(row)
    return out


class LegacySink:
    """``consumer.runner.Sink`` for ``SummaryRow``: durable and idempotent."""

    def __init__(self, db: Database, writer: SummaryWriter) -> None:
        self._db = db
        self._writer = writer
        self.stats = LegacySinkStats()

    async def write(self, rows: Sequence[SummaryRow]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        async with self._db.transaction() as conn:
            horizons = await retention.share_horizons(conn, {r.org_id for r in ordered})  # first
            positions = await pg.lock_positions(conn, topic, {r.partition for r in ordered}, LEGACY_PROJECTION)
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            kept = retention.within(fresh, horizons)
            if kept:
                await self._apply(conn, topic, kept, positions)
            if len(kept) < len(fresh):  # summaries retention removed: passed over, the position moves
                await pg.save_positions(conn, topic, retention.advanced(positions, fresh), LEGACY_PROJECTION)
        self.stats.batches += 1
        self.stats.already_applied += len(ordered) - len(fresh)

    async def _apply(self, conn: pg.Conn, topic: str, fresh: list[SummaryRow], positions: dict[int, int]) -> None:
        sequences = await pg.lock_org_sequences(conn, {r.org_id for r in fresh})
        keys = {r.key for r in fresh}
        stored = await lpg.lock_summaries(conn, keys)
        batch = plan(fresh, stored, await asyncio.to_thread(self._writer.dprs, keys - stored.keys()))
        ends: dict[int, int] = {}
        for row in fresh:
            ends[row.partition] = max(ends.get(row.partition, 0), row.offset + 1)
        marks = await pg.mark_attempt(self._db, topic, ends, LEGACY_PROJECTION)
        existing: dict[Key, int] = {}
        candidates = [*batch.rows, *batch.hidden]
        if candidates and any(marks[p] > positions[p] for p in ends):  # an attempt inserted, did not commit
            self.stats.checked += len(candidates)
            existing = await asyncio.to_thread(self._writer.existing, candidates)
        for (org, _, _), seq in existing.items():
            if org in sequences:
                sequences[org] = max(sequences[org], seq + 1)
        # A row a failed attempt inserted for a key whose DPR has been indexed since: hide it
        # as the DPR sink would have, had it seen the summary.
        orphans = [r.key for r in batch.hidden if r.key in existing]
        for key in orphans:
            batch.summaries[key].in_index = True
        new = [r for r in batch.rows if r.key not in existing]
        seqs = []
        for row in new:
            seqs.append(sequences[row.org_id])
            sequences[row.org_id] += 1
        for row in fresh:
            positions[row.partition] = max(positions[row.partition], row.offset + 1)

        async def save() -> None:
            await lpg.save_summaries(conn, batch.summaries)
            await pg.save_sequences(conn, sequences)
            await pg.save_positions(conn, topic, positions, LEGACY_PROJECTION)

        # As in sink.py: the insert and PostgreSQL's writes run at once; nothing commits
        # before both have returned.
        def insert() -> None:
            self._writer.insert(new, seqs)
            self._writer.supersede(orphans)

        inserted, saved = await asyncio.gather(asyncio.to_thread(insert), save(), return_exceptions=True)
        for outcome in (inserted, saved):
            if isinstance(outcome, BaseException):
                raise outcome
        self.stats.indexed += len(new)
        self.stats.already_indexed += len(batch.rows) - len(new)
        self.stats.repeats += batch.repeats
        self.stats.replaced += len(batch.hidden)
