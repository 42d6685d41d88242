"""CPU per DPR of each stage of the audit index, on the lag run's record mix, and the costs
that decide how a verification state reaches ClickHouse (issue 18, docs/audit-index.md
"Searchable first, verified right after").

    python -m bench.split_stages_bench [--records 30000] [--rounds 5]

The records are the lag run's (``audit_bench._producer``): 20 simulator agents, 30 %
Ed25519-signed, the rest HMAC-only, as ``dpr.records.v1`` messages with origin headers. Each
stage runs over the same 10,000-record batches ``--rounds`` times, interleaved, and reports
the median CPU (``time.process_time``: this process and chDB's threads) per DPR:

* today's processor (``DprProcessor.process``: decode, canonical bytes, SHA-256, Ed25519);
* its parts: the kernel's one-pass decode (``decode_record``, which also builds the canonical
  bytes), a plain typed decode of only the columns search filters on (what a search index
  needs), the record hash, the content hash, the Ed25519 check;
* the chain projection (``chain.project``, pure, chains starting empty);
* ClickHouse: today's wide row insert (``IndexWriter.insert``, Arrow through a temp file and
  ``INSERT ... FROM INFILE``); a narrow verdict row per record (a second table joined at
  read); the existence check for a batch of new records (what the search index pays to
  dedupe without the verifier's chain state); an ``ALTER TABLE ... UPDATE`` of one
  batch's rows (a mutation per batch).

A measurement, not a test: run it on an idle machine and say how busy it was.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bench.audit_bench import lag_record, lag_values
from faramesh_cloud.audit_index.chain import project
from faramesh_cloud.audit_index.clickhouse import IndexWriter
from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.dpr.canonical import hash_bytes
from faramesh_cloud.dpr.signatures import check_ed25519
from faramesh_cloud.dpr.view import decode_record
from faramesh_cloud.events.topics import DPR_RECORDS, Origin
from faramesh_cloud.log.port import Message, partition_for
from faramesh_cloud.olap.chdb import ChdbOlap

BATCH = 10_000


class SearchColumns(msgspec.Struct):
    """Only what a search index stores and filters on (no canonical bytes)."""

    record_id: str
    agent_id: str
    created_at: str
    record_hash: str
    prev_record_hash: str
    lamport_seq: int = 0
    session_id: str | None = None
    tool_id: str | None = None
    action_type: str | None = None
    effect: str | None = None
    matched_rule_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    intercept_adapter: str | None = None
    policy_version: str | None = None
    incident_severity: str | None = None
    schema_version: str | None = None
    signature: str | None = None
    hmac_signature: str | None = None


def messages(total: int) -> list[Message]:
    base = time.time_ns()
    out = []
    for n, value in enumerate(lag_values(total, 10_000, base)):
        record = lag_record(n, value, base + n * 100_000)
        out.append(Message(DPR_RECORDS, partition_for(record.key, 8), n, record.key, value, record.headers,
                           base // 1_000_000))
    return out


def cpu_per(fn: Callable[[], Any], n: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) / n * 1e6


def main(args: argparse.Namespace) -> None:
    msgs = messages(args.records)
    batches = [msgs[i:i + BATCH] for i in range(0, len(msgs), BATCH)]
    processor = DprProcessor()
    indexed = [[processor.process(m) for m in b] for b in batches]
    decoded = [[decode_record(m.value) for m in b] for b in batches]
    root = Path(tempfile.mkdtemp(prefix="split-stages-"))
    olap = ChdbOlap(root / "chdb")
    tables = AuditTables("stages")
    ensure_schema(olap, tables)
    olap.command(
        "CREATE TABLE IF NOT EXISTS stages.verdicts (org_id LowCardinality(String), stack_id LowCardinality(String), "
        "agent_id LowCardinality(String), record_id String, created_ns Int64 EPHEMERAL, "
        "created_at DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(created_ns, 'UTC'), "
        "hash_valid Bool, signature_status Enum8('unsigned' = 0, 'valid' = 1, 'invalid' = 2, 'untrusted' = 3), "
        "link_status Enum8('linked' = 0, 'gap' = 1, 'broken_link' = 2, 'invalid_genesis' = 3, 'regenesis' = 4, "
        "'duplicate' = 5, 'unchecked' = 6)) ENGINE = MergeTree "
        "PARTITION BY (org_id, toYYYYMM(created_at)) ORDER BY (org_id, created_at)")
    writer = IndexWriter(olap, tables)
    round_no = [0]

    def wide(b: list[IndexedRecord]) -> None:  # fresh identities each round: as new records
        n = round_no[0]
        rows = [msgspec.structs.replace(r, content_sha256=f"{n}-{r.content_sha256}") for r in b]
        writer.insert(rows, [LinkStatus.LINKED] * len(rows), list(range(len(rows))))

    def narrow(b: list[IndexedRecord]) -> None:
        olap.insert_columns("stages.verdicts", ("org_id", "stack_id", "agent_id", "record_id", "created_ns",
                                                "hash_valid", "signature_status", "link_status"),
                            [[r.org_id for r in b], [r.stack_id for r in b], [r.agent_id for r in b],
                             [r.record_id for r in b], [r.created_ns for r in b], [r.hash_valid for r in b],
                             [r.signature_status.value for r in b], ["linked"] * len(b)])

    def mutate(b: list[IndexedRecord]) -> None:
        olap.command("ALTER TABLE stages.dpr_records UPDATE link_status = 'gap' WHERE org_id = 'org-lag' "
                     "AND record_id IN {ids:Array(String)} SETTINGS mutations_sync = 1",
                     {"ids": [r.record_id for r in b]})

    fresh = [[msgspec.structs.replace(r, meta=msgspec.structs.replace(r.meta, record_id=f"new-{r.record_id}"))
              for r in b] for b in indexed]
    stages: dict[str, Callable[[int], Any]] = {
        "processor today (decode + canonical + SHA-256 + Ed25519)":
            lambda i: [processor.process(m) for m in batches[i]],
        "kernel one-pass decode (decode_record: view + canonical bytes)":
            lambda i: [decode_record(m.value) for m in batches[i]],
        "typed decode of the search columns only (no canonical bytes)":
            lambda i: [msgspec.json.decode(m.value, type=SearchColumns) for m in batches[i]],
        "origin headers": lambda i: [Origin.from_headers(m.headers) for m in batches[i]],
        "record hash (SHA-256 of canonical)": lambda i: [hash_bytes(d[1]) for d in decoded[i] if d],
        "content hash (SHA-256 of raw)": lambda i: [hashlib.sha256(m.value).hexdigest() for m in batches[i]],
        "Ed25519 check (30 % signed)": lambda i: [check_ed25519(d[0], d[1], None) for d in decoded[i] if d],
        "chain projection (pure, empty chains)": lambda i: project(indexed[i], {}, {}),
        "chDB wide row insert (today's row)": lambda i: wide(indexed[i]),
        "chDB narrow verdict row insert": lambda i: narrow(indexed[i]),
        "chDB existence check, batch of new records": lambda i: writer.existing(fresh[i]),
        "chDB existence check, batch already present": lambda i: writer.existing(indexed[i]),
        "chDB ALTER UPDATE of one batch's rows (mutations_sync)": lambda i: mutate(indexed[i]),
    }
    results: dict[str, list[float]] = {k: [] for k in stages}
    for n in range(args.rounds):
        round_no[0] = n
        for name, fn in stages.items():
            for i, b in enumerate(batches):
                results[name].append(cpu_per(lambda fn=fn, i=i: fn(i), len(b)))
    rows = olap.query("SELECT count() FROM stages.dpr_records").scalar()
    olap.close()
    shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    print(f"- {args.records:,} lag-mix DPRs in {len(batches)} batches of {BATCH:,}, {args.rounds} rounds; "
          f"table held up to {int(rows):,} rows; load average after {load[0]:.2f} / {load[1]:.2f}")
    print("\n| stage | CPU µs/DPR, median | min | max |\n|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args())
