"""What each index on the chain members costs PostgreSQL as the table grows (issue 18,
migration 0011).

    python bench/members_index_bench.py [--rows 2000000] [--batch 5000]

Two tables shaped as ``audit_chain_records`` (the members: one row per verified record), one
with its primary key only (as shipped), one with the index by ``(org_id, record_id)`` it had
before migration 0011. The same rows (the lag run's shape: one organisation, 4 stacks, 20
agents, SHA-256 hashes, UUID record ids) are copied into both in alternating batches, as the
verifier's ``COPY`` does; what is timed is the server backend's CPU per row (/proc), reported
per fifth of the load, so the growth with the table's size shows.

A measurement, not a test: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_bench import proc_cpu_s
from faramesh_cloud.sql.embedded import EmbeddedPostgres

COLUMNS = ("org_id text NOT NULL, stack_id text NOT NULL, agent_id text NOT NULL, record_hash text NOT NULL, "
           "record_id text NOT NULL, chain_index bigint NOT NULL, PRIMARY KEY (org_id, stack_id, agent_id, record_hash)")
VARIANTS = {"primary key only (shipped)": "members_pk", "primary key + by record id (before 0011)": "members_by_id"}


def backend_cpu_s(conn: psycopg.Connection) -> float:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return proc_cpu_s(f"/proc/{row[0]}/stat")


def main(args: argparse.Namespace) -> None:
    rows = [("org-lag", f"stack-{n % 4}", f"lag-agent-{n % 20}",
             "sha256:" + hashlib.sha256(n.to_bytes(8, "big")).hexdigest(), str(uuid.uuid4()), n // 20)
            for n in range(args.rows)]
    root = Path(tempfile.mkdtemp(prefix="faramesh-members-bench-"))
    try:
        with EmbeddedPostgres(root / "pg") as server, psycopg.connect(server.url(), autocommit=True) as conn:
            for table in VARIANTS.values():
                conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
            conn.execute("CREATE INDEX ON members_by_id (org_id, record_id)")
            spent: dict[str, list[float]] = {table: [] for table in VARIANTS.values()}
            for start in range(0, args.rows, args.batch):
                for table in VARIANTS.values():
                    before = backend_cpu_s(conn)
                    with conn.cursor().copy(f"COPY {table} (org_id, stack_id, agent_id, record_hash, record_id, "
                                            "chain_index) FROM STDIN") as copy:
                        for row in rows[start:start + args.batch]:
                            copy.write_row(row)
                    spent[table].append(backend_cpu_s(conn) - before)
            fifth = len(spent["members_pk"]) // 5
            print(f"- {args.rows:,} members in COPY batches of {args.batch:,}; server CPU µs per row, "
                  "by fifth of the load:")
            for label, table in VARIANTS.items():
                cells = [sum(spent[table][i * fifth:(i + 1) * fifth]) / (fifth * args.batch) * 1e6 for i in range(5)]
                print(f"  - {label}: " + ", ".join(f"{c:.1f}" for c in cells))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    main(parser.parse_args())
