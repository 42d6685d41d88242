"""KafkaLog beyond the shared Log contract: topic knowledge, batching, and a broker that is
not there. The shared contract runs against Kafka through ``kafka_log`` (tests/fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.port import (
    LogRecord,
    LogUnavailable,
    TopicMismatch,
    UnknownTopic,
    partition_for,
)
from tests.fixtures.kafka import (
    TEST_GROUP_TIMEOUTS,
    KafkaBroker,
    free_port,
    start_broker,
    stop_broker,
)
from tests.fixtures.tcp_gate import TcpGate

pytestmark = pytest.mark.kafka


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def raw_producer(kafka_broker: KafkaBroker) -> AsyncIterator[AIOKafkaProducer]:
    """A plain aiokafka producer: the kind of client that makes Tansu auto-create topics."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


async def _broker_topics(broker: KafkaBroker) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def test_a_topic_the_broker_auto_created_is_still_unknown(
    kafka_log: KafkaLog, kafka_broker: KafkaBroker, raw_producer: AIOKafkaProducer
) -> None:
    ghost = _name("auto-created")
    await raw_producer.send_and_wait(ghost, b"stray", key=b"k")
    assert ghost in await _broker_topics(kafka_broker)  # the broker made it, 4 partitions

    with pytest.raises(UnknownTopic, match=ghost):
        await kafka_log.partitions(ghost)
    with pytest.raises(UnknownTopic):
        await kafka_log.append(ghost, [LogRecord(key=b"k", value=b"v")])


async def test_create_topic_adopts_a_broker_topic_only_with_the_same_count(
    kafka_log: KafkaLog, raw_producer: AIOKafkaProducer
) -> None:
    same, other = _name("adopt"), _name("refuse")
    for topic in (same, other):
        await raw_producer.send_and_wait(topic, b"stray", key=b"k")  # Tansu: 4 partitions

    await kafka_log.create_topic(same, 4)
    with pytest.raises(TopicMismatch, match="4 partitions, not 2"):
        await kafka_log.create_topic(other, 2)

    assert await kafka_log.partitions(same) == 4
    with pytest.raises(UnknownTopic):
        await kafka_log.partitions(other)


async def test_topics_created_by_one_log_are_known_to_a_fresh_one(
    kafka_log: KafkaLog, kafka_broker: KafkaBroker
) -> None:
    topic = _name("shared")
    await kafka_log.create_topic(topic, 3)
    other = KafkaLog(kafka_broker.bootstrap, group_timeouts=TEST_GROUP_TIMEOUTS)
    await other.start()
    try:
        assert await other.partitions(topic) == 3
        await other.create_topic(topic, 3)  # still a no-op from the second process
        with pytest.raises(TopicMismatch):
            await other.create_topic(topic, 5)
    finally:
        await other.close()


async def test_a_large_append_spans_batches_and_keeps_positions_dense(kafka_log: KafkaLog) -> None:
    topic = _name("bulk")
    await kafka_log.create_topic(topic, 2)
    key = b"one-stack"
    value = bytes(1024)
    count = 6_000  # ~6 MiB for one partition: several 1 MiB batches
    records = [
        LogRecord(key=key, value=value, headers={"n": str(i).encode()}) for i in range(count)
    ]

    positions = await kafka_log.append(topic, records)

    partition = partition_for(key, 2)
    assert [(p.partition, p.offset) for p in positions] == [(partition, i) for i in range(count)]
    assert await kafka_log.end_offsets(topic) == {partition: count, 1 - partition: 0}
    consumer = await kafka_log.consumer(topic, _name("g"))
    await consumer.seek(partition, count - 1)
    (last,) = await consumer.poll(max_records=1, timeout_s=5)
    assert (last.offset, last.headers["n"]) == (count - 1, str(count - 1).encode())
    await consumer.close()


async def test_an_unreachable_broker_is_reported_with_what_to_check() -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    log = KafkaLog(address)

    with pytest.raises(LogUnavailable, match=f"Kafka at {address} .*broker is running"):
        await log.start()
    with pytest.raises(LogUnavailable, match="not started"):
        await log.partitions("anything")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A private broker this test may stop."""
    broker = start_broker(tmp_path / "tansu.log")
    yield broker
    stop_broker(broker)


async def test_append_to_a_stopped_broker_raises_log_unavailable(own_broker: KafkaBroker) -> None:
    log = KafkaLog(own_broker.bootstrap, request_timeout_ms=2_000)
    await log.start()
    topic = _name("gone")
    await log.create_topic(topic, 1)
    await log.append(topic, [LogRecord(key=b"k", value=b"before")])
    stop_broker(own_broker)

    try:
        with pytest.raises(LogUnavailable, match="retry the whole batch"):
            await log.append(topic, [LogRecord(key=b"k", value=b"after")])
    finally:
        await log.close()


async def test_an_append_the_broker_does_not_acknowledge_in_time_raises_log_unavailable(tmp_path: Path) -> None:
    """A broker that stops answering (its network path cut: connections refused, open ones
    dropped) fails an append after ``append_timeout_s``, however long the client's own
    request timeout, so ingest answers UNAVAILABLE inside a daemon's Push deadline."""
    gate = TcpGate(("127.0.0.1", 0), port=free_port())
    broker = start_broker(tmp_path / "tansu.log", advertised_port=gate.port)
    gate.target = ("127.0.0.1", int(broker.bootstrap.rsplit(":", 1)[1]))
    gate.open()
    log = KafkaLog(gate.address, request_timeout_ms=120_000, append_timeout_s=1.0)
    try:
        await log.start()
        topic = _name("cut")
        await log.create_topic(topic, 1)
        await log.append(topic, [LogRecord(key=b"k", value=b"before")])
        gate.shut()
        with pytest.raises(LogUnavailable, match=r"no acknowledgement within 1 s .*retry the whole batch"):
            await log.append(topic, [LogRecord(key=b"k", value=b"during")])
        gate.open()  # back: the producer delivers what it still holds as it closes
    finally:
        await log.close()
        gate.shut()
        stop_broker(broker)
