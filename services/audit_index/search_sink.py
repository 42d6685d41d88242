"""The search index's sink (issue 18, group ``audit-index``): one batch of ``SearchRow`` into
ClickHouse, searchable as soon as it commits, exactly once as far as any query can tell.
Nothing here verifies: the chain verifier (group ``audit-verifier``) owns hashes, links,
signatures, findings and alerts, and the state a row shows comes from its watermark and
findings (``verification_state``).

One PostgreSQL transaction per batch, the same steps as ``sink.py`` without the chain:

1. the batch's organisations' retention horizons FOR SHARE (a sweep moves one FOR UPDATE):
   a record created before its organisation's horizon was removed by retention and is
   passed over, its position moves on (``retention/hooks.py``);
2. lock the projection's position (``audit-index``: today's, so positions carry over) for
   the batch's partitions; drop messages below it (a redelivered batch, a replay);
3. lock the batch's organisations' tail sequences; mark the attempt (committed on its own,
   ``audit_index_attempts``); ask ClickHouse which rows of the batch it already holds.
   Without the verifier's chain members the sink cannot tell which records may be repeats
   (a record pushed again at new offsets: ``import-wal`` of a WAL already synced), so it asks
   about every record, every batch, by the batch's created_at ranges (``created_ranges``:
   a catch-up next to live records is two ranges, not the hour between them; its cost:
   bench/RESULTS.md, "Split: stage costs" and "The existence check on catch-up");
   insert the others, each with the next tail sequence; mark the unverified summaries the
   batch's DPRs replace (``legacy_postgres.supersede``) and insert their keys;
4. write sequences (with ``NOTIFY``) and positions while the insert runs; commit.

A failure anywhere rolls PostgreSQL back and the runner retries the batch; the existence
check then finds what the failed attempt inserted, so nothing is inserted twice. The locks
are held across the insert, so two consumers overlapping during a rebalance serialise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from faramesh_cloud.audit_index import legacy_postgres
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.clickhouse import SearchWriter
from faramesh_cloud.audit_index.retention import hooks as retention
from faramesh_cloud.audit_index.search_processor import SearchRow
from faramesh_cloud.consumer.runner import in_log_order
from faramesh_cloud.sql.database import Database


@dataclass(slots=True)
class SearchSinkStats:
    batches: int = 0
    indexed: int = 0  # rows inserted into ClickHouse
    already_applied: int = 0  # messages below the stored position (redelivery / replay)
    already_indexed: int = 0  # rows ClickHouse already held (a repeat, or a failed attempt)
    summaries_replaced: int = 0
    expired: int = 0  # created before their organisation's retention horizon: left out


class SearchIndexSink:
    """``consumer.runner.Sink`` for ``SearchRow``: durable and idempotent."""

    def __init__(self, db: Database, writer: SearchWriter) -> None:
        self._db = db
        self._writer = writer
        self.stats = SearchSinkStats()

    async def write(self, rows: Sequence[SearchRow]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        inserted = known = 0
        async with self._db.transaction() as conn:
            horizons = await retention.share_horizons(conn, {r.org_id for r in ordered})
            positions = await pg.lock_positions(conn, topic, {r.partition for r in ordered})
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            kept = retention.within(fresh, horizons)
            self.stats.expired += len(fresh) - len(kept)
            if kept:
                inserted, known = await self._apply(conn, topic, kept, positions)
            if len(kept) < len(fresh):
                await pg.save_positions(conn, topic, retention.advanced(positions, fresh))
        self.stats.batches += 1
        self.stats.already_applied += len(ordered) - len(fresh)
        self.stats.indexed += inserted
        self.stats.already_indexed += known

    async def _apply(self, conn: pg.Conn, topic: str, fresh: list[SearchRow],
                     positions: dict[int, int]) -> tuple[int, int]:
        sequences = await pg.lock_org_sequences(conn, {r.org_id for r in fresh})
        replaced = await legacy_postgres.supersede(conn, fresh)
        ends: dict[int, int] = {}
        for row in fresh:
            ends[row.partition] = max(ends.get(row.partition, 0), row.offset + 1)
        await pg.mark_attempt(self._db, topic, ends)
        existing = await asyncio.to_thread(self._writer.existing, fresh)
        for identity, seq in existing.items():
            org = identity[0]
            if org in sequences:
                sequences[org] = max(sequences[org], seq + 1)
        new: list[SearchRow] = []
        seqs: list[int] = []
        taken = set(existing)
        # One pass, on the event loop (which also reads the log): the identity spelled out
        # (``SearchRow.identity``'s tuple, without a property call per row); rows come in
        # log order, so each partition's last row sets its position.
        for row in fresh:
            meta = row.meta
            identity = (row.org_id, row.stack_id, meta.agent_id, meta.record_id, row.content_sha256)
            positions[row.partition] = row.offset + 1
            if identity in taken:
                continue
            taken.add(identity)
            new.append(row)
            org = row.org_id
            seqs.append(sequences[org])
            sequences[org] += 1

        async def save() -> None:
            await pg.save_sequences(conn, sequences)
            await pg.save_positions(conn, topic, positions)

        inserted, saved = await asyncio.gather(
            asyncio.to_thread(self._insert, new, seqs, replaced), save(), return_exceptions=True)
        for outcome_of in (inserted, saved):
            if isinstance(outcome_of, BaseException):
                raise outcome_of
        self.stats.summaries_replaced += len(replaced)
        return len(new), len(fresh) - len(new)

    def _insert(self, rows: list[SearchRow], seqs: list[int], replaced: list[legacy_postgres.Key]) -> None:
        self._writer.insert(rows, seqs)
        self._writer.supersede(replaced)
