"""PostgresLog behaviour beyond the shared contract: failures, sessions, several processes.

Separate ``PostgresLog`` instances on separate ``Database`` pools stand in for separate
processes: everything that coordinates them (advisory locks, LISTEN/NOTIFY) is per session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from faramesh_cloud.log.port import LogRecord, LogUnavailable, partition_for
from faramesh_cloud.log.postgres import PostgresLog, PostgresLogSettings
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres

pytestmark = pytest.mark.postgres

OpenLog = Callable[..., AbstractAsyncContextManager[PostgresLog]]


@pytest.fixture
def open_log(pg_url: str) -> OpenLog:
    """Another "process": its own pool, listener and members on this test's database."""

    @asynccontextmanager
    async def _open(
        settings: PostgresLogSettings | None = None, timeout_s: float = 30.0
    ) -> AsyncIterator[PostgresLog]:
        async with Database(pg_url, max_size=4, timeout_s=timeout_s) as db:
            log = PostgresLog(db, settings)
            await log.start()
            try:
                yield log
            finally:
                await log.close()

    return _open


async def _sql(db: Database, query: str, *params: object) -> list[tuple[object, ...]]:
    async with db.connection() as conn:
        cur = await conn.execute(query.encode(), params or None)
        return await cur.fetchall() if cur.description else []


def _admin(server: EmbeddedPostgres) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server.url("postgres"), autocommit=True)


def _records(count: int, tag: str = "v") -> list[LogRecord]:
    return [
        LogRecord(key=f"stack-{i % 7}".encode(), value=f"{tag}{i}".encode()) for i in range(count)
    ]


async def test_an_append_that_loses_its_connection_stores_nothing(
    database: Database, postgres_log: PostgresLog
) -> None:
    await postgres_log.create_topic("t", 4)
    await postgres_log.append("t", _records(10))
    before = await postgres_log.end_offsets("t")
    # The session dies in the middle of writing the batch (after the offsets were taken).
    await _sql(
        database,
        "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$",
    )
    await _sql(
        database,
        "CREATE TRIGGER die AFTER INSERT ON log_records FOR EACH ROW "
        "WHEN (NEW.value = 'poison') EXECUTE FUNCTION die()",
    )
    batch = [
        *_records(5, "doomed"),
        LogRecord(key=b"stack-1", value=b"poison"),
        *_records(5, "late"),
    ]
    with pytest.raises(LogUnavailable, match="nothing was acknowledged"):
        await postgres_log.append("t", batch)
    await _sql(database, "DROP TRIGGER die ON log_records")

    assert await postgres_log.end_offsets("t") == before
    stored = await _sql(database, "SELECT count(*) FROM log_records")
    assert stored == [(10,)]
    positions = await postgres_log.append("t", _records(8, "after"))
    for position in positions:
        assert position.offset >= before[position.partition]
    assert sum((await postgres_log.end_offsets("t")).values()) == 18


async def test_an_unreachable_database_raises_log_unavailable_then_recovers(
    embedded_postgres: EmbeddedPostgres, pg_url: str, open_log: OpenLog
) -> None:
    name = conninfo_to_dict(pg_url)["dbname"]
    async with open_log(timeout_s=0.5) as log:
        await log.create_topic("t", 2)
        await log.append("t", _records(3))
        with _admin(embedded_postgres) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        try:
            with pytest.raises(LogUnavailable, match="retry once the database is reachable"):
                await log.append("t", _records(3))
            with pytest.raises(LogUnavailable):
                await log.end_offsets("t")
        finally:
            with _admin(embedded_postgres) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        for _ in range(40):  # callers retry LogUnavailable; the pool reconnects with back-off
            try:
                await log.append("t", _records(4))
                break
            except LogUnavailable:
                continue
        assert sum((await log.end_offsets("t")).values()) == 7


