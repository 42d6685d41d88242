"""CPU per DPR of the split's consumer processes end to end, on the real log (issue 18).

    python -m bench.search_path_bench [--records 30000] [--rounds 3] [--role search|verifier|log]
                                      [--py-spy FILE] [--batch 10000] [--poll 2000]
    python -m bench.search_path_bench --processor [--records 30000]

The lag run's records (``audit_bench._producer``'s mix: 20 simulator agents, 30 % Ed25519, the
rest HMAC-only, origin headers as ingest writes them) are appended once to ``dpr.records.v1`` of
a ``PostgresLog`` in an embedded PostgreSQL, in 500-record appends (the producer's 50 ms ticks
at 10k DPR/s). Then, ``--rounds`` times, a fresh consumer group reads all of them through the
real ``ConsumerRunner`` with the service's batch settings into the role's real sink:

* ``search``: ``SearchProcessor`` + ``SearchIndexSink`` (group ``audit-index``'s work: the
  log read, ``Message`` building, decode, the sink's PostgreSQL transaction, the existence
  check and the chDB insert), each round into a new chDB database and with the projection's
  positions reset, so every round indexes every record as new;
* ``verifier``: ``DprProcessor`` + ``VerifierSink`` (group ``audit-verifier``), with the
  chain tables emptied before each round;
* ``log``: the runner over the log with a processor that returns nothing: what every group
  pays for reading the log (the fetch, ``Message`` building, header decode, the commits).

``--skip existing`` / ``--skip insert`` leave that step of the search sink out (wrong results,
right cost accounting: the difference is what the step costs end to end).

Each round reports this process's CPU time (every thread: the runner's worker, chDB's), the
part of it spent on the event loop's thread (the log read and ``Message`` building, the sink's
PostgreSQL client side, the runner's bookkeeping; not the processor, which runs in the
runner's worker thread, nor the chDB calls, which run in threads) and the bench's own
PostgreSQL server's CPU (its postmaster's children, exited ones included), per DPR, and the
median over rounds. Compare code versions by running this file from each checkout in turn (alternating),
never wall time: the box is shared. ``--py-spy FILE`` samples one extra round with py-spy
(every thread, native frames off) into FILE (speedscope/raw by extension).

``--processor`` instead times the search index's processor alone on the same records, in this
process, alternating 5 times: the check as the search index ran it before (``DprProcessor.check``
with the canonical bytes built, as ``decode_record`` does) and as it runs now
(``canonical=False``: ``decode_record_view``, the same checks without the bytes).

A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.audit_bench import lag_record, lag_values
from faramesh_cloud.audit_index.clickhouse import SearchWriter
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.audit_index.search_processor import SearchProcessor
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
)
from faramesh_cloud.log.port import Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate


def postgres_cpu_s(data_dir: Path) -> float:
    """CPU seconds of the PostgreSQL server on ``data_dir`` so far: its postmaster, its live
    children, and (the postmaster's cutime/cstime) the children that have exited, such as a
    consumer's own session closed at the end of a round."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float, float]] = {}  # pid -> (parent, own CPU, reaped children's CPU)
    postmasters: set[int] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                stats[int(pid)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick)
                if str(data_dir) in Path(f"/proc/{pid}/cmdline").read_text():
                    postmasters.add(int(pid))
    return sum(own + (reaped if pid in postmasters else 0.0)
               for pid, (parent, own, reaped) in stats.items() if pid in postmasters or parent in postmasters)


CHAIN_TABLES = ("audit_chain_records", "audit_chain_agents", "audit_chain_findings", "audit_chain_checkpoints",
                "audit_alerts", "audit_alert_closures", "audit_index_outbox")


async def append_records(log: PostgresLog, total: int) -> None:
    values = lag_values(total, 10_000, time.time_ns() - total * 100_000)
    for first in range(0, total, 500):
        now = time.time_ns()
        await log.append(DPR_RECORDS, [lag_record(n, values[n], now) for n in range(first, min(total, first + 500))])


