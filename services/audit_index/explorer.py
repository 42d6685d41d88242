"""Reads the DPR explorer needs beyond ``AuditQueries``: a record's chain neighbours (for the
explain view's chain position and server-side link check) and the exact bytes of many
records at once (for a signed export). Every statement names one organisation.

A record's link status comes from the chain verifier's findings and watermark (issue 18:
``row_state``), never from the stored column."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from faramesh_cloud.audit_index import integrity, row_state
from faramesh_cloud.audit_index.domain import CHECKED_BY
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.views import ChainRecord
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database

MAX_EXPORT: Final = 1_000
_COLUMNS: Final = ("record_id, record_hash, prev_record_hash, created_at_text, raw, stack_id, agent_id, "
                   "log_partition, log_offset")
_OFF_CHAIN: Final = ("duplicate", row_state.UNCHECKED)  # no chain position to give (yet)


class ExplorerReads:
    def __init__(self, olap: Olap, db: Database, tables: AuditTables, *, topic: str = DPR_RECORDS,
                 verified_by: str = CHECKED_BY) -> None:
        self._olap = olap
        self._db = db
        self._table = tables.dpr
        self._topic = topic
        self._verified_by = verified_by

    def _record(self, row: tuple[Any, ...], mark: row_state.Watermark, named: row_state.Named,
                positions: dict[tuple[str, str, str, str], int] | None = None) -> ChainRecord:
        record_id, record_hash, prev, created, raw, stack, agent, partition, offset = row
        link = named.link_status(mark, stack, agent, record_id, record_hash, int(partition), int(offset))
        index = None if positions is None or link in _OFF_CHAIN else positions.get((stack, agent, record_id, record_hash))
        return ChainRecord(record_id, record_hash, prev, created, raw, stack, agent, link, index)

    async def neighbours(self, org_id: str, stack_id: str, agent_id: str, record_hash: str,
                         prev_record_hash: str) -> tuple[ChainRecord | None, ChainRecord | None]:
        """(the record this one links to, the record that links to this one) on the same
        agent chain of the same stack; None where there is none in the index."""
        mark = await row_state.watermark(self._db, self._topic, self._verified_by)
        named = row_state.Named.of(self._topic, await row_state.chain_findings(self._db, org_id, stack_id, agent_id))
        duplicates = row_state.Named.of(self._topic, [f for fs in (*named.by_position.values(), *named.by_key.values())
                                                      for f in fs if f.kind == FindingKind.DUPLICATE.value])
        base = ("org_id = {org:String} AND stack_id = {stack:String} AND agent_id = {agent:String} "
                f"AND NOT {row_state.named_sql('dup')}")
        params = {"org": org_id, "stack": stack_id, "agent": agent_id, "hash": record_hash,
                  "prev": prev_record_hash, **row_state.named_params("dup", duplicates)}
        # One after the other: chDB's reader session does not take parameterised queries concurrently.
        prev_rows = await asyncio.to_thread(self._olap.query,
                                            f"SELECT {_COLUMNS} FROM {self._table} WHERE {base} "
                                            "AND record_hash = {prev:String} ORDER BY created_at LIMIT 1", params)
        next_rows = await asyncio.to_thread(self._olap.query,
                                            f"SELECT {_COLUMNS} FROM {self._table} WHERE {base} "
                                            "AND prev_record_hash = {hash:String} ORDER BY created_at LIMIT 1", params)
        return (self._record(prev_rows.rows[0], mark, named) if prev_rows.rows else None,
                self._record(next_rows.rows[0], mark, named) if next_rows.rows else None)

    async def records_with_bytes(self, org_id: str, record_ids: Sequence[str]) -> list[ChainRecord]:
        """The stored copies of ``record_ids`` with raw bytes and chain position, ordered by
        stack, agent and chain position (the order an export lists them in)."""
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return []
        if len(ids) > MAX_EXPORT:
            raise ValueError(f"at most {MAX_EXPORT} records per export; narrow the search")
        result = await asyncio.to_thread(
            self._olap.query,
            f"SELECT {_COLUMNS} FROM {self._table} WHERE org_id = {{org:String}} "
            "AND record_id IN {ids:Array(String)} ORDER BY stack_id, agent_id, created_at, record_id",
            {"org": org_id, "ids": ids},
        )
        positions, findings = await integrity.record_chain_facts(
            self._db, org_id, [(stack, agent, record_id, record_hash)
                               for record_id, record_hash, _p, _c, _r, stack, agent, _pa, _o in result.rows])
        mark = await row_state.watermark(self._db, self._topic, self._verified_by)
        named = row_state.Named.of(self._topic, findings)
        out = [self._record(row, mark, named, positions) for row in result.rows]
        out.sort(key=lambda r: (r.stack_id, r.agent_id, r.chain_index if r.chain_index is not None else -1,
                                r.created_at))
        return out
