"""The Grafana dashboards run against the real index: each panel's SQL, with the ClickHouse
plugin's macros and the dashboard variables expanded as the plugin expands them, runs on
chDB over the real schema with records indexed by the real pipeline, and returns the columns
the panel plots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
# Over Prometheus, not the index: its queries are checked by tests/unit/test_operations_dashboard.py.
PROMETHEUS_DASHBOARDS = {"operations.json"}
EXPECTED_COLUMNS = {
    "Decisions by effect": ("time", "effect", "decisions"),
    "Deny rate by agent": ("agent_id", "decisions", "denies", "deny_rate"),
    "Deny rate by tool": ("tool_id", "decisions", "denies", "deny_rate"),
    "Ingest-to-searchable lag": ("time", "p50_ms", "p99_ms"),
    "Chain findings over time": ("time", "finding", "records"),
    "Records failing verification": ("created_at", "stack_id", "agent_id", "record_id", "finding", "message"),
}
CLICKHOUSE = "grafana-clickhouse-datasource"
POSTGRES = "grafana-postgresql-datasource"  # the chain verifier's findings (issue 18)


def expand(sql: str, variables: dict[str, list[str]], start_s: int, end_s: int, interval_s: int) -> str:
    """The grafana-clickhouse-datasource macros and Grafana's variable formats."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)",
                 lambda m: f"{m[1]} >= toDateTime({start_s}) AND {m[1]} <= toDateTime({end_s})", sql)
    sql = re.sub(r"\$__timeInterval\(([^)]+)\)",
                 lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {interval_s} second)", sql)
    sql = sql.replace("$__fromTime", f"toDateTime({start_s})").replace("$__toTime", f"toDateTime({end_s})")

    def variable(m: re.Match[str]) -> str:
        values = variables[m[1]]
        if m[2] == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
        assert m[2] is None, f"format {m[2]} not expanded by this test"
        return ",".join(values)

    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}", variable, sql)
    assert "$" not in sql, f"unexpanded macro or variable in {sql}"
    return sql


def expand_postgres(sql: str, variables: dict[str, list[str]], start_s: int, end_s: int, interval_s: int) -> str:
    """Grafana's PostgreSQL plugin's macros (``$__timeFilter``, ``$__timeGroupAlias``) and the
    variables, as the plugin expands them."""
    sql = re.sub(r"\$__timeFilter\(([^)]+\)?)\)",
                 lambda m: f"{m[1]} BETWEEN to_timestamp({start_s}) AND to_timestamp({end_s})", sql)
    sql = re.sub(r"\$__timeGroupAlias\(([^,]+), \$__interval\)",
                 lambda m: f"to_timestamp(floor(extract(epoch from {m[1]}) / {interval_s}) * {interval_s}) AS \"time\"",
                 sql)
    return expand(sql, variables, start_s, end_s, interval_s)


def clickhouse_dashboards() -> list[Path]:
    return [p for p in sorted(DASHBOARDS.glob("*.json")) if p.name not in PROMETHEUS_DASHBOARDS]


def panels() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in clickhouse_dashboards():
        dashboard = json.loads(path.read_text())
        found += [(path.name, p) for p in dashboard["panels"]]
    return found


def test_the_dashboard_covers_what_operators_need() -> None:
    titles = [p["title"] for _, p in panels()]
    assert sorted(titles) == sorted(EXPECTED_COLUMNS)
    for _, panel in panels():
        assert panel["datasource"]["type"] in (CLICKHOUSE, POSTGRES)
        assert panel["targets"][0]["datasource"] == panel["datasource"], panel["title"]
        assert "org_id = ${org:singlequote}" in panel["targets"][0]["rawSql"], panel["title"]


async def test_every_panel_runs_on_the_real_schema(database: Database, postgres_log: PostgresLog,
                                                   chdb: Olap, olap_database: str) -> None:
    org, stack = "org-grafana", "stack-grafana"
    writers = fleet(stack, 3, ["s1", "s2"], seed=11)
    pushed = records(writers, 40)
    writers[0].next(BASE_NS + 10**11)  # never published: the next record of this agent leaves a gap
    gapped = writers[0].next(BASE_NS + 2 * 10**11)
    await publish(postgres_log, org, stack, [*pushed, gapped])
    # Another organisation's records must not show up in org-grafana's panels.
    await publish(postgres_log, "org-other", stack, records(fleet(stack, 1, ["x"], seed=12), 5), first_seq=100)
    await run_index(database, postgres_log, chdb, fast_config(olap_database), len(pushed) + 6)

    start_s, end_s = BASE_NS // 10**9 - 60, BASE_NS // 10**9 + 3600
    variables = {"org": [org], "stack": [stack]}
    for name, panel in panels():
        raw = panel["targets"][0]["rawSql"]
        if panel["datasource"]["type"] == POSTGRES:
            async with database.connection() as conn:
                cur = await conn.execute(expand_postgres(raw, variables, start_s, end_s, 60))  # type: ignore[arg-type]
                columns = tuple(d.name for d in cur.description or ())
                rows = await cur.fetchall()
        else:
            sql = expand(raw, variables, start_s, end_s, 60).replace("faramesh_audit.", f"{olap_database}.")
            result = chdb.query(sql)
            columns, rows = tuple(result.columns), result.rows
        assert columns == EXPECTED_COLUMNS[panel["title"]], (name, panel["title"])
        assert rows, (panel["title"], raw)
        if panel["title"] == "Decisions by effect":
            assert sum(int(r[2]) for r in rows) == len(pushed) + 1
        if panel["title"] == "Chain findings over time":
            assert [(r[1], r[2]) for r in rows] == [("gap", 1)]
        if panel["title"] == "Records failing verification":
            assert [(r[3], r[4]) for r in rows] == [(gapped["record_id"], "gap")]
    for path in clickhouse_dashboards():
        for var in json.loads(path.read_text())["templating"]["list"]:
            if var["type"] == "query":  # the stack picker lists this org's stacks only
                sql = expand(var["query"], variables, start_s, end_s, 60).replace("faramesh_audit.", f"{olap_database}.")
                assert chdb.query(sql).rows == [(stack,)]
