"""Benchmark: the approvals workflow summary (``ApprovalsApi.summary``) over many approvals.

    python bench/approvals_summary_bench.py [--approvals 100000] [--commands 2000] [--repeat 5]

Embedded PostgreSQL with every migration. Two organisations with ``--approvals`` approvals
each (one quarter of the first on a second stack), spread over 30 days, in every state, a
third of the decided ones in bulk actions, and ``--commands`` emergency commands each. Rows
are written by ``INSERT ... SELECT generate_series`` (the projection's own writes are one
transaction per fact: too slow to seed 200,000; the summary reads the same columns). Then,
per query shape (the whole 30 days, one day, the whole range on one stack), the median wall
time of ``--repeat`` summaries, with the indexes of migration 0005 and without them (dropped
in a transaction that is rolled back), and the plan's access path. Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faramesh_cloud.approvals.summary import _SQL, APPLIED, summarize
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore

COMPONENTS = (("log", "faramesh_cloud.log"), ("stacks", "faramesh_cloud.stacks"),
              ("identity", "faramesh_cloud.identity"), ("platform_audit", "faramesh_cloud.platform_audit"),
              ("approvals", "faramesh_cloud.approvals"))
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 30

_SEED = """
INSERT INTO approvals (org_id, stack_id, defer_token, agent_id, tool_id, created_at, deadline, state, resolved_at,
                       resolved_by, resolved_by_label, cloud_state, cloud_resolved_at, cloud_resolved_by,
                       cloud_resolved_by_label, decision_id, bulk_action_id)
SELECT %(org)s, CASE WHEN n %% 4 = 0 THEN %(other)s ELSE %(stack)s END, 'tok-' || n, 'agent-' || (n %% 7),
       'tool-' || (n %% 11), c, c + interval '5 minutes', s,
       CASE WHEN s = 'pending' THEN NULL ELSE c + (n %% 600) * interval '1 second' END,
       CASE WHEN s IN ('approved', 'denied') THEN 'user-' || ((n / 5) %% 5) ELSE '' END,
       CASE WHEN s IN ('approved', 'denied') THEN 'user' || ((n / 5) %% 5) || '@example.com' ELSE '' END,
       CASE WHEN s IN ('approved', 'denied') THEN s ELSE '' END,
       CASE WHEN s IN ('approved', 'denied') THEN c + (n %% 600) * interval '1 second' END,
       CASE WHEN s IN ('approved', 'denied') THEN 'user-' || ((n / 5) %% 5) ELSE '' END,
       CASE WHEN s IN ('approved', 'denied') THEN 'user' || ((n / 5) %% 5) || '@example.com' ELSE '' END,
       CASE WHEN s IN ('approved', 'denied') THEN gen_random_uuid() END,
       CASE WHEN s IN ('approved', 'denied') AND n %% 3 = 0
            THEN ('00000000-0000-4000-8000-' || lpad((n / 30)::text, 12, '0'))::uuid END
FROM (SELECT n, %(t0)s::timestamptz + (n::float8 / %(count)s) * interval '30 days' AS c,
             (ARRAY['approved', 'denied', 'expired', 'withdrawn', 'pending'])[1 + n %% 5] AS s
      FROM generate_series(1, %(count)s) AS n) AS g
"""

_SEED_COMMANDS = """
INSERT INTO emergency_commands (command_id, org_id, stack_id, agent_id, command_type, reason, issued_by,
                                issued_by_label, issued_at, state, acked_at, outcome)
SELECT gen_random_uuid(), %(org)s, %(stack)s, 'agent-' || (n %% 7), CASE WHEN n %% 2 = 0 THEN 'kill' ELSE 'isolate' END,
       'drill', 'user-1', 'user1@example.com', i, CASE WHEN n %% 10 = 0 THEN 'delivered' ELSE 'acknowledged' END,
       CASE WHEN n %% 10 = 0 THEN NULL ELSE i + (n %% 60) * interval '1 second' END,
       CASE WHEN n %% 10 = 0 THEN '' WHEN n %% 9 = 0 THEN 'rejected' ELSE 'applied' END
