"""The DPR index's DDL on an existing table: ensure_schema brings it to today's codecs."""

from __future__ import annotations

import pytest

from faramesh_cloud.audit_index import schema
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.olap.chdb import ChdbOlap

pytestmark = [pytest.mark.chdb, pytest.mark.integration]


def _raw_codec(olap: ChdbOlap, tables: AuditTables) -> str:
    return str(olap.query(
        "SELECT compression_codec FROM system.columns WHERE database = {db:String} "
        "AND table = 'dpr_records' AND name = 'raw'", {"db": tables.database}).scalar())


def test_a_table_created_with_the_old_raw_codec_moves_to_the_new_one_keeping_its_rows(
    chdb: ChdbOlap, olap_database: str
) -> None:
    tables = AuditTables(olap_database)
    old_ddl = schema._DPR_TABLE.replace("raw               String CODEC(ZSTD(1))",
                                        "raw               String CODEC(ZSTD(3))")
    assert old_ddl != schema._DPR_TABLE
    chdb.command(old_ddl.format(table=tables.dpr, summary=", ".join(schema.SUMMARY_COLUMNS)))
    chdb.command(f"INSERT INTO {tables.dpr} (org_id, record_id, raw) VALUES ('o', 'r-1', '{{\"a\":1}}')")
    assert _raw_codec(chdb, tables) == "CODEC(ZSTD(3))"

    ensure_schema(chdb, tables)
    ensure_schema(chdb, tables)  # idempotent

    assert _raw_codec(chdb, tables) == "CODEC(ZSTD(1))"
    assert chdb.query(f"SELECT record_id, raw FROM {tables.dpr}").rows == [("r-1", '{"a":1}')]


def test_the_dpr_table_merges_with_the_index_s_merge_settings_new_or_existing(
    chdb: ChdbOlap, olap_database: str
) -> None:
    tables = AuditTables(olap_database)
    chdb.command(f"CREATE DATABASE IF NOT EXISTS {olap_database}")
    chdb.command(schema._DPR_TABLE.format(table=tables.dpr, summary=", ".join(schema.SUMMARY_COLUMNS)))
    ddl = str(chdb.query(f"SHOW CREATE TABLE {tables.dpr}").scalar())
    assert "merge_selector_base" not in ddl  # as a table made before the setting

    ensure_schema(chdb, tables)
    ensure_schema(chdb, tables)  # idempotent

    ddl = str(chdb.query(f"SHOW CREATE TABLE {tables.dpr}").scalar())
    assert "merge_selector_base = 10" in ddl, ddl


def test_a_merge_setting_the_server_does_not_know_is_left_out_not_an_error(
    chdb: ChdbOlap, olap_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = AuditTables(olap_database)
    monkeypatch.setattr(schema, "MERGE_SETTINGS", {"merge_selector_base": "7", "merge_selector_of_2031": "1"})

    ensure_schema(chdb, tables)

    ddl = str(chdb.query(f"SHOW CREATE TABLE {tables.dpr}").scalar())
    assert "merge_selector_base = 7" in ddl and "merge_selector_of_2031" not in ddl, ddl
