"""Reading a stored log (``tests/data/stored_logs/``, written by ``scripts/record_stored_log.py``
with another version of Cloud) and putting it back: the registry rows into a database, the
records onto a log at the same partitions and offsets."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

from faramesh_cloud.events.topics import DEFAULT_PARTITIONS
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.sql.database import Database

STORED_LOGS = Path(__file__).resolve().parent / "data" / "stored_logs"
FORMAT = "faramesh-cloud stored log 1"


@dataclass(frozen=True)
class StoredRecord:
    topic: str
    partition: int
    offset: int
    record: LogRecord


@dataclass(frozen=True)
class StoredLog:
    header: dict[str, Any]
    registry: dict[str, list[dict[str, Any]]]
    shown: dict[str, Any]  # what that version's REST API showed at the end of the run
    records: list[StoredRecord]

    @classmethod
    def read(cls, path: Path) -> StoredLog:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            header, registry, shown, *rest = (json.loads(line) for line in lines)
        assert header["header"]["format"] == FORMAT, header
        return cls(header["header"], registry["registry"], shown["shown"], [StoredRecord(
            r["t"], r["p"], r["o"], LogRecord(_b(r["k"]), _b(r["v"]), {n: _b(v) for n, v in r["h"]}))
            for r in rest])

    def topics(self) -> list[str]:
        return sorted({r.topic for r in self.records})


def _b(text: str) -> bytes:
    return base64.b64decode(text)


async def put_registry(db: Database, stored: StoredLog) -> None:
    """The organisations, stacks and pinned keys of the run (not on the log), as the version
    that wrote them left them; a pin made before pins were events is marked unannounced, as
    the stacks migration that made them events marks every earlier pin."""
    async with db.transaction() as conn:
        for table in ("orgs", "stacks", "stack_signing_keys"):
            rows = [{**r, "announced": r.get("announced", False)} if table == "stack_signing_keys" else r
                    for r in stored.registry[table]]
            await conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM json_populate_recordset(NULL::{}, %s::json)").format(
                sql.Identifier(table), sql.Identifier(table)), (json.dumps(rows),))


async def put_log(log: Log, stored: StoredLog) -> None:
    """Every record, topic by topic in partition and offset order; each lands where it was
    (partitions are ``crc32(key) % partitions`` on every adapter, offsets dense from 0)."""
    for topic in stored.topics():
        await log.create_topic(topic, DEFAULT_PARTITIONS[topic])
        mine = sorted((r for r in stored.records if r.topic == topic), key=lambda r: (r.partition, r.offset))
        placed = await log.append(topic, [r.record for r in mine])
        assert [(p.partition, p.offset) for p in placed] == [(r.partition, r.offset) for r in mine], topic
