"""The consumer of ``compliance.events.v1``: each event applied with :func:`apply.apply`
(what the command handlers and the jobs applied already: a no-op; after an empty-database
rebuild, the state), with the position, in one transaction. A record that cannot be read
is dead-lettered with its reason before the position passes it; a kind from a newer version
and an organisation this installation does not know are passed over."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.compliance.apply import apply
from faramesh_cloud.compliance.events import Seen
from faramesh_cloud.consumer.runner import dead_letter
from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

POSITIONS: Final = "compliance_positions"
Conn = AsyncConnection[Any]
_log = logging.getLogger(__name__)


class ChangeSink:
    def __init__(self, db: Database, log: Log, dead_letters: str, on_applied: Callable[[], None]) -> None:
        self._db = db
        self._log = log
        self._dead_letters = dead_letters
        self._on_applied = on_applied

    async def write(self, rows: Sequence[Seen]) -> None:
        parked = [dead_letter(r.message, r.problem) for r in rows if r.problem and r.message is not None]
        if parked:
            await self._log.append(self._dead_letters, parked)
        changed = False
        known: dict[str, bool] = {}

        async def one(conn: Conn, seen: Seen) -> None:
            nonlocal changed
            if seen.change is None:
                return
            org = seen.change.org_id
            if org not in known:
                cur = await conn.execute("SELECT 1 FROM orgs WHERE org_id = %s", (org,))
                known[org] = await cur.fetchone() is not None
            if not known[org]:
                _log.info("compliance event %s of unknown organisation %s passed over", seen.change.event_id, org)
                return
            changed = await apply(conn, seen.change) or changed

        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, one)
        if changed:
            self._on_applied()