FROM (SELECT n, %(t0)s::timestamptz + (n::float8 / %(count)s) * interval '30 days' AS i
      FROM generate_series(1, %(count)s) AS n) AS g
"""


async def _timed(db: Database, org: str, stacks: list[str] | None, start: datetime, end: datetime,
                 repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = await summarize(db, org, stacks=stacks, start=start, end=end)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, result


async def _plan(conn: Any, org: str, stacks: list[str] | None, start: datetime, end: datetime) -> tuple[float, str]:
    """(execution ms, the scans of approvals and emergency_commands) of EXPLAIN ANALYZE."""
    cur = await conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + _SQL, {
        "org": org, "start": start, "end": end, "stacks": stacks, "applied": list(APPLIED)})
    plan = (await cur.fetchone())[0][0]
    scans: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") in ("approvals", "emergency_commands"):
            scans.append(f"{node['Relation Name']}: {node['Node Type']} {node.get('Index Name', '')}".strip())
        for child in node.get("Plans", []):
            walk(child)
    walk(plan["Plan"])
    return plan["Execution Time"], "; ".join(scans)


async def run(approvals: int, commands: int, repeat: int, data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    url = await asyncio.to_thread(pg.start)
    try:
        async with Database(url, max_size=4) as db:
            await migrate(db, COMPONENTS)
            store = StackStore(db)
            orgs = []
            for slug in ("acme", "beta"):
                org = (await store.create_org(slug, slug.title())).org_id
                main, _ = await store.register_stack(org, f"{slug}-prod", "production")
                other, _ = await store.register_stack(org, f"{slug}-staging", "staging")
                orgs.append((org, main.stack_id, other.stack_id))
            began = time.perf_counter()
            async with db.transaction() as conn:
                for org, main, other in orgs:
                    params = {"org": org, "stack": main, "other": other, "count": approvals, "t0": T0}
                    await conn.execute(_SEED, params)
                    await conn.execute(_SEED_COMMANDS, {**params, "count": commands})
                await conn.execute("ANALYZE approvals; ANALYZE emergency_commands")
            seeded = time.perf_counter() - began
            org, main, _ = orgs[0]
            shapes = [("30 days, every stack", None, T0, T0 + timedelta(days=DAYS)),
                      ("1 day, every stack", None, T0 + timedelta(days=10), T0 + timedelta(days=11)),
                      ("30 days, one stack", [main], T0, T0 + timedelta(days=DAYS))]
            print(f"## Approvals summary: {approvals:,} approvals and {commands:,} commands per organisation, "
                  f"2 organisations (seeded in {seeded:.1f} s)\n")
            print("| range | approvals in it | summary, median of "
                  f"{repeat} (ms) | plan (ms) | access path | without migration 0005 (ms) | access path |")
            print("|---|---|---|---|---|---|---|")
            for name, stacks, start, end in shapes:
                ms, summary = await _timed(db, org, stacks, start, end, repeat)
                async with db.transaction() as conn:
                    with_ms, with_path = await _plan(conn, org, stacks, start, end)
                async with db.connection() as conn, conn.transaction(force_rollback=True):
                    await conn.execute("DROP INDEX approvals_created; DROP INDEX emergency_commands_issued")
                    without_ms, without_path = await _plan(conn, org, stacks, start, end)
                print(f"| {name} | {summary.total:,} | {ms:.1f} | {with_ms:.1f} | {with_path} | "
                      f"{without_ms:.1f} | {without_path} |")
            print(f"\nLast summary: median {summary.median_pending_s} s, p95 {summary.p95_pending_s} s, "
                  f"{len(summary.approvers)} approvers, {summary.bulk_actions:,} bulk actions, "
                  f"{summary.commands}")
    finally:
        await asyncio.to_thread(pg.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=100_000)
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="approvals-summary-bench-") as tmp:
        asyncio.run(run(args.approvals, args.commands, args.repeat, Path(tmp)))


if __name__ == "__main__":
    main()
