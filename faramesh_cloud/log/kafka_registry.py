"""Which topics the Log created, kept in a one-partition, compacted Kafka topic.

Why not just ask the broker? Tansu (and Apache Kafka with ``auto.create.topics.enable``, its
default) creates any topic a client merely asks metadata for or produces to, with a default
partition count. Then "does it exist?" stops meaning "did we create it?", and a typo'd topic
name would silently get 4 partitions. So ``create_topic`` records each topic it created (or
adopted, when the broker already had it with the requested count) as a record keyed by the
topic name, and ``partitions`` answers only from that record. The registry is itself on the
broker, so every process sharing the broker shares it, and a restarted process rebuilds it
by reading the topic from offset 0 (a few bytes per topic; reading happens only on a miss).
"""

from __future__ import annotations

import asyncio

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code

from faramesh_cloud.log.kafka_common import Replication
from faramesh_cloud.log.kafka_offsets import highwaters

TOPIC_EXISTS = 36
_STALLED_POLLS = 50


class TopicRegistry:
    """Topic name -> partition count, as recorded by ``create_topic`` (see module docstring)."""

    def __init__(
        self,
        topic: str,
        admin: AIOKafkaAdminClient,
        producer: AIOKafkaProducer,
        reader: AIOKafkaConsumer,
        replication: Replication,
    ) -> None:
        self._topic = topic
        self._tp = TopicPartition(topic, 0)
        self._admin = admin
        self._producer = producer
        self._reader = reader
        self._replication = replication
        self._known: dict[str, int] = {}
        self._position = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Create the registry topic if needed and start reading it from offset 0."""
        new = self._replication.new_topic(self._topic, 1, **{"cleanup.policy": "compact"})
        response = await self._admin.create_topics([new])
        for _, code, *_ in response.topic_errors:
            if code not in (0, TOPIC_EXISTS):
                raise for_code(code)(f"creating the topic registry {self._topic!r}")
        self._reader.assign([self._tp])
        self._reader.seek(self._tp, 0)
        self._reader.pause(self._tp)  # fetch only while catching up, not in the background

    async def lookup(self, topic: str) -> int | None:
        """The recorded partition count, or None if ``create_topic`` never recorded it."""
        if topic not in self._known:
            await self._catch_up()
        return self._known.get(topic)

    async def record(self, topic: str, partitions: int) -> None:
        await self._producer.send_and_wait(
            self._topic,
            key=topic.encode(),
            value=orjson.dumps({"partitions": partitions}),
            partition=0,
        )
        self._known[topic] = partitions

    async def _catch_up(self) -> None:
        async with self._lock:
            await self._producer.partitions_for(self._topic)  # leader metadata for the fetch
            latest = (await self._reader.end_offsets([self._tp]))[self._tp]
            end = (await highwaters(self._producer.client, self._topic, {0: latest}))[0]
            self._reader.resume(self._tp)
            try:
                await self._read_until(end)
            finally:
                self._reader.pause(self._tp)

    async def _read_until(self, end: int) -> None:
        stalled = 0
        while self._position < end:
            batches = await self._reader.getmany(self._tp, timeout_ms=200)
            records = batches.get(self._tp, [])
            stalled = 0 if records else stalled + 1
            if stalled > _STALLED_POLLS:
                raise KafkaError(
                    f"reading the topic registry {self._topic!r} stalled at offset "
                    f"{self._position} of {end}"
                )
            for message in records:
                self._apply(message.key, message.value)
                self._position = message.offset + 1

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        name = key.decode()
        if value is None:  # a tombstone: the topic was deleted
            self._known.pop(name, None)
            return
        self._known[name] = int(orjson.loads(value)["partitions"])
