"""Escalation: requests still open past a step's threshold get that step's notifications.

Runs over this service's own projection. Each request is re-read and locked before its steps
are queued, and ``steps_sent`` only grows, so two sweeps (or two instances) never queue a step
twice; the deliveries' uniqueness is the second guard (each queued step is also an event, so a
rebuild from the log knows how far a request got). The rule is the one chosen when the
request opened, read as it is now (edits apply to open requests; a deleted rule stops).
Nothing while the service catches up with the log (``catch_up.py``, stage 2: a request that
looks open may be one whose resolution is still to be read).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from faramesh_cloud.consumer.catch_up import CatchUp
from faramesh_cloud.notifications.domain import due_steps
from faramesh_cloud.notifications.projection import REQUEST_COLUMNS, queue_steps
from faramesh_cloud.notifications.store import RULE_COLUMNS, rule_row
from faramesh_cloud.sql.database import Database

Clock = Callable[[], datetime]
_NAMES = [c.strip() for c in REQUEST_COLUMNS.split(",")]


class Escalation:
    def __init__(self, db: Database, clock: Clock, link_base: str, catch_up: CatchUp | None = None) -> None:
        self._db = db
        self._clock = clock
        self._link_base = link_base
        self._catch_up = catch_up  # None: never behind (used directly)

    async def run_once(self) -> int:
        """Queue every due escalation step; returns how many steps were queued (none while
        the service catches up with the log)."""
        if self._catch_up is not None and self._catch_up.behind:
            return 0
        now = self._clock()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "SELECT r.org_id, r.stack_id, r.defer_token FROM notification_requests r "
                "JOIN notification_rules u ON u.rule_id = r.rule_id AND u.org_id = r.org_id "
                "WHERE r.state = 'open' AND r.deadline > %s AND r.steps_sent < jsonb_array_length(u.steps) "
                "ORDER BY r.opened_at LIMIT 500", (now,))
            candidates = await cur.fetchall()
        queued = 0
        for org_id, stack_id, defer_token in candidates:
            async with self._db.transaction() as conn:
                cur = await conn.execute(
                    f"SELECT {REQUEST_COLUMNS} FROM notification_requests WHERE org_id = %s AND stack_id = %s "
                    "AND defer_token = %s AND state = 'open' FOR UPDATE", (org_id, stack_id, defer_token))
                found = await cur.fetchone()
                if found is None:
                    continue
                row = dict(zip(_NAMES, found, strict=True))
                cur = await conn.execute(
                    f"SELECT {RULE_COLUMNS} FROM notification_rules WHERE org_id = %s AND rule_id = %s", (org_id, row["rule_id"]))
                rule_found = await cur.fetchone()
                if rule_found is None:
                    continue
                rule = rule_row(rule_found)
                steps = due_steps(rule.steps, row["steps_sent"], row["opened_at"], row["deadline"], now)
                await queue_steps(conn, row, rule, steps, now, self._link_base)
                queued += len(steps)
        return queued
