"""Audit index benchmark: load DPRs through the real processor and sink, then time the
explorer's queries, the ingest-to-searchable lag, and this machine's raw chDB insert rate.

    python -m bench.audit_bench [--records 1000000] [--orgs 4] [--queries 40]
                                [--rate 2000] [--lag-seconds 20] [--compare-final]
                                [--data-dir DIR] [--cache-dir DIR] [--gen-workers 2]
                                [--pipelined] [--lag-only]

``--records 10000000 --cache-dir bench/out/records`` for the 10M run: generation (the
simulator signs and hashes every record, ~200 µs each) runs first, in ``--gen-workers``
processes, into the record cache (~250 B/DPR on disk); a later run with the same --records
and --orgs reads the cache instead (~20 µs/DPR). Starts a throwaway embedded PostgreSQL and
a chDB data dir (in a temp dir unless --data-dir). Records come from the simulator's AgentWriter
(30 % Ed25519-signed, the rest HMAC-only), half of them in org-0, the one queried; each
batch of 10,000 goes through DprProcessor and AuditIndexSink exactly as the consumer runner
hands it over (the log itself is measured only in the lag run). The lag run is the whole
path: a producer process appends to ``PostgresLog`` at ``--rate`` and the ``AuditIndex``
service indexes it (issue 18: as wired, the search index and the chain verifier in one
process; ``--split``: the verifier in a process of its own); it reports the CPU per DPR of index, PostgreSQL and producer, and the
box's resulting ceiling (``--lag-only``: just this, on an empty index). Prints a Markdown report.
A measurement, not a test: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import multiprocessing
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec
from rich.progress import Progress

from faramesh_cloud.audit_index import integrity
from faramesh_cloud.audit_index.clickhouse import INSERT_COLUMNS, IndexWriter, SearchWriter
from faramesh_cloud.audit_index.domain import PROJECTION, IndexedRecord
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.audit_index.search_processor import SearchProcessor
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.service import AuditIndex, AuditIndexConfig
from faramesh_cloud.audit_index.sink import AuditIndexSink
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.audit_index.views import SearchFilters, TimeRange
from faramesh_cloud.consumer.runner import ConsumerRunner
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
    Origin,
    stack_key,
)
from faramesh_cloud.log.port import LogRecord, Message, partition_for
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate

BATCH = 10_000
SPAN_NS = 30 * 86_400 * 1_000_000_000  # records spread over 30 days
BASE_NS = 1_780_000_000_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
SEED = b"audit-bench-ed25519-seed-000000!"
# The load hands messages straight to processor and sink under their own topic name, so its
# positions never cover the offsets the lag run appends to dpr.records.v1.
LOAD_TOPIC = "bench.load.v1"


@dataclass
class Fleet:
    """Orgs x stacks x agents; org-0 writes half of all records."""

    orgs: int
    rng: random.Random = field(default_factory=lambda: random.Random(42))
    writers: list[tuple[str, str, AgentWriter]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    offsets: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for o in range(self.orgs):
            for s in range(5):
                pool = [f"sess-o{o}s{s}-{i}" for i in range(3)]
                for a in range(20):
                    writer = AgentWriter(f"agent-{s}-{a}", random.Random(self.rng.getrandbits(32)),
                                         ed25519_seed=SEED, hmac_key=b"bench-hmac", signed_share=0.3,
                                         sessions=list(pool))
                    self.writers.append((f"org-{o}", f"stack-{s}", writer))
                    self.weights.append(0.5 / 100 if o == 0 else 0.5 / (100 * max(1, self.orgs - 1)))

    def picks(self, total: int, start: int = 0) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """Per batch: its first index and (writer, created_ns) of each record, in order."""
        for first in range(start, start + total, BATCH):
            picks = self.rng.choices(range(len(self.writers)), self.weights, k=min(BATCH, start + total - first))
            yield first, [(pick, BASE_NS + (first + i) * SPAN_NS // max(total, 1)) for i, pick in enumerate(picks)]

    def messages(self, first: int, picks: list[tuple[int, int]], values: list[bytes]) -> list[Message]:
        """The log messages of one batch, its values generated (``values[i]`` by ``picks[i]``)."""
        batch = []
        for i, ((pick, created), value) in enumerate(zip(picks, values, strict=True)):
            org, stack, _ = self.writers[pick]
            key = stack_key(org, stack)
            partition = partition_for(key, 8)
            offset = self.offsets.get(partition, 0)
            self.offsets[partition] = offset + 1
            origin = Origin(org, stack, "sync", first + i, "bench", created + 1_000_000)
            batch.append(Message(LOAD_TOPIC, partition, offset, key, value, origin.headers(), created // 1_000_000))
        return batch

    def batches(self, total: int, start: int = 0) -> Iterator[list[Message]]:
        """Serially, in this process (the reference for ``generate``)."""
        for first, picks in self.picks(total, start):
            values = [to_go_json(self.writers[pick][2].next(created)) for pick, created in picks]
            yield self.messages(first, picks, values)


def _generator(conn: Connection, orgs: int, worker: int, workers: int) -> None:
    """A generation process: the same fleet (same seeds), advancing only writers ``worker``
    mod ``workers``, so each agent's chain is written by one process in order."""
    writers = Fleet(orgs).writers
    while (job := conn.recv()) is not None:
        conn.send([to_go_json(writers[pick][2].next(created)) for pick, created in job])


