"""chDB's background merges of ``dpr_records`` under the lag run's insert stream (issue 18).

    python -m bench.merge_bench [--rate 10000] [--seconds 300] [--pool 100000]
                                --variant NAME:BATCH_SECONDS[:SETTING=VALUE,...] ...

In the five-minute lag runs chDB's merges grew from ~0.09 cores in the first minute to
0.2-0.37 in the fifth, at a constant rate. This bench isolates them: each ``--variant`` is a
process of its own with its own chDB, holding the real ``dpr_records`` table (``ensure_schema``)
with ClickHouse's default MergeTree settings (the schema's ``MERGE_SETTINGS`` reset) and then
the variant's (``ALTER TABLE ... MODIFY SETTING``), into which it
inserts the search index's columns at ``--rate`` rows a second, one insert every BATCH_SECONDS
(the search index's ``max_batch_seconds``: the batch it cuts at that rate). The variants run
side by side, so the box's speed, which moves by a third within an hour here, is the same for
all of them.

The rows: ``--pool`` lag-run records (``audit_bench.lag_values``: 20 agents, 30 % Ed25519,
one organisation, four stacks) through ``SearchProcessor`` into ``search_columns`` once; the
pool is inserted over and over with fresh ``created_ns`` (now), log offsets and org_seq, so
each insert is what the search index would send at that moment, minus the Python work of
building it (not what is measured here).

Each variant reports, per minute, the cores its merge threads (``MergeMutate``) and the whole
process kept busy, and at the end its CPU per row (process, merges) and its active parts with
their highest merge level. ``--query-rounds N`` then times the explorer's commonest queries on
each variant's table as the run left it, one variant at a time (more parts, more to merge at
read). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection

import msgspec

from bench.audit_bench import lag_record, lag_values, threads_cpu_s
from faramesh_cloud.audit_index.clickhouse import INSERT_COLUMNS, search_columns
from faramesh_cloud.audit_index.schema import MERGE_SETTINGS, AuditTables, ensure_schema
from faramesh_cloud.audit_index.search_processor import SearchProcessor, SearchRow
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.port import Message
from faramesh_cloud.olap.chdb import ChdbOlap

_CREATED = INSERT_COLUMNS.index("created_ns")
_OFFSET = INSERT_COLUMNS.index("log_offset")
_SEQ = INSERT_COLUMNS.index("org_seq")
_RECEIVED = INSERT_COLUMNS.index("received_ns")
_RECORD_ID = INSERT_COLUMNS.index("record_id")


def pool_columns(count: int, rate: int) -> list[list[object]]:
    base = time.time_ns()
    rows = []
    processor = SearchProcessor()
    for n, value in enumerate(lag_values(count, rate, base)):
        record = lag_record(n, value, base)
        row = processor.process(Message(DPR_RECORDS, 0, n, record.key, value, record.headers, 0))
        assert isinstance(row, SearchRow), row
        rows.append(row)
    return search_columns(rows, list(range(count)))


def merges_cpu_s() -> float:
    return threads_cpu_s().get("MergeMutate", 0.0)


def _variant(conn: Connection, name: str, batch_s: float, settings: dict[str, str], rate: int,
             seconds: int, pool: int, rounds: int) -> None:
    columns = pool_columns(pool, rate)
    with tempfile.TemporaryDirectory(prefix=f"merge-bench-{name}-") as data:
        olap = ChdbOlap(data)
        tables = AuditTables("merge_bench")
        ensure_schema(olap, tables)
        # From ClickHouse's defaults, not the schema's MERGE_SETTINGS: a variant names all it sets.
        olap.command(f"ALTER TABLE {tables.dpr} RESET SETTING {', '.join(MERGE_SETTINGS)}")
        for key, value in settings.items():
            olap.command(f"ALTER TABLE {tables.dpr} MODIFY SETTING {key} = {value}")
        conn.send("ready")
        conn.recv()
        per_batch = int(rate * batch_s)
        samples: list[tuple[float, float, float]] = []
        started = time.monotonic()
        cpu0, merge0 = time.process_time(), merges_cpu_s()
        next_sample = started
        n = 0
        while n < rate * seconds:
            now_ns = time.time_ns()
            start = n % pool
            stop = min(start + per_batch, pool)
            batch = [col[start:stop] for col in columns]
            k = stop - start
            batch[_CREATED] = [now_ns + i * 1_000_000_000 // rate for i in range(k)]
            batch[_RECEIVED] = [now_ns] * k
            batch[_OFFSET] = list(range(n, n + k))
            batch[_SEQ] = list(range(n + 1, n + k + 1))
            olap.insert_columns(tables.dpr, INSERT_COLUMNS, batch)
            n += k
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic(), time.process_time() - cpu0, merges_cpu_s() - merge0))
                next_sample += 10
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
        samples.append((time.monotonic(), time.process_time() - cpu0, merges_cpu_s() - merge0))
        parts = olap.query("SELECT count(), max(level), sum(rows) FROM system.parts "
                           "WHERE database = 'merge_bench' AND table = 'dpr_records' AND active").rows[0]
        conn.send(msgspec.json.encode({"samples": samples, "inserted": n, "parts": list(parts),
                                       "wall": time.monotonic() - started}))
        if conn.recv() == "query":  # the parent lets one variant query at a time
            conn.send(msgspec.json.encode(query_times(olap, tables.dpr, str(columns[_RECORD_ID][pool // 2]), rounds)))
        olap.close()


# What the explorer asks most, on the parts as the run left them (the more parts, the more
# each query merges): newest page, one agent's last minute (the p_agent projection), counts
# by effect over everything, Explain by record id (the bloom filter).
QUERIES = {
    "newest 50": "SELECT record_id, created_at, effect FROM {t} WHERE org_id = 'org-lag' "
                 "ORDER BY created_at DESC LIMIT 50",
    "agent, last minute, 50": "SELECT record_id, created_at, effect FROM {t} WHERE org_id = 'org-lag' "
                              "AND agent_id = 'lag-agent-3' AND created_at >= now64() - INTERVAL 1 MINUTE "
                              "ORDER BY created_at DESC LIMIT 50",
    "count by effect": "SELECT effect, count() FROM {t} WHERE org_id = 'org-lag' GROUP BY effect",
    "explain by id": "SELECT raw FROM {t} WHERE org_id = 'org-lag' AND record_id = '{id}' LIMIT 1",
}


def query_times(olap: ChdbOlap, table: str, record_id: str, rounds: int) -> dict[str, float]:
    """Median ms of each query over ``rounds`` runs (after one warm-up)."""
    out = {}
    for name, sql in QUERIES.items():
        text = sql.format(t=table, id=record_id)
        olap.query(text)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            olap.query(text)
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = statistics.median(times)
    return out


def by_minute(samples: list[list[float]], index: int) -> list[float]:
    first = samples[0][0]
    out = []
    for minute in range(int((samples[-1][0] - first) // 60) + 1):
        window = [s for s in samples if first + minute * 60 <= s[0] <= first + (minute + 1) * 60 + 5]
        if len(window) >= 2:
            out.append((window[-1][index] - window[0][index]) / (window[-1][0] - window[0][0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--pool", type=int, default=100_000, help="distinct records, inserted in turn")
    parser.add_argument("--query-rounds", type=int, default=0,
                        help="then time the explorer's queries this many times per variant, one variant at a time")
    parser.add_argument("--variant", action="append", required=True,
                        help="NAME:BATCH_SECONDS[:SETTING=VALUE,...], e.g. base:0.5 or wide:1.0:merge_selector_base=10")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    runs = []
    for spec in args.variant:
        name, batch, *rest = spec.split(":")
        settings = dict(kv.split("=", 1) for kv in rest[0].split(",")) if rest and rest[0] else {}
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_variant, args=(theirs, name, float(batch), settings, args.rate,
                                                    args.seconds, args.pool, args.query_rounds), daemon=True)
        proc.start()
        runs.append((spec, mine, proc))
    for _, mine, _ in runs:
        mine.recv()
    for _, mine, _ in runs:
        mine.send("go")
    print(f"# merge_bench: {args.rate} rows/s for {args.seconds} s, variants side by side, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    results = [msgspec.json.decode(mine.recv()) for _, mine, _ in runs]
    queried = []
    for _, mine, _ in runs:
        mine.send("query" if args.query_rounds else "done")
        queried.append(msgspec.json.decode(mine.recv()) if args.query_rounds else {})
    for (spec, _, proc), result, times in zip(runs, results, queried, strict=True):
        proc.join()
        samples, inserted = result["samples"], result["inserted"]
        merge_s, cpu_s = samples[-1][2], samples[-1][1]
        print(f"- {spec}: {inserted} rows in {result['wall']:.0f} s; process {cpu_s / inserted * 1e6:.1f} µs/row, "
              f"merges {merge_s / inserted * 1e6:.1f} µs/row; active parts {result['parts'][0]} "
              f"(max level {result['parts'][1]})")
        print("  merges, cores per minute: " + ", ".join(f"{v:.2f}" for v in by_minute(samples, 2)))
        print("  process, cores per minute: " + ", ".join(f"{v:.2f}" for v in by_minute(samples, 1)))
        if times:
            print("  queries, median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
