"""The audit query API: what the explorer (and the gateway's REST API) reads.

Every method takes ``org_id`` first and every statement is scoped to it: an id, a session or
a cursor of another organisation returns nothing. Values are bound (``{name:Type}`` in
ClickHouse, ``%s`` in PostgreSQL); the SQL text is assembled only from fixed fragments.
ClickHouse calls are blocking and run in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from faramesh_cloud.audit_index import integrity
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.views import (
    Alert,
    Delegation,
    Page,
    PolicyVersionUse,
    RecordDetail,
    RecordSummary,
    SearchFilters,
    StackIntegrity,
    TailPage,
    TimeRange,
    decode_cursor,
    encode_cursor,
)
from faramesh_cloud.olap.port import Olap, QueryResult
from faramesh_cloud.sql.database import Database

MAX_LIMIT: Final = 1_000
_TIE_SLACK: Final = 50  # extra rows fetched so a page rarely ends inside a created_at tie

# (SearchFilters attribute, column): the only filter columns the SQL can name.
_FILTER_COLUMNS: Final = (
    ("stack_id", "stack_id"), ("agent_id", "agent_id"), ("session_id", "session_id"),
    ("effect", "effect"), ("action_type", "action_type"), ("tool_id", "tool_id"),
    ("rule_id", "matched_rule_id"),
)
_SUMMARY_SELECT: Final = (
    "org_id, stack_id, agent_id, session_id, record_id, created_at_text, "
    "toUnixTimestamp64Nano(created_at) AS created_ns, effect, action_type, tool_id, matched_rule_id, "
    "reason_code, reason, lamport_seq, record_hash, hash_valid, signature_status, signature_kind, "
    "link_status, source, log_partition, log_offset, org_seq"
)
_DETAIL_SELECT: Final = (
    f"{_SUMMARY_SELECT}, prev_record_hash, raw, origin_seq, origin_buffer, "
    "toUnixTimestamp64Nano(received_at) AS received_ns"
)
_SUMMARY_WIDTH: Final = 23
_KEY_TYPES: Final = (int, str, int, int)  # created_ns, record_id, log_partition, log_offset
_KEY: Final = "(created_at, record_id, log_partition, log_offset)"
_KEY_VALUE: Final = (
    "(fromUnixTimestamp64Nano({c_ns:Int64}, 'UTC'), {c_id:String}, {c_part:UInt16}, {c_off:UInt64})"
)


def _plan(filters: SearchFilters) -> str:
    """With an agent or session filter, let the p_agent / p_session projection serve the
    query. ClickHouse otherwise prefers reading the main table in (org_id, created_at)
    order for ORDER BY ... LIMIT and scans the organisation's newest rows until enough
    match (bench/RESULTS.md, "Audit index": the two plans compared)."""
    if filters.agent_id is not None or filters.session_id is not None:
        return " SETTINGS optimize_read_in_order = 0"
    return ""


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _where(org_id: str, filters: SearchFilters, time_range: TimeRange) -> tuple[list[str], dict[str, Any]]:
    clauses = ["org_id = {org:String}"]
    params: dict[str, Any] = {"org": org_id}
    for attribute, column in _FILTER_COLUMNS:
        value = getattr(filters, attribute)
        if value is not None:
            clauses.append(f"{column} = {{{attribute}:String}}")
            params[attribute] = value
    if time_range.start_ns is not None:
        clauses.append("created_at >= fromUnixTimestamp64Nano({t_start:Int64}, 'UTC')")
        params["t_start"] = time_range.start_ns
    if time_range.end_ns is not None:
        clauses.append("created_at < fromUnixTimestamp64Nano({t_end:Int64}, 'UTC')")
        params["t_end"] = time_range.end_ns
    return clauses, params


def _summary(row: tuple[Any, ...]) -> RecordSummary:
    (org, stack, agent, session, record_id, created_at, created_ns, effect, action_type, tool_id, rule,
     reason_code, reason, lamport, record_hash, hash_valid, signature_status, signature_kind, link_status,
     source, partition, offset, org_seq) = row
    return RecordSummary(
        org_id=org, stack_id=stack, agent_id=agent, session_id=session, record_id=record_id,
        created_at=created_at, created_ns=int(created_ns), effect=effect, action_type=action_type,
        tool_id=tool_id, matched_rule_id=rule, reason_code=reason_code, reason=reason,
        lamport_seq=int(lamport), record_hash=record_hash, hash_valid=bool(hash_valid),
        signature_status=signature_status, signature_kind=signature_kind, link_status=link_status,
        source=source, log_partition=int(partition), log_offset=int(offset), org_seq=int(org_seq),
    )


def _key(summary: RecordSummary) -> list[Any]:
    return [summary.created_ns, summary.record_id, summary.log_partition, summary.log_offset]


def _page(rows: list[RecordSummary], limit: int, kind: str, more: bool) -> Page:
    """``rows`` in page order, complete up to their end; ``more``: rows exist beyond them."""
    if len(rows) > limit:
        rows, more = rows[:limit], True
    return Page(rows, encode_cursor(kind, _key(rows[-1])) if more and rows else None)


def _after_key(kind: str, cursor: str, clauses: list[str], params: dict[str, Any], newer: bool) -> None:
    created_ns, record_id, partition, offset = decode_cursor(kind, cursor, _KEY_TYPES)
    params.update(c_ns=created_ns, c_id=record_id, c_part=partition, c_off=offset)
    op = ">" if newer else "<"
    # The plain created_at bound lets the primary key / projection skip granules.
    clauses.append(f"created_at {op}= fromUnixTimestamp64Nano({{c_ns:Int64}}, 'UTC')")
    clauses.append(f"{_KEY} {op} {_KEY_VALUE}")


class AuditQueries:
    """Tenant-scoped reads over the DPR index (ClickHouse) and the chain projection (PostgreSQL)."""

    def __init__(self, olap: Olap, db: Database, tables: AuditTables) -> None:
        self._olap = olap
        self._db = db
        self._table = tables.dpr

    async def _query(self, sql: str, params: dict[str, Any]) -> QueryResult:
        return await asyncio.to_thread(self._olap.query, sql, params)

    async def _keyset(self, clauses: list[str], params: dict[str, Any], limit: int, kind: str,
                      ascending: bool, plan: str) -> Page:
        """One page in (created_at, record_id, log_partition, log_offset) order.

        ClickHouse reads ``ORDER BY created_at LIMIT n`` in key order and materialises only
        the top rows (measured 2-3x faster than the same ORDER BY on all four columns), so
        the page is fetched by created_at with some slack and ordered fully here. Rows that
        share the last created_at of a truncated fetch may be cut: they are left for the
        next page, and a tie group larger than the whole fetch takes the exact query."""
        where = " AND ".join(clauses)
        direction = "" if ascending else " DESC"
        fetch = limit + 1 + _TIE_SLACK
        result = await self._query(
            f"SELECT {_SUMMARY_SELECT} FROM {self._table} WHERE {where} "
            f"ORDER BY created_at{direction} LIMIT {{fetch:UInt32}}{plan}",
            {**params, "fetch": fetch},
        )
        rows = sorted((_summary(row) for row in result.rows), key=_key, reverse=not ascending)
        if len(rows) < fetch:
            return _page(rows, limit, kind, more=False)
        complete = [r for r in rows if r.created_ns != rows[-1].created_ns]
        if complete:
            return _page(complete, limit, kind, more=True)
        order = ", ".join(f"{c}{direction}" for c in ("created_at", "record_id", "log_partition", "log_offset"))
        result = await self._query(
            f"SELECT {_SUMMARY_SELECT} FROM {self._table} WHERE {where} ORDER BY {order} "
            f"LIMIT {{fetch:UInt32}}{plan}",
            {**params, "fetch": limit + 1},
        )
        return _page([_summary(row) for row in result.rows], limit, kind, more=False)

    async def search(self, org_id: str, filters: SearchFilters | None = None,
                     time_range: TimeRange | None = None, cursor: str | None = None,
                     limit: int = 100) -> Page:
        """Records matching every filter, newest first; ``next_cursor`` continues (keyset)."""
        filters = filters or SearchFilters()
        clauses, params = _where(org_id, filters, time_range or TimeRange())
        if cursor is not None:
            _after_key("search", cursor, clauses, params, newer=False)
        return await self._keyset(clauses, params, _limit(limit), "search", False, _plan(filters))

    async def counts_by_effect(self, org_id: str, filters: SearchFilters | None = None,
                               time_range: TimeRange | None = None) -> dict[str, int]:
        """How many records per effect match the filters."""
        clauses, params = _where(org_id, filters or SearchFilters(), time_range or TimeRange())
        result = await self._query(
            f"SELECT effect, count() FROM {self._table} WHERE {' AND '.join(clauses)} "
            "GROUP BY effect ORDER BY effect",
            params,
        )
        return {effect: int(n) for effect, n in result.rows}

    async def get_record(self, org_id: str, record_id: str, *, stack_id: str | None = None,
                         agent_id: str | None = None) -> list[RecordDetail]:
        """Every stored copy of a record id in this org (normally one; a tampered or edited
        re-delivery is a second), oldest first, with its chain position and findings."""
        clauses = ["org_id = {org:String}", "record_id = {rid:String}"]
        params: dict[str, Any] = {"org": org_id, "rid": record_id}
        if stack_id is not None:
            clauses.append("stack_id = {stack:String}")
            params["stack"] = stack_id
        if agent_id is not None:
            clauses.append("agent_id = {agent:String}")
            params["agent"] = agent_id
        result = await self._query(
            f"SELECT {_DETAIL_SELECT} FROM {self._table} WHERE {' AND '.join(clauses)} "
            f"ORDER BY {_KEY}",
            params,
        )
        if not result.rows:
            return []
        positions, findings = await integrity.record_chain_facts(self._db, org_id, [record_id])
        details = []
        for row in result.rows:
            summary = _summary(row[:_SUMMARY_WIDTH])
            prev, raw, origin_seq, buffer, received = row[_SUMMARY_WIDTH:]
            mine = [f for f in findings if (f.stack_id, f.agent_id, f.record_hash)
                    == (summary.stack_id, summary.agent_id, summary.record_hash)]
            index = positions.get((summary.stack_id, summary.agent_id, record_id, summary.record_hash))
            details.append(RecordDetail(summary, prev, raw, int(origin_seq), buffer, int(received),
                                        index if summary.link_status != "duplicate" else None, mine))
        return details

    async def session_timeline(self, org_id: str, session_id: str, cursor: str | None = None,
                               limit: int = 500) -> Page:
        """Every record of a session, across all agents and stacks, oldest first."""
        clauses = ["org_id = {org:String}", "session_id = {session:String}"]
        params: dict[str, Any] = {"org": org_id, "session": session_id}
        if cursor is not None:
            _after_key("session", cursor, clauses, params, newer=True)
        plan = _plan(SearchFilters(session_id=session_id))
        return await self._keyset(clauses, params, _limit(limit), "session", True, plan)

    async def recent(self, org_id: str, limit: int = 100, after: str | None = None) -> TailPage:
        """The live stream: what was indexed after ``after`` (or the last ``limit`` rows),
        in indexing order. Only rows below the committed horizon are returned, so a row
        can never be skipped by a cursor that moved past it."""
        limit = _limit(limit)
        horizon = await integrity.tail_horizon(self._db, org_id)
        if after is None:
            start = max(0, horizon - limit)
        else:
            (last,) = decode_cursor("tail", after, (int,))
            start = last + 1
        if start >= horizon:
            return TailPage([], encode_cursor("tail", [start - 1]))
        result = await self._query(
            f"SELECT {_SUMMARY_SELECT} FROM {self._table} WHERE org_id = {{org:String}} "
            "AND org_seq >= {start:UInt64} AND org_seq < {horizon:UInt64} "
            "ORDER BY org_seq LIMIT {limit:UInt32}",
            {"org": org_id, "start": start, "horizon": horizon, "limit": limit},
        )
        rows = [_summary(row) for row in result.rows]
        last_seq = rows[-1].org_seq if rows else start - 1
        return TailPage(rows, encode_cursor("tail", [last_seq]))

    async def chain_integrity(self, org_id: str, stack_id: str | None = None) -> list[StackIntegrity]:
        """Per stack: chain length, segments, last verified time, and every finding."""
        return await integrity.chain_integrity(self._db, org_id, stack_id)

    async def alerts(self, org_id: str, *, include_acknowledged: bool = False,
                     limit: int = 100) -> list[Alert]:
        """Critical chain-integrity alerts, newest first."""
        return await integrity.alerts(self._db, org_id, include_acknowledged=include_acknowledged,
                                      limit=_limit(limit))

    async def delegations(self, org_id: str, stack_id: str, since_ns: int,
                          limit: int = 500) -> list[Delegation]:
        """The stack's delegation edges seen since ``since_ns``: who invoked whom, from the
        records' ``invoked_by_agent_id`` (kept only in ``raw``: it is read from there, for
        one stack and a bounded time range, most used edges first)."""
        result = await self._query(
            "SELECT JSONExtractString(raw, 'invoked_by_agent_id') AS parent, agent_id AS child, "
            "uniqExact(record_id) AS records, max(created_at) AS last_at, argMax(record_id, created_at) "
            f"FROM {self._table} WHERE org_id = {{org:String}} AND stack_id = {{stack:String}} "
            "AND created_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC') "
            "AND position(raw, '\"invoked_by_agent_id\"') > 0 "
            "GROUP BY parent, child HAVING parent != '' AND parent != child "
            "ORDER BY records DESC, parent, child LIMIT {limit:UInt32}",
            {"org": org_id, "stack": stack_id, "since": since_ns, "limit": _limit(limit)},
        )
        parents = sorted({str(r[0]) for r in result.rows})
        local: set[str] = set()
        if parents:
            present = await self._query(
                f"SELECT DISTINCT agent_id FROM {self._table} WHERE org_id = {{org:String}} "
                "AND stack_id = {stack:String} AND agent_id IN {parents:Array(String)} "
                "AND created_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')",
                {"org": org_id, "stack": stack_id, "parents": parents, "since": since_ns},
            )
            local = {str(r[0]) for r in present.rows}
        return [Delegation(str(r[0]), str(r[1]), int(r[2]), r[3], str(r[4]), str(r[0]) in local)
                for r in result.rows]

    async def policy_versions(self, org_id: str, stack_ids: list[str], since_ns: int) -> list[PolicyVersionUse]:
        """Per stack, the policy versions its records created since ``since_ns`` were decided
        under (config drift: a daemon deciding under another policy than the one it applied)."""
        if not stack_ids:
            return []
        result = await self._query(
            "SELECT stack_id, policy_version, uniqExact(record_id), max(created_at), argMax(record_id, created_at) "
            f"FROM {self._table} WHERE org_id = {{org:String}} AND stack_id IN {{stacks:Array(String)}} "
            "AND created_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC') "
            "GROUP BY stack_id, policy_version ORDER BY stack_id, policy_version",
            {"org": org_id, "stacks": sorted(set(stack_ids)), "since": since_ns},
        )
        return [PolicyVersionUse(str(r[0]), str(r[1]), int(r[2]), r[3], str(r[4])) for r in result.rows]
