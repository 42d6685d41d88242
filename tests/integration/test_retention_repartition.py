"""An index made before retention (all organisations in one monthly partition) moves to the
per-organisation partition key on start, once, keeping every row and its values."""

from __future__ import annotations

import pytest

from faramesh_cloud.audit_index import schema
from faramesh_cloud.audit_index.retention.repartition import PARTITION_KEY, partition_key
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.olap.port import Olap

pytestmark = [pytest.mark.chdb, pytest.mark.integration]

OLD = "PARTITION BY toYYYYMM(created_at)\n"


def test_tables_made_before_retention_move_to_the_per_organisation_key_with_their_rows(
        chdb: Olap, olap_database: str) -> None:
    tables = AuditTables(olap_database)
    summary = ", ".join(schema.SUMMARY_COLUMNS)
    dpr_ddl = schema._DPR_TABLE.replace("PARTITION BY (org_id, toYYYYMM(created_at))\n", OLD)
    assert dpr_ddl != schema._DPR_TABLE
    chdb.command(f"CREATE DATABASE IF NOT EXISTS {olap_database}")
    chdb.command(dpr_ddl.format(table=tables.dpr, summary=summary))
    rows = [("org-a", "s", "a", f"r{i}", 1_770_000_000_000_000_000 + i * 10**15, "raw", i) for i in range(5)]
    rows.append(("org-b", "s", "b", "rb", 1_760_000_000_000_000_000, "raw-b", 9))
    columns = ("org_id", "stack_id", "agent_id", "record_id", "created_ns", "raw", "org_seq")
    chdb.insert(tables.dpr, columns, rows)
    before = chdb.query(f"SELECT org_id, record_id, created_at, received_at, indexed_at, raw, org_seq "
                        f"FROM {tables.dpr} ORDER BY record_id").rows

    ensure_schema(chdb, tables)

    assert partition_key(chdb, tables.dpr) == PARTITION_KEY
    assert partition_key(chdb, tables.summaries) == PARTITION_KEY
    after = chdb.query(f"SELECT org_id, record_id, created_at, received_at, indexed_at, raw, org_seq "
                       f"FROM {tables.dpr} ORDER BY record_id").rows
    assert after == before
    parts = chdb.query(f"SELECT DISTINCT partition FROM system.parts WHERE database = '{olap_database}' "
                       "AND table = 'dpr_records' AND active ORDER BY partition").rows
    assert [p for (p,) in parts] == ["('org-a',202602)", "('org-a',202603)", "('org-b',202510)"]
    ensure_schema(chdb, tables)  # a second start changes nothing
    assert chdb.query(f"SELECT count() FROM {tables.dpr}").rows == [(6,)]
