"""Moving a table made before retention to the per-organisation partition key (blocking).

ClickHouse cannot change a table's ``PARTITION BY``. A table whose key is still
``toYYYYMM(created_at)`` (all organisations in one partition) is copied, once, into a new
table with the current DDL, and the two are swapped atomically (``EXCHANGE TABLES``, an
Atomic database: ClickHouse's default and chDB's); the old copy is then dropped. Run on start
before any consumer writes (``schema.ensure_schema``). The copy is ``INSERT ... SELECT`` of
every stored column, so rows keep their values (``received_at``, ``created_at`` and
``indexed_at`` included); it costs one read and one write of the table: plan it like a
rebuild on a large index (``bench/RESULTS.md`` has the index's insert rate)."""

from __future__ import annotations

import logging
from typing import Final

from faramesh_cloud.olap.port import Olap

PARTITION_KEY: Final = "(org_id, toYYYYMM(created_at))"
_log = logging.getLogger(__name__)


def partition_key(olap: Olap, table: str) -> str | None:
    database, name = table.split(".", 1)
    rows = olap.query("SELECT partition_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                      {"db": database, "t": name}).rows
    return str(rows[0][0]) if rows else None


def repartition(olap: Olap, table: str, create_ddl: str) -> bool:
    """Move ``table`` to ``PARTITION_KEY`` if it has another key; ``create_ddl``: the table's
    CREATE statement with ``{table}`` for its name. True when it moved."""
    key = partition_key(olap, table)
    if key is None or key.replace(" ", "") == PARTITION_KEY.replace(" ", ""):
        return False
    staging = f"{table}__repartition"
    _log.warning("moving %s to the per-organisation partition key %s (one copy of the table)", table, PARTITION_KEY)
    olap.command(f"DROP TABLE IF EXISTS {staging} SYNC")
    olap.command(create_ddl.format(table=staging))
    olap.command(f"INSERT INTO {staging} SELECT * FROM {table}")
    olap.command(f"EXCHANGE TABLES {table} AND {staging}")
    olap.command(f"DROP TABLE {staging} SYNC")
    return True
