"""The search index's existence check when a daemon catches up (issue 18).

Every batch the search index asks ClickHouse which of its records it already holds
(``SearchWriter.existing``): by organisation, the batch's ``created_at`` span (the primary
key) and the record ids (a bloom filter per granule). A live batch spans a second or so. A
batch that mixes live records with a daemon's catch-up (its records created an hour ago,
say) spans the whole gap, and every granule of that hour is read or at least probed.

This bench fills ``dpr_records`` (chDB, the real schema) with an hour of rows at 10,000
DPR/s (synthetic columns, written by ClickHouse itself: only the primary key, the record id
and its bloom filter matter here), then times ``existing`` on three batches of 5,000 new
records each: live only, live plus 20 records from 60 minutes earlier, and live plus 20
from each of 30, 45 and 60 minutes earlier. Runs alternate batch kinds, repeated.

    python bench/existence_bench.py [--minutes 60] [--rounds 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faramesh_cloud.audit_index.clickhouse import SearchWriter
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.olap.chdb import ChdbOlap

ORG = "org-bench"
RATE = 10_000  # rows per second of created_at in the filled table
NS = 1_000_000_000


def fill(olap: ChdbOlap, tables: AuditTables, start_ns: int, minutes: int) -> int:
    rows = minutes * 60 * RATE
    step = NS // RATE
    olap.command(
        f"INSERT INTO {tables.dpr} (org_id, stack_id, source, origin_seq, origin_buffer, received_ns, "
        "log_partition, log_offset, org_seq, agent_id, session_id, record_id, created_ns, created_at_text, "
        "effect, action_type, tool_id, record_hash, prev_record_hash, raw) "
        f"SELECT '{ORG}', concat('stack-', toString(number % 4)), 'sync', number, '', "
        f"{start_ns} + number * {step}, toUInt16(number % 16), intDiv(number, 16), number, "
        "concat('agent-', toString(number % 20)), 'sess', generateUUIDv4(number), "
        f"{start_ns} + number * {step}, '', 'PERMIT', 'tool_call', 'http.get', '', '', "
        "concat('{\"n\":', toString(number), '}') "
        f"FROM numbers({rows}) SETTINGS max_insert_block_size = 1000000")
    return rows


def batch(end_ns: int, back_minutes: list[int], live: int = 5_000, late: int = 20) -> list[Any]:
    """``live`` new records created in the last second before ``end_ns``, and ``late`` new
    records created ``m`` minutes before it for each ``m`` in ``back_minutes``."""
    step = NS // live
    rows = [SimpleNamespace(org_id=ORG, created_ns=end_ns - NS + n * step, record_id=str(uuid.uuid4()))
            for n in range(live)]
    for minutes in back_minutes:
        at = end_ns - minutes * 60 * NS
        rows += [SimpleNamespace(org_id=ORG, created_ns=at + n * 1_000_000, record_id=str(uuid.uuid4()))
                 for n in range(late)]
    return rows


def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="faramesh-existence-bench-"))
    olap = ChdbOlap(root / "chdb")
    try:
        tables = AuditTables("bench")
        ensure_schema(olap, tables)
        start_ns = 1_790_000_000 * NS
        began = time.perf_counter()
        rows = fill(olap, tables, start_ns, args.minutes)
        olap.command(f"OPTIMIZE TABLE {tables.dpr} FINAL")  # as after the background merges
        print(f"- filled {rows:,} rows ({args.minutes} min at {RATE:,}/s) in {time.perf_counter() - began:.0f} s")
        end_ns = start_ns + args.minutes * 60 * NS
        writer = SearchWriter(olap, tables)
        kinds = {
            "live only (5,000 records, 1 s)": batch(end_ns, []),
            "live + 20 from 60 min earlier": batch(end_ns, [60]),
            "live + 20 each from 30, 45, 60 min earlier": batch(end_ns, [30, 45, 60]),
        }
        known = [SimpleNamespace(org_id=ORG, record_id=r, created_ns=int(c)) for r, c in olap.query(
            f"SELECT record_id, toUnixTimestamp64Nano(created_at) FROM {tables.dpr} "
            f"WHERE org_seq < 10 OR org_seq >= {rows - 10}").rows]  # the first and the last ten
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.rounds):
            for name, rows_of in kinds.items():
                began = time.perf_counter()
                found = writer.existing(rows_of)
                times[name].append(time.perf_counter() - began)
                assert not found, f"{name}: new records reported as indexed"
        assert len(writer.existing(known)) == len(known) == 20, "indexed records not found across the gap"
        for name, took in times.items():
            print(f"- {name}: median {statistics.median(took) * 1e3:.1f} ms, "
                  f"min {min(took) * 1e3:.1f} ms ({len(took)} runs)")
    finally:
        olap.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60, help="minutes of rows at 10,000/s in the table")
    parser.add_argument("--rounds", type=int, default=15)
    main(parser.parse_args())
