"""A consumer-group member of PostgresLog.

Each member has its own PostgreSQL session. On it the member holds session-level advisory
locks, two-int4 form, keyed by its group (``log_groups.group_id``):

* ``(2 * group_id + 1, member_id)``: "I am a live member" (member ids are random);
* ``(2 * group_id, partition)``: "I read this partition".

Live members are the holders of member locks (``pg_locks``), so a member that dies (its
session ends) drops out at once and its partitions become free. Every member computes the
same split (:mod:`faramesh_cloud.log.balance`); inside its own ``poll`` it unlocks
partitions outside its share and ``pg_try_advisory_lock``\\ s free ones inside it, starting
each at the group's committed offset. A partition is therefore read by at most one member
at a time, in any number of processes. Members re-balance when another joins or leaves
(``NOTIFY g:<group_id>``) and, as a safety net, every ``safety_poll_s``.

The two-int4 advisory lock space of the database belongs to the log; other components use
the one-bigint form.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from faramesh_cloud.log.balance import ideal_partitions, rewind_all, seek_assigned
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.pg_errors import CONNECTION_ERRORS, unavailable, unavailable_error
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import LogUnavailable, Message
from faramesh_cloud.log.wakeup import wait_any
from faramesh_cloud.sql.database import Database


@dataclass(frozen=True, slots=True)
class TopicRef:
    name: str
    topic_id: int
    partitions: int


@dataclass(frozen=True, slots=True)
class GroupRef:
    name: str
    group_id: int


_MEMBERS = """
SELECT objid::int8 FROM pg_locks
WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid::int8 = %s
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1
"""

# Each partition's next rows: at most ``per_partition`` and, after the first row, no more than
# the budget of bytes (like Kafka's max.partition.fetch.bytes). Rows come partition by
# partition, each in offset order. Cutting the result at ``max_records`` is done by the client
# (``fair_cut``): sorting ~1 KB rows across partitions in the query cost more than reading
# them (bench/RESULTS.md, "What grows inside a run").
_FETCH = """
SELECT r.partition, r."offset", r.key, r.value, r.headers, r.header_names, r.header_values,
       r.timestamp_ms
