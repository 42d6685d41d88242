"""The consumer runner: dead-lettering, retries, commit-after-sink, and crash safety.

The crash tests kill consumers mid-batch many times, against the durable PostgreSQL log and
a PostgreSQL sink, and then count what a query returns: every record exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from faramesh_cloud.consumer.runner import ConsumerRunner, Rejected, RunnerConfig
from faramesh_cloud.log.memory import InMemoryLog
from faramesh_cloud.log.port import Log, LogRecord, Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.integration.consumer_worker import PgSink, Upper

TOPIC = "things.v1"
DLQ = "things.dlq.v1"


class ListSink:
    def __init__(self, fail_times: int = 0) -> None:
        self.rows: list[tuple[str, str]] = []
        self.fail_times = fail_times
        self.calls = 0

    async def write(self, rows: Sequence[tuple[str, str]]) -> None:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise ConnectionError("sink down")
        self.rows.extend(rows)


async def produce(log: Log, n: int, start: int = 0, bad_every: int = 0) -> None:
    records = []
    for i in range(start, start + n):
        value = b"\xff not utf-8" if bad_every and i % bad_every == 0 else f"v{i}".encode()
        records.append(LogRecord(key=f"stack-{i % 5}".encode(), value=value, headers={"id": str(i).encode()}))
    await log.append(TOPIC, records)


async def run_until(runner: ConsumerRunner[tuple[str, str]], predicate: Callable[[], Awaitable[bool]],
                    timeout: float = 30.0) -> None:
    """Run ``runner`` until ``predicate()`` holds, then stop it cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


