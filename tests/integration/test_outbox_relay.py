"""The transactional outbox on real PostgreSQL and the PostgreSQL log: events commit with the
state change or not at all; the relay appends them in order, at least once, also when it is
killed mid-run again and again; two relays never interleave."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.outbox.store import Outbox, outbox_table_sql
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

TABLE = "things_outbox"
TOPIC, OTHER = "things.events.v1", "things.audit.v1"


@pytest.fixture
async def outbox(database: Database, postgres_log: PostgresLog) -> Outbox:
    async with database.connection() as conn:
        await conn.execute(outbox_table_sql(TABLE))
        await conn.execute("CREATE TABLE things (id text PRIMARY KEY, n int NOT NULL)")
    for topic in (TOPIC, OTHER):
        await postgres_log.create_topic(topic, 4)
    return Outbox(TABLE)


def event(key: str, n: int) -> LogRecord:
    return LogRecord(key.encode(), f"{key}:{n}".encode(), {"event-id": f"{key}-{n}".encode()})


async def change(db: Database, outbox: Outbox, key: str, n: int, *, fail: bool = False) -> None:
    """A state change and its event in one transaction (``fail`` rolls both back)."""
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO things (id, n) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET n = %s",
                           (key, n, n))
        await outbox.add(conn, TOPIC, [event(key, n)])
        if fail:
            raise RuntimeError("the command was refused after all")


async def test_events_commit_with_the_change_and_are_relayed_in_order(
        database: Database, postgres_log: PostgresLog, outbox: Outbox) -> None:
    for n in range(5):
        await change(database, outbox, "a", n)
    with pytest.raises(RuntimeError):
        await change(database, outbox, "b", 0, fail=True)
    async with database.transaction() as conn:  # several topics from one transaction keep their order
        await outbox.add(conn, OTHER, [event("a", 100)])
        await outbox.add(conn, TOPIC, [event("a", 5)])
    relay = OutboxRelay(database, postgres_log, TABLE)
    assert await relay.relay_once() == 7
    assert await relay.relay_once() == 0  # relayed rows are gone
    values = [m.value for m in await read_topic(postgres_log, TOPIC)]
    assert values == [f"a:{n}".encode() for n in range(6)]  # one key: one partition, in order
    assert [m.value for m in await read_topic(postgres_log, OTHER)] == [b"a:100"]
    assert (await read_topic(postgres_log, TOPIC))[0].headers["event-id"] == b"a-0"


async def test_the_relay_wakes_on_a_new_event_and_stops_cleanly(
        database: Database, postgres_log: PostgresLog, outbox: Outbox) -> None:
    relay = OutboxRelay(database, postgres_log, TABLE, RelayConfig(idle_s=30))  # no polling to rely on
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        await asyncio.sleep(0.2)
        await change(database, outbox, "a", 1)
        async with asyncio.timeout(10):
            while relay.stats.relayed < 1:
                await asyncio.sleep(0.02)
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)
    assert [m.value for m in await read_topic(postgres_log, TOPIC)] == [b"a:1"]


async def test_two_relays_take_turns_and_never_interleave(
        database: Database, postgres_log: PostgresLog, outbox: Outbox) -> None:
    for n in range(300):
        await change(database, outbox, f"k{n % 3}", n)
    relays = [OutboxRelay(database, postgres_log, TABLE, RelayConfig(batch=20)) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(200):
            await relay.relay_once()
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(r) for r in relays))
    messages = await read_topic(postgres_log, TOPIC)
    assert len(messages) == 300  # none twice: the lock kept them apart
    for k in range(3):
        mine = [int(m.value.split(b":")[1]) for m in messages if m.key == f"k{k}".encode()]
        assert mine == sorted(mine) and len(mine) == 100


async def test_a_relay_killed_again_and_again_loses_nothing_and_keeps_each_keys_order(
        database: Database, pg_url: str, postgres_log: PostgresLog, outbox: Outbox) -> None:
    total = 2_000
    producer = asyncio.create_task(_produce(database, outbox, total))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "tests.integration.outbox_worker", pg_url, TABLE]
    rng = random.Random(3)
    kills = 0
    while not producer.done() or kills < 6:
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None
            assert await asyncio.to_thread(proc.stdout.readline) == b"ready\n"
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            proc.send_signal(signal.SIGKILL)
            kills += 1
    await producer
    relayed_before_the_end = len(await read_topic(postgres_log, TOPIC))
    done = subprocess.run([*cmd, "--until-empty"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    messages = await read_topic(postgres_log, TOPIC)
    assert 0 < relayed_before_the_end < total + 1_000  # the kills landed while it worked
    assert {m.value for m in messages} == {f"k{n % 7}:{n}".encode() for n in range(total)}  # nothing lost
    for k in range(7):  # at least once, and each key's first deliveries in commit order
        seen: list[int] = []
        for m in messages:
            if m.key == f"k{k}".encode():
                n = int(m.value.split(b":")[1])
                if n not in seen:
                    seen.append(n)
        assert seen == sorted(seen)


async def _produce(db: Database, outbox: Outbox, total: int) -> None:
    for n in range(total):
        await change(db, outbox, f"k{n % 7}", n)
        if n % 50 == 0:
            await asyncio.sleep(0.01)
