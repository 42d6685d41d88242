"""The audit-index sink: one batch of ``IndexedRecord`` into ClickHouse and PostgreSQL,
exactly once as far as any query can tell, whatever the log redelivers.

One PostgreSQL transaction per batch:

0. read the pin history's generation FOR SHARE (first, so it never waits holding other
   locks): a record whose signature the processor judged under an older history, of a stack
   with pins, is judged again under this one (``trust.py``). The pin consumer changes the
   history FOR UPDATE of that row, so a change and a batch never interleave: a batch written
   before a change is re-checked by the change, one written after is judged under it;
   Then the batch's organisations' retention horizons FOR SHARE (a sweep moves one FOR
   UPDATE): a record created before its organisation's horizon was removed by retention and
   is passed over (``retention/hooks.py``), its position moves on;
1. lock the projection's position for the batch's partitions; drop messages below it
   (a redelivered batch, or a replay of the topic from offset 0, stops here);
2. lock the batch's agent chains (a chain with no stored state but a retention checkpoint
   starts from the checkpoint: a rebuild after retention), load the stored hashes the batch can touch, and place
   every record on its chain (``chain.project``, pure);
3. lock the batch's organisations' tail sequences; mark the attempt (committed on its own,
   ``audit_index_attempts``); ask ClickHouse which of the batch's rows it already holds and
   insert the others, each with its link status and the next tail sequence. Only two kinds
   of row can already be there: one a failed attempt left (its mark is ahead of the stored
   position: then every record is asked about) and a repeat of a committed record (same
   bytes, so same hash, which PostgreSQL then knows for the chain: only those are asked
   about; in a normal batch, none);
4. write tips, chain members, findings, alerts, sequences and the new position (while the
   insert of step 3 runs: nothing is committed before both have returned); commit.

Unverified decision summaries (``legacy_sink.py``) with the key (org, stack, record_id) of
a DPR of the batch stop showing: under the organisations' lock of step 3, the summaries
still showing are marked replaced in PostgreSQL (``legacy_postgres.supersede``) and their
keys inserted into ClickHouse's ``legacy_superseded`` after the batch's rows (a key
inserted twice by a retried batch hides the same row). The verified record wins.

A failure anywhere rolls PostgreSQL back and the runner retries the batch: step 3 then sees
the mark ahead of the position, finds the rows the failed attempt left in ClickHouse, and
nothing is inserted twice. Because the
locks are held across the insert, two consumers overlapping on a partition during a
rebalance cannot both insert a row either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from faramesh_cloud.audit_index import legacy_postgres
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.chain import lookup_hashes, project
from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus
from faramesh_cloud.audit_index.retention import hooks as retention
from faramesh_cloud.audit_index.trust import TrustSnapshot, under_current_pins
from faramesh_cloud.consumer.runner import in_log_order
from faramesh_cloud.sql.database import Database


@dataclass(slots=True)
class SinkStats:
    batches: int = 0
    indexed: int = 0  # rows inserted into ClickHouse
    already_applied: int = 0  # messages below the stored position (redelivery / replay)
    already_indexed: int = 0  # rows ClickHouse already held (same content, or a failed attempt)
    findings: int = 0
    checked: int = 0  # records ClickHouse was asked about (the existence check)
    summaries_replaced: int = 0  # unverified summaries a DPR of the batch replaced
    rejudged: int = 0  # signatures judged again because a pin change overtook them
    expired: int = 0  # records created before their organisation's retention horizon: left out


class AuditIndexSink:
    """``consumer.runner.Sink`` for ``IndexedRecord``: durable and idempotent."""

    def __init__(self, db: Database, writer: IndexWriter, trust: TrustSnapshot | None = None) -> None:
        self._db = db
        self._writer = writer
        self._trust = trust
        self.stats = SinkStats()

    async def write(self, rows: Sequence[IndexedRecord]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        inserted = known = findings = 0
        async with self._db.transaction() as conn:
            generation = await pg.share_pin_generation(conn) if self._trust is not None else 0  # first
            horizons = await retention.share_horizons(conn, {r.org_id for r in ordered})
            positions = await pg.lock_positions(conn, topic, {r.partition for r in ordered})
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            kept = retention.within(fresh, horizons)
            self.stats.expired += len(fresh) - len(kept)
            if kept and self._trust is not None:
                kept, rejudged = await under_current_pins(conn, self._trust, kept, generation)
                self.stats.rejudged += rejudged
            if kept:
                inserted, known, findings = await self._apply(conn, topic, kept, positions)
            if len(kept) < len(fresh):  # records retention removed: passed over, the position moves
                await pg.save_positions(conn, topic, retention.advanced(positions, fresh))
        self.stats.batches += 1
        self.stats.already_applied += len(ordered) - len(fresh)
        self.stats.indexed += inserted
        self.stats.already_indexed += known
        self.stats.findings += findings

    async def _apply(self, conn: pg.Conn, topic: str, fresh: list[IndexedRecord],
                     positions: dict[int, int]) -> tuple[int, int, int]:
        wanted = lookup_hashes(fresh)
        agents = await pg.lock_agents(conn, wanted)
        agents.update(await retention.checkpoint_states(conn, wanted.keys() - agents.keys()))
        seen = await pg.load_seen(conn, wanted)
        outcome = await asyncio.to_thread(project, fresh, agents, seen)  # CPU: keep the loop free
        sequences = await pg.lock_org_sequences(conn, {r.org_id for r in fresh})
        replaced = await legacy_postgres.supersede(conn, fresh)
        ends: dict[int, int] = {}
        for rec in fresh:
            ends[rec.partition] = max(ends.get(rec.partition, 0), rec.offset + 1)
        marks = await pg.mark_attempt(self._db, topic, ends)
        if any(marks[p] > positions[p] for p in ends):  # an attempt inserted and did not commit
            suspects = fresh
        else:  # only a record whose hash its chain already holds can be in ClickHouse
            suspects = [r for r in fresh if r.record_hash in seen.get(r.chain_key, ())]
        self.stats.checked += len(suspects)
        existing = await asyncio.to_thread(self._writer.existing, suspects)
        for identity, seq in existing.items():
            org = identity[0]
            if org in sequences:
                sequences[org] = max(sequences[org], seq + 1)
        new: list[IndexedRecord] = []
        links: list[LinkStatus] = []
        seqs: list[int] = []
        taken = set(existing)
        for rec, link in zip(fresh, outcome.link_status, strict=True):
            if rec.identity in taken:
                continue
            taken.add(rec.identity)
            new.append(rec)
            links.append(link)
            seqs.append(sequences[rec.org_id])
            sequences[rec.org_id] += 1
        for rec in fresh:
            positions[rec.partition] = max(positions[rec.partition], rec.offset + 1)
        # The ClickHouse insert and PostgreSQL's writes run at once: the writes are not
        # committed until the transaction ends, after both have returned, so the order
        # that matters (rows inserted, then the position committed) still holds.
        inserted, saved = await asyncio.gather(
            asyncio.to_thread(self._insert, new, links, seqs, replaced),
            pg.save(conn, topic, outcome, sequences, positions),
            return_exceptions=True,
        )
        for outcome_of in (inserted, saved):
            if isinstance(outcome_of, BaseException):
                raise outcome_of
        self.stats.summaries_replaced += len(replaced)
        return len(new), len(fresh) - len(new), len(outcome.findings)

    def _insert(self, records: list[IndexedRecord], links: list[LinkStatus], seqs: list[int],
                replaced: list[legacy_postgres.Key]) -> None:
        self._writer.insert(records, links, seqs)
        self._writer.supersede(replaced)
