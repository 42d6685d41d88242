"""ClickHouse side of the audit index (writes): which rows of a batch exist, and the insert,
for DPRs (``IndexWriter``) and for unverified decision summaries (``SummaryWriter``).

Blocking (the Olap port is synchronous): the sink calls these in a thread.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from typing import Any, Final

from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus, SummaryRow
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.search_processor import SearchRow
from faramesh_cloud.olap.port import Olap

Identity = tuple[str, str, str, str, str]
SummaryKey = tuple[str, str, str]  # (org_id, stack_id, record_id)

INSERT_COLUMNS: Final = (
    "org_id", "stack_id", "source", "origin_seq", "origin_buffer", "received_ns", "log_partition",
    "log_offset", "org_seq", "agent_id", "session_id", "record_id", "created_ns", "created_at_text",
    "effect", "action_type", "tool_id", "matched_rule_id", "reason_code", "reason", "intercept_adapter",
    "policy_version", "incident_severity", "schema_version", "lamport_seq", "record_hash",
    "prev_record_hash", "hash_valid", "signature_status", "signature_kind", "link_status", "raw",
)

# Candidates are found through the primary key (org, created_at ranges) and the record_id
# bloom filter; the content hash is computed only for the few rows that match an id.
_EXISTING = """
SELECT org_id, stack_id, agent_id, record_id, lower(hex(SHA256(raw))) AS content, org_seq
FROM {table}
WHERE org_id IN {{orgs:Array(String)}}
  AND ({ranges})
  AND record_id IN {{ids:Array(String)}}