def generate(fleet: Fleet, total: int, workers: int) -> Iterator[list[Message]]:
    """``fleet.batches(total)``, byte for byte, generated by ``workers`` processes one batch
    ahead of the caller (the simulator signs and hashes every record: ~200 µs each, more
    than the index spends on it)."""
    if workers <= 1:
        yield from fleet.batches(total)
        return
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for k in range(workers):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_generator, args=(theirs, fleet.orgs, k, workers), daemon=True)
        proc.start()
        pipes.append(mine)
        procs.append(proc)

    def send(picks: list[tuple[int, int]]) -> None:
        for k, pipe in enumerate(pipes):
            pipe.send([p for p in picks if p[0] % workers == k])

    def receive(picks: list[tuple[int, int]]) -> list[bytes]:
        parts = [iter(pipe.recv()) for pipe in pipes]
        return [next(parts[pick % workers]) for pick, _ in picks]

    try:
        jobs = fleet.picks(total)
        ahead = next(jobs, None)
        if ahead is not None:
            send(ahead[1])
        while ahead is not None:
            following = next(jobs, None)
            values = receive(ahead[1])
            if following is not None:
                send(following[1])
            yield fleet.messages(ahead[0], ahead[1], values)
            ahead = following
    finally:
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


class RecordCache:
    """Generated batches on disk (zlib'd msgpack), so a second run (the 10M one above all)
    skips generation. Keyed by record count and orgs: the same arguments, the same bytes."""

    def __init__(self, root: Path, total: int, orgs: int) -> None:
        self.dir = root / f"audit-{total}-o{orgs}"
        self.total = total

    def complete(self) -> bool:
        return (self.dir / "complete").exists()

    def read(self) -> Iterator[list[Message]]:
        for path in sorted(self.dir.glob("batch-*.bin")):
            rows = msgspec.msgpack.decode(zlib.decompress(path.read_bytes()))
            yield [Message(LOAD_TOPIC, p, o, k, v, h, t) for p, o, k, v, h, t in rows]

    def write_through(self, batches: Iterator[list[Message]]) -> Iterator[list[Message]]:
        self.dir.mkdir(parents=True, exist_ok=True)
        for n, batch in enumerate(batches):
            rows = [(m.partition, m.offset, m.key, m.value, m.headers, m.timestamp_ms) for m in batch]
            (self.dir / f"batch-{n:07d}.bin").write_bytes(zlib.compress(msgspec.msgpack.encode(rows), 1))
            yield batch
        (self.dir / "complete").write_text(f"{self.total}\n")