async def reset(db: Database, role: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM audit_index_positions")
        await conn.execute("DELETE FROM audit_index_attempts")
        if role == "verifier":
            await conn.execute(f"TRUNCATE {', '.join(CHAIN_TABLES)} CASCADE")  # fixed names


class _Nothing:
    def process(self, message: Message) -> None:
        return None


class _Count:
    async def write(self, rows: object) -> None:
        return None


async def one_round(args: argparse.Namespace, db: Database, log: PostgresLog, olap: ChdbOlap,
                    round_: int, pg_dir: Path) -> tuple[float, float]:
    await reset(db, args.role)
    config = RunnerConfig(max_batch_records=args.batch, max_batch_seconds=0.5, poll_records=args.poll,
                          **({"dead_letter_topic": DEAD_LETTERS} if args.role == "search"
                             else {"rejects_parked_by": "audit-index"}))
    if args.skip == "existing":  # what the existence check costs: leave it out (a measurement only)
        SearchWriter.existing = lambda self, rows: {}  # type: ignore[method-assign]
    elif args.skip == "insert":  # what the chDB insert costs (and the merges it causes)
        SearchWriter.insert = lambda self, rows, seqs: None  # type: ignore[method-assign]
    if args.role == "log":  # the runner and the log read alone: no processing, nothing written
        counted = _Count()
        runner = ConsumerRunner(log, DPR_RECORDS, f"log-r{round_}", _Nothing(), counted, config)

        def done() -> bool:
            return runner.stats.messages >= args.records
    elif args.role == "search":
        tables = AuditTables(f"r{os.getpid()}_{round_}")
        await asyncio.to_thread(ensure_schema, olap, tables)
        sink: SearchIndexSink | VerifierSink = SearchIndexSink(db, SearchWriter(olap, tables))
        runner = ConsumerRunner(log, DPR_RECORDS, f"search-r{round_}", SearchProcessor(), sink, config)

        def done() -> bool:
            return sink.stats.indexed >= args.records  # type: ignore[union-attr]
    else:
        sink = VerifierSink(db)
        runner = ConsumerRunner(log, DPR_RECORDS, f"verify-r{round_}", DprProcessor(), sink, config)

        def done() -> bool:
            return sink.stats.verified >= args.records  # type: ignore[union-attr]
    stop = asyncio.Event()
    pg0 = postgres_cpu_s(pg_dir)  # first: reading /proc costs this process ~20 ms
    cpu0, main0 = time.process_time(), time.thread_time()
    task = asyncio.create_task(runner.run(stop))
    while not done() and not task.done():
        await asyncio.sleep(0.02)
    stop.set()
    await task
    cpu, main, pg_cpu = time.process_time() - cpu0, time.thread_time() - main0, postgres_cpu_s(pg_dir) - pg0
    if args.role == "search":
        olap.command(f"DROP DATABASE {tables.database} SYNC")
    return cpu / args.records * 1e6, main / args.records * 1e6, pg_cpu / args.records * 1e6


def processor_only(args: argparse.Namespace) -> None:
    base = time.time_ns()
    messages = []
    for n, value in enumerate(lag_values(args.records, 10_000, base)):
        record = lag_record(n, value, base)
        messages.append(Message(DPR_RECORDS, 0, n, record.key, value, record.headers, 0))
    checker = DprProcessor()
    search = SearchProcessor()
    times: dict[str, list[float]] = {"check with canonical bytes (before)": [], "check, view only (now)": [],
                                     "SearchProcessor.process (now)": []}
    for _ in range(5):
        for label, run in (("check with canonical bytes (before)", lambda m: checker.check(m)),
                           ("check, view only (now)", lambda m: checker.check(m, canonical=False)),
                           ("SearchProcessor.process (now)", search.process)):
            start = time.process_time()
            for message in messages:
                run(message)
            times[label].append((time.process_time() - start) / len(messages) * 1e6)
    for label, values in times.items():
        print(f"{label}: median {statistics.median(values):.2f} µs/DPR (min {min(values):.2f}, max {max(values):.2f})")


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()
    root = Path(tempfile.mkdtemp(prefix="faramesh-search-path-"))
    server = EmbeddedPostgres(root / "pg")
    url = await asyncio.to_thread(server.start)
    olap = ChdbOlap(root / "chdb")
    try:
        async with Database(url, max_size=4) as db:
            await migrate(db, [("log", "faramesh_cloud.log"), COMPONENT])
            log = PostgresLog(db)
            await log.start()
            for topic in (DPR_RECORDS, DEAD_LETTERS):
                await log.create_topic(topic, DEFAULT_PARTITIONS[topic])
            await append_records(log, args.records)
            interpreter.freeze_startup_objects()
            await one_round(args, db, log, olap, 0, root / "pg")  # warm-up, not counted
            results = []
            for round_ in range(1, args.rounds + 1):
                results.append(await one_round(args, db, log, olap, round_, root / "pg"))
                print(f"round {round_}: {args.role} process {results[-1][0]:.1f} µs/DPR (event loop "
                      f"{results[-1][1]:.1f}), PostgreSQL {results[-1][2]:.1f} µs/DPR", flush=True)
            if args.py_spy:
                spy = await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).with_name("py-spy")), "record", "-r", "200", "-o", args.py_spy,
                    "-f", "speedscope" if args.py_spy.endswith(".json") else "raw", "-p", str(os.getpid()),
                    stdout=asyncio.subprocess.DEVNULL)
                await asyncio.sleep(1.0)
                await one_round(args, db, log, olap, args.rounds + 1, root / "pg")
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
                await asyncio.wait_for(spy.wait(), 60)
            await log.close()
        procs = [r[0] for r in results]
        loops = [r[1] for r in results]
        pgs = [r[2] for r in results]
        print(f"{args.role}: {args.records:,} records, batch {args.batch}, poll {args.poll}; median of "
              f"{args.rounds}: process {statistics.median(procs):.1f} µs/DPR (min {min(procs):.1f}, max "
              f"{max(procs):.1f}), of which the event loop's thread {statistics.median(loops):.1f}, PostgreSQL {statistics.median(pgs):.1f} µs/DPR (min {min(pgs):.1f}, "
              f"max {max(pgs):.1f}); load average {os.getloadavg()[0]:.1f}")
    finally:
        olap.close()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=("search", "verifier", "log"), default="search")
    parser.add_argument("--batch", type=int, default=10_000, help="max_batch_records (the service's: 10000)")
    parser.add_argument("--poll", type=int, default=2_000, help="poll_records (the bench's lag run: 2000)")
    parser.add_argument("--py-spy", help="sample one more round with py-spy into this file")
    parser.add_argument("--skip", choices=("existing", "insert"),
                        help="search role: leave out the existence check or the chDB insert, to see its cost")
    parser.add_argument("--processor", action="store_true", help="time the search processor's check alone")
    parsed = parser.parse_args()
    if parsed.processor:
        processor_only(parsed)
    else:
        asyncio.run(main(parsed))
