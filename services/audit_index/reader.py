"""The audit index's API for the gateway: every read people make of the index (the DPR
explorer and its REST twin, the live tail, chain integrity and alerts, Home's and Fleet's
activity, delegations, policy versions in use) and the one command they give it
(acknowledging an alert, handled by ``api.AuditIndexApi``).

Plain values in (``org_id`` first, filters as a mapping of names to values), the index's view
values out (``views.py``). Every read is scoped to the organisation named. A cursor the index
did not issue for that query, a limit out of range or an unknown filter value raises
``ValueError``.

A gateway in the index's process (``up``) is given the running service's own object
(``AuditIndex.reader``); one elsewhere (``serve gateway``) the gRPC client (``client.py``),
which the internal API (``servicer.py``) answers from this same object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from faramesh_cloud.audit_index import integrity
from faramesh_cloud.audit_index.api import AuditIndexApi
from faramesh_cloud.audit_index.domain import CHECKED_BY
from faramesh_cloud.audit_index.evidence import EvidenceReads, sample_filters
from faramesh_cloud.audit_index.evidence_views import (
    EXPORT_PAGE,
    ChainCertificate,
    DecisionStats,
    ToolUsage,
)
from faramesh_cloud.audit_index.explorer import ExplorerReads
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.views import (
    Alert,
    ArrivalBucket,
    ChainRecord,
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
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database


def tail_seq(cursor: str) -> int:
    """The tail position a cursor of ``recent`` stands at (-1: before the first); ValueError
    for a cursor ``recent`` did not issue."""
    (seq,) = decode_cursor("tail", cursor, (int,))
    return max(int(seq), -1)


def tail_cursor(seq: int) -> str:
    return encode_cursor("tail", [seq])


class IndexReader:
    def __init__(self, olap: Olap, db: Database, tables: AuditTables | None = None,
                 api: AuditIndexApi | None = None, *, topic: str = DPR_RECORDS,
                 verified_by: str = CHECKED_BY) -> None:
        tables = tables or AuditTables()
        self._queries = AuditQueries(olap, db, tables, topic=topic, verified_by=verified_by)
        self._explorer = ExplorerReads(olap, db, tables, topic=topic, verified_by=verified_by)
        self._evidence = EvidenceReads(olap, db, tables, topic=topic, verified_by=verified_by)
        self._db = db
        self._api = api or AuditIndexApi(db, PlatformAuditLog(db))

    async def search(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                     cursor: str | None, limit: int) -> Page:
        return await self._queries.search(org_id, SearchFilters(**filters), TimeRange(start_ns, end_ns), cursor,
                                          limit)

    async def counts_by_effect(self, org_id: str, filters: Mapping[str, str], start_ns: int | None,
                               end_ns: int | None) -> dict[str, int]:
        return await self._queries.counts_by_effect(org_id, SearchFilters(**filters), TimeRange(start_ns, end_ns))

    async def get_record(self, org_id: str, record_id: str) -> list[RecordDetail]:
        return await self._queries.get_record(org_id, record_id)

    async def neighbours(self, org_id: str, stack_id: str, agent_id: str, record_hash: str,
                         prev_record_hash: str) -> tuple[ChainRecord | None, ChainRecord | None]:
        return await self._explorer.neighbours(org_id, stack_id, agent_id, record_hash, prev_record_hash)

    async def records_with_bytes(self, org_id: str, record_ids: Sequence[str]) -> list[ChainRecord]:
        return await self._explorer.records_with_bytes(org_id, record_ids)

    async def session_timeline(self, org_id: str, session_id: str, cursor: str | None, limit: int) -> Page:
        return await self._queries.session_timeline(org_id, session_id, cursor, limit)

    async def recent(self, org_id: str, limit: int, after: str | None) -> TailPage:
        return await self._queries.recent(org_id, limit, after)

    def tail_seq(self, cursor: str) -> int:
        return tail_seq(cursor)

    def tail_cursor(self, seq: int) -> str:
        return tail_cursor(seq)

    async def chain_integrity(self, org_id: str, stack_id: str | None = None) -> list[StackIntegrity]:
        return await self._queries.chain_integrity(org_id, stack_id)

    async def alerts(self, org_id: str, *, include_acknowledged: bool = False) -> list[Alert]:
        return await self._queries.alerts(org_id, include_acknowledged=include_acknowledged)

    async def alert(self, org_id: str, alert_id: int) -> Alert | None:
        return await integrity.alert(self._db, org_id, alert_id)

    async def acknowledge_alert(self, org_id: str, alert_id: int, note: str, actor: Actor) -> Alert:
        return await self._api.acknowledge_alert(org_id, alert_id, note, actor)

    async def delegations(self, org_id: str, stack_id: str, since_ns: int) -> list[Delegation]:
        return await self._queries.delegations(org_id, stack_id, since_ns)

    async def policy_versions(self, org_id: str, stack_ids: Sequence[str], since_ns: int) -> list[PolicyVersionUse]:
        return await self._queries.policy_versions(org_id, list(stack_ids), since_ns)

    async def decision_series(self, org_id: str, stack_ids: Sequence[str], start_ns: int, end_ns: int,
                              bucket_ns: int) -> list[StackSeries]:
        return await self._queries.decision_series(org_id, list(stack_ids), start_ns, end_ns, bucket_ns)

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> list[ArrivalBucket]:
        return await self._queries.arrivals(org_id, stack_id, start_ns, end_ns, bucket_ns, late_after_ns)

    # Evidence reads (compliance; ``evidence_views.AuditEvidence``).

    async def decision_stats(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                             bucket_ns: int, top: int = 10) -> DecisionStats:
        return await self._evidence.decision_stats(org_id, stacks, start_ns, end_ns, bucket_ns, top)

    async def tool_usage(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int) -> list[ToolUsage]:
        return await self._evidence.tool_usage(org_id, stacks, start_ns, end_ns)

    async def sample_records(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start_ns: int,
                             end_ns: int, limit: int = 10) -> list[RecordSummary]:
        """Up to ``limit`` verified DPRs of one agent's calls of one tool in the range, newest first."""
        filters = sample_filters(stack_id, agent_id, tool_id, start_ns, end_ns)
        return (await self.search(org_id, filters, start_ns, end_ns, None, limit)).records

    async def integrity_certificate(self, org_id: str, stacks: Sequence[str], start_ns: int,
                                    end_ns: int) -> list[ChainCertificate]:
        return await self._evidence.integrity_certificate(org_id, stacks, start_ns, end_ns)

    def export_range(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                     page_size: int = EXPORT_PAGE) -> AsyncIterator[ChainRecord]:
        return self._evidence.export_range(org_id, stacks, start_ns, end_ns, page_size)

    async def count(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                    stacks: Sequence[str] = ()) -> int:
        return await self._evidence.count(org_id, filters, start_ns, end_ns, stacks)
