"""The audit query API: what the explorer (and the gateway's REST API) reads. List reads
cover DPRs and unverified decision summaries alike (``read_sources``).

Every method takes ``org_id`` first and every statement is scoped to it: an id, a session or
a cursor of another organisation returns nothing. Values are bound (``{name:Type}`` in
ClickHouse, ``%s`` in PostgreSQL); the SQL text is assembled only from fixed fragments.
ClickHouse calls are blocking and run in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from faramesh_cloud.audit_index import integrity, legacy_postgres, row_state
from faramesh_cloud.audit_index.domain import CHECKED_BY
from faramesh_cloud.audit_index.read_sources import SUMMARY_WIDTH, Source, applicable, sources
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.verification_state import Watermark
from faramesh_cloud.audit_index.views import (
    FAILED,
    VERIFIED,
    Alert,
    ArrivalBucket,
    Delegation,
    Page,
    PolicyVersionUse,
    RecordDetail,
    RecordSummary,
    SearchFilters,
    StackIntegrity,
    StackSeries,
    TailPage,
    TimeRange,
    decode_cursor,
    encode_cursor,
)
from faramesh_cloud.events.topics import DPR_RECORDS
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


def _complete(fetched: list[list[RecordSummary]], fetch: int, ascending: bool) -> list[RecordSummary] | None:
    """The merged rows of every table's fetch, in page order, cut where a table that
    returned a full fetch may hold more rows (at or beyond its last created_at); None when
    no table's fetch was full (every row is there)."""
    rows = sorted((r for part in fetched for r in part), key=_key, reverse=not ascending)
    full = [part for part in fetched if len(part) == fetch]
    if not full:
        return None
    if ascending:
        bound = min(max(r.created_ns for r in part) for part in full)
        return [r for r in rows if r.created_ns < bound]
    bound = max(min(r.created_ns for r in part) for part in full)
    return [r for r in rows if r.created_ns > bound]


