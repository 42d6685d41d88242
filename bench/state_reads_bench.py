"""Where the reads take a row's verification state from (issue 18, docs/audit-index.md
"Reads: the state at read"): the open critical findings passed to ClickHouse as an array
parameter (read from PostgreSQL with the query) against a ``dpr_findings`` ClickHouse table
semi-joined, for the state filters of a search page and of the counts.

    python -m bench.state_reads_bench [--records 100000] [--rounds 5]

The rows are the lag run's mix (``split_stages_bench.messages``), inserted with today's
writer into the real schema; F of them are named by a critical finding (F = 0, 100, 1,000,
10,000, 100,000 capped at the table). Each query runs ``--rounds`` times per variant,
interleaved, and the median wall time is reported, with the Python cost of building the
parameter (``row_state.Named`` over F findings and the clause's parameters).

A measurement, not a test: run it on an idle machine and say how busy it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.split_stages_bench import messages
from faramesh_cloud.audit_index import row_state
from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.domain import ChainFinding, IndexedRecord, LinkStatus, Severity
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.audit_index.verification_state import COVERED_SQL, Watermark
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.olap.chdb import ChdbOlap

ORG = "org-lag"
PAGE = ("SELECT record_id FROM {table} WHERE org_id = {{org:String}} AND {state} "
        "ORDER BY created_at DESC LIMIT 151")
COUNTS = "SELECT effect, count() FROM {table} WHERE org_id = {{org:String}} AND {state} GROUP BY effect"
JOINED = ("((log_partition, log_offset) IN (SELECT log_partition, log_offset FROM {findings} "
          "WHERE org_id = {{org:String}}))")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main(args: argparse.Namespace) -> None:
    processor = DprProcessor()
    rows: list[IndexedRecord] = [processor.process(m) for m in messages(args.records)]  # type: ignore[misc]
    root = Path(tempfile.mkdtemp(prefix="state-reads-"))
    try:
        olap = ChdbOlap(root / "chdb")
        tables = AuditTables("reads")
        ensure_schema(olap, tables)
        writer = IndexWriter(olap, tables)
        for i in range(0, len(rows), 10_000):
            batch = rows[i:i + 10_000]
            writer.insert(batch, [LinkStatus.LINKED] * len(batch), list(range(i, i + len(batch))))
        findings_table = "reads.dpr_findings"
        olap.command(f"CREATE TABLE {findings_table} (org_id LowCardinality(String), log_partition UInt16, "
                     "log_offset UInt64) ENGINE = MergeTree ORDER BY (org_id, log_partition, log_offset)")
        mark = Watermark({p: 10**12 for p in range(8)})  # everything checked
        print(f"{len(rows):,} rows; load average {os.getloadavg()[0]:.1f}; median of {args.rounds} rounds, ms")
        print("| F (critical findings) | param build | page verified: param / table | page failed: param / table "
              "| counts failed: param / table |")
        print("|---|---|---|---|---|")
        for f in (0, 100, 1_000, 10_000, 100_000):
            f = min(f, len(rows))
            named_rows = rows[:: max(1, len(rows) // f)][:f] if f else []
            findings = [ChainFinding(ORG, r.stack_id, r.agent_id, r.record_id, r.record_hash,
                                     "record_hash_mismatch", Severity.CRITICAL, "", 0, r.log_position, "", 0)
                        for r in named_rows]
            olap.command(f"TRUNCATE TABLE {findings_table}")
            if named_rows:
                olap.insert_columns(findings_table, ("org_id", "log_partition", "log_offset"),
                                    [[ORG] * f, [r.partition for r in named_rows], [r.offset for r in named_rows]])
            build: list[float] = []
            results: dict[str, list[float]] = {k: [] for k in ("pv", "tv", "pf", "tf", "pc", "tc")}
            for _ in range(args.rounds):
                box: dict[str, Any] = {}

                def make(box: dict[str, Any] = box, findings: list[ChainFinding] = findings) -> None:
                    box["v"] = row_state.state_clause("verified", mark, row_state.Named.of(DPR_RECORDS, findings))
                    box["f"] = row_state.state_clause("failed", mark, row_state.Named.of(DPR_RECORDS, findings))

                build.append(timed(make))
                (v_sql, v_params), (f_sql, f_params) = box["v"], box["f"]
                joined = JOINED.format(findings=findings_table)
                base = {"org": ORG, "verifier": row_state.verifier_param(mark)}
                covered = f"({COVERED_SQL})"
                cases = {
                    "pv": (PAGE, v_sql, v_params), "tv": (PAGE, f"{covered} AND NOT {joined}", base),
                    "pf": (PAGE, f_sql, f_params), "tf": (PAGE, f"{covered} AND {joined}", base),
                    "pc": (COUNTS, f_sql, f_params), "tc": (COUNTS, f"{covered} AND {joined}", base),
                }
                for key, (template, state, params) in cases.items():
                    sql = template.format(table=tables.dpr, state=state)
                    results[key].append(timed(lambda sql=sql, params=params: olap.query(sql, {"org": ORG, **params})))
            m = {k: statistics.median(v) for k, v in results.items()}
            print(f"| {f:,} | {statistics.median(build):.2f} | {m['pv']:.1f} / {m['tv']:.1f} | "
                  f"{m['pf']:.1f} / {m['tf']:.1f} | {m['pc']:.1f} / {m['tc']:.1f} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args())