FROM unnest(%(parts)s::int4[], %(starts)s::int8[]) AS pos(partition, start)
CROSS JOIN LATERAL (
    SELECT q.*,
           row_number() OVER w AS rn,
           sum(octet_length(q.key) + octet_length(q.value)) OVER w AS size
    FROM (
        SELECT l.partition, l."offset", l.key, l.value, l.headers, l.header_names,
               l.header_values, l.timestamp_ms
        FROM log_records l
        WHERE l.topic_id = %(topic)s AND l.partition = pos.partition AND l."offset" >= pos.start
        ORDER BY l."offset"
        LIMIT %(per_partition)s
    ) q
    WINDOW w AS (ORDER BY q."offset")
) r
WHERE r.rn = 1 OR r.size <= %(budget)s
"""


def fair_cut(places: list[tuple[int, int]], max_records: int, turn: int) -> list[bool]:
    """Which fetched rows (their ``(partition, offset)``) a poll of ``max_records`` keeps:
    round by round, each partition's next row by offset, the partitions of each round
    starting at ``turn`` (modulo the highest partition + 1), so that successive polls favour
    none of them. Each partition keeps a prefix of its rows."""
    if len(places) <= max_records:
        return [True] * len(places)
    width = max(p for p, _ in places) + 1
    rank: dict[int, int] = {}
    order = []
    for i in sorted(range(len(places)), key=places.__getitem__):
        p = places[i][0]
        rank[p] = rank.get(p, 0) + 1
        order.append(((rank[p], (p - turn) % width), i))
    order.sort()
    kept = [False] * len(places)
    for _, i in order[:max_records]:
        kept[i] = True
    return kept


Conn = psycopg.AsyncConnection[Any]


class PostgresConsumer:
    """One member of a consumer group reading one topic of a PostgresLog."""

    def __init__(
        self,
        *,
        db: Database,
        listener: PgListener,
        topic: TopicRef,
        group: GroupRef,
        safety_poll_s: float,
        fetch_bytes: int,
        on_close: Callable[[PostgresConsumer], None],
    ) -> None:
        self._db = db
        self._listener = listener
        self._topic = topic
        self._group = group
        self._safety_poll_s = safety_poll_s
        self._fetch_bytes = fetch_bytes
        self._on_close = on_close
        self._conn: Conn | None = None
        self._member = 0
        self._positions: dict[int, int] = {}
        self._turn = 0  # polls so far: where the fair cut of a full poll starts (fair_cut)
        self._group_changed: asyncio.Event | None = None
        self._last_rebalance = 0.0
        self._closed = False

    @property
    def topic(self) -> str:
        return self._topic.name

    @property
    def group(self) -> str:
        return self._group.name

    @property
    def _partition_class(self) -> int:
        return 2 * self._group.group_id

    @property
    def _member_class(self) -> int:
        return 2 * self._group.group_id + 1

    async def assignment(self) -> frozenset[int]:
        return frozenset(self._positions)

    async def join(self) -> None:
        """Open this member's session, register as a live member and take a first share."""
        async with self._guard("joining the group"):
            await self._open_session()

    async def _open_session(self) -> None:
        """Connect, register as a live member (a random id not in use) and rebalance."""
        conn = self._conn = await self._db.connect()
        while True:
            member = secrets.randbelow(2**31 - 1) + 1
            row = await (
                await conn.execute(
                    "SELECT pg_try_advisory_lock(%s::int4, %s::int4)",
                    (self._member_class, member),
                )
            ).fetchone()
            if row is not None and row[0]:
                self._member = member
                break
        await self._announce(conn)
        await self._rebalance(conn)

    async def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        if max_records <= 0:
            raise ValueError("max_records must be positive")
        self._check_open()
        deadline = time.monotonic() + timeout_s
        while True:
            async with self._guard("polling"):
                conn = self._conn
                if conn is None:
                    await self._open_session()
                    conn = self._conn
                    assert conn is not None
                elif self._rebalance_due():
                    await self._rebalance(conn)
                assert self._group_changed is not None
                woken = [
                    self._listener.signals.event(f"t:{self._topic.topic_id}"),
                    self._group_changed,
                ]
                messages = await self._fetch(conn, max_records)
            if messages:
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await wait_any(woken, min(remaining, self._safety_poll_s))
            self._check_open()

    async def commit(self, offsets: Mapping[int, int]) -> None:
        self._check_open()
        for partition, offset in offsets.items():
            self._check_partition(partition)
            if offset < 0:
                raise ValueError(
                    f"offsets are never negative (got {offset} for partition {partition})"
                )
        if not offsets:
            return
        parts = list(offsets)
        with unavailable("committing offsets", self._db):
            async with self._db.connection() as conn:
                await conn.execute(
                    "INSERT INTO log_group_offsets (group_id, partition, next_offset) "
                    "SELECT %s, p, o FROM unnest(%s::int4[], %s::int8[]) AS c(p, o) "
                    "ON CONFLICT (group_id, partition) DO UPDATE "
                    "SET next_offset = EXCLUDED.next_offset, committed_at = now()",
                    (self._group.group_id, parts, [offsets[p] for p in parts]),
                )

    async def committed(self, partition: int) -> int | None:
        self._check_open()
        self._check_partition(partition)
        with unavailable("reading committed offsets", self._db):
            async with self._db.connection() as conn:
                row = await (
                    await conn.execute(
                        "SELECT next_offset FROM log_group_offsets "
                        "WHERE group_id = %s AND partition = %s",
                        (self._group.group_id, partition),
                    )
                ).fetchone()
        return None if row is None else int(row[0])

    async def seek(self, partition: int, offset: int) -> None:
        self._check_open()
        self._check_partition(partition)
        seek_assigned(self._positions, self._topic.name, partition, offset)

    async def seek_to_beginning(self) -> None:
        self._check_open()
        rewind_all(self._positions)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(self)
        conn, self._conn = self._conn, None
        self._positions.clear()
        if conn is None:
            return
        # A query cancelled mid-way was cancelled on the server too (psycopg does that),
        # so the session is usable for a polite goodbye.
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.execute("SELECT pg_advisory_unlock_all()")
            await self._announce(conn)
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()  # ending the session releases its locks in any case

    # -- internals ---------------------------------------------------------------------

    def _rebalance_due(self) -> bool:
        changed = self._group_changed is None or self._group_changed.is_set()
        return changed or time.monotonic() - self._last_rebalance >= self._safety_poll_s

    async def _rebalance(self, conn: Conn) -> None:
        # Take the wake-up event first: a change after this point triggers another round.
        self._group_changed = self._listener.signals.event(f"g:{self._group.group_id}")
        self._last_rebalance = time.monotonic()
        rows = await (await conn.execute(_MEMBERS, (self._member_class,))).fetchall()
        members = [int(r[0]) for r in rows]
        if self._member not in members:
            raise psycopg.OperationalError("this member's session lost its advisory locks")
        ideal = ideal_partitions(self._topic.partitions, members, self._member)
        release = sorted(set(self._positions) - ideal)
        if release:
            await conn.execute(
                "SELECT pg_advisory_unlock(%s::int4, p) FROM unnest(%s::int4[]) AS p",
                (self._partition_class, release),
            )
            for partition in release:
                del self._positions[partition]
            await self._announce(conn)
        wanted = sorted(ideal - set(self._positions))
        if not wanted:
            return
        taken = await (
            await conn.execute(
                "SELECT p FROM unnest(%s::int4[]) AS p "
                "WHERE pg_try_advisory_lock(%s::int4, p) ORDER BY p",
                (wanted, self._partition_class),
            )
        ).fetchall()
        got = [int(r[0]) for r in taken]
        if not got:
            return
        starts = dict.fromkeys(got, 0)
        committed = await (
            await conn.execute(
                "SELECT partition, next_offset FROM log_group_offsets "
                "WHERE group_id = %s AND partition = ANY(%s::int4[])",
                (self._group.group_id, got),
            )
        ).fetchall()
        starts.update({int(p): int(o) for p, o in committed})
        self._positions.update(starts)

    async def _fetch(self, conn: Conn, max_records: int) -> list[Message]:
        if not self._positions:
            return []
        parts = sorted(self._positions)
        cur = conn.cursor(binary=True)
        await cur.execute(
            _FETCH,
            {
                "parts": parts,
                "starts": [self._positions[p] for p in parts],
                "topic": self._topic.topic_id,
                "per_partition": -(-max_records // len(parts)),
                "budget": self._fetch_bytes,
            },
        )
        rows = await cur.fetchall()
        self._turn += 1
        if len(rows) > max_records:  # up to one row per partition more than asked for
            kept = fair_cut([(row[0], row[1]) for row in rows], max_records, self._turn)
            rows = [row for row, keep in zip(rows, kept, strict=True) if keep]
        messages: list[Message] = []
        append = messages.append
        topic = self._topic.name
        positions = self._positions
        ordered = True
        # Message's fields in order (positional: its C __init__ skips the keyword matching).
        for partition, offset, key, value, blob, names, values, ts in rows:
            if blob is not None:
                headers = decode_headers(blob)
            else:  # written before migration 0002
                headers = dict(zip(names, values, strict=True)) if names else {}
            append(Message(topic, partition, offset, key, value, headers, ts))
            if offset < positions[partition]:
                ordered = False
            positions[partition] = offset + 1
        if not ordered:  # the plan (a nested loop) gives offset order; SQL does not promise it
            messages.sort(key=lambda m: (m.partition, m.offset))
            for m in messages:
                positions[m.partition] = m.offset + 1
        return messages

    async def _announce(self, conn: Conn) -> None:
        await conn.execute(
            "SELECT pg_notify(%s, %s)", (self._listener.channel, f"g:{self._group.group_id}")
        )

    def _check_open(self) -> None:
        if self._closed:
            raise LogUnavailable("this consumer is closed; create a new one with Log.consumer()")

    def _check_partition(self, partition: int) -> None:
        if not 0 <= partition < self._topic.partitions:
            raise ValueError(
                f"topic {self._topic.name!r} has partitions 0..{self._topic.partitions - 1}, "
                f"not {partition}"
            )

    @contextlib.asynccontextmanager
    async def _guard(self, action: str) -> AsyncIterator[None]:
        """On a lost session: forget its locks and positions (another member may own those
        partitions now) and raise LogUnavailable; the next poll joins again."""
        try:
            yield
        except CONNECTION_ERRORS as exc:
            conn, self._conn = self._conn, None
            self._positions.clear()
            self._group_changed = None
            if conn is not None:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
            raise unavailable_error(
                action, self._db, exc, "poll again to rejoin once the database is reachable"
            ) from exc
