"""The forwarding sink: a batch of DPRs (or legacy decision summaries) into the outbox and the decision counts, with the
consumed log position, in ONE transaction (commit after sink; house rule 3).

1. The positions of the batch's partitions are locked (``forwarding_positions``); a row
   below its partition's position was applied before (redelivery, a restart between the
   commit here and the log commit) and is skipped, so neither the outbox nor the counts
   grow twice.
2. A fresh record whose organisation does not exist (its ``org`` header is a UUID that names
   no row of ``orgs``; the processor rejected the headers that are not UUIDs) cannot go into
   these tables, keyed to ``orgs``: it is parked on the dead-letter topic with the reason
   before the transaction commits, and its position moves on with the others, so it never
   blocks its partition. (A commit that fails after the park parks it again on the retry:
   dead letters are at least once.)
3. Each other fresh DPR gets one outbox row per destination of its organisation that forwards
   DPRs and existed when ingest received the record (``received_ns``): a destination made
   today is not sent the history a replay from offset 0 reads again. ``UNIQUE
   (destination_id, item_key)`` is the second guard (the same record pushed twice).
4. The decision counts (organisation, stack, minute of ``created_at``, effect) of the DPRs are
   added (legacy summaries are forwarded, not counted: a daemon on both feeds would count twice).
5. The positions move past the batch (the parked records too).
The sender wakes once the transaction has committed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from faramesh_cloud.consumer.runner import dead_letter, in_log_order
from faramesh_cloud.forwarding.processor import Forwardable
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import lock_positions

POSITIONS = "forwarding_positions"


def _at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


Park = Callable[[Sequence[LogRecord]], Awaitable[object]]  # appends dead letters durably


class ForwardSink:
    def __init__(self, db: Database, clock: Callable[[], datetime], wake: Callable[[], None], park: Park) -> None:
        self._db = db
        self._clock = clock
        self._wake = wake
        self._park = park
        self.parked = 0  # records parked on the dead-letter topic (unknown organisation)

    async def write(self, rows: Sequence[Forwardable]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        queued = 0
        async with self._db.transaction() as conn:
            positions = await lock_positions(conn, POSITIONS, topic, {r.partition for r in ordered})
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            if fresh:
                cur = await conn.execute(
                    "SELECT org_id::text FROM orgs WHERE org_id = ANY(%s::uuid[])",
                    (sorted({r.org_id for r in fresh}),))
                known = {org_id for (org_id,) in await cur.fetchall()}
                strays = [r for r in fresh if r.org_id not in known]
                if strays:
                    await self._park([dead_letter(r.source, f"forwarding: the org header {r.org_id} names no "
                                                            "such organisation") for r in strays])
                    self.parked += len(strays)
                ends: dict[int, int] = {}
                for r in fresh:
                    ends[r.partition] = r.offset + 1
                fresh = [r for r in fresh if r.org_id in known]
                orgs = sorted(known)
                cur = await conn.execute(
                    "SELECT destination_id::text, org_id::text, created_at FROM forwarding_destinations "
                    "WHERE org_id = ANY(%s::uuid[]) AND forward_dprs", (orgs,))
                by_org: dict[str, list[tuple[str, datetime]]] = {}
                for destination_id, org_id, created_at in await cur.fetchall():
                    by_org.setdefault(org_id, []).append((destination_id, created_at))
                now = self._clock()
                outbox = [(r.org_id, destination_id, r.stack_id, r.kind, f"{r.kind}/{r.stack_id}/{r.record_id}", r.raw,
                           r.created_ns, r.received_ns, now, now)
                          for r in fresh for destination_id, created_at in by_org.get(r.org_id, ())
                          if r.received_ns == 0 or _at(r.received_ns) >= created_at]
                if outbox:
                    async with conn.cursor() as c:
                        await c.executemany(
                            "INSERT INTO forwarding_outbox (org_id, destination_id, stack_id, item_kind, item_key, "
                            "payload, created_ns, received_ns, next_attempt_at, created_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                            "ON CONFLICT (destination_id, item_key) DO NOTHING", outbox)
                    queued = len(outbox)
                # decision metrics count DPRs only: a daemon on both feeds would be counted twice
                counts = Counter((r.org_id, r.stack_id, r.minute_ns, r.effect) for r in fresh if r.kind == "dpr")
                async with conn.cursor() as c:
                    await c.executemany(  # (an empty list runs nothing)
                        "INSERT INTO forwarding_decision_counts (org_id, stack_id, minute, effect, count) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id, minute, effect) "
                        "DO UPDATE SET count = forwarding_decision_counts.count + EXCLUDED.count",
                        [(org, stack, _at(minute), effect, n) for (org, stack, minute, effect), n in
                         sorted(counts.items())])
                async with conn.cursor() as c:
                    await c.executemany(
                        f"UPDATE {POSITIONS} SET next_offset = %s WHERE topic = %s AND partition = %s",
                        [(end, topic, partition) for partition, end in sorted(ends.items())])
        if queued:
            self._wake()
