"""The Log contract on records a log refuses for good: every adapter (memory, PostgreSQL,
Kafka on Tansu) built with ``max_record_bytes`` refuses a larger record with
``RecordRejected`` (a ``LogUnavailable``, so producers that only retry still do), stores
nothing of that append or ``append_all`` and runs no ``after``, and takes the others."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.memory import InMemoryLog
from faramesh_cloud.log.port import Log, LogRecord, LogUnavailable, RecordRejected, record_size
from faramesh_cloud.log.postgres import PostgresLog, PostgresLogSettings
from tests.fixtures.logs import LOG_ADAPTERS

LIMIT = 1_000


@pytest.fixture(params=LOG_ADAPTERS)
def unstarted(request: pytest.FixtureRequest) -> Log:
    if request.param == "memory":
        return InMemoryLog(max_record_bytes=LIMIT)
    if request.param == "postgres":
        return PostgresLog(request.getfixturevalue("database"), PostgresLogSettings(max_record_bytes=LIMIT))
    return KafkaLog(request.getfixturevalue("kafka_broker").bootstrap, client_id="limit-tests",
                    max_record_bytes=LIMIT)


@pytest.fixture
async def limited(unstarted: Log) -> AsyncIterator[Log]:
    await unstarted.start()
    yield unstarted
    await unstarted.close()


class _After:
    database = object()  # not the log's database: applied after the append, if it succeeds
    applied = 0

    def statement(self) -> tuple[str, list[object]]:
        raise AssertionError("never folded into another database's transaction")

    async def apply(self) -> None:
        self.applied += 1


async def test_a_record_over_the_limit_is_refused_for_good_and_nothing_of_its_append_is_stored(
        limited: Log) -> None:
    topic, other = f"limit.{uuid.uuid4().hex}", f"limit.{uuid.uuid4().hex}"
    for name in (topic, other):
        await limited.create_topic(name, 2)
    fits = LogRecord(b"k", b"v" * (LIMIT - 3), {"h": b"1"})
    assert record_size(fits) == LIMIT  # key, value and headers count; the limit itself is taken
    over = LogRecord(b"k", b"v" * LIMIT)
    with pytest.raises(RecordRejected, match=f"{LIMIT} bytes") as refused:
        await limited.append(topic, [fits, over])
    assert isinstance(refused.value, LogUnavailable)
    after = _After()
    with pytest.raises(RecordRejected):
        await limited.append_all([(other, [fits]), (topic, [over])], after)
    assert after.applied == 0
    assert sum((await limited.end_offsets(topic)).values()) == 0
    assert sum((await limited.end_offsets(other)).values()) == 0
    assert len(await limited.append(topic, [fits, fits])) == 2  # the log still takes what fits