"""
_RANGE = ("(created_at >= fromUnixTimestamp64Nano({{lo{n}:Int64}}, 'UTC') "
          "AND created_at <= fromUnixTimestamp64Nano({{hi{n}:Int64}}, 'UTC'))")

# A batch that mixes live records with a daemon's catch-up (created an hour ago, say) is
# looked up as a few created_at ranges, cut at its widest gaps, not as one range over the
# gap: the primary key then reads the granules of each range only, where one range read
# or probed every granule of the hour (bench/RESULTS.md, "The existence check on catch-up").
MAX_RANGES: Final = 8
MIN_GAP_NS: Final = 10 * 1_000_000_000  # at 10,000 DPR/s, 10 s of rows is about 12 granules


def created_ranges(created_ns: Collection[int], max_ranges: int = MAX_RANGES,
                   min_gap_ns: int = MIN_GAP_NS) -> list[tuple[int, int]]:
    """``created_ns`` covered by at most ``max_ranges`` closed ranges, cut at the widest gaps
    longer than ``min_gap_ns`` (ascending, every value in exactly one range)."""
    values = sorted(created_ns)
    if not values:
        return []
    gaps = [(values[i + 1] - values[i], i) for i in range(len(values) - 1)
            if values[i + 1] - values[i] > min_gap_ns]
    cuts = sorted(i for _, i in heapq.nlargest(max_ranges - 1, gaps))
    ranges: list[tuple[int, int]] = []
    first = 0
    for i in cuts:
        ranges.append((values[first], values[i]))
        first = i + 1
    ranges.append((values[first], values[-1]))
    return ranges


def _existing(olap: Olap, table: str, rows: Sequence[IndexedRecord] | Sequence[SearchRow]) -> dict[Identity, int]:
    """The identities of ``rows`` already in ``table``, with their org_seq."""
    if not rows:
        return {}
    ranges = created_ranges([r.created_ns for r in rows])
    params: dict[str, Any] = {"orgs": sorted({r.org_id for r in rows}), "ids": sorted({r.record_id for r in rows})}
    for n, (lo, hi) in enumerate(ranges):
        params[f"lo{n}"], params[f"hi{n}"] = lo, hi
    sql = _EXISTING.format(table=table, ranges=" OR ".join(_RANGE.format(n=n) for n in range(len(ranges))))
    result = olap.query(sql, params)
    return {(o, s, a, rid, content): int(seq) for o, s, a, rid, content, seq in result.rows}


class IndexWriter:
    def __init__(self, olap: Olap, tables: AuditTables) -> None:
        self._olap = olap
        self._tables = tables

    def existing(self, records: Sequence[IndexedRecord]) -> dict[Identity, int]:
        """The identities of ``records`` already in the index, with their org_seq."""
        return _existing(self._olap, self._tables.dpr, records)

    def insert(self, records: Sequence[IndexedRecord], links: Sequence[LinkStatus],
               seqs: Sequence[int]) -> None:
        if records:
            self._olap.insert_columns(self._tables.dpr, INSERT_COLUMNS, index_columns(records, links, seqs))

    def supersede(self, keys: Sequence[SummaryKey]) -> None:
        """Hide the unverified summaries of these keys: a DPR with the same key replaced them.
        Idempotent for every read (a key twice hides the same row)."""
        if keys:
            self._olap.insert_columns(self._tables.superseded, ("org_id", "stack_id", "record_id"),
                                      [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]])


def index_columns(records: Sequence[IndexedRecord], links: Sequence[LinkStatus],
                  seqs: Sequence[int]) -> list[list[Any]]:
    """The batch's values, one list per ``INSERT_COLUMNS`` entry (a column insert: no
    per-row tuple or encoding; the store reads whole columns)."""
    metas = [r.meta for r in records]
    return [
        [r.org_id for r in records], [r.stack_id for r in records], [r.source for r in records],
        [r.origin_seq for r in records], [r.origin_buffer for r in records],
        [r.received_ns for r in records], [r.partition for r in records], [r.offset for r in records],
        list(seqs), [m.agent_id for m in metas], [r.session_id for r in records],
        [m.record_id for m in metas], [r.created_ns for r in records], [m.created_at for m in metas],
        [r.effect for r in records], [r.action_type for r in records], [r.tool_id for r in records],
        [r.matched_rule_id for r in records], [r.reason_code for r in records], [r.reason for r in records],
        [r.intercept_adapter for r in records], [r.policy_version for r in records],
        [r.incident_severity for r in records], [r.schema_version for r in records],
        [m.lamport_seq for m in metas], [m.record_hash for m in metas], [m.prev_record_hash for m in metas],
        [r.hash_valid for r in records], [r.signature_status.value for r in records],
        [r.signature_kind.value for r in records], [link.value for link in links], [r.raw for r in records],
    ]



class SearchWriter:
    """The search index's rows (issue 18): today's table, without verdicts. The verdict
    columns get fixed placeholders (``hash_valid`` false, ``signature_status`` unsigned,
    ``link_status`` unchecked) that no read takes after the split: the state a row shows is
    derived from the verifier's watermark and findings (``verification_state``)."""

    def __init__(self, olap: Olap, tables: AuditTables) -> None:
        self._olap = olap
        self._tables = tables

    def existing(self, rows: Sequence[SearchRow]) -> dict[Identity, int]:
        """The identities of ``rows`` already in the index, with their org_seq: without the
        chain members the search index cannot tell a repeat apart, so it asks about all."""
        return _existing(self._olap, self._tables.dpr, rows)

    def insert(self, rows: Sequence[SearchRow], seqs: Sequence[int]) -> None:
        if rows:
            self._olap.insert_columns(self._tables.dpr, INSERT_COLUMNS, search_columns(rows, seqs))

    def supersede(self, keys: Sequence[SummaryKey]) -> None:
        IndexWriter(self._olap, self._tables).supersede(keys)


def search_columns(rows: Sequence[SearchRow], seqs: Sequence[int]) -> list[list[Any]]:
    """``index_columns`` for the search index's rows (same ``INSERT_COLUMNS``)."""
    metas = [r.meta for r in rows]
    n = len(rows)
    return [
        [r.org_id for r in rows], [r.stack_id for r in rows], [r.source for r in rows],
        [r.origin_seq for r in rows], [r.origin_buffer for r in rows],
        [r.received_ns for r in rows], [r.partition for r in rows], [r.offset for r in rows],
        list(seqs), [m.agent_id for m in metas], [r.session_id for r in rows],
        [m.record_id for m in metas], [r.created_ns for r in rows], [m.created_at for m in metas],
        [r.effect for r in rows], [r.action_type for r in rows], [r.tool_id for r in rows],
        [r.matched_rule_id for r in rows], [r.reason_code for r in rows], [r.reason for r in rows],
        [r.intercept_adapter for r in rows], [r.policy_version for r in rows],
        [r.incident_severity for r in rows], [r.schema_version for r in rows],
        [m.lamport_seq for m in metas], [m.record_hash for m in metas], [m.prev_record_hash for m in metas],
        [False] * n, ["unsigned"] * n, [r.signature_kind.value for r in rows],
        [LinkStatus.UNCHECKED.value] * n, [r.raw for r in rows],
    ]