class AuditQueries:
    """Tenant-scoped reads over the DPR index and the unverified decision summaries
    (ClickHouse) and the chain projection (PostgreSQL).

    A DPR's verification state and verdict columns are derived from the chain verifier's
    committed positions on ``topic`` (projection ``verified_by``) and its open findings
    (``row_state``), never read from the stored verdict columns. A single consumer that
    verifies in the batch it indexes passes its own projection as ``verified_by``."""

    def __init__(self, olap: Olap, db: Database, tables: AuditTables, *, topic: str = DPR_RECORDS,
                 verified_by: str = CHECKED_BY) -> None:
        self._olap = olap
        self._db = db
        self._table = tables.dpr
        self._sources = sources(tables)
        self._topic = topic
        self._verified_by = verified_by

    async def watermark(self) -> Watermark:
        """The chain verifier's committed positions (below them a row has been checked)."""
        return await row_state.watermark(self._db, self._topic, self._verified_by)

    async def _derived(self, rows: list[RecordSummary], mark: Watermark | None = None) -> list[RecordSummary]:
        """``rows`` with their state and verdict columns (one watermark read and one point
        read of the findings of the rows' record ids)."""
        if not any(r.verified for r in rows):
            return [row_state.derive(r, Watermark({}), row_state.Named.of(self._topic, [])) for r in rows]
        mark = mark if mark is not None else await self.watermark()
        org_id = rows[0].org_id
        found = await row_state.open_findings(self._db, org_id, [r.record_id for r in rows if r.verified])
        named = row_state.Named.of(self._topic, found)
        return [row_state.derive(r, mark, named) for r in rows]

    async def _page_derived(self, page: Page) -> Page:
        return Page(await self._derived(page.records), page.next_cursor)

    async def _state_filter(self, org_id: str, filters: SearchFilters, clauses: list[str],
                            params: dict[str, Any]) -> None:
        """Add the state filter's clause (it applies to ``dpr_records`` only: ``applicable``
        leaves the summaries out when a state is asked for)."""
        if filters.state is None:
            return
        mark = await self.watermark()
        failing = row_state.Named.of(self._topic, await row_state.critical(self._db, org_id, filters.stack_id))
        clause, extra = row_state.state_clause(filters.state, mark, failing)
        clauses.append(clause)
        params.update(extra)

    async def _query(self, sql: str, params: dict[str, Any]) -> QueryResult:
        return await asyncio.to_thread(self._olap.query, sql, params)

    async def _keyset(self, tables: list[Source], clauses: list[str], params: dict[str, Any], limit: int,
                      kind: str, ascending: bool, plan: str) -> Page:
        """One page in (created_at, record_id, log_partition, log_offset) order over ``tables``.

        ClickHouse reads ``ORDER BY created_at LIMIT n`` in key order and materialises only
        the top rows (measured 2-3x faster than the same ORDER BY on all four columns), so
        each table's page is fetched by created_at with some slack, merged and ordered fully
        here. Rows that share the last created_at of a full fetch may be cut: they are left
        for the next page, and a tie group larger than the whole fetch takes the exact query."""
        direction = "" if ascending else " DESC"
        fetch = limit + 1 + _TIE_SLACK
        fetched = []
        for source in tables:
            result = await self._query(
                f"SELECT {source.select} FROM {source.table} WHERE {source.where(clauses)} "
                f"ORDER BY created_at{direction} LIMIT {{fetch:UInt32}}{plan}",
                {**params, "fetch": fetch},
            )
            fetched.append([source.summary(row) for row in result.rows])
        complete = _complete(fetched, fetch, ascending)
        if complete is None:
            rows = sorted((r for part in fetched for r in part), key=_key, reverse=not ascending)
            return _page(rows, limit, kind, more=False)
        if complete:
            return _page(complete, limit, kind, more=True)
        order = ", ".join(f"{c}{direction}" for c in ("created_at", "record_id", "log_partition", "log_offset"))
        exact = []
        for source in tables:
            result = await self._query(
                f"SELECT {source.select} FROM {source.table} WHERE {source.where(clauses)} ORDER BY {order} "
                f"LIMIT {{fetch:UInt32}}{plan}",
                {**params, "fetch": limit + 1},
            )
            exact.extend(source.summary(row) for row in result.rows)
        return _page(sorted(exact, key=_key, reverse=not ascending)[:limit + 1], limit, kind, more=False)

    async def search(self, org_id: str, filters: SearchFilters | None = None,
                     time_range: TimeRange | None = None, cursor: str | None = None,
                     limit: int = 100) -> Page:
        """Records matching every filter, newest first; ``next_cursor`` continues (keyset).
        DPRs and unverified summaries alike (``RecordSummary.verification``), unless
        ``filters.verification`` names one."""
        filters = filters or SearchFilters()
        clauses, params = _where(org_id, filters, time_range or TimeRange())
        await self._state_filter(org_id, filters, clauses, params)
        if cursor is not None:
            _after_key("search", cursor, clauses, params, newer=False)
        return await self._page_derived(await self._keyset(
            applicable(self._sources, filters), clauses, params, _limit(limit), "search", False, _plan(filters)))

    async def counts_by_effect(self, org_id: str, filters: SearchFilters | None = None,
                               time_range: TimeRange | None = None) -> dict[str, int]:
        """How many records per effect match the filters (a summary a DPR replaced, or a
        repeat of one, is not counted). One row per record whatever its state, so the counts
        of the three states add up to the count without one."""
        filters = filters or SearchFilters()
        clauses, params = _where(org_id, filters, time_range or TimeRange())
        await self._state_filter(org_id, filters, clauses, params)
        counts: dict[str, int] = {}
        for source in applicable(self._sources, filters):
            result = await self._query(
                f"SELECT effect, count() FROM {source.table} WHERE {source.where(clauses)} GROUP BY effect",
                params,
            )
            for effect, n in result.rows:
                counts[effect] = counts.get(effect, 0) + int(n)
        return dict(sorted(counts.items()))

    async def get_record(self, org_id: str, record_id: str, *, stack_id: str | None = None,
                         agent_id: str | None = None) -> list[RecordDetail]:
        """Every stored copy of a record id in this org (normally one; a tampered or edited
        re-delivery is a second), oldest first, with its chain position and findings; then
        an unverified summary with that id (when no DPR of its stack replaced it), with its
        receipt. A DPR carries the receipt of the summaries it replaced."""
        clauses = ["org_id = {org:String}", "record_id = {rid:String}"]
        params: dict[str, Any] = {"org": org_id, "rid": record_id}
        if stack_id is not None:
            clauses.append("stack_id = {stack:String}")
            params["stack"] = stack_id
        if agent_id is not None:
            clauses.append("agent_id = {agent:String}")
            params["agent"] = agent_id
        found = []
        for source in self._sources:
            result = await self._query(
                f"SELECT {source.detail} FROM {source.table} WHERE {source.where(clauses)} ORDER BY {_KEY}",
                params,
            )
            found.extend((source, row) for row in result.rows)
        if not found:
            return []
        stored = [source.summary(row[:SUMMARY_WIDTH]) for source, row in found]
        positions, findings = await integrity.record_chain_facts(
            self._db, org_id, [(s.stack_id, s.agent_id, record_id, s.record_hash) for s in stored])
        receipts = {r.stack_id: r for r in await legacy_postgres.receipts(self._db, org_id, [record_id])}
        mark = await self.watermark()
        named = row_state.Named.of(self._topic, findings)
        details = []
        for (_source, row), plain in zip(found, stored, strict=True):
            summary = row_state.derive(plain, mark, named)
            prev, raw, origin_seq, buffer, received = row[SUMMARY_WIDTH:]
            mine = named.of_row(summary) if summary.verified else []
            index = positions.get((summary.stack_id, summary.agent_id, record_id, summary.record_hash))
            on_chain = summary.state in (VERIFIED, FAILED) and summary.link_status != "duplicate"
            details.append(RecordDetail(summary, prev, raw, int(origin_seq), buffer, int(received),
                                        index if on_chain else None, mine, receipts.get(summary.stack_id),
                                        row_state.behind(summary, mark)))
        return details

    async def session_timeline(self, org_id: str, session_id: str, cursor: str | None = None,
                               limit: int = 500) -> Page:
        """Every record of a session, across all agents and stacks, oldest first."""
        clauses = ["org_id = {org:String}", "session_id = {session:String}"]
        params: dict[str, Any] = {"org": org_id, "session": session_id}
        if cursor is not None:
            _after_key("session", cursor, clauses, params, newer=True)
        plan = _plan(SearchFilters(session_id=session_id))
        return await self._page_derived(
            await self._keyset(list(self._sources), clauses, params, _limit(limit), "session", True, plan))

    async def recent(self, org_id: str, limit: int = 100, after: str | None = None) -> TailPage:
        """The live stream: what was indexed after ``after`` (or the last ``limit`` rows),
        in indexing order, DPRs and summaries in one sequence. Only rows below the committed
        horizon are returned, so a row can never be skipped by a cursor that moved past it."""
        limit = _limit(limit)
        horizon = await integrity.tail_horizon(self._db, org_id)
        if after is None:
            start = max(0, horizon - limit)
        else:
            (last,) = decode_cursor("tail", after, (int,))
            start = last + 1
        if start >= horizon:
            return TailPage([], encode_cursor("tail", [start - 1]))
        rows: list[RecordSummary] = []
        clauses = ["org_id = {org:String}", "org_seq >= {start:UInt64}", "org_seq < {horizon:UInt64}"]
        for source in self._sources:
            result = await self._query(
                f"SELECT {source.select} FROM {source.table} WHERE {source.where(clauses)} "
                "ORDER BY org_seq LIMIT {limit:UInt32}",
                {"org": org_id, "start": start, "horizon": horizon, "limit": limit},
            )
            rows.extend(source.summary(row) for row in result.rows)
        rows = sorted(rows, key=lambda r: r.org_seq)[:limit]
        # No row showing below the horizon (summaries a DPR replaced leave holes): move past them.
        last_seq = rows[-1].org_seq if rows else horizon - 1
        return TailPage(await self._derived(rows), encode_cursor("tail", [last_seq]))

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

    async def decision_series(self, org_id: str, stack_ids: list[str], start_ns: int, end_ns: int,
                              bucket_ns: int) -> list[StackSeries]:
        """Per stack (in the order given), its records and its DENY records per bucket of
        ``bucket_ns`` of creation time from ``start_ns``: the Fleet list's sparklines, one query
        for every stack."""
        if not (0 <= start_ns < end_ns and bucket_ns > 0):
            raise ValueError("decision series need 0 <= start < end and a bucket width above 0")
        n = -(-(end_ns - start_ns) // bucket_ns)
        if n > 1_000 or len(stack_ids) > 1_000:
            raise ValueError("decision series: at most 1,000 buckets and 1,000 stacks")
        if not stack_ids:
            return []
        result = await self._query(
            "SELECT stack_id, intDiv(toUnixTimestamp64Nano(created_at) - {start:Int64}, {bucket:Int64}) AS b, "
            f"count(), countIf(effect = 'DENY') FROM {self._table} WHERE org_id = {{org:String}} "
            "AND stack_id IN {stacks:Array(String)} AND created_at >= fromUnixTimestamp64Nano({start:Int64}, 'UTC') "
            "AND created_at < fromUnixTimestamp64Nano({end:Int64}, 'UTC') GROUP BY stack_id, b",
            {"org": org_id, "stacks": sorted(set(stack_ids)), "start": start_ns, "end": end_ns, "bucket": bucket_ns},
        )
        series = {s: StackSeries(s, [0] * n, [0] * n) for s in stack_ids}
        for stack, b, total, denies in result.rows:
            series[str(stack)].decisions[int(b)] = int(total)
            series[str(stack)].denies[int(b)] = int(denies)
        return list(series.values())

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> list[ArrivalBucket]:
        """The stack's records by reception time, in buckets of ``bucket_ns`` from ``start_ns``
        (only buckets that received something): distinct records received, how many were late
        (received more than ``late_after_ns`` after their ``created_at``), and the creation
        window of the late ones. A record stored twice (sync and WAL import) counts once per
        bucket it arrived in."""
        if not (0 <= start_ns < end_ns and bucket_ns > 0 and late_after_ns >= 0):
            raise ValueError("arrivals need 0 <= start < end, a bucket width above 0 and a late threshold of 0 or more")
        if (end_ns - start_ns) // bucket_ns > 20_000:
            raise ValueError("arrivals: at most 20,000 buckets; widen the bucket or narrow the range")
        late = ("toUnixTimestamp64Nano(received_at) - toUnixTimestamp64Nano(created_at) > {late:Int64}")
        result = await self._query(
            "SELECT intDiv(toUnixTimestamp64Nano(received_at) - {start:Int64}, {bucket:Int64}) AS b, "
            f"uniqExact(record_id), uniqExactIf(record_id, {late}), "
            f"minIf(toUnixTimestamp64Nano(created_at), {late}), maxIf(toUnixTimestamp64Nano(created_at), {late}) "
            f"FROM {self._table} WHERE org_id = {{org:String}} AND stack_id = {{stack:String}} "
            "AND received_at >= fromUnixTimestamp64Nano({start:Int64}, 'UTC') "
            "AND received_at < fromUnixTimestamp64Nano({end:Int64}, 'UTC') GROUP BY b ORDER BY b",
            {"org": org_id, "stack": stack_id, "start": start_ns, "end": end_ns, "bucket": bucket_ns,
             "late": late_after_ns},
        )
        return [ArrivalBucket(start_ns + int(r[0]) * bucket_ns, int(r[1]), int(r[2]),
                              int(r[3]) if int(r[2]) else 0, int(r[4]) if int(r[2]) else 0) for r in result.rows]

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
