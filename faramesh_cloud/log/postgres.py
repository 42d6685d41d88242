"""PostgresLog: the Log port, durable in PostgreSQL (the embedded mode's log).

Tables come from ``faramesh_cloud/log/migrations`` (component ``"log"``, applied by
:meth:`PostgresLog.start`). Appends are group-committed (:mod:`faramesh_cloud.log.pg_commit`):
the appends that arrive while one transaction commits go together in the next one, which
locks the offset counters of the partitions it touches (in (topic, partition) order, so
concurrent writers cannot deadlock), advances them, writes the records with one ``COPY``,
runs the callers' ``AfterAppend`` statements when they write to this same database, and
sends a ``NOTIFY``. A call returns after that commit (``synchronous_commit`` stays on), so
offsets are dense, in commit order, and acknowledged records are durable. Connection
trouble raises :class:`LogUnavailable` and nothing of that call was stored.

Consumers are described in :mod:`faramesh_cloud.log.pg_consumer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faramesh_cloud.log.pg_commit import GroupCommitter
from faramesh_cloud.log.pg_consumer import GroupRef, PostgresConsumer, TopicRef
from faramesh_cloud.log.pg_errors import unavailable
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import (
    AfterAppend,
    LogRecord,
    Position,
    TopicMismatch,
    TopicRecords,
    UnknownTopic,
    check_record_sizes,
)
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT = ("log", "faramesh_cloud.log")


@dataclass(frozen=True, slots=True)
class PostgresLogSettings:
    """Tuning knobs; the defaults suit the embedded mode."""

    safety_poll_s: float = 2.0  # waiters re-check this often even without a NOTIFY
    fetch_bytes_per_partition: int = 1 << 20  # like Kafka's max.partition.fetch.bytes
    max_group_bytes: int = 32 << 20  # most record bytes one group commit carries
    # A larger record is refused for good (RecordRejected): well below PostgreSQL's 1 GB
    # limit of one bytea and one protocol message, where the COPY would fail anyway.
    max_record_bytes: int | None = 64 << 20


class PostgresLog:
    """A durable, partitioned log in PostgreSQL."""

    def __init__(self, db: Database, settings: PostgresLogSettings | None = None) -> None:
        self._db = db
        self._settings = settings or PostgresLogSettings()
        self._listener = PgListener(db)
        self._topics: dict[str, TopicRef] = {}
        self._consumers: set[PostgresConsumer] = set()
        self._committer = GroupCommitter(db, self._listener.channel, self._settings.max_group_bytes)

    async def start(self) -> None:
        with unavailable("starting the log", self._db):
            await migrate(self._db, [COMPONENT])
        await self._listener.start()

    async def close(self) -> None:
        for consumer in list(self._consumers):
            await consumer.close()
        await self._committer.close()
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
        return (await self.append_all([(topic, records)]))[0]

    async def append_all(
        self, appends: Sequence[TopicRecords], after: AfterAppend | None = None
    ) -> list[list[Position]]:
        for topic, records in appends:
            check_record_sizes(topic, records, self._settings.max_record_bytes)
        refs = [(await self._topic(topic), records) for topic, records in appends]
        folded = after is not None and after.database is self._db
        if not folded and not any(records for _, records in refs):
            positions: list[list[Position]] = [[] for _ in refs]
        else:
            statement = after.statement() if folded and after is not None else None
            positions = await self._committer.submit(refs, statement)
        if after is not None and not folded:
            await after.apply()
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
