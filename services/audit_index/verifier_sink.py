"""The chain verifier's sink (issue 18, group ``audit-verifier``): one batch of
``IndexedRecord`` (``DprProcessor``: hash and Ed25519 checked) placed on its agents' chains,
with findings and alerts, in PostgreSQL only.

It writes nothing to ClickHouse: the search index (``search_sink.py``) owns the rows, and
the state a row shows is derived from this sink's committed positions (projection
``audit-verifier``, the watermark) and its findings (``verification_state``). With no second
store, exactly-once is one PostgreSQL transaction per batch:

0. read the pin history's generation FOR SHARE (first): a record the processor judged under
   an older history, of a stack with pins, is judged again under this one (``trust.py``);
   then the batch's organisations' retention horizons FOR SHARE: a record retention removed
   is passed over and its position moves on;
1. lock the projection's position for the batch's partitions; drop messages below it (a
   redelivered batch or a replay from offset 0 stops here);
2. lock the batch's agent chains (a chain with only a retention checkpoint starts from it),
   load the stored hashes the batch can touch (none for a record that extends its chain's
   tip: ``chain.lookup_hashes``; in a savepoint, placed again with every hash when that
   missed a stored member), and place every record (``chain.project``, pure): a repeat of a
   chain member is a ``duplicate_record`` finding, as today;
3. write tips, chain members, findings, alerts with their ``AlertRaised`` events (exactly
   once: alert rows and events are in this transaction, keyed by identity) and the position;
   commit.

It takes neither the organisations' tail-sequence locks nor the summaries' (the search
index's). With ``after`` (the service passes the search index's projection) it applies a
batch only once the search index has committed past it: *searchable first, verified right
after*, never the other way round. The pin consumer re-judges the records the verifier has
checked by reading their rows in ClickHouse (``pins.py``); a record checked but not yet
searchable would be missed by a pin learnt in between, and keep a verdict given under the
older pins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.errors import UniqueViolation

from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index import row_state
from faramesh_cloud.audit_index.chain import AgentState, ChainKey, lookup_hashes, project
from faramesh_cloud.audit_index.domain import VERIFIER_PROJECTION, IndexedRecord
from faramesh_cloud.audit_index.retention import hooks as retention
from faramesh_cloud.audit_index.trust import TrustSnapshot, under_current_pins
from faramesh_cloud.consumer.runner import in_log_order
from faramesh_cloud.sql.database import Database


@dataclass(slots=True)
class VerifierStats:
    batches: int = 0
    verified: int = 0  # records placed on their chains
    already_applied: int = 0  # messages below the stored position (redelivery / replay)
    findings: int = 0
    rejudged: int = 0  # signatures judged again because a pin change overtook them
    expired: int = 0  # records created before their organisation's retention horizon
    waited: int = 0  # polls until the search index had committed past a batch (``after``)
    looked_up_again: int = 0  # batches placed again with every hash looked up (``lookup_hashes``)


class VerifierSink:
    """``consumer.runner.Sink`` for ``IndexedRecord``: durable and idempotent."""

    def __init__(self, db: Database, trust: TrustSnapshot | None = None, *, after: str | None = None,
                 poll_s: float = 0.05) -> None:
        self._db = db
        self._trust = trust
        self._after = after
        self._poll_s = poll_s
        self.stats = VerifierStats()

    async def write(self, rows: Sequence[IndexedRecord]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        if self._after is not None:
            await self._searchable(topic, ordered, self._after)
        findings = 0
        async with self._db.transaction() as conn:
            generation = await pg.share_pin_generation(conn) if self._trust is not None else 0  # first
            horizons = await retention.share_horizons(conn, {r.org_id for r in ordered})
            positions = await pg.lock_positions(conn, topic, {r.partition for r in ordered}, VERIFIER_PROJECTION)
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            kept = retention.within(fresh, horizons)
            self.stats.expired += len(fresh) - len(kept)
            if kept and self._trust is not None:
                kept, rejudged = await under_current_pins(conn, self._trust, kept, generation)
                self.stats.rejudged += rejudged
            if kept:
                findings = await self._apply(conn, kept)
            await pg.save_positions(conn, topic, retention.advanced(positions, fresh), VERIFIER_PROJECTION)
        self.stats.batches += 1
        self.stats.already_applied += len(ordered) - len(fresh)
        self.stats.verified += len(kept)
        self.stats.findings += findings

    async def _apply(self, conn: pg.Conn, fresh: list[IndexedRecord]) -> int:
        keys = {r.chain_key for r in fresh}
        agents = await pg.lock_agents(conn, keys)
        agents.update(await retention.checkpoint_states(conn, keys - agents.keys()))
        try:
            async with conn.transaction():  # a savepoint: the lookup's one miss rolls back alone
                return await self._place(conn, fresh, agents, lookup_hashes(fresh, agents))
        except UniqueViolation:
            # A record extending its tip was a stored member after all (``lookup_hashes``):
            # place the batch again with every hash looked up. A racing writer fails again.
            self.stats.looked_up_again += 1
            return await self._place(conn, fresh, agents, lookup_hashes(fresh))

    @staticmethod
    async def _place(conn: pg.Conn, fresh: list[IndexedRecord], agents: dict[ChainKey, AgentState],
                     wanted: dict[ChainKey, set[str]]) -> int:
        seen = await pg.load_seen(conn, wanted)
        outcome = await asyncio.to_thread(project, fresh, agents, seen)  # CPU: keep the loop free
        await pg.save_chain(conn, outcome)
        return len(outcome.findings)

    async def _searchable(self, topic: str, ordered: Sequence[IndexedRecord], projection: str) -> None:
        """Until ``projection``'s committed positions are past the batch's last offset in each
        of its partitions (polled; the runner's stop cancels the wait)."""
        last: dict[int, int] = {}
        for r in ordered:
            last[r.partition] = max(last.get(r.partition, -1), r.offset)
        while True:
            mark = await row_state.watermark(self._db, topic, projection)
            if all(mark.covers(p, offset) for p, offset in last.items()):
                return
            self.stats.waited += 1
            await asyncio.sleep(self._poll_s)

