"""The audit index's DDL and queries run unchanged on both Olap adapters: ChdbOlap and
ClickhouseOlap (clickhouse-connect, here through ``dsn="chdb://<dir>"``, the code path a
ClickHouse server gets). The same log indexed through each gives the same view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.olap.clickhouse import ClickhouseOlap
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import (
    fast_config,
    fleet,
    publish,
    records,
    run_index,
    snapshot,
)

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-adapters"
SESSIONS = ["sess-1", "sess-2"]


@pytest.fixture
def second_database(chdb_data_dir: Path, olap_database: str) -> Iterator[str]:
    name = f"{olap_database}_cc"
    yield name
    admin = ChdbOlap(chdb_data_dir)
    try:
        admin.command(f"DROP DATABASE IF EXISTS {name} SYNC")
    finally:
        admin.close()


async def test_both_adapters_give_the_same_view_of_the_same_log(
    database: Database, postgres_log: PostgresLog, chdb_data_dir: Path, olap_database: str,
    second_database: str, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    recs = records(fleet("stack-a", 3, SESSIONS, seed=21), 90)
    await publish(postgres_log, ORG, "stack-a", recs)
    await publish(postgres_log, ORG, "stack-gap",
                  (vectors_dir / "dpr_chain_gap.jsonl").read_bytes().splitlines())
    total = len(recs) + 5

    views = []
    adapters: list[tuple[str, Olap, str]] = [
        ("chdb", ChdbOlap(chdb_data_dir), olap_database),
        ("clickhouse", ClickhouseOlap(f"chdb://{chdb_data_dir}"), second_database),
    ]
    for kind, olap, ch_database in adapters:
        try:
            async with database.connection() as conn:  # an empty projection for each run
                await conn.execute(
                    "TRUNCATE audit_chain_agents, audit_chain_records, audit_chain_findings, "
                    "audit_alerts, audit_org_sequences, audit_index_positions")
            index = await run_index(database, postgres_log, olap, fast_config(ch_database, group=kind), total)
            views.append(await snapshot(index.queries, ORG, SESSIONS[0], "stack-a-agent-1"))
        finally:
            olap.close()

    chdb_view, clickhouse_view = views
    assert len(chdb_view["search"]) == total
    assert chdb_view["alerts"] and chdb_view["timeline"] and chdb_view["agent_window"]
    assert clickhouse_view == chdb_view