async def test_a_member_that_loses_its_session_rejoins_at_the_committed_offset(
    database: Database, postgres_log: PostgresLog
) -> None:
    await postgres_log.create_topic("t", 1)
    await postgres_log.append("t", _records(10))
    member = await postgres_log.consumer("t", "g")
    assert len(await member.poll(timeout_s=1)) == 10
    await member.commit({0: 6})
    await _sql(
        database,
        "SELECT pg_terminate_backend(pid) FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 2",
    )
    with pytest.raises(LogUnavailable, match="poll again to rejoin"):
        await member.poll(timeout_s=1)
    assert await member.assignment() == frozenset()
    again = await member.poll(timeout_s=1)
    assert [m.offset for m in again] == [6, 7, 8, 9]
    assert await member.assignment() == frozenset({0})
    await member.close()


async def _advisory_locks(db: Database) -> int:
    rows = await _sql(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    return int(str(rows[0][0]))


async def test_members_cancelled_while_joining_or_polling_leave_no_session_behind(
    database: Database, postgres_log: PostgresLog
) -> None:
    await postgres_log.create_topic("t", 4)
    await postgres_log.append("t", _records(20))
    # Cancel after 0..16 ms: spreads the cancellations over every await of join() and
    # poll() (nothing is asserted about time).
    for step in range(40):
        joining = asyncio.create_task(postgres_log.consumer("t", "g"))
        await asyncio.sleep(step * 0.0004)
        joining.cancel()
        done = await asyncio.gather(joining, return_exceptions=True)
        if not isinstance(done[0], BaseException):
            await done[0].close()
    for step in range(40):
        member = await postgres_log.consumer("t", "g")
        polling = asyncio.create_task(member.poll(timeout_s=0.5))
        await asyncio.sleep(step * 0.0004)
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await member.close()
    assert await _advisory_locks(database) == 0
    last = await postgres_log.consumer("t", "g")
    assert await last.assignment() == frozenset(range(4))
    assert len(await last.poll(timeout_s=1)) == 20
    await last.close()


async def test_a_joining_member_reads_only_what_the_holder_has_let_go(
    postgres_log: PostgresLog,
) -> None:
    await postgres_log.create_topic("t", 4)
    a = await postgres_log.consumer("t", "g")
    assert await a.assignment() == frozenset(range(4))
    b = await postgres_log.consumer("t", "g")
    assert await b.assignment() == frozenset()  # a still holds everything
    await postgres_log.append("t", [LogRecord(key=f"k{i}".encode(), value=b"x") for i in range(40)])
    assert await b.poll(timeout_s=0.1) == []
    for _ in range(40):  # a gives up its surplus when it polls, b takes it when it polls
        held = (await a.assignment(), await b.assignment())
        assert not held[0] & held[1]
        if len(held[0]) == len(held[1]) == 2:
            break
        await a.poll(timeout_s=0.1)
        await b.poll(timeout_s=0.1)
    assert len(held[0]) == len(held[1]) == 2
    await a.close()
    await b.close()


async def test_members_in_two_processes_never_share_a_partition_and_survive_a_crash(
    database: Database, open_log: OpenLog
) -> None:
    fast = PostgresLogSettings(safety_poll_s=0.2)
    async with open_log(fast) as log_a, open_log(fast) as log_b:
        await log_a.create_topic("t", 4)
        a = await log_a.consumer("t", "g")
        b = await log_b.consumer("t", "g")
        for _ in range(40):
            await asyncio.gather(a.poll(timeout_s=0.1), b.poll(timeout_s=0.1))
            held_a, held_b = await a.assignment(), await b.assignment()
            if len(held_a) == len(held_b) == 2:
                break
        assert len(held_a) == len(held_b) == 2 and not held_a & held_b

        positions = await log_a.append(
            "t", [LogRecord(key=f"k{i}".encode(), value=b"x") for i in range(40)]
        )
        for_b = sum(1 for p in positions if p.partition in held_b)
        read_b = []
        for _ in range(20):
            if len(read_b) >= for_b:
                break
            read_b.extend(await b.poll(timeout_s=0.2))
        assert len(read_b) == for_b
        assert {m.partition for m in read_b} <= held_b
        await b.commit({p: max(m.offset for m in read_b if m.partition == p) + 1 for p in held_b})

        # Member b's process dies: its session (and so its locks) go away, with no goodbye.
        crashed = next(iter(held_b))
        await _sql(
            database,
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objsubid = 2 AND classid::int8 %% 2 = 0 AND objid::int8 = %s",
            crashed,
        )
        read_a = []
        for _ in range(40):
            read_a.extend(await a.poll(timeout_s=0.2))
            if await a.assignment() == frozenset(range(4)):
                break
        assert await a.assignment() == frozenset(range(4))
        read_a.extend(await a.poll(timeout_s=0.2))
        # b committed everything it read, so a re-reads none of b's records.
        assert not {(m.partition, m.offset) for m in read_a} & {
            (m.partition, m.offset) for m in read_b
        }
        assert len(read_a) + len(read_b) == 40
        with pytest.raises(LogUnavailable):
            await b.poll(timeout_s=0.1)


async def test_waiting_consumers_are_woken_after_the_listener_reconnects(
    database: Database, open_log: OpenLog
) -> None:
    # The safety poll is off (an hour), so only a NOTIFY or the reconnect can wake the poll.
    async with open_log(PostgresLogSettings(safety_poll_s=3600)) as log:
        await log.create_topic("t", 2)
        member = await log.consumer("t", "g")
        assert await member.poll(timeout_s=0.1) == []
        killed = await _sql(
            database,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query ILIKE 'LISTEN%%'",
        )
        assert killed == [(True,)]
        waiting = asyncio.create_task(member.poll(timeout_s=3600))
        await asyncio.sleep(0.3)
        await log.append("t", _records(1))
        messages = await asyncio.wait_for(waiting, timeout=60)
        assert [m.value for m in messages] == [b"v0"]
        # The new session delivers the next wake-up too.
        waiting = asyncio.create_task(member.poll(timeout_s=3600))
        await asyncio.sleep(0.3)
        await log.append("t", _records(1, "w"))
        assert [m.value for m in await asyncio.wait_for(waiting, timeout=60)] == [b"w0"]
        await member.close()


class _Mark:
    """An AfterAppend that records ``(name, through)`` in a table of the given database."""

    def __init__(self, db: Database, name: str, through: int) -> None:
        self.database, self.name, self.through = db, name, through
        self.applied = 0

    def statement(self) -> tuple[str, tuple[object, ...]]:
        return "INSERT INTO test_marks (name, through) VALUES (%s, %s)", (self.name, self.through)

    async def apply(self) -> None:
        self.applied += 1
        await _sql(self.database, "INSERT INTO test_marks (name, through) VALUES (%s, %s)",
                   self.name, self.through)


async def _marks(db: Database) -> list[tuple[object, ...]]:
    return await _sql(db, "SELECT name, through FROM test_marks ORDER BY name")


async def test_after_append_in_the_logs_own_database_commits_with_the_records(
    open_log: OpenLog,
) -> None:
    async with open_log() as log:
        db = log._db  # the database the log lives in
        await _sql(db, "CREATE TABLE test_marks (name text PRIMARY KEY, through int CHECK (through > 0))")
        await log.create_topic("marks", 2)
        mark = _Mark(db, "a", 5)
        await log.append_all([("marks", _records(5))], after=mark)
        assert mark.applied == 0  # run inside the append's transaction, not after it
        assert await _marks(db) == [("a", 5)]
        # A statement that fails takes its records with it: both or neither.
        with pytest.raises(psycopg.errors.CheckViolation):
            await log.append_all([("marks", _records(3, "bad"))], after=_Mark(db, "b", 0))
        assert await _marks(db) == [("a", 5)]
        assert sum((await log.end_offsets("marks")).values()) == 5
        rows = await _sql(db, "SELECT count(*) FROM log_records WHERE value LIKE 'bad%%'")
        assert rows == [(0,)]


async def test_one_failing_statement_does_not_fail_the_appends_committed_with_it(
    open_log: OpenLog,
) -> None:
    async with open_log() as log:
        db = log._db
        await _sql(db, "CREATE TABLE test_marks (name text PRIMARY KEY, through int CHECK (through > 0))")
        await log.create_topic("marks", 2)
        calls = [log.append_all([("marks", _records(4, f"c{i}-"))], after=_Mark(db, f"m{i}", i))
                 for i in range(6)]  # m0 violates the check; the others may share its group
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(results[0], psycopg.errors.CheckViolation)
        assert all(isinstance(r, list) and len(r[0]) == 4 for r in results[1:])
        assert await _marks(db) == [(f"m{i}", i) for i in range(1, 6)]
        assert sum((await log.end_offsets("marks")).values()) == 5 * 4
        rows = await _sql(db, "SELECT count(*) FROM log_records WHERE value LIKE 'c0-%%'")
        assert rows == [(0,)]


async def test_after_append_in_another_database_is_applied_after_the_records(
    open_log: OpenLog, pg_url: str,
) -> None:
    async with open_log() as log, Database(pg_url, max_size=1) as elsewhere:
        await _sql(elsewhere, "CREATE TABLE test_marks (name text PRIMARY KEY, through int)")
        await log.create_topic("marks", 2)
        mark = _Mark(elsewhere, "x", 3)
        await log.append_all([("marks", _records(3))], after=mark)
        assert mark.applied == 1 and await _marks(elsewhere) == [("x", 3)]


async def test_two_processes_appending_at_once_share_dense_offsets(open_log: OpenLog) -> None:
    async with open_log() as first, open_log() as second:
        await first.create_topic("shared", 3)
        batches = [_records(9, f"p{i}-") for i in range(16)]
        writers = [first if i % 2 else second for i in range(16)]
        results = await asyncio.gather(*(w.append("shared", b) for w, b in zip(writers, batches, strict=True)))
        offsets: dict[int, list[int]] = {}
        for positions in results:
            for position in positions:
                offsets.setdefault(position.partition, []).append(position.offset)
        assert {p: sorted(o) for p, o in offsets.items()} == {p: list(range(len(o))) for p, o in offsets.items()}
        assert sum(len(o) for o in offsets.values()) == 16 * 9


def _spread(partitions: int, per_partition: int, size: int = 1) -> list[LogRecord]:
    """``per_partition`` records for every partition of a ``partitions``-partition topic."""
    keys: dict[int, bytes] = {}
    n = 0
    while len(keys) < partitions:
        key = f"stack-{n}".encode()
        keys.setdefault(partition_for(key, partitions), key)
        n += 1
    return [LogRecord(key=keys[p], value=f"{p}:{i}:".encode().ljust(size, b"x"))
            for i in range(per_partition) for p in range(partitions)]


async def test_polls_of_fewer_records_than_partitions_reach_every_partition_in_order(
        open_log: OpenLog) -> None:
    async with open_log() as log:
        await log.create_topic("many", 8)
        await log.append("many", _spread(8, 6))
        consumer = await log.consumer("many", "g")
        polls = [await consumer.poll(max_records=3, timeout_s=5) for _ in range(8)]
        assert all(len(got) == 3 for got in polls)
        read: dict[int, list[int]] = {}
        for got in polls:
            for m in got:
                read.setdefault(m.partition, []).append(m.offset)
                assert m.value.startswith(f"{m.partition}:{m.offset}:".encode())
        # 24 records in 8 polls of 3: every partition has been read, 3 records each, from its start
        assert read == {p: [0, 1, 2] for p in range(8)}
        rest = [m for _ in range(8) for m in await consumer.poll(max_records=3, timeout_s=5)]
        assert sorted((m.partition, m.offset) for m in rest) == [(p, o) for p in range(8) for o in (3, 4, 5)]
        await consumer.close()


async def test_the_byte_budget_cuts_each_partitions_read_but_never_below_one_record(
        open_log: OpenLog) -> None:
    async with open_log(PostgresLogSettings(fetch_bytes_per_partition=2_500)) as log:
        await log.create_topic("big", 2)
        await log.append("big", _spread(2, 5, size=1_000))  # ~1 KB each: two fit the budget
        consumer = await log.consumer("big", "g")
        first = await consumer.poll(max_records=100, timeout_s=5)
        assert sorted((m.partition, m.offset) for m in first) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        await consumer.close()
    async with open_log(PostgresLogSettings(fetch_bytes_per_partition=10)) as log:
        consumer = await log.consumer("big", "h")
        got = await consumer.poll(max_records=100, timeout_s=5)
        assert sorted((m.partition, m.offset) for m in got) == [(0, 0), (1, 0)]  # one each, though larger
        await consumer.close()
