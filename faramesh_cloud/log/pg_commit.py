"""Group commit for PostgresLog: concurrent appends share one transaction and one fsync.

Every ``append_all`` joins a queue. One writer task takes what is queued (up to
``max_group_bytes``, at least one call) and commits it as ONE transaction:

1. lock the offset counters of every (topic, partition) touched, in (topic, partition)
   order (so concurrent writers, e.g. a second ingest process, cannot deadlock), and advance
   them, in one statement;
2. write every record with one binary ``COPY``;
3. run each call's :class:`~faramesh_cloud.log.port.AfterAppend` statement (ingest's
   acknowledged sequence), same SQL batched with ``executemany``;
4. ``NOTIFY`` once per topic; commit (``synchronous_commit`` stays on: the fsync).

Then every call of the group returns. While one group commits, the next gathers, so under
load one fsync acknowledges many producers (bench/RESULTS.md, "Ingest"); a lone call is
committed at once, it never waits for company.

Failures: a connection failure fails the whole group with LogUnavailable (nothing of it was
stored, the transaction never committed). Any other error in a group of several calls is
retried one call at a time, so one producer's bad statement cannot fail the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from faramesh_cloud.log.pg_consumer import TopicRef
from faramesh_cloud.log.pg_copy import COPY_SIGNATURE, COPY_TRAILER, copy_rows, encode_headers
from faramesh_cloud.log.pg_errors import CONNECTION_ERRORS, unavailable_error
from faramesh_cloud.log.port import LogRecord, LogUnavailable, Position, partition_for
from faramesh_cloud.sql.database import Database

_COPY: Final = (
    'COPY log_records (topic_id, partition, "offset", key, value, headers) '
    "FROM STDIN (FORMAT BINARY)"
)
# Lock in (topic, partition) order (LockRows above the Sort), then advance the locked rows.
_ADVANCE: Final = (
    "UPDATE log_partitions p SET next_offset = p.next_offset + c.n "
    "FROM (SELECT l.topic_id, l.partition, w.n FROM log_partitions l "
    "      JOIN unnest(%s::int4[], %s::int4[], %s::int8[]) AS w(topic_id, partition, n) "
    "        ON l.topic_id = w.topic_id AND l.partition = w.partition "
    "      ORDER BY l.topic_id, l.partition FOR UPDATE OF l) AS c "
    "WHERE p.topic_id = c.topic_id AND p.partition = c.partition "
    "RETURNING p.topic_id, p.partition, p.next_offset - c.n"
)
_NOTIFY: Final = "SELECT pg_notify(%s, t) FROM unnest(%s::text[]) AS t"

_log = logging.getLogger(__name__)

Statement = tuple[str, Sequence[object]]


@dataclass(slots=True)
class _Call:
    appends: Sequence[tuple[TopicRef, Sequence[LogRecord]]]
    statement: Statement | None
    future: asyncio.Future[list[list[Position]]]
    size: int


class GroupCommitter:
    """The queue and writer task behind :meth:`PostgresLog.append_all`."""

    def __init__(self, db: Database, channel: str, max_group_bytes: int) -> None:
        self._db = db
        self._channel = channel
        self._max_group_bytes = max_group_bytes
        self._queue: deque[_Call] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def submit(
        self, appends: Sequence[tuple[TopicRef, Sequence[LogRecord]]], statement: Statement | None
    ) -> list[list[Position]]:
        """Positions per append, once the group holding this call committed."""
        loop = asyncio.get_running_loop()
        size = sum(len(r.value) + len(r.key) + 64 for _, records in appends for r in records)
        call = _Call(appends, statement, loop.create_future(), size)
        self._queue.append(call)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._run(), name="postgres-log-group-commit")
        # A caller that goes away leaves its call queued or committing; either is fine
        # (nothing is acknowledged to anyone by this call returning or not).
        return await asyncio.shield(call.future)

    async def close(self) -> None:
        """Let the writer finish what is queued."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait([writer])

    def _take(self) -> list[_Call]:
        group: list[_Call] = []
        size = 0
        while self._queue and (not group or size + self._queue[0].size <= self._max_group_bytes):
            call = self._queue.popleft()
            group.append(call)
            size += call.size
        return group

    async def _run(self) -> None:
        while self._queue:
            group = self._take()
            try:
                await self._settle(group)
            except BaseException as exc:  # the writer is cancelled: fail what it holds
                failure = LogUnavailable(f"the log is closing; nothing was acknowledged ({exc!r})")
                for call in [*group, *self._queue]:
                    _fail(call, failure)
                self._queue.clear()
                raise

    async def _settle(self, group: list[_Call]) -> None:
        try:
            results = await self._commit(group)
        except CONNECTION_ERRORS as exc:
            failure = unavailable_error(
                "appending to the log", self._db, exc,
                "nothing was acknowledged, retry once the database is reachable")
            for call in group:
                _fail(call, failure)
            return
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            _log.warning("a group commit of %d appends failed (%s); committing them one by one",
                         len(group), exc)
            for call in group:
                await self._settle([call])
            return
        for call, positions in zip(group, results, strict=True):
            if not call.future.done():
                call.future.set_result(positions)

    async def _commit(self, group: list[_Call]) -> list[list[list[Position]]]:
        counts: dict[tuple[int, int], int] = {}
        placements: list[list[list[int]]] = []
        for call in group:
            per_call: list[list[int]] = []
            for ref, records in call.appends:
                placed = [partition_for(r.key, ref.partitions) for r in records]
                for partition in placed:
                    slot = (ref.topic_id, partition)
                    counts[slot] = counts.get(slot, 0) + 1
                per_call.append(placed)
            placements.append(per_call)
        order = sorted(counts)
        statements: dict[str, list[Sequence[object]]] = {}
        for call in group:
            if call.statement is not None:
                statements.setdefault(call.statement[0], []).append(call.statement[1])
        async with self._db.connection() as conn, conn.transaction():
            results: list[list[list[Position]]] = []
            topics: set[int] = set()
            if order:
                cur = await conn.execute(_ADVANCE, (
                    [t for t, _ in order], [p for _, p in order], [counts[s] for s in order]))
                next_offset = {(int(t), int(p)): int(o) for t, p, o in await cur.fetchall()}
                chunks: list[bytes] = [COPY_SIGNATURE]
                memo: dict[int, bytes] = {}  # encoded shared headers, for this group only
                for call, per_call in zip(group, placements, strict=True):
                    call_positions: list[list[Position]] = []
                    for (ref, records), placed in zip(call.appends, per_call, strict=True):
                        call_positions.append(_place(ref, records, placed, next_offset, chunks, memo))
                        if records:
                            topics.add(ref.topic_id)
                    results.append(call_positions)
                chunks.append(COPY_TRAILER)
                async with conn.cursor().copy(_COPY) as copy:
                    for chunk in chunks:
                        await copy.write(chunk)
            else:
                results = [[[] for _ in call.appends] for call in group]
            await _run_statements(conn, statements)
            if topics:
                await conn.execute(_NOTIFY, (self._channel, [f"t:{t}" for t in sorted(topics)]))
        return results


def _place(
    ref: TopicRef, records: Sequence[LogRecord], placed: list[int],
    next_offset: dict[tuple[int, int], int], chunks: list[bytes], memo: dict[int, bytes],
) -> list[Position]:
    positions: list[Position] = []
    rows: list[tuple[int, int, bytes, bytes, bytes | None]] = []
    topic_id, name = ref.topic_id, ref.name
    for record, partition in zip(records, placed, strict=True):
        slot = (topic_id, partition)
        offset = next_offset[slot]
        next_offset[slot] = offset + 1
        rows.append((partition, offset, record.key, record.value, encode_headers(record.headers, memo)))
        positions.append(Position(name, partition, offset))
    if rows:
        chunks.append(copy_rows(topic_id, rows))
    return positions


async def _run_statements(
    conn: psycopg.AsyncConnection[Any], statements: dict[str, list[Sequence[object]]]
) -> None:
    for sql, params in statements.items():
        if len(params) == 1:
            await conn.execute(sql, params[0])
        else:
            async with conn.cursor() as cur:
                await cur.executemany(sql, params)


def _fail(call: _Call, exc: BaseException) -> None:
    if not call.future.done():
        call.future.set_exception(exc)
        call.future.exception()  # retrieved: a caller that went away leaves no warning
