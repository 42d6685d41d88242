"""The relay: a service's outbox onto the log, in order, at least once.

One loop per outbox table. Each round, in one PostgreSQL transaction: take the table's
relay lock (a transaction-level advisory lock, so replicas of a service take turns and
never interleave), read the oldest rows by id, append them to the log in that order (one
append per run of rows with the same topic), delete them, commit. A relay that dies after
the append and before the commit appends those rows again next time: consumers dedupe by
event id. An append that fails (log down) rolls the round back and is retried with a
growing back-off; nothing is lost or reordered.

Ids are taken at insert and committed in any order, so a row with a lower id can become
visible after higher ones were relayed. That never reorders one entity's events: a second
change to the same row waits for the first transaction's row lock, so its outbox row is
inserted, and numbered, after the first commits.

It wakes on the ``pg_notify`` of ``Outbox.add`` (``LISTEN`` on the table's channel) and
re-checks every ``idle_s`` as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import Log, LogRecord, LogUnavailable
from faramesh_cloud.log.wakeup import wait_any
from faramesh_cloud.outbox.store import check_table
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    batch: int = 500
    idle_s: float = 2.0  # safety-net re-check when no notification arrives
    retry_initial_s: float = 0.05
    retry_max_s: float = 5.0


@dataclass(slots=True)
class RelayStats:
    rounds: int = 0
    relayed: int = 0
    failures: int = 0


class OutboxRelay:
    def __init__(self, db: Database, log: Log, table: str, config: RelayConfig | None = None) -> None:
        self._db = db
        self._log = log
        self.table = check_table(table)
        self.config = config or RelayConfig()
        self.stats = RelayStats()
        self._listener = PgListener(db, self.table)
        ident = sql.Identifier(self.table)
        self._select = sql.SQL("SELECT id, topic, key, value, headers FROM {} ORDER BY id LIMIT %s").format(ident)
        self._delete = sql.SQL("DELETE FROM {} WHERE id = ANY(%s::bigint[])").format(ident)

    async def relay_once(self) -> int:
        """One round: relay up to ``batch`` rows; how many went (0: none, or another relay
        holds the lock)."""
        async with self._db.transaction() as conn:
            locked = await (await conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                                               (self.table,))).fetchone()
            if not locked or not locked[0]:
                return 0
            rows = await (await conn.execute(self._select, (self.config.batch,))).fetchall()
            if not rows:
                return 0
            await self._append(rows)
            await conn.execute(self._delete, ([int(r[0]) for r in rows],))
        self.stats.rounds += 1
        self.stats.relayed += len(rows)
        return len(rows)

    async def _append(self, rows: list[tuple[Any, ...]]) -> None:
        topic = rows[0][1]
        run: list[LogRecord] = []
        for _, row_topic, key, value, headers in rows:
            if row_topic != topic:
                await self._log.append(topic, run)
                topic, run = row_topic, []
            run.append(LogRecord(bytes(key), bytes(value), dict(decode_headers(headers))))
        await self._log.append(topic, run)

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until ``stopping`` is set; what is in the table when it is set is relayed
        first if the log takes it."""
        await self._listener.start()
        delay = self.config.retry_initial_s
        try:
            while True:
                woken = self._listener.signals.event("")  # before reading: no wake-up is lost
                try:
                    relayed = await self.relay_once()
                    delay = self.config.retry_initial_s
                except (LogUnavailable, psycopg.Error, OSError) as exc:
                    self.stats.failures += 1
                    _log.warning("relaying %s failed (%s); retrying in %.2fs", self.table, exc, delay)
                    if await wait_any([stopping], delay):
                        return
                    delay = min(delay * 2, self.config.retry_max_s)
                    continue
                if relayed == self.config.batch:
                    continue  # more waiting
                if stopping.is_set():
                    return
                await wait_any([woken, stopping], self.config.idle_s)
        finally:
            await self._listener.stop()