def source(args: argparse.Namespace, root: Path) -> tuple[Iterator[list[Message]], str]:
    """The load's batches, generated into the record cache first (so generation never
    competes with the load for the CPU), then read back from it."""
    cache = RecordCache(Path(args.cache_dir) if args.cache_dir else root / "records", args.records, args.orgs)
    if cache.complete():
        return cache.read(), f"records read from the cache {cache.dir}"
    start = time.perf_counter()
    with Progress() as progress:
        task = progress.add_task(f"generating DPRs ({args.gen_workers} processes)", total=args.records)
        for batch in cache.write_through(generate(Fleet(args.orgs), args.records, args.gen_workers)):
            progress.advance(task, len(batch))
    took = time.perf_counter() - start
    return cache.read(), (f"records generated in {took:.0f} s ({took / args.records * 1e6:.0f} µs/DPR, "
                          f"{args.gen_workers} processes) into {cache.dir}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(label: str, n: int, make: Callable[[int], Awaitable[Any]], out: list[str]) -> None:
    await make(0)  # warm up
    took = []
    for i in range(n):
        start = time.perf_counter()
        await make(i)
        took.append((time.perf_counter() - start) * 1000)
    out.append(f"| {label} | {statistics.median(took):.1f} | {pct(took, 0.95):.1f} | {n} |")


async def load(args: argparse.Namespace, batches: Iterator[list[Message]], processor: DprProcessor,
               sink: AuditIndexSink) -> list[str]:
    """Each batch through the processor, then the sink. ``--pipelined``: the runner's shape
    (batch N+1 processed in a thread while batch N is written): stage times then overlap, and
    the rate is records over the whole wall time."""
    read_s = proc_s = sink_s = 0.0
    cpu_start = time.process_time()
    cpu_read = 0.0
    wall = time.perf_counter()
    writing: asyncio.Task[None] | None = None

    def process(messages: list[Message]) -> list[IndexedRecord]:
        return [r for r in map(processor.process, messages) if isinstance(r, IndexedRecord)]

    async def write(indexed: list[IndexedRecord]) -> None:
        nonlocal sink_s
        start = time.perf_counter()
        await sink.write(indexed)
        sink_s += time.perf_counter() - start

    with Progress() as progress:
        task = progress.add_task("loading DPRs" + (" (pipelined)" if args.pipelined else ""), total=args.records)
        while True:
            start, cpu = time.perf_counter(), time.process_time()
            messages = next(batches, None)
            if messages is None:
                break
            read_s += time.perf_counter() - start
            cpu_read += time.process_time() - cpu
            start = time.perf_counter()
            indexed = await asyncio.to_thread(process, messages) if args.pipelined else process(messages)
            proc_s += time.perf_counter() - start
            if writing is not None:
                await writing
            writing = asyncio.create_task(write(indexed))
            if not args.pipelined:
                await writing
            progress.advance(task, len(messages))
        if writing is not None:
            await writing
    n = args.records
    wall = time.perf_counter() - wall - read_s
    cpu = time.process_time() - cpu_start - cpu_read  # this process, chDB threads included
    rate = n / wall if args.pipelined else n / (proc_s + sink_s)
    return [
        f"- loaded {n:,} DPRs{' pipelined' if args.pipelined else ''}: reading them {read_s:.0f} s (not part of "
        f"Cloud), processor {proc_s:.0f} s ({proc_s / n * 1e6:.0f} µs/record), sink {sink_s:.0f} s "
        f"({sink_s / n * 1e6:.0f} µs/record) → **{rate:,.0f} DPR/s** through processor + sink (one process); "
        f"CPU of this process (chDB's threads included, reading excluded) {cpu / n * 1e6:.0f} µs/DPR",
    ]


def samples(olap: ChdbOlap, tables: AuditTables) -> tuple[list[str], list[str], list[str]]:
    """Agents, sessions and record ids of org-0, read back from the index."""
    agents = [r[0] for r in olap.query(f"SELECT DISTINCT agent_id FROM {tables.dpr} WHERE org_id = 'org-0'").rows]
    sessions = [r[0] for r in olap.query(
        f"SELECT session_id FROM {tables.dpr} WHERE org_id = 'org-0' GROUP BY session_id ORDER BY cityHash64(session_id) LIMIT 200").rows]
    ids = [r[0] for r in olap.query(
        f"SELECT record_id FROM {tables.dpr} WHERE org_id = 'org-0' ORDER BY cityHash64(record_id) LIMIT 200").rows]
    return agents, sessions, ids


async def queries(args: argparse.Namespace, q: AuditQueries, olap: ChdbOlap, tables: AuditTables) -> list[str]:
    rng = random.Random(7)
    agents, sessions, ids = samples(olap, tables)
    lo, hi = olap.query(f"SELECT toUnixTimestamp64Nano(min(created_at)), toUnixTimestamp64Nano(max(created_at)) "
                        f"FROM {tables.dpr} WHERE org_id = 'org-0'").rows[0]
    out = ["| query (org-0) | p50 ms | p95 ms | runs |", "|---|---|---|---|"]

    def window(width: int = HOUR_NS) -> TimeRange:
        start = int(lo) + rng.randrange(max(1, int(hi) - int(lo) - width))
        return TimeRange(start, start + width)

    await timed("search: agent + 1 h window, 100 rows", args.queries,
                lambda i: q.search("org-0", SearchFilters(agent_id=rng.choice(agents)), window()), out)
    await timed("search: agent, newest 100 (no window)", args.queries,
                lambda i: q.search("org-0", SearchFilters(agent_id=rng.choice(agents))), out)
    await timed("search: org, newest 100", args.queries, lambda i: q.search("org-0"), out)
    await timed("search: org, 2nd page (keyset)", args.queries, lambda i: _second_page(q), out)
    await timed("search: effect=DENY + tool, 1 day", args.queries,
                lambda i: q.search("org-0", SearchFilters(effect="DENY", tool_id="shell/exec"), window(24 * HOUR_NS)),
                out)
    await timed("session timeline (≤500 rows)", args.queries,
                lambda i: q.session_timeline("org-0", rng.choice(sessions)), out)
    await timed("counts by effect: whole org", args.queries, lambda i: q.counts_by_effect("org-0"), out)
    await timed("counts by effect: stack + 1 day", args.queries,
                lambda i: q.counts_by_effect("org-0", SearchFilters(stack_id="stack-1"), window(24 * HOUR_NS)), out)
    await timed("get record by id (explain)", args.queries, lambda i: q.get_record("org-0", rng.choice(ids)), out)
    await timed("live tail: recent 100", args.queries, lambda i: q.recent("org-0"), out)
    await timed("chain integrity: whole org (PostgreSQL)", max(5, args.queries // 4),
                lambda i: q.chain_integrity("org-0"), out)
    out += ["", "Plans compared (same SQL; the API turns read-in-order off when an agent or session is given):",
            "", "| query (org-0), 100 / 500 rows | read in main-table order p50 ms | projection p50 ms |", "|---|---|---|"]
    cases = [("agent, newest 100", "agent_id = {v:String} ORDER BY created_at DESC LIMIT 100", agents),
             ("session timeline", "session_id = {v:String} ORDER BY created_at LIMIT 500", sessions)]
    for label, where, values in cases:
        cells = []
        for setting in ("1", "0"):
            took = []
            for _ in range(args.queries):
                start = time.perf_counter()
                olap.query(f"SELECT record_id, created_at, effect, tool_id, reason FROM {tables.dpr} "
                           f"WHERE org_id = 'org-0' AND {where} SETTINGS optimize_read_in_order = {setting}",
                           {"v": rng.choice(values)})
                took.append((time.perf_counter() - start) * 1000)
            cells.append(f"{statistics.median(took):.1f}")
        out.append(f"| {label} | {cells[0]} | {cells[1]} |")
    indexed = _indexed_back(olap, tables, BATCH)
    start = time.perf_counter()
    found = await asyncio.to_thread(IndexWriter(olap, tables).existing, indexed)
    out.append(f"\nThe sink's existence check (`IndexWriter.existing`) for a 10,000-row batch already indexed: "
               f"{(time.perf_counter() - start) * 1000:.0f} ms ({len(found):,} found).")
    return out


def _indexed_back(olap: ChdbOlap, tables: AuditTables, limit: int) -> list[IndexedRecord]:
    """Indexed rows turned back into the sink's input (raw bytes and origin re-processed)."""
    processor = DprProcessor()
    rows = olap.query(f"SELECT org_id, stack_id, source, origin_seq, origin_buffer, "
                      f"toUnixTimestamp64Nano(received_at), log_partition, log_offset, raw "
                      f"FROM {tables.dpr} ORDER BY created_at LIMIT {int(limit)}").rows  # like a live batch
    out = []
    for org, stack, source, seq, buffer, received, partition, offset, raw in rows:
        headers = Origin(org, stack, source, int(seq), buffer, int(received)).headers()
        result = processor.process(Message(LOAD_TOPIC, int(partition), int(offset), stack_key(org, stack),
                                           raw.encode(), headers, 0))
        if isinstance(result, IndexedRecord):
            out.append(result)
    return out


def _rows_back(olap: ChdbOlap, tables: AuditTables, limit: int) -> list[tuple[Any, ...]]:
    """Indexed rows read back in INSERT_COLUMNS order (the same rows, for raw inserts)."""
    select = ", ".join(
        "toUnixTimestamp64Nano(received_at)" if c == "received_ns"
        else "toUnixTimestamp64Nano(created_at)" if c == "created_ns" else c
        for c in INSERT_COLUMNS)
    return olap.query(f"SELECT {select} FROM {tables.dpr} LIMIT {int(limit)}").rows


async def _second_page(q: AuditQueries) -> None:
    page = await q.search("org-0", limit=100)
    await q.search("org-0", cursor=page.next_cursor, limit=100)


async def compare_final(args: argparse.Namespace, olap: ChdbOlap, tables: AuditTables) -> list[str]:
    """The same data in a ReplacingMergeTree read with FINAL (the alternative dedupe)."""
    rmt = f"{tables.database}.dpr_rmt"
    olap.command(f"DROP TABLE IF EXISTS {rmt}")
    olap.command(f"CREATE TABLE {rmt} ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(created_at) "
                 f"ORDER BY (org_id, created_at, stack_id, agent_id, record_id, record_hash) "
                 f"AS SELECT * EXCEPT (raw) FROM {tables.dpr}")
    rng = random.Random(9)
    agents, sessions, _ = samples(olap, tables)
    out = ["| query (org-0), summary columns | MergeTree p50 ms | RMT + FINAL p50 ms |", "|---|---|---|"]
    cases = [
        ("agent, newest 100", "org_id = 'org-0' AND agent_id = {a:String} ORDER BY created_at DESC LIMIT 100",
         lambda: {"a": rng.choice(agents)}),
        ("org, newest 100", "org_id = 'org-0' ORDER BY created_at DESC LIMIT 100", dict),
        ("session timeline", "org_id = 'org-0' AND session_id = {s:String} ORDER BY created_at LIMIT 500",
         lambda: {"s": rng.choice(sessions)}),
    ]
    for label, where, params in cases:
        row = []
        for table, final in ((tables.dpr, ""), (rmt, " FINAL")):
            took = []
            for _ in range(args.queries):
                start = time.perf_counter()
                olap.query(f"SELECT record_id, created_at, effect FROM {table}{final} WHERE {where}", params())
                took.append((time.perf_counter() - start) * 1000)
            row.append(f"{statistics.median(took):.1f}")
        out.append(f"| {label} | {row[0]} | {row[1]} |")
    row = []
    for table, final in ((tables.dpr, ""), (rmt, " FINAL")):
        took = []
        for _ in range(args.queries):
            start = time.perf_counter()
            olap.query(f"SELECT effect, count() FROM {table}{final} WHERE org_id = 'org-0' GROUP BY effect")
            took.append((time.perf_counter() - start) * 1000)
        row.append(f"{statistics.median(took):.1f}")
    out.append(f"| counts by effect, whole org | {row[0]} | {row[1]} |")
    olap.command(f"DROP TABLE {rmt}")
    return out


def insert_ceiling(olap: ChdbOlap, tables: AuditTables) -> list[str]:
    """Raw inserts of the same rows (read back from the index): no processor, no
    PostgreSQL, no existence check; ChdbOlap.insert streams JSONCompactEachRow."""
    rows = _rows_back(olap, tables, 100_000)
    out = []
    for label, database in (("same DDL (2 projections)", "ceiling_proj"), ("same columns, no projections", "ceiling_plain")):
        target = AuditTables(database)
        olap.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        ensure_schema(olap, target)
        if "no projections" in label:
            olap.command(f"ALTER TABLE {target.dpr} DROP PROJECTION p_agent")
            olap.command(f"ALTER TABLE {target.dpr} DROP PROJECTION p_session")
        start = time.perf_counter()
        for first in range(0, len(rows), BATCH):
            olap.insert(target.dpr, INSERT_COLUMNS, rows[first:first + BATCH])
        took = time.perf_counter() - start
        out.append(f"- raw chDB insert, {label}, {len(rows):,} rows in 10k batches: **{len(rows) / took:,.0f} rows/s**")
        olap.command(f"DROP DATABASE {database} SYNC")
    return out


def lag_values(count: int, rate: int, base_ns: int) -> list[bytes]:
    """The lag run's records as a daemon writes them: 20 simulator agents in turn, 30 %
    Ed25519-signed, the rest HMAC-only, created ``rate`` a second from ``base_ns``. Each is a
    copy: orjson's bytes keep their whole output buffer (~16 KB for a ~1 KB record with
    orjson 3.13), which took 20 GB for 3M records; the copy is exact."""
    writers = [AgentWriter(f"lag-agent-{i}", random.Random(i), ed25519_seed=SEED, hmac_key=b"k")
               for i in range(20)]
    return [bytes(memoryview(to_go_json(writers[n % len(writers)].next(base_ns + n * 1_000_000_000 // rate))))
            for n in range(count)]


def lag_record(n: int, value: bytes, received_ns: int) -> LogRecord:
    """Record ``n`` of the lag run as ingest appends it: organisation ``org-lag``, four stacks
    in turn, origin sequence ``n``, received at ``received_ns``."""
    stack = f"stack-{n % 4}"
    return LogRecord(stack_key("org-lag", stack), value, Origin("org-lag", stack, "sync", n, "lag", received_ns).headers())


def _producer(conn: Connection, url: str, rate: int, seconds: int) -> None:
    """The lag run's producer, in its own process as ingest is: it generates its records
    first (the same signed mix as the load: 30 % Ed25519, the rest HMAC), says so, waits
    for the go, then appends them to ``dpr.records.v1`` at ``rate`` in 50 ms ticks through
    its own ``PostgresLog``, and sends back when each record was appended."""
    interpreter.tune_for_throughput()
    planned = rate * seconds
    values = lag_values(planned, rate, time.time_ns())
    ids = [msgspec.json.decode(v)["record_id"] for v in values]
    conn.send("ready")
    conn.recv()
    cpu_at_go = time.process_time()

    async def produce() -> tuple[dict[str, int], float]:
        appended: dict[str, int] = {}
        async with Database(named(url, "producer"), max_size=2) as db:
            log = PostgresLog(db)
            await log.start()
            per_tick = max(1, int(rate * 0.05))
            started = time.monotonic()
            n = 0
            while n < planned:
                now = time.time_ns()
                batch = []
                for value in values[n:n + per_tick]:
                    batch.append(lag_record(n, value, now))
                    appended[ids[n]] = now
                    n += 1
                await log.append(DPR_RECORDS, batch)
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            offered = n / (time.monotonic() - started)
            await log.close()
        return appended, offered, time.process_time() - cpu_at_go

    conn.send(asyncio.run(produce()))


def _verifier(conn: Connection, url: str, planned: int, nice: int = 0) -> None:
    """``--split``: the chain verifier in its own process (it needs PostgreSQL only, no chDB):
    group ``audit-verifier`` with today's processor and the verifier sink, the service's batch
    settings; runs until it has applied ``planned`` records, sends back its CPU seconds.
    ``nice``: added to its niceness, as the setting ``audit_verifier_nice`` does for a
    verifier-only process (search gets the CPU first under contention)."""
    interpreter.tune_for_throughput()
    if nice:
        os.nice(nice)

    async def verify() -> float:
        async with Database(named(url, "verifier"), max_size=4) as db:
            log = PostgresLog(db)
            await log.start()
            sink = VerifierSink(db, after=PROJECTION)  # as the service: searchable first
            config = AuditIndexConfig()  # the service's batch settings, as it wires them
            runner = ConsumerRunner(log, DPR_RECORDS, "audit-verifier", DprProcessor(), sink,
                                    replace(config.verifier_runner, dead_letter_topic=None,
                                            rejects_parked_by=config.group))
            interpreter.freeze_startup_objects()
            conn.send("ready")
            conn.recv()
            cpu0 = time.process_time()
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop))
            while sink.stats.verified < planned and not task.done():
                await asyncio.sleep(0.05)
            stop.set()
            await task
            cpu = time.process_time() - cpu0
            await log.close()
        return cpu

    conn.send(asyncio.run(verify()))


async def lag(args: argparse.Namespace, db: Database, url: str, olap: ChdbOlap, tables: AuditTables,
              pg_dir: Path | None = None) -> list[str]:
    """Full path: a producer process appends to PostgresLog -> the service's runner -> sink
    -> visible below the live stream's committed horizon (the gate ``recent()`` and search
    use). The watcher reads only record ids of newly visible sequences, so what it times
    is the index, not the rendering of summaries."""
    log = PostgresLog(db)
    await log.start()
    for topic in (DPR_RECORDS, DEAD_LETTERS):
        await log.create_topic(topic, DEFAULT_PARTITIONS[topic])
    index = AuditIndex(db, log, olap, AuditIndexConfig(database=tables.database))
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    producer = ctx.Process(target=_producer, args=(theirs, url, args.rate, args.lag_seconds), daemon=True)
    producer.start()
    planned = args.rate * args.lag_seconds
    await asyncio.to_thread(mine.recv)  # records generated
    stop_search = asyncio.Event()
    if args.split:  # search index here (it owns chDB), chain verifier in its own process
        await index.prepare()
        v_mine, v_theirs = ctx.Pipe()
        verifier = ctx.Process(target=_verifier, args=(v_theirs, url, planned, args.verifier_nice), daemon=True)
        verifier.start()
        await asyncio.to_thread(v_mine.recv)
        search = ConsumerRunner(log, DPR_RECORDS, "audit-index", SearchProcessor(),
                                SearchIndexSink(db, SearchWriter(olap, tables)), index.config.runner)
        search_task = asyncio.create_task(search.run(stop_search))
        v_mine.send("go")
    else:
        await index.start()
    interpreter.freeze_startup_objects()
    mine.send("go")
    cpu0, wall0, pg0, box0 = time.process_time(), time.perf_counter(), postgres_cpu_s(pg_dir), box_busy_s()

    # Only the horizon (one PostgreSQL row) is read while the index works, so the watcher
    # costs the index next to nothing; which sequence each record got is read at the end.
    horizons: list[tuple[int, int]] = []  # (wall ns, horizon): sequences below it are visible

    # (wall ns, the verifier's positions): the service runs the chain verifier too (issue 18)
    verified: list[tuple[int, dict[int, int]]] = []

    async def watch() -> None:
        first = await integrity.tail_horizon(db, "org-lag")
        horizons.append((time.time_ns(), first))
        while horizons[-1][1] - first < planned:
            horizon = await integrity.tail_horizon(db, "org-lag")
            if horizon > horizons[-1][1]:
                horizons.append((time.time_ns(), horizon))
            elif not args.split and index.failure() is not None:
                raise RuntimeError(f"the audit index stopped: {index.failure()}")
            await watch_verifier()
            await asyncio.sleep(0.01)
        while sum(verified[-1][1].values() if verified else [0]) < planned:
            await watch_verifier()
            await asyncio.sleep(0.01)

    # Every ~10 s: cores busy since the last sample, per process and for the whole box, to
    # see which cost grows over the run (printed per minute at the end).
    pids = {"producer": producer.pid, "verifier": verifier.pid if args.split else None}
    usage: list[tuple[float, dict[str, float]]] = [(time.monotonic(), await cpu_now(db, pids, pg_dir))]

    async def sample() -> None:
        while True:
            await asyncio.sleep(10)
            usage.append((time.monotonic(), await cpu_now(db, pids, pg_dir)))

    sampler = asyncio.create_task(sample())

    async def watch_verifier() -> None:
        positions = dict((await integrity.verifier_watermark(db, DPR_RECORDS)).next_offsets)
        if not verified or positions != verified[-1][1]:
            verified.append((time.time_ns(), positions))

    await asyncio.wait_for(watch(), args.lag_seconds + 600)
    sampler.cancel()
    usage.append((time.monotonic(), await cpu_now(db, pids, pg_dir)))  # the last partial minute too
    cpu, wall, pg_cpu = time.process_time() - cpu0, time.perf_counter() - wall0, postgres_cpu_s(pg_dir) - pg0
    box = box_busy_s() - box0
    appended, offered, producer_cpu = await asyncio.to_thread(mine.recv)
    producer.join()
    verifier_cpu = 0.0
    if args.split:
        stop_search.set()
        await search_task
        verifier_cpu = await asyncio.to_thread(v_mine.recv)
        verifier.join()
    else:
        await index.stop()
    await log.close()
    sequences = olap.query(f"SELECT record_id, org_seq FROM {tables.dpr} WHERE org_id = 'org-lag'").rows
    marks = [h for _, h in horizons]  # rising: the first sample above a sequence is when it became visible
    seen = {record_id: horizons[bisect.bisect_right(marks, seq)][0] for record_id, seq in sequences}
    lags = [(seen[r] - t) / 1e6 for r, t in appended.items()]
    server = olap.query(
        f"SELECT quantiles(0.5, 0.95)(dateDiff('millisecond', received_at, indexed_at)) "
        f"FROM {tables.dpr} WHERE org_id = 'org-lag'").scalar()
    n = len(lags)
    per = {"audit index process (search + verifier, as wired)" if not args.split
           else "search index process": cpu / n * 1e6}
    out: list[str] = []
    if args.split:
        per["chain verifier process"] = verifier_cpu / n * 1e6
    # Both modes run the chain verifier (issue 18): time append-to-verified too.
    places = dict(((r, (p, o)) for r, p, o in olap.query(
        f"SELECT record_id, log_partition, log_offset FROM {tables.dpr} WHERE org_id = 'org-lag'").rows))
    steps: dict[int, tuple[list[int], list[int]]] = {}  # partition -> (rising positions, when reached)
    for t, pos in verified:
        for part, offset in pos.items():
            at, when = steps.setdefault(part, ([], []))
            if not at or offset > at[-1]:
                at.append(offset)
                when.append(t)

    def verified_at(record_id: str) -> int:
        part, offset = places[record_id]
        at, when = steps[part]
        return when[bisect.bisect_right(at, offset)]

    checked = [(verified_at(r) - t0) / 1e6 for r, t0 in appended.items()]
    out.append(f"- {'split' if args.split else 'as wired'}: append-to-verified p50 **{pct(checked, 0.5):.0f} ms**, "
               f"p95 **{pct(checked, 0.95):.0f} ms**, max {max(checked):.0f} ms")
    out.extend(by_minute(list(appended.values()), lags, checked))
    out.append(cores_by_minute(usage))
    per["PostgreSQL (this server)"] = pg_cpu / n * 1e6
    per["producer process (appends, as ingest would)"] = producer_cpu / n * 1e6
    cores = os.cpu_count() or 1
    return [
        *out,
        f"- lag at {args.rate:,} DPR/s for {args.lag_seconds} s (a producer process appended at "
        f"{offered:,.0f} DPR/s, 30 % Ed25519-signed; {n:,} records, PostgresLog → runner "
        f"({index.config.runner.max_batch_records:,} / {index.config.runner.max_batch_seconds} s batches) → sink → below the live stream's horizon): append-to-visible p50 "
        f"**{pct(lags, 0.5):.0f} ms**, p95 **{pct(lags, 0.95):.0f} ms**, max {max(lags):.0f} ms; "
        f"received→inserted (server clock) p50 {server[0]:.0f} ms, p95 {server[1]:.0f} ms; "
        f"the last record was visible {wall:.1f} s after the first was appended "
        f"({n / wall:,.0f} DPR/s through the index)",
        "- CPU per DPR in that run: " + "; ".join(f"{k} {v:.0f} µs" for k, v in per.items())
        + f"; together {sum(per.values()):.0f} µs, so this box's {cores} cores carry at most "
        f"**{cores * 1e6 / sum(per.values()):,.0f} DPR/s** through this path at full use",
        f"- the whole box in the same window (/proc/stat: every process and the kernel, on a box with nothing "
        f"else running): {box / n * 1e6:.0f} µs per DPR, so it carries at most **{cores * n / box:,.0f} DPR/s**; "
        f"the processes above are {sum(per.values()) / (box / n * 1e6):.0%} of it",
    ]


def by_minute(appended_ns: list[int], searchable_ms: list[float], verified_ms: list[float]) -> list[str]:
    """Whether the lag is flat: append-to-searchable and append-to-verified p95 per minute of
    append time (a lag that grows minute on minute means the path falls behind)."""
    first = min(appended_ns)
    minutes: dict[int, tuple[list[float], list[float]]] = {}
    for t, a, b in zip(appended_ns, searchable_ms, verified_ms, strict=True):
        slot = minutes.setdefault((t - first) // 60_000_000_000, ([], []))
        slot[0].append(a)
        slot[1].append(b)
    cells = [f"{m + 1}: {pct(a, 0.95) / 1000:.1f} / {pct(b, 0.95) / 1000:.1f}" for m, (a, b) in sorted(minutes.items())]
    return ["- p95 per minute of append time, searchable / verified (s): " + "; ".join(cells)]


def named(url: str, application: str) -> str:
    """``url`` with an ``application_name``: PostgreSQL's backends of each process of the
    bench are told apart in ``pg_stat_activity`` (``cpu_now``)."""
    return f"{url}{'&' if '?' in url else '?'}application_name={application}"


def proc_cpu_s(stat: str) -> float:
    """User + system CPU seconds from a /proc ``stat`` file (a process's or a thread's)."""
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_now(db: Database, pids: dict[str, int | None], pg_dir: Path | None) -> dict[str, float]:
    """CPU seconds so far: this process (search, or the whole index as wired) and its chDB
    threads apart (``chdb:<thread name>``), the processes in ``pids``, this bench's
    PostgreSQL server (``postgres``) and its backends by application or backend type
    (``pg:<name>``: a backend that exits takes its count with it), and the whole box."""
    async with db.connection() as conn:
        backends = await (await conn.execute(
            "SELECT pid, coalesce(nullif(application_name, ''), backend_type) FROM pg_stat_activity")).fetchall()
    return _cpu_of(pids, pg_dir, backends)


def threads_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's other threads, by name without its trailing digits
    (chDB's ``MergeMutate``, ``ThreadPool``, the runner's worker ``python``)."""
    out: dict[str, float] = {}
    me = threading.get_native_id()
    for task in os.listdir("/proc/self/task"):
        if int(task) != me:
            with contextlib.suppress(OSError):
                name = Path(f"/proc/self/task/{task}/comm").read_text().strip().rstrip("0123456789")
                out[name] = out.get(name, 0.0) + proc_cpu_s(f"/proc/self/task/{task}/stat")
    return out


def _cpu_of(pids: dict[str, int | None], pg_dir: Path | None, backends: list[tuple[int, str]]) -> dict[str, float]:
    now = {"search": time.process_time(), "postgres": postgres_cpu_s(pg_dir), "box": box_busy_s()}
    now.update((f"chdb:{name}", cpu) for name, cpu in threads_cpu_s().items())
    for name, pid in pids.items():
        if pid is not None:
            with contextlib.suppress(OSError):
                now[name] = proc_cpu_s(f"/proc/{pid}/stat")
    for pid, name in backends:
        with contextlib.suppress(OSError):
            now[f"pg:{name}"] = now.get(f"pg:{name}", 0.0) + proc_cpu_s(f"/proc/{pid}/stat")
    return now


def cores_by_minute(usage: list[tuple[float, dict[str, float]]]) -> str:
    """Cores each part kept busy, per minute of the run (from samples every ~10 s): which
    cost grows, and how close the box came to its two cores."""
    first = usage[0][0]
    cells = []
    for minute in range(int((usage[-1][0] - first) // 60) + 1):
        window = [u for u in usage if first + minute * 60 <= u[0] <= first + (minute + 1) * 60 + 5]
        if len(window) < 2:
            continue
        (t0, a), (t1, b) = window[0], window[-1]
        busy = {k: (b[k] - a[k]) / (t1 - t0) for k in b if k in a}
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(busy.items()) if v >= 0.01)
        cells.append(f"{minute + 1}: {parts}")
    return "- cores busy per minute of the run: " + "; ".join(cells)


async def wal_report(db: Database, records: int) -> list[str]:
    """PostgreSQL's write-ahead log over the whole bench (the lag run is nearly all of it):
    bytes and full-page images per DPR, checkpoints, and the settings that drive them."""
    async with db.connection() as conn:
        wal = await (await conn.execute("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")).fetchone()
        points = await (await conn.execute(
            "SELECT num_timed, num_requested, buffers_written FROM pg_stat_checkpointer")).fetchone()
        shown = await (await conn.execute(
            "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_compression')")).fetchone()
    assert wal is not None and points is not None and shown is not None
    return [f"- PostgreSQL WAL: {int(wal[0]) / records:,.0f} B/DPR, {int(wal[1]) / records:.2f} full-page images/DPR; "
            f"checkpoints {points[0]} timed, {points[1]} requested, {points[2]:,} buffers written ({shown[0]})"]


async def statements(db: Database, records: int, top: int = 25) -> list[str]:
    """``--pg-statements``: where PostgreSQL's time went, per statement (pg_stat_statements:
    execution time inside the server, all backends; planning is not tracked by default)."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            "SELECT total_exec_time, calls, rows, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
            "ORDER BY total_exec_time DESC LIMIT %s", (top,))).fetchall()
        total = (await (await conn.execute("SELECT sum(total_exec_time) FROM pg_stat_statements")).fetchone())[0]
    out = [f"- PostgreSQL statements by execution time: all {float(total) * 1e3 / records:.1f} µs/DPR"]
    for ms, calls, n, query in rows:
        out.append(f"  - {ms * 1e3 / records:6.2f} µs/DPR, {calls:,} calls, {n:,} rows: {query[:160]}")
    return out


def box_busy_s() -> float:
    """CPU seconds the whole box has been busy since boot (Linux /proc/stat, all cores: user,
    nice, system, irq, softirq and steal; not idle or I/O wait). Over a window on an
    otherwise idle box, that is what the path cost, including what the processes' own counts
    miss: the kernel writing their files, and processes that exited inside the window."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(data_dir: Path | None = None) -> float:
    """CPU seconds used so far by PostgreSQL processes on this host (Linux /proc): with
    ``data_dir``, only the server running on it (its postmaster, found by the data dir on its
    command line, and the postmaster's children: backends, WAL writer, checkpointer); without,
    every PostgreSQL process (which on a shared box counts other people's servers too)."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, CPU seconds)
    postmasters: set[int] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                stats[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
                if data_dir is not None and str(data_dir) in Path(f"/proc/{pid}/cmdline").read_text():
                    postmasters.add(int(pid))
    if data_dir is None:
        return sum(cpu for _, cpu in stats.values())
    return sum(cpu for pid, (parent, cpu) in stats.items() if pid in postmasters or parent in postmasters)


async def start_server(server: EmbeddedPostgres, pg_set: list[str], pg_statements: bool) -> str:
    """Start the bench's own PostgreSQL; with ``pg_set`` (``NAME=VALUE`` items) or
    ``pg_statements`` (load ``pg_stat_statements``), restart it with those settings."""
    url = await asyncio.to_thread(server.start)
    settings = dict(item.split("=", 1) for item in pg_set)
    if pg_statements:
        settings.update(shared_preload_libraries="pg_stat_statements", **{"pg_stat_statements.track": "all"})
    if settings:  # the server again, with these settings
        async with Database(url, max_size=1) as db, db.connection() as conn:
            for name, value in settings.items():
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await asyncio.to_thread(server.stop)
        url = await asyncio.to_thread(server.start)
    if pg_statements:
        async with Database(url, max_size=1) as db, db.connection() as conn:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return url


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()  # as `faramesh-cloud up` / `serve` run the services
    root = Path(args.data_dir or tempfile.mkdtemp(prefix="faramesh-audit-bench-"))
    marker = root / "loaded.txt"
    server = EmbeddedPostgres(root / "pg")
    url = await start_server(server, args.pg_set, args.pg_statements)
    olap = ChdbOlap(root / "chdb")
    try:
        async with Database(named(url, "search"), max_size=4) as db:
            await migrate(db, [("log", "faramesh_cloud.log"), COMPONENT])
            tables = AuditTables("bench")
            ensure_schema(olap, tables)
            if args.lag_only:
                report = await lag(args, db, url, olap, tables, root / "pg")
                report += await wal_report(db, args.rate * args.lag_seconds)
                if args.pg_statements:
                    report += await statements(db, args.rate * args.lag_seconds)
                print("\n".join(report))
                return
            if marker.exists():
                report = [f"- reusing the {marker.read_text().strip()} DPRs loaded earlier in {root}"]
            else:
                batches, generated = source(args, root)
                report = [f"- {generated}"]
                report += await load(args, batches, DprProcessor(), AuditIndexSink(db, IndexWriter(olap, tables)))
                marker.write_text(f"{args.records}\n")
            count = int(olap.query(f"SELECT count() FROM {tables.dpr}").scalar())
            size = olap.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND active").scalar()
            report.append(f"- on disk (chDB): {int(size) / count:.0f} B/DPR including both projections and the raw record")
            report += await queries(args, AuditQueries(olap, db, tables), olap, tables)
            if args.compare_final:
                report += ["", *await compare_final(args, olap, tables)]
            report += ["", *insert_ceiling(olap, tables)]
            report += await lag(args, db, url, olap, tables, root / "pg")
        print("\n".join(report))
    finally:
        olap.close()
        await asyncio.to_thread(server.stop)
        if not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="DPRs to load (10000000 for the 10M run)")
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--queries", type=int, default=40, help="runs per query")
    parser.add_argument("--rate", type=int, default=2_000, help="DPR/s offered in the lag run")
    parser.add_argument("--lag-seconds", type=int, default=20)
    parser.add_argument("--compare-final", action="store_true", help="also time ReplacingMergeTree + FINAL")
    parser.add_argument("--data-dir", help="keep the data here (a later run with the same dir skips the load)")
    parser.add_argument("--cache-dir", help="keep the generated records here (a later run with the same "
                        "--records and --orgs reads them instead of generating: use it for the 10M run)")
    parser.add_argument("--pipelined", action="store_true",
                        help="load as the consumer runner does: process batch N+1 while batch N is written")
    parser.add_argument("--lag-only", action="store_true", help="only the lag run, on an empty index")
    parser.add_argument("--verifier-nice", type=int, default=0, help="--split: niceness added to the verifier "
                        "process (the setting audit_verifier_nice)")
    parser.add_argument("--split", action="store_true", help="lag run with the issue-18 split: search index in "
                        "this process, chain verifier in its own (reports append-to-verified too)")
    parser.add_argument("--pg-statements", action="store_true", help="--lag-only: load pg_stat_statements and "
                        "report PostgreSQL's execution time per statement")
    parser.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                        help="a PostgreSQL setting for the bench's server (ALTER SYSTEM, then a restart); repeatable")
    parser.add_argument("--gen-workers", type=int, default=2, help="processes generating records (1: in this one)")
    asyncio.run(main(parser.parse_args()))