def processed(runner: ConsumerRunner[tuple[str, str]], n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return runner.stats.messages >= n
    return check


def all_rows_in(db: Database, total: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await count_rows(db))[1] >= total
    return check


@pytest.fixture
async def memlog() -> InMemoryLog:
    log = InMemoryLog()
    await log.start()
    await log.create_topic(TOPIC, 4)
    await log.create_topic(DLQ, 1)
    return log


async def test_rejected_messages_go_to_the_dead_letter_topic_with_reason_and_source(memlog: InMemoryLog) -> None:
    await produce(memlog, 50, bad_every=10)
    sink = ListSink()
    runner = ConsumerRunner(memlog, TOPIC, "g", Upper(), sink, RunnerConfig(dead_letter_topic=DLQ))
    await run_until(runner, processed(runner, 50))
    assert len(sink.rows) == 45
    dlq = await memlog.consumer(DLQ, "inspect")
    parked = await dlq.poll(100, 1.0)
    assert len(parked) == 5
    for message in parked:
        assert message.value == b"\xff not utf-8"
        assert b"UnicodeDecodeError" in message.headers["dlq-reason"]
        assert message.headers["dlq-topic"] == TOPIC.encode()
        assert int(message.headers["dlq-offset"]) >= 0
        assert int(message.headers["id"]) % 10 == 0  # original headers kept


async def test_rejects_another_group_parks_are_counted_and_passed_not_parked_again(memlog: InMemoryLog) -> None:
    await produce(memlog, 50, bad_every=10)
    parking = ConsumerRunner(memlog, TOPIC, "search", Upper(), ListSink(), RunnerConfig(dead_letter_topic=DLQ))
    sink = ListSink()
    passing = ConsumerRunner(memlog, TOPIC, "verifier", Upper(), sink, RunnerConfig(rejects_parked_by="search"))
    await run_until(parking, processed(parking, 50))
    await run_until(passing, processed(passing, 50))

    assert (len(sink.rows), passing.stats.rejected) == (45, 5)
    assert len(await (await memlog.consumer(DLQ, "inspect")).poll(100, 1.0)) == 5  # parked once
    ends = await memlog.end_offsets(TOPIC)
    group = await memlog.consumer(TOPIC, "verifier")
    assert {p: await group.committed(p) or 0 for p in ends} == ends  # committed past the rejects
    await group.close()
    with pytest.raises(ValueError, match="not both"):
        RunnerConfig(dead_letter_topic=DLQ, rejects_parked_by="search")


async def test_offsets_are_committed_only_after_the_sink_succeeds(memlog: InMemoryLog) -> None:
    await produce(memlog, 20)
    sink = ListSink(fail_times=3)
    runner = ConsumerRunner(memlog, TOPIC, "g", Upper(), sink,
                            RunnerConfig(dead_letter_topic=DLQ, retry_initial_s=0.01))
    consumer = await memlog.consumer(TOPIC, "g")
    messages = await consumer.poll(100, 1.0)
    assert len(messages) == 20
    handled = asyncio.create_task(runner.handle(consumer, messages))
    while sink.calls < 2:
        await asyncio.sleep(0.005)
    assert all([await consumer.committed(p) is None for p in range(4)])  # still failing: nothing committed
    await handled
    assert runner.stats.retries == 3
    assert sorted(sink.rows) == sorted((f"stack-{i % 5}", f"V{i}") for i in range(20))
    assert sum([await consumer.committed(p) or 0 for p in range(4)]) == 20


async def test_a_batch_without_a_dead_letter_topic_is_never_committed_past_a_reject(memlog: InMemoryLog) -> None:
    await produce(memlog, 3, bad_every=1)
    runner = ConsumerRunner(memlog, TOPIC, "g", Upper(), ListSink(), RunnerConfig())
    consumer = await memlog.consumer(TOPIC, "g")
    with pytest.raises(RuntimeError, match="no dead-letter topic"):
        await runner.handle(consumer, await consumer.poll(10, 1.0))
    assert all([await consumer.committed(p) is None for p in range(4)])


class GatedSink(ListSink):
    """Holds every write until ``open`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()

    async def write(self, rows: Sequence[tuple[str, str]]) -> None:
        self.calls += 1
        await self.open.wait()
        self.rows.extend(rows)


async def test_caught_up_once_the_group_has_committed_the_ends_taken_earlier(memlog: InMemoryLog) -> None:
    """What a service waits for before acting on state built from a topic: False before the
    runner has joined and while the batch is being written (not committed yet), True once the
    ends are committed, and at once for a restart of a group that had committed them."""
    await produce(memlog, 20)
    ends = await memlog.end_offsets(TOPIC)
    sink = GatedSink()
    runner = ConsumerRunner(memlog, TOPIC, "g", Upper(), sink, RunnerConfig(dead_letter_topic=DLQ))
    assert not await runner.caught_up(ends)  # not joined: nothing known
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(30):
            while sink.calls == 0:
                await asyncio.sleep(0.01)
        assert not await runner.caught_up(ends)  # read, but not written: not committed
        assert await runner.caught_up({p: 0 for p in ends})  # nothing was there: nothing to wait for
        sink.open.set()
        async with asyncio.timeout(30):
            while not await runner.caught_up(ends):
                await asyncio.sleep(0.01)
        assert len(sink.rows) == 20
        await produce(memlog, 5, start=20)
        assert await runner.caught_up(ends)  # what came after the ends is not waited for
    finally:
        stop.set()
        await task
    gated = GatedSink()  # the restart writes nothing: the 20 were committed, the 5 after are held
    restarted = ConsumerRunner(memlog, TOPIC, "g", Upper(), gated, RunnerConfig(dead_letter_topic=DLQ))
    stop = asyncio.Event()
    task = asyncio.create_task(restarted.run(stop))
    try:
        async with asyncio.timeout(30):
            while not await restarted.caught_up(ends):
                await asyncio.sleep(0.01)
        assert not await restarted.caught_up(await memlog.end_offsets(TOPIC))  # the 5 after are still to come
        assert gated.rows == []
    finally:
        gated.open.set()
        stop.set()
        await task


def test_upper_processor_is_pure_and_rejects_undecodable_bytes() -> None:
    msg = Message(TOPIC, 0, 7, b"k", b"abc", {}, 0)
    assert Upper().process(msg) == ("k", "ABC")
    assert isinstance(Upper().process(Message(TOPIC, 0, 8, b"k", b"\xff", {}, 0)), Rejected)


async def count_rows(db: Database) -> tuple[int, int]:
    async with db.connection() as conn:
        cur = await conn.execute("SELECT count(*), count(DISTINCT id) FROM sink_rows")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.postgres
@pytest.mark.integration
async def test_cancelling_consumers_mid_batch_many_times_loses_and_doubles_nothing(database: Database) -> None:
    log = PostgresLog(database)
    await log.start()
    await log.create_topic(TOPIC, 4)
    await log.create_topic(DLQ, 1)
    sink = PgSink(database, chunk=37)  # several transactions per batch, so a kill can split one
    await sink.create()
    total = 3_000
    rng = random.Random(7)
    producer = asyncio.create_task(produce_slowly(log, total))
    kills = 0
    try:
        while kills < 30:
            runner = ConsumerRunner(log, TOPIC, "indexer", Upper(), sink,
                                    RunnerConfig(dead_letter_topic=DLQ, max_batch_records=250,
                                                 max_batch_seconds=0.05))
            task = asyncio.create_task(runner.run(asyncio.Event()))
            await asyncio.sleep(rng.uniform(0.005, 0.08))
            task.cancel()  # dies wherever it is: mid-poll, mid-sink, mid-commit
            await asyncio.gather(task, return_exceptions=True)
            kills += 1
        await producer
        final = ConsumerRunner(log, TOPIC, "indexer", Upper(), sink, RunnerConfig(dead_letter_topic=DLQ))
        await run_until(final, all_rows_in(database, total))
    finally:
        producer.cancel()
        await log.close()
    assert await count_rows(database) == (total, total)


async def produce_slowly(log: Log, total: int) -> None:
    for start in range(0, total, 100):
        await produce(log, 100, start=start)
        await asyncio.sleep(0.01)


@pytest.mark.postgres
@pytest.mark.integration
async def test_sigkilled_consumer_processes_lose_and_double_nothing(database: Database, pg_url: str) -> None:
    log = PostgresLog(database)
    await log.start()
    await log.create_topic(TOPIC, 4)
    await log.create_topic(DLQ, 1)
    sink = PgSink(database, chunk=50)
    await sink.create()
    total = 4_000
    await produce_slowly(log, total)
    rng = random.Random(11)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "tests.integration.consumer_worker", pg_url, TOPIC, DLQ]
    for _ in range(5):
        with subprocess.Popen([*cmd, "--chunk-delay", "0.02"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"ready\n"  # the consumer is running
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
    rows_after_kills = (await count_rows(database))[0]
    proc = subprocess.run([*cmd, "--until-idle"], env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    await log.close()
    assert rows_after_kills < total  # the kills really interrupted the work
    assert await count_rows(database) == (total, total)
