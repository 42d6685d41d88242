"""PostgresLog: the Log port, durable in PostgreSQL (the embedded mode's log).

Tables come from ``faramesh_cloud/log/migrations`` (component ``"log"``, applied by
:meth:`PostgresLog.start`). An append is one transaction: it locks the offset counters of
the partitions it touches (in partition order, so concurrent appends cannot deadlock),
advances them with ``UPDATE ... RETURNING``, writes the records with ``COPY`` and sends a
``NOTIFY``; it returns after the commit (``synchronous_commit`` stays on), so offsets are
dense, in commit order, and acknowledged records are durable. Connection trouble raises
:class:`LogUnavailable` and nothing of that call was stored.

Consumers are described in :mod:`faramesh_cloud.log.pg_consumer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faramesh_cloud.log.pg_consumer import GroupRef, PostgresConsumer, TopicRef
from faramesh_cloud.log.pg_errors import unavailable
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import (
    LogRecord,
    Position,
    TopicMismatch,
    UnknownTopic,
    partition_for,
)
from faramesh_cloud.sql.database import Database
from faramesh_cloud.log.pg_copy import copy_buffer, encode_headers
from faramesh_cloud.sql.migrate import migrate

COMPONENT = ("log", "faramesh_cloud.log")

_COPY = (
    'COPY log_records (topic_id, partition, "offset", key, value, headers) '
    "FROM STDIN (FORMAT BINARY)"
)


@dataclass(frozen=True, slots=True)
class PostgresLogSettings:
    """Tuning knobs; the defaults suit the embedded mode."""

    safety_poll_s: float = 2.0  # waiters re-check this often even without a NOTIFY
    fetch_bytes_per_partition: int = 1 << 20  # like Kafka's max.partition.fetch.bytes


class PostgresLog:
    """A durable, partitioned log in PostgreSQL."""

    def __init__(self, db: Database, settings: PostgresLogSettings | None = None) -> None:
        self._db = db
        self._settings = settings or PostgresLogSettings()
        self._listener = PgListener(db)
        self._topics: dict[str, TopicRef] = {}
        self._consumers: set[PostgresConsumer] = set()

    async def start(self) -> None:
        with unavailable("starting the log", self._db):
            await migrate(self._db, [COMPONENT])
        await self._listener.start()

    async def close(self) -> None:
        for consumer in list(self._consumers):
            await consumer.close()
        await self._listener.stop()

    async def create_topic(self, topic: str, partitions: int) -> None:
        if partitions <= 0:
            raise ValueError(f"topic {topic!r}: partitions must be positive, got {partitions}")
        with unavailable(f"creating topic {topic!r}", self._db):
            async with self._db.transaction() as conn:
                row = await (
                    await conn.execute(
                        "INSERT INTO log_topics (name, partitions) VALUES (%s, %s) "
                        "ON CONFLICT (name) DO NOTHING RETURNING topic_id",
                        (topic, partitions),
                    )
                ).fetchone()
                if row is not None:
                    await conn.execute(
                        "INSERT INTO log_partitions (topic_id, partition) "
                        "SELECT %s, generate_series(0, %s - 1)",
                        (row[0], partitions),
                    )
                    return
        existing = await self._topic(topic)
        if existing.partitions != partitions:
            raise TopicMismatch(
                f"topic {topic!r} exists with {existing.partitions} partitions, not "
                f"{partitions}; use the existing count or a new topic name (e.g. a new .vN suffix)"
            )

    async def partitions(self, topic: str) -> int:
        return (await self._topic(topic)).partitions

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        ref = await self._topic(topic)
        if not records:
            return []
        placed = [partition_for(r.key, ref.partitions) for r in records]
        counts: dict[int, int] = {}
        for partition in placed:
            counts[partition] = counts.get(partition, 0) + 1
        order = sorted(counts)
        with unavailable(f"appending to {topic!r}", self._db):
            async with self._db.transaction() as conn:
                await conn.execute(
                    "SELECT partition FROM log_partitions WHERE topic_id = %s "
                    "AND partition = ANY(%s::int4[]) ORDER BY partition FOR UPDATE",
                    (ref.topic_id, order),
                )
                cur = await conn.execute(
                    "UPDATE log_partitions p SET next_offset = p.next_offset + c.n "
                    "FROM unnest(%s::int4[], %s::int8[]) AS c(partition, n) "
                    "WHERE p.topic_id = %s AND p.partition = c.partition "
                    "RETURNING p.partition, p.next_offset - c.n",
                    (order, [counts[p] for p in order], ref.topic_id),
                )
                next_offset = {int(p): int(base) for p, base in await cur.fetchall()}
                positions: list[Position] = []
                rows: list[tuple[int, int, bytes, bytes, bytes | None]] = []
                for record, partition in zip(records, placed, strict=True):
                    offset = next_offset[partition]
                    next_offset[partition] = offset + 1
                    rows.append((partition, offset, record.key, record.value, encode_headers(record.headers)))
                    positions.append(Position(topic, partition, offset))
                async with conn.cursor().copy(_COPY) as copy:
                    await copy.write(copy_buffer(ref.topic_id, rows))
                await conn.execute(
                    "SELECT pg_notify(%s, %s)", (self._listener.channel, f"t:{ref.topic_id}")
                )
        return positions

    async def end_offsets(self, topic: str) -> dict[int, int]:
        ref = await self._topic(topic)
        with unavailable(f"reading end offsets of {topic!r}", self._db):
            async with self._db.connection() as conn:
                rows = await (
                    await conn.execute(
                        "SELECT partition, next_offset FROM log_partitions WHERE topic_id = %s",
                        (ref.topic_id,),
                    )
                ).fetchall()
        return {int(p): int(o) for p, o in sorted(rows)}

    async def consumer(self, topic: str, group: str) -> PostgresConsumer:
        ref = await self._topic(topic)
        with unavailable(f"joining group {group!r} on {topic!r}", self._db):
            async with self._db.connection() as conn:
                row = await (
                    await conn.execute(
                        "INSERT INTO log_groups (name, topic_id) VALUES (%s, %s) "
                        "ON CONFLICT (name, topic_id) DO UPDATE SET name = EXCLUDED.name "
                        "RETURNING group_id",
                        (group, ref.topic_id),
                    )
                ).fetchone()
        assert row is not None
        consumer = PostgresConsumer(
            db=self._db,
            listener=self._listener,
            topic=ref,
            group=GroupRef(name=group, group_id=int(row[0])),
            safety_poll_s=self._settings.safety_poll_s,
            fetch_bytes=self._settings.fetch_bytes_per_partition,
            on_close=self._consumers.discard,
        )
        self._consumers.add(consumer)
        try:
            await consumer.join()
        except BaseException:  # incl. cancellation: never leave a session holding locks
            await consumer.close()
            raise
        return consumer

    async def _topic(self, topic: str) -> TopicRef:
        cached = self._topics.get(topic)
        if cached is not None:
            return cached
        with unavailable(f"looking up topic {topic!r}", self._db):
            async with self._db.connection() as conn:
                row = await (
                    await conn.execute(
                        "SELECT topic_id, partitions FROM log_topics WHERE name = %s", (topic,)
                    )
                ).fetchone()
        if row is None:
            raise UnknownTopic(
                f"topic {topic!r} does not exist; create it with create_topic() first"
            )
        ref = self._topics[topic] = TopicRef(
            name=topic, topic_id=int(row[0]), partitions=int(row[1])
        )
        return ref
