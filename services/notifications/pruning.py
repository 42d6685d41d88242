"""The delivery retention sweep: ended (delivered or failed) deliveries queued more than
``retention_days`` ago are deleted, per organisation, as the event ``DeliveriesPruned``
(applied by ``apply.py`` like every event of the service, with its outbox row, in one
transaction holding the organisation's routing lock, so it is ordered with the organisation's
other events on the log).

Rebuild-safe: a replay of ``notifications.events.v1`` applies the prune again after the
events of the rows it deleted (they come before it on the organisation's partition), so an
empty-database rebuild ends with the same history; and once an organisation has been pruned
(``notification_prunes``) a ``NotificationQueued`` older than the prune is not applied again,
so a consumer re-reading old events never brings a pruned row back. Pending deliveries are
never pruned. Nothing while the service catches up with the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from faramesh_cloud.consumer.catch_up import CatchUp
from faramesh_cloud.notifications.apply import record
from faramesh_cloud.notifications.changes import DeliveriesPruned
from faramesh_cloud.sql.database import Database

Clock = Callable[[], datetime]
_log = logging.getLogger(__name__)


class DeliveryPruning:
    def __init__(self, db: Database, clock: Clock, retention_days: int, catch_up: CatchUp | None = None) -> None:
        self._db = db
        self._clock = clock
        self.retention_days = retention_days
        self._catch_up = catch_up

    async def run_once(self) -> int:
        """Prune what is older than the retention; returns how many rows went."""
        if self._catch_up is not None and self._catch_up.behind:
            return 0
        now = self._clock()
        before = now - timedelta(days=self.retention_days)
        async with self._db.transaction() as conn:
            orgs = [r[0] for r in await (await conn.execute(
                "SELECT DISTINCT org_id::text FROM notification_deliveries WHERE created_at < %s AND state <> 'pending'",
                (before,))).fetchall()]
        pruned = 0
        for org_id in orgs:
            async with self._db.transaction() as conn:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notifications/routing/{org_id}",))
                row = await (await conn.execute(
                    "SELECT count(*) FROM notification_deliveries WHERE org_id = %s AND created_at < %s "
                    "AND state <> 'pending'", (org_id, before))).fetchone()
                rows = int(row[0]) if row else 0
                if rows:
                    await record(conn, DeliveriesPruned(str(uuid.uuid4()), now, org_id, before, rows))
                    pruned += rows
        if pruned:
            _log.info("pruned %d notification deliveries older than %s (%d days)", pruned, before.isoformat(),
                      self.retention_days)
        return pruned
