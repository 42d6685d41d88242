"""The usage sink: a batch of ticks into the meters, with the consumed log position, in ONE
transaction (commit after sink; house rule 3).

1. The positions of the batch's partitions are locked (``billing_positions``, one table for
   every topic billing reads); a tick below its partition's position was applied before
   (redelivery, a restart between this commit and the log's) and is skipped, so no count
   grows twice and a replay from offset 0 gives the same meters.
2. Counts (``item`` empty: decisions) are summed per (organisation, month, meter) and added
   with one upsert per key.
3. Distinct items (stacks, reports, registry versions) are inserted once per (organisation,
   month, meter, item); ``ON CONFLICT DO NOTHING`` is the second guard.
4. The positions move past the batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from faramesh_cloud.billing.processor import COUNT, Tick
from faramesh_cloud.consumer.runner import in_log_order
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import lock_positions

POSITIONS = "billing_positions"


class UsageSink:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[Tick]) -> None:
        if not rows:
            return
        topic, ordered = in_log_order(rows)
        async with self._db.transaction() as conn:
            positions = await lock_positions(conn, POSITIONS, topic, {r.partition for r in ordered})
            fresh = [r for r in ordered if r.offset >= positions[r.partition]]
            if not fresh:
                return
            counts = Counter()  # type: Counter[tuple[str, str, str]]
            items: dict[tuple[str, str, str, str], int] = {}
            for r in fresh:
                if r.item == COUNT:
                    counts[(r.org_id, r.month, r.meter)] += r.amount
                else:
                    items.setdefault((r.org_id, r.month, r.meter, r.item), r.amount)
            async with conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO billing_usage_counts (org_id, month, meter, count) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (org_id, month, meter) DO UPDATE SET count = billing_usage_counts.count + "
                    "EXCLUDED.count", [(*k, n) for k, n in sorted(counts.items())])
                await c.executemany(
                    "INSERT INTO billing_usage_items (org_id, month, meter, item, amount) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (org_id, month, meter, item) DO NOTHING", [(*k, a) for k, a in sorted(items.items())])
                ends: dict[int, int] = {}
                for r in fresh:
                    ends[r.partition] = r.offset + 1
                await c.executemany(
                    f"UPDATE {POSITIONS} SET next_offset = %s WHERE topic = %s AND partition = %s",
                    [(end, topic, partition) for partition, end in sorted(ends.items())])
