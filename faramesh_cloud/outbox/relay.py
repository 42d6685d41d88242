"""The relay: a service's outbox onto the log, in order, at least once.

One loop per outbox table. Each round, in one PostgreSQL transaction: take the table's
relay lock (a transaction-level advisory lock, so replicas of a service take turns and
never interleave), read the oldest rows by id, append them to the log in that order (one
append per run of rows with the same topic), delete them, commit. A relay that dies after
the append and before the commit appends those rows again next time: consumers dedupe by
event id. An append that fails (log down) rolls the round back and is retried with a
growing back-off; nothing is lost or reordered.

The loop never ends while the service runs: any failure of a round (the log or the
database away, an unknown topic, a library's own error) is logged with the table, the row
and the topic it was appending, and retried after the back-off. Only a refusal that cannot
pass on retry is treated otherwise: an append that raises
:class:`~faramesh_cloud.log.port.RecordRejected` (each adapter says when: a record over its
``max_record_bytes``, or a Kafka broker's MessageSizeTooLarge) is retried one row at a time,
and the row the log refuses is **parked** in the same table (``parked_at``,
``parked_reason``; migration DDL from ``outbox_parking_sql``): it is kept, with its bytes,
for an operator, later rows flow past it, and it counts in :meth:`OutboxRelay.lag`, which
the service shows in its status. An unknown topic is not parked (the service creates its
topics at start, so it is a fault to fix, not a property of the row): it is logged as an
error and retried like any failure.

Ids are taken at insert and committed in any order, so a row with a lower id can become
visible after higher ones were relayed. That never reorders one entity's events: a second
change to the same row waits for the first transaction's row lock, so its outbox row is
inserted, and numbered, after the first commits. Parking one event of an entity does let
that entity's later events pass it; what it said never reaches the log (a replay does not
see it) until an operator requeues the row.

It wakes on the ``pg_notify`` of ``Outbox.add`` (``LISTEN`` on the table's channel) and
re-checks every ``idle_s`` as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import Log, LogRecord, LogUnavailable, RecordRejected, UnknownTopic
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
    lag_every_s: float = 1.0  # while a backlog drains, re-read the lag at most this often


@dataclass(slots=True)
class RelayStats:
    rounds: int = 0
    relayed: int = 0
    failures: int = 0
    parked: int = 0  # rows this relay parked (OutboxRelay.lag counts all in the table)


@dataclass(frozen=True, slots=True)
class OutboxLag:
    """What an operator is shown of one outbox (the service's status)."""

    table: str
    oldest_unrelayed_age_s: float | None  # age of the oldest row not yet on the log; None: none
    parked: int  # rows the log refused for good, set aside (see the module's doc)
    last_error: str | None = None  # why the last round failed; None once one succeeds


Row = tuple[Any, ...]  # id, topic, key, value, headers


class OutboxRelay:
    def __init__(self, db: Database, log: Log, table: str, config: RelayConfig | None = None) -> None:
        self._db = db
        self._log = log
        self.table = check_table(table)
        self.config = config or RelayConfig()
        self.stats = RelayStats()
        self._listener = PgListener(db, self.table)
        ident = sql.Identifier(self.table)
        self._select = sql.SQL("SELECT id, topic, key, value, headers FROM {} WHERE parked_at IS NULL "
                               "ORDER BY id LIMIT %s").format(ident)
        self._delete = sql.SQL("DELETE FROM {} WHERE id = ANY(%s::bigint[])").format(ident)
        self._park = sql.SQL("UPDATE {} SET parked_at = now(), parked_reason = %s WHERE id = %s").format(ident)
        self._status = sql.SQL(
            "SELECT (SELECT created_at FROM {t} WHERE parked_at IS NULL ORDER BY id LIMIT 1), "
            "(SELECT count(*) FROM {t} WHERE parked_at IS NOT NULL), now()").format(t=ident)
        self._appending: tuple[int, str] | None = None  # (first row id, topic) of the append under way
        self._oldest: float | None = None  # monotonic time of the oldest unrelayed row's creation
        self._parked = 0
        self._last_error: str | None = None
        self._lag_read_at = 0.0

    def lag(self) -> OutboxLag:
        """The outbox as last seen (after each round; the age counts on between rounds, so a
        stuck relay shows a growing lag)."""
        age = None if self._oldest is None else max(0.0, time.monotonic() - self._oldest)
        return OutboxLag(self.table, age, self._parked, self._last_error)

    async def refresh_lag(self) -> OutboxLag:
        """Read the oldest unrelayed row and the parked count from the table."""
        async with self._db.connection() as conn:
            row = await (await conn.execute(self._status)).fetchone()
        assert row is not None
        oldest, parked, now = row[0], int(row[1]), row[2]
        self._oldest = None if oldest is None else time.monotonic() - _seconds(now, oldest)
        self._parked = parked
        self._lag_read_at = time.monotonic()
        return self.lag()

    async def relay_once(self) -> int:
        """One round: relay up to ``batch`` rows; how many went (0: none, or another relay
        holds the lock). A row the log refuses for good is parked (counted in the result)."""
        async with self._db.transaction() as conn:
            locked = await (await conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                                               (self.table,))).fetchone()
            if not locked or not locked[0]:
                return 0
            rows = await (await conn.execute(self._select, (self.config.batch,))).fetchall()
            if not rows:
                return 0
            parked = await self._append(conn, rows)
            await conn.execute(self._delete, ([int(r[0]) for r in rows if int(r[0]) not in parked],))
        self._appending = None
        self.stats.rounds += 1
        self.stats.relayed += len(rows) - len(parked)
        self.stats.parked += len(parked)
        return len(rows)

    async def _append(self, conn: AsyncConnection[Any], rows: Sequence[Row]) -> set[int]:
        """Append ``rows`` in order, a run of one topic at a time; returns the ids parked."""
        parked: set[int] = set()
        start = 0
        while start < len(rows):
            end = start
            while end < len(rows) and rows[end][1] == rows[start][1]:
                end += 1
            run = rows[start:end]
            try:
                await self._append_run(run)
            except RecordRejected:  # which row? one at a time, in order
                for row in run:
                    try:
                        await self._append_run([row])
                    except RecordRejected as exc:
                        await self._park_row(conn, row, exc)
                        parked.add(int(row[0]))
            start = end
        return parked

    async def _append_run(self, run: Sequence[Row]) -> None:
        topic = run[0][1]
        self._appending = (int(run[0][0]), topic)
        await self._log.append(topic, [LogRecord(bytes(key), bytes(value), dict(decode_headers(headers)))
                                       for _, _, key, value, headers in run])

    async def _park_row(self, conn: AsyncConnection[Any], row: Row, exc: RecordRejected) -> None:
        reason = str(exc) or type(exc).__name__
        await conn.execute(self._park, (reason[:2000], int(row[0])))
        _log.error("outbox %s: the log refuses row %s for %r for good (%s); parked it (parked_at set), "
                   "later events go on; requeue it with UPDATE %s SET parked_at = NULL once the cause "
                   "is fixed", self.table, row[0], row[1], reason, self.table)

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until ``stopping`` is set; what is in the table when it is set is relayed
        first if the log takes it. Never ends on an error: it logs it and retries."""
        delay = self.config.retry_initial_s
        try:
            while not await self._listen(stopping):
                if await wait_any([stopping], delay):
                    return
                delay = min(delay * 2, self.config.retry_max_s)
            delay = self.config.retry_initial_s
            while True:
                woken = self._listener.signals.event("")  # before reading: no wake-up is lost
                try:
                    relayed = await self.relay_once()
                    delay = self.config.retry_initial_s
                    self._last_error = None
                except Exception as exc:  # (never dies: every failure is logged and retried)
                    self._failed(exc, delay)
                    await self._refresh_quietly()
                    if await wait_any([stopping], delay):
                        return
                    delay = min(delay * 2, self.config.retry_max_s)
                    continue
                if relayed == self.config.batch:  # more waiting
                    if time.monotonic() - self._lag_read_at >= self.config.lag_every_s:
                        await self._refresh_quietly()
                    continue
                await self._refresh_quietly()
                if stopping.is_set():
                    return
                await wait_any([woken, stopping], self.config.idle_s)
        finally:
            await self._listener.stop()

    async def _listen(self, stopping: asyncio.Event) -> bool:
        if stopping.is_set():
            return True
        try:
            await self._listener.start()
        except Exception as exc:  # (the database may be away at start)
            self._failed(exc, self.config.retry_max_s)
            return False
        return True

    def _failed(self, exc: Exception, delay: float) -> None:
        self.stats.failures += 1
        where = ("" if self._appending is None
                 else f" appending row {self._appending[0]} (and the rows after it) to {self._appending[1]!r}")
        self._last_error = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, (LogUnavailable, psycopg.Error, OSError)):  # away for now
            _log.warning("relaying %s failed%s (%s); retrying in %.2fs", self.table, where, exc, delay)
        elif isinstance(exc, UnknownTopic):
            _log.error("relaying %s failed%s: %s; the service creates its topics at start, so the "
                       "log lost it or another service's topic is named; retrying in %.2fs",
                       self.table, where, exc, delay)
        else:
            _log.error("relaying %s failed%s; retrying in %.2fs", self.table, where, delay, exc_info=exc)
        self._appending = None

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh_lag()
        except Exception as exc:  # (the database away: keep the last values, the age grows)
            _log.debug("reading the lag of %s failed: %s", self.table, exc)


def _seconds(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())
