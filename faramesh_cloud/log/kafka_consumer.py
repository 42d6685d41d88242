"""KafkaConsumer: one member of a Kafka consumer group, behind the Log port's Consumer.

aiokafka does the group protocol (join, heartbeats, rebalances) in the background; auto
commit is off, so offsets move only through ``commit``, and a partition the group never
committed starts at offset 0 (``auto_offset_reset="earliest"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from faramesh_cloud.log.kafka_common import KafkaConnection, stop_quietly
from faramesh_cloud.log.port import LogUnavailable, Message


class KafkaConsumer:
    """A group member reading one topic (see the Consumer protocol in ``log/port.py``)."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        group: str,
        partitions: int,
        connection: KafkaConnection,
        on_close: Callable[[KafkaConsumer], None],
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._group = group
        self._partitions = partitions
        self._connection = connection
        self._on_close = on_close
        self._closed = False

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def group(self) -> str:
        return self._group

    async def assignment(self) -> frozenset[int]:
        self._check_usable()
        return frozenset(tp.partition for tp in self._consumer.assignment())

    async def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        if max_records <= 0:
            raise ValueError("max_records must be positive")
        self._check_usable()
        try:
            batches = await self._consumer.getmany(
                timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_records
            )
        except KafkaError as exc:
            raise self._connection.unavailable(f"polling {self._topic!r}", exc) from exc
        return [
            _message(record)
            for tp in sorted(batches, key=lambda tp: tp.partition)
            for record in batches[tp]
        ]

    async def commit(self, offsets: Mapping[int, int]) -> None:
        self._check_usable()
        for partition, offset in offsets.items():
            self._check_offset(partition, offset)
        if not offsets:
            return
        try:
            await self._consumer.commit(
                {TopicPartition(self._topic, p): o for p, o in offsets.items()}
            )
        except IllegalStateError as exc:
            raise LogUnavailable(
                f"commit to {self._topic!r} refused: {exc}. A rebalance moved the partition to "
                "another member, which re-reads from the last commit; poll again and commit "
                "only partitions in assignment()"
            ) from exc
        except KafkaError as exc:
            raise self._connection.unavailable(f"committing {self._topic!r}", exc) from exc

    async def committed(self, partition: int) -> int | None:
        self._check_usable()
        self._check_offset(partition, 0)
        try:
            offset = await self._consumer.committed(TopicPartition(self._topic, partition))
        except KafkaError as exc:
            raise self._connection.unavailable(f"reading commits of {self._topic!r}", exc) from exc
        return None if offset is None or offset < 0 else int(offset)

    async def seek(self, partition: int, offset: int) -> None:
        self._check_usable()
        self._check_offset(partition, offset)
        assigned = await self.assignment()
        if partition not in assigned:
            raise ValueError(
                f"partition {partition} of {self._topic!r} is not assigned to this member "
                f"(assigned: {sorted(assigned)}); seek only assigned partitions"
            )
        self._consumer.seek(TopicPartition(self._topic, partition), offset)

    async def seek_to_beginning(self) -> None:
        self._check_usable()
        assigned = self._consumer.assignment()
        if not assigned:
            return
        try:
            await self._consumer.seek_to_beginning(*assigned)
        except KafkaError as exc:
            raise self._connection.unavailable(f"rewinding {self._topic!r}", exc) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await stop_quietly(self._consumer.stop, "consumer")
        finally:
            self._on_close(self)

    def _check_usable(self) -> None:
        if self._closed:
            raise LogUnavailable("this consumer is closed; create a new one with Log.consumer()")

    def _check_offset(self, partition: int, offset: int) -> None:
        if not 0 <= partition < self._partitions:
            raise ValueError(
                f"topic {self._topic!r} has partitions 0..{self._partitions - 1}, not {partition}"
            )
        if offset < 0:
            raise ValueError(f"offsets are never negative (got {offset} for partition {partition})")


def _message(record: ConsumerRecord[bytes, bytes]) -> Message:
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key if record.key is not None else b"",
        value=record.value if record.value is not None else b"",
        headers={name: bytes(value) for name, value in record.headers},
        timestamp_ms=record.timestamp,
    )
