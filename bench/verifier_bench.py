"""The chain verifier alone (issue 18): CPU per DPR of its process and of PostgreSQL while it
works through a log that is already written, so old and new code compare in minutes
instead of five-minute lag runs.

    python bench/verifier_bench.py [--records 200000] [--batch 5000] [--profile 30] [--pg-statements] [--pg-set NAME=VALUE]

The records are the lag run's (``audit_bench._producer``): 20 simulator agents, 30 %
Ed25519-signed, the rest HMAC-only, in ``dpr.records.v1`` of a ``PostgresLog`` on the
bench's own embedded PostgreSQL. Appending is not timed. Then the service's verifier
(``DprProcessor`` + ``VerifierSink``, group ``audit-verifier``, batches of ``--batch``
records: 5,000 is what 0.5 s batches hold at 10k DPR/s) runs until it has placed every
record on its chain; what is timed is that run: this process's CPU, the PostgreSQL server's
(its postmaster and children, /proc), and wall time. It does not wait for a search index
(``after=None``): the wait is a poll, not work.

``--profile N``: also print the N functions with the most cumulative time (cProfile, which
slows the run; the CPU line of a profiled run is not comparable). ``--pg-statements``: the
statements PostgreSQL spent its time on (``pg_stat_statements``).

A measurement, not a test: run it on an idle machine, old and new code in alternating pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_bench import lag_record, lag_values, postgres_cpu_s, start_server, statements
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, DPR_RECORDS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate


def records(total: int) -> list[LogRecord]:
    """The lag run's mix (``audit_bench.lag_values``), one second of 10k DPR/s per 10,000 records."""
    base = time.time_ns() - total * 100_000
    return [lag_record(n, value, base + n * 100_000) for n, value in enumerate(lag_values(total, 10_000, base))]


async def run(args: argparse.Namespace, url: str, pg_dir: Path) -> list[str]:
    async with Database(url, max_size=4) as db:
        await migrate(db, [("log", "faramesh_cloud.log"), COMPONENT])
        log = PostgresLog(db)
        await log.start()
        await log.create_topic(DPR_RECORDS, DEFAULT_PARTITIONS[DPR_RECORDS])
        batch = records(args.records)
        for i in range(0, len(batch), 2_000):
            await log.append(DPR_RECORDS, batch[i:i + 2_000])
        del batch
        async with db.connection() as conn:
            await conn.execute("CHECKPOINT")
            if args.pg_statements:
                await conn.execute("SELECT pg_stat_statements_reset()")
        sink = VerifierSink(db)
        runner = ConsumerRunner(log, DPR_RECORDS, "audit-verifier", DprProcessor(), sink,
                                RunnerConfig(max_batch_records=args.batch, max_batch_seconds=0.5, poll_records=2_000))
        interpreter.freeze_startup_objects()
        profile = cProfile.Profile() if args.profile else None
        cpu0, wall0, pg0 = time.process_time(), time.perf_counter(), postgres_cpu_s(pg_dir)
        if profile:
            profile.enable()
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while sink.stats.verified < args.records and not task.done():
            await asyncio.sleep(0.01)
        stop.set()
        await task
        if profile:
            profile.disable()
        cpu, wall, pg_cpu = time.process_time() - cpu0, time.perf_counter() - wall0, postgres_cpu_s(pg_dir) - pg0
        n = args.records
        out = [f"- verifier over {n:,} records in batches of {args.batch:,}: {wall:.1f} s wall "
               f"({n / wall:,.0f} DPR/s); CPU per DPR: verifier process {cpu / n * 1e6:.1f} µs, "
               f"PostgreSQL {pg_cpu / n * 1e6:.1f} µs, together {(cpu + pg_cpu) / n * 1e6:.1f} µs"
               + (" (profiled: not comparable)" if profile else "")]
        if profile:
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(args.profile)
            out.append(text.getvalue())
        if args.pg_statements:
            out += await statements(db, n)
        await log.close()
    return out


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()
    root = Path(tempfile.mkdtemp(prefix="faramesh-verifier-bench-"))
    server = EmbeddedPostgres(root / "pg")
    url = await start_server(server, args.pg_set, args.pg_statements)
    try:
        print("\n".join(await run(args, url, root / "pg")))
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000, help="the runner's max_batch_records")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions (cProfile)")
    parser.add_argument("--pg-statements", action="store_true", help="per-statement time (pg_stat_statements)")
    parser.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                        help="a PostgreSQL setting for the bench's server (repeatable)")
    asyncio.run(main(parser.parse_args()))