SUMMARY_INSERT_COLUMNS: Final = (
    "org_id", "stack_id", "source", "origin_seq", "origin_buffer", "received_ns", "log_partition", "log_offset",
    "org_seq", "agent_id", "session_id", "record_id", "created_ns", "created_at_text", "effect", "tool_id",
    "matched_rule_id", "reason_code", "reason", "policy_version", "raw",
)

_EXISTING_SUMMARIES = """
SELECT org_id, stack_id, record_id, org_seq
FROM {table}
WHERE org_id IN {{orgs:Array(String)}}
  AND created_at >= fromUnixTimestamp64Nano({{lo:Int64}}, 'UTC')
  AND created_at <= fromUnixTimestamp64Nano({{hi:Int64}}, 'UTC')
  AND record_id IN {{ids:Array(String)}}
"""


_DPR_KEYS = """
SELECT DISTINCT org_id, stack_id, record_id
FROM {table}
WHERE org_id IN {{orgs:Array(String)}}
  AND record_id IN {{ids:Array(String)}}
"""


class SummaryWriter:
    """The unverified summaries' table (``AuditTables.summaries``): one row per key."""

    def __init__(self, olap: Olap, tables: AuditTables) -> None:
        self._olap = olap
        self._tables = tables

    def dprs(self, keys: Collection[SummaryKey]) -> set[SummaryKey]:
        """Those of ``keys`` the search index holds a DPR row for (``dpr_records``, written by
        the search index before it commits, under the organisation's tail-sequence lock):
        the summary defers to it. Not the verifier's chain members, which may lag (issue 18)."""
        if not keys:
            return set()
        result = self._olap.query(
            _DPR_KEYS.format(table=self._tables.dpr),
            {"orgs": sorted({k[0] for k in keys}), "ids": sorted({k[2] for k in keys})},
        )
        return {(o, s, r) for o, s, r in result.rows} & set(keys)

    def existing(self, rows: Sequence[SummaryRow]) -> dict[SummaryKey, int]:
        """The keys of ``rows`` already in the table (a failed attempt's), with their org_seq."""
        if not rows:
            return {}
        result = self._olap.query(
            _EXISTING_SUMMARIES.format(table=self._tables.summaries),
            {
                "orgs": sorted({r.org_id for r in rows}),
                "lo": min(r.created_ns for r in rows),
                "hi": max(r.created_ns for r in rows),
                "ids": sorted({r.record_id for r in rows}),
            },
        )
        return {(o, s, rid): int(seq) for o, s, rid, seq in result.rows}

    def supersede(self, keys: Sequence[SummaryKey]) -> None:
        IndexWriter(self._olap, self._tables).supersede(keys)

    def insert(self, rows: Sequence[SummaryRow], seqs: Sequence[int]) -> None:
        if not rows:
            return
        columns: list[list[Any]] = [
            [r.org_id for r in rows], [r.stack_id for r in rows], [r.source for r in rows],
            [r.origin_seq for r in rows], [r.origin_buffer for r in rows], [r.received_ns for r in rows],
            [r.partition for r in rows], [r.offset for r in rows], list(seqs), [r.agent_id for r in rows],
            [r.session_id for r in rows], [r.record_id for r in rows], [r.created_ns for r in rows],
            [r.created_at_text for r in rows], [r.effect for r in rows], [r.tool_id for r in rows],
            [r.matched_rule_id for r in rows], [r.reason_code for r in rows], [r.reason for r in rows],
            [r.policy_version for r in rows], [r.raw for r in rows],
        ]
        self._olap.insert_columns(self._tables.summaries, SUMMARY_INSERT_COLUMNS, columns)
