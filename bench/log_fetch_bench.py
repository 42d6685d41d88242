"""What PostgresLog's fetch costs the server per poll (issue 18): today's query, or another
one named by file.

    python bench/log_fetch_bench.py [--records 200000] [--rounds 6] [--vs OLD_PG_CONSUMER_PY]

Appends the lag run's records (``verifier_bench.records``) to ``dpr.records.v1`` of a
PostgresLog on the bench's own embedded PostgreSQL, then times polls of 2,000 records (the
runners' ``poll_records``) over its 8 partitions: wall time per row on the client (psycopg,
binary, as the consumer reads) in alternating rounds, and the server's execution time per
poll (``EXPLAIN ANALYZE``, median of 10). ``--vs``: a ``pg_consumer.py`` of another version
(``git show <rev>:faramesh_cloud/log/pg_consumer.py > old.py``) whose ``_FETCH`` runs
alternately with today's; a query with a ``%(limit)s`` parameter (before the cut at
``max_records`` moved to the client, ``pg_consumer.fair_cut``) gets it too.

A measurement, not a test: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.verifier_bench import records
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, DPR_RECORDS
from faramesh_cloud.log import pg_consumer
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate

POLL = 2_000


def fetch_of(path: str) -> str:
    text = Path(path).read_text()
    start = text.index('_FETCH = """') + len('_FETCH = """')
    return text[start:text.index('"""', start)]


def params(query: str, topic: int, starts: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"parts": list(range(len(starts))), "starts": starts, "topic": topic,
                           "budget": 1 << 20, "per_partition": -(-POLL // len(starts))}
    if "%(limit)s" in query:  # before the cut moved to the client
        out["limit"] = POLL
    return out


async def fill(url: str, total: int) -> None:
    async with Database(url, max_size=2) as db:
        await migrate(db, [("log", "faramesh_cloud.log")])
        log = PostgresLog(db)
        await log.start()
        await log.create_topic(DPR_RECORDS, DEFAULT_PARTITIONS[DPR_RECORDS])
        batch = records(total)
        for i in range(0, total, 2_000):
            await log.append(DPR_RECORDS, batch[i:i + 2_000])
        await log.close()


def main(args: argparse.Namespace) -> None:
    queries = {"today": pg_consumer._FETCH}
    if args.vs:
        queries["--vs"] = fetch_of(args.vs)
    root = Path(tempfile.mkdtemp(prefix="faramesh-fetch-bench-"))
    try:
        with EmbeddedPostgres(root / "pg") as server:
            asyncio.run(fill(server.url(), args.records))
            with psycopg.connect(server.url()) as conn:
                row = conn.execute("SELECT topic_id, partitions FROM log_topics").fetchone()
                assert row is not None
                topic, partitions = row
                depth = args.records // partitions // 2  # a start well inside every partition
                wall: dict[str, list[float]] = {name: [] for name in queries}
                for _ in range(args.rounds):
                    for name, query in queries.items():
                        began, rows = time.perf_counter(), 0
                        for k in range(40):
                            starts = [(k * 250) % depth] * partitions
                            rows += len(conn.cursor(binary=True).execute(query, params(query, topic, starts)).fetchall())
                        wall[name].append((time.perf_counter() - began) / rows * 1e6)
                for name, query in queries.items():
                    served = []
                    for k in range(10):
                        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query,
                                            params(query, topic, [(k * 250) % depth] * partitions)).fetchone()
                        assert plan is not None
                        served.append(plan[0][0]["Execution Time"])
                    print(f"- {name}: client wall {statistics.median(wall[name]):.2f} µs per row (median of "
                          f"{args.rounds} rounds: {', '.join(f'{w:.2f}' for w in wall[name])}); server execution "
                          f"{statistics.median(served):.2f} ms per poll of up to {POLL:,}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--vs", help="another version's pg_consumer.py, timed alternately")
    main(parser.parse_args())
