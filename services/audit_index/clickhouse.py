"""ClickHouse side of the audit index (writes): which rows of a batch exist, and the insert.

Blocking (the Olap port is synchronous): the sink calls these in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.olap.port import Olap

Identity = tuple[str, str, str, str, str]

INSERT_COLUMNS: Final = (
    "org_id", "stack_id", "source", "origin_seq", "origin_buffer", "received_ns", "log_partition",
    "log_offset", "org_seq", "agent_id", "session_id", "record_id", "created_ns", "created_at_text",
    "effect", "action_type", "tool_id", "matched_rule_id", "reason_code", "reason", "intercept_adapter",
    "policy_version", "incident_severity", "schema_version", "lamport_seq", "record_hash",
    "prev_record_hash", "hash_valid", "signature_status", "signature_kind", "link_status", "raw",
)

# Candidates are found through the primary key (org, created_at range) and the record_id
# bloom filter; the content hash is computed only for the few rows that match an id.
_EXISTING = """
SELECT org_id, stack_id, agent_id, record_id, lower(hex(SHA256(raw))) AS content, org_seq
FROM {table}
WHERE org_id IN {{orgs:Array(String)}}
  AND created_at >= fromUnixTimestamp64Nano({{lo:Int64}}, 'UTC')
  AND created_at <= fromUnixTimestamp64Nano({{hi:Int64}}, 'UTC')
  AND record_id IN {{ids:Array(String)}}
"""


class IndexWriter:
    def __init__(self, olap: Olap, tables: AuditTables) -> None:
        self._olap = olap
        self._tables = tables

    def existing(self, records: Sequence[IndexedRecord]) -> dict[Identity, int]:
        """The identities of ``records`` already in the index, with their org_seq."""
        if not records:
            return {}
        result = self._olap.query(
            _EXISTING.format(table=self._tables.dpr),
            {
                "orgs": sorted({r.org_id for r in records}),
                "lo": min(r.created_ns for r in records),
                "hi": max(r.created_ns for r in records),
                "ids": sorted({r.record_id for r in records}),
            },
        )
        return {(o, s, a, rid, content): int(seq) for o, s, a, rid, content, seq in result.rows}

    def insert(self, records: Sequence[IndexedRecord], links: Sequence[LinkStatus],
               seqs: Sequence[int]) -> None:
        if records:
            self._olap.insert(self._tables.dpr, INSERT_COLUMNS,
                              [index_row(r, link, seq) for r, link, seq in zip(records, links, seqs, strict=True)])


def index_row(r: IndexedRecord, link: LinkStatus, seq: int) -> tuple[Any, ...]:
    m = r.meta
    return (
        r.org_id, r.stack_id, r.source, r.origin_seq, r.origin_buffer, r.received_ns, r.partition,
        r.offset, seq, m.agent_id, r.session_id, m.record_id, r.created_ns, m.created_at,
        r.effect, r.action_type, r.tool_id, r.matched_rule_id, r.reason_code, r.reason,
        r.intercept_adapter, r.policy_version, r.incident_severity, r.schema_version, m.lamport_seq,
        m.record_hash, m.prev_record_hash, r.hash_valid, r.signature_status.value,
        r.signature_kind.value, link.value, r.raw,
    )
