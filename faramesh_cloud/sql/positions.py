"""A projection's consumed log position, kept in its own ``<name>_positions`` table
(``topic, partition, next_offset``) and moved in the same transaction as the rows it wrote,
so a redelivered batch or a replay from offset 0 changes nothing (house rule 3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from psycopg import AsyncConnection, sql

Conn = AsyncConnection[Any]


class Positioned(Protocol):
    """A row that remembers where on the log it was read."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


P = TypeVar("P", bound=Positioned)


async def lock_positions(conn: Conn, table: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """The next offset to apply of each partition (0 for one never seen), locked until commit."""
    parts = sorted(set(partitions))
    name = sql.Identifier(table)
    await conn.execute(sql.SQL(
        "INSERT INTO {} (topic, partition, next_offset) SELECT %s, p, 0 FROM unnest(%s::int[]) AS p "
        "ON CONFLICT DO NOTHING").format(name), (topic, parts))
    cur = await conn.execute(sql.SQL(
        "SELECT partition, next_offset FROM {} WHERE topic = %s AND partition = ANY(%s::int[]) "
        "ORDER BY partition FOR UPDATE").format(name), (topic, parts))
    return {int(p): int(o) for p, o in await cur.fetchall()}


async def apply_unseen(conn: Conn, table: str, rows: Sequence[P], apply: Callable[[Conn, P], Awaitable[None]]) -> None:
    """``apply`` each row at or past its partition's position, in log order, then move the
    positions past them; all in the caller's transaction."""
    by_topic: dict[str, list[P]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row)
    update = sql.SQL("UPDATE {} SET next_offset = %s WHERE topic = %s AND partition = %s").format(
        sql.Identifier(table))
    for topic, found in sorted(by_topic.items()):
        positions = await lock_positions(conn, table, topic, {r.partition for r in found})
        ends: dict[int, int] = {}
        for row in sorted(found, key=lambda r: (r.partition, r.offset)):
            if row.offset < positions[row.partition]:
                continue  # applied before (redelivery or replay)
            await apply(conn, row)
            ends[row.partition] = row.offset + 1
        for partition, end in ends.items():
            await conn.execute(update, (end, topic, partition))
