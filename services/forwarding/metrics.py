"""Decision metrics: the counts the sink adds up (organisation, stack, minute of the DPR's
``created_at``, effect) queued for every destination that forwards metrics, once a minute
is ``grace_s`` past its end (late DPRs of a minute already queued are queued again as the
difference: each point is a delta, so sums stay right in every product).

One transaction per sweep: the unsent counts are locked (``SKIP LOCKED``: two replicas never
queue the same difference), the outbox rows added and ``sent`` moved to ``count``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from faramesh_cloud.sql.database import Database

Clock = Callable[[], datetime]


class MetricsSweep:
    def __init__(self, db: Database, clock: Clock, grace_s: float = 60.0, limit: int = 2000) -> None:
        self._db = db
        self._clock = clock
        self._grace_s = grace_s
        self._limit = limit

    async def run_once(self) -> int:
        """Queue the closed minutes' unsent counts; returns how many outbox rows were added."""
        now = self._clock()
        closed_before = now - timedelta(seconds=60 + self._grace_s)
        added = 0
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "SELECT org_id::text, stack_id, minute, effect, count, sent FROM forwarding_decision_counts "
                "WHERE count > sent AND minute <= %s ORDER BY minute LIMIT %s FOR UPDATE SKIP LOCKED",
                (closed_before, self._limit))
            counts = await cur.fetchall()
            if not counts:
                return 0
            cur = await conn.execute(
                "SELECT destination_id::text, org_id::text FROM forwarding_destinations "
                "WHERE org_id = ANY(%s::uuid[]) AND forward_metrics", (sorted({r[0] for r in counts}),))
            by_org: dict[str, list[str]] = {}
            for destination_id, org_id in await cur.fetchall():
                by_org.setdefault(org_id, []).append(destination_id)
            rows = []
            for org_id, stack_id, minute, effect, count, sent in counts:
                point = json.dumps({"minute": int(minute.timestamp()), "effect": effect or "unknown",
                                    "count": int(count) - int(sent), "seq": int(sent)})
                key = f"metrics/{stack_id}/{int(minute.timestamp())}/{effect}/{sent}"
                rows.extend((org_id, destination_id, stack_id, key, point, now, now)
                            for destination_id in by_org.get(org_id, ()))
            async with conn.cursor() as c:
                if rows:
                    await c.executemany(
                        "INSERT INTO forwarding_outbox (org_id, destination_id, stack_id, item_kind, item_key, "
                        "payload, next_attempt_at, created_at) VALUES (%s, %s, %s, 'metrics', %s, %s, %s, %s) "
                        "ON CONFLICT (destination_id, item_key) DO NOTHING", rows)
                    added = len(rows)
                await c.executemany(
                    "UPDATE forwarding_decision_counts SET sent = %s WHERE org_id = %s AND stack_id = %s "
                    "AND minute = %s AND effect = %s", [(r[4], r[0], r[1], r[2], r[3]) for r in counts])
        return added
