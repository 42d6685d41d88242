"""LISTEN for log wake-ups on one dedicated PostgreSQL session, and turn them into signals.

Appends ``NOTIFY`` the channel in their own transaction (payload ``t:<topic_id>``); group
members announce joins and departures (``g:<group_id>``). When the session drops, every
waiter is woken (it re-reads) and the listener reconnects with a growing back-off; waiters
also re-check on their own at a slow interval, so a lost session only slows them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from psycopg import sql

from faramesh_cloud.log.port import LogUnavailable
from faramesh_cloud.log.wakeup import Signals
from faramesh_cloud.sql.database import Database, redact

CHANNEL = "faramesh_log"

_logger = logging.getLogger(__name__)


class PgListener:
    """Owns the LISTEN session of one PostgresLog."""

    def __init__(self, db: Database, channel: str = CHANNEL, max_backoff_s: float = 5.0,
                 signals: Signals | None = None) -> None:
        self._db = db
        self._channel = channel
        self._max_backoff_s = max_backoff_s
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self.signals = signals if signals is not None else Signals()

    @property
    def channel(self) -> str:
        return self._channel

    async def start(self) -> None:
        try:
            self._conn = await self._listen()
        except psycopg.OperationalError as exc:
            raise LogUnavailable(
                f"cannot LISTEN on PostgreSQL at {redact(self._db.url)}: {exc}; "
                "check that the database is running"
            ) from exc
        self._task = asyncio.create_task(self._run(), name=f"pg-listen-{self._channel}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop_connection()
        self.signals.fire_all()

    async def _listen(self) -> psycopg.AsyncConnection[Any]:
        conn = await self._db.connect()
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            conn = self._conn
            if conn is None:
                try:
                    conn = self._conn = await self._listen()
                except (psycopg.OperationalError, OSError) as exc:
                    _logger.warning("log listener: reconnect failed (%s); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff_s)
                    continue
                backoff = 0.05
                self.signals.fire_all()  # anything may have happened while we were away
            try:
                async for notify in conn.notifies():
                    self.signals.fire(notify.payload)
            except psycopg.OperationalError as exc:
                _logger.warning("log listener: lost its session (%s); reconnecting", exc)
            self.signals.fire_all()
            await self._drop_connection()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
