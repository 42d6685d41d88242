"""The audit index's internal gRPC clients, over mutual TLS with the caller's own service
certificate (the index admits only ``gateway``):

* :class:`AuditIndexClient`: the gateway's ``AuditReader`` port (and what Fleet and Home read:
  delegations, policy versions) over ``AuditQueryService``. It answers exactly as
  :class:`~faramesh_cloud.audit_index.reader.IndexReader` does, with the same view values
  rebuilt field by field (``tests/contracts/test_audit_reader_contract.py`` holds both to
  one suite), and raises the same refusals: ``ValueError`` for a request the index refuses
  (a cursor it did not issue: :class:`~faramesh_cloud.rpc.errors.InvalidRequest`),
  ``LookupError`` for an alert the organisation does not have, ``AlreadyAcknowledged``
  naming who acknowledged it first.
* :class:`CommitWatchClient`: the index's commit wake-ups as keyed signals (what the live
  views wait on), from one ``WatchCommits`` stream kept open in the background and reopened
  when it fails; every waiter is woken when it opens (what was committed meanwhile is read
  then) and when it fails (the live views fall back on their slow re-check).

Failures: :class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` when the index is down,
unreachable, slow (each call has a deadline) or refuses the caller, which the gateway
answers 503."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from datetime import datetime
from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.audit_index.v1 import query_pb2 as pb
from faramesh_cloud_api.audit_index.v1 import query_pb2_grpc

from faramesh_cloud.audit_index.alert_events import AlreadyAcknowledged
from faramesh_cloud.audit_index.domain import ChainFinding, Severity
from faramesh_cloud.audit_index.evidence import sample_filters
from faramesh_cloud.audit_index.evidence_views import (
    EXPORT_PAGE,
    AuditEvidence,
    ChainCertificate,
    ChainPoint,
    DecisionStats,
    EffectBucket,
    Ranked,
    ToolUsage,
)
from faramesh_cloud.audit_index.evidence_wire import certificate_view, stats_view, usage_view
from faramesh_cloud.audit_index.reader import tail_cursor, tail_seq
from faramesh_cloud.audit_index.retention.events import Checkpoint
from faramesh_cloud.audit_index.views import (
    AgentIntegrity,
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
    SummaryReceipt,
    TailPage,
)
from faramesh_cloud.log.wakeup import Signals
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "audit-index"  # the identity the server's certificate must carry
EXPORT_TIMEOUT_S: Final = 120.0  # an export streams up to 1,000 records with their bytes
RANGE_EXPORT_TIMEOUT_S: Final = 3_600.0  # a report's whole range (1M records: minutes, not an hour)
RAW_ENCODING: Final = "utf-8"
RAW_ERRORS: Final = "surrogatepass"

# What another service takes from here (it may import only this module of the index):
# the evidence reads' values and their port, besides the two clients.
__all__ = ["EXPORT_PAGE", "AuditEvidence", "AuditIndexClient", "ChainCertificate", "ChainPoint", "ChainRecord",
           "CommitWatchClient", "DecisionStats", "EffectBucket", "Ranked", "RecordSummary", "ToolUsage"]

_log = logging.getLogger(__name__)


def _refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
    message = exc.details() or "the audit index refused the request"
    if exc.code() == grpc.StatusCode.NOT_FOUND:
        return LookupError(message)
    if exc.code() == grpc.StatusCode.ABORTED:
        return AlreadyAcknowledged(message)
    return None


def _raw(data: bytes) -> str:
    return data.decode(RAW_ENCODING, RAW_ERRORS)


def _required(m: pb.Alert | pb.Delegation | pb.PolicyVersionUse, name: str) -> datetime:
    found = moment(m, name)
    if found is None:
        raise ValueError(f"the audit index sent a {type(m).__name__} without {name}")
    return found


def summary_view(m: pb.RecordSummary) -> RecordSummary:
    return RecordSummary(
        org_id=m.org_id, stack_id=m.stack_id, agent_id=m.agent_id, session_id=m.session_id, record_id=m.record_id,
        created_at=m.created_at, created_ns=m.created_ns, effect=m.effect, action_type=m.action_type,
        tool_id=m.tool_id, matched_rule_id=m.matched_rule_id, reason_code=m.reason_code, reason=m.reason,
        lamport_seq=m.lamport_seq, record_hash=m.record_hash, hash_valid=m.hash_valid,
        signature_status=m.signature_status, signature_kind=m.signature_kind, link_status=m.link_status,
        source=m.source, log_partition=m.log_partition, log_offset=m.log_offset, org_seq=m.org_seq,
        verification=m.verification, state=m.state)


def page_view(m: pb.Page) -> Page:
    return Page([summary_view(r) for r in m.records], m.next_cursor if m.HasField("next_cursor") else None)


def finding_view(m: pb.ChainFinding) -> ChainFinding:
    return ChainFinding(org_id=m.org_id, stack_id=m.stack_id, agent_id=m.agent_id, record_id=m.record_id,
                        record_hash=m.record_hash, kind=m.kind, severity=Severity(m.severity), message=m.message,
                        chain_index=m.chain_index, log_position=m.log_position,
                        record_created_at=m.record_created_at, detected_ns=m.detected_ns)


def receipt_view(m: pb.SummaryReceipt) -> SummaryReceipt:
    return SummaryReceipt(m.stack_id, m.record_id, m.first_source, list(m.sources), m.deliveries, m.superseded)


def detail_view(m: pb.RecordDetail) -> RecordDetail:
    return RecordDetail(summary_view(m.summary), m.prev_record_hash, _raw(m.raw), m.origin_seq, m.origin_buffer,
                        m.received_ns, m.chain_index if m.HasField("chain_index") else None,
                        [finding_view(f) for f in m.findings],
                        receipt_view(m.receipt) if m.HasField("receipt") else None, m.verifier_behind)


def chain_record_view(m: pb.ChainRecord) -> ChainRecord:
    return ChainRecord(m.record_id, m.record_hash, m.prev_record_hash, m.created_at, _raw(m.raw), m.stack_id,
                       m.agent_id, m.link_status, m.chain_index if m.HasField("chain_index") else None)


def agent_integrity_view(m: pb.AgentIntegrity, org_id: str = "") -> AgentIntegrity:
    return AgentIntegrity(m.stack_id, m.agent_id, m.chain_length, m.segments, m.tip_hash, m.tip_record_id,
                          m.last_lamport, m.first_created_at, m.last_created_at, m.last_verified_ns,
                          [finding_view(f) for f in m.findings],
                          checkpoint_view(org_id, m.stack_id, m.agent_id, m.checkpoint)
                          if m.HasField("checkpoint") else None)


def checkpoint_view(org_id: str, stack_id: str, agent_id: str, m: pb.RetentionCheckpoint) -> Checkpoint:
    return Checkpoint(org_id=org_id, stack_id=stack_id, agent_id=agent_id, chain_index=m.chain_index,
                      record_hash=m.record_hash, record_id=m.record_id, record_created_at=m.record_created_at,
                      removed_on=datetime.fromisoformat(m.removed_on), sweep_id=m.sweep_id, key_id=m.key_id,
                      signature=m.signature)


def stack_integrity_view(m: pb.StackIntegrity, org_id: str = "") -> StackIntegrity:
    return StackIntegrity(m.stack_id, m.chain_length, m.segments, m.last_verified_ns, dict(m.findings_by_kind),
                          m.critical_findings, m.open_alerts, [agent_integrity_view(a, org_id) for a in m.agents])


def alert_view(m: pb.Alert) -> Alert:
    return Alert(m.alert_id, m.org_id, m.stack_id, m.agent_id, m.record_id, m.record_hash, m.kind, m.severity,
                 m.message, m.record_created_at, _required(m, "created_at"), m.acknowledged,
                 moment(m, "acknowledged_at"), m.acknowledged_by, m.acknowledged_note)


def delegation_view(m: pb.Delegation) -> Delegation:
    return Delegation(m.parent, m.child, m.records, _required(m, "last_at"), m.last_record_id, m.parent_on_stack)


def policy_version_view(m: pb.PolicyVersionUse) -> PolicyVersionUse:
    return PolicyVersionUse(m.stack_id, m.policy_version, m.records, _required(m, "last_at"), m.last_record_id)


def filters_message(filters: Mapping[str, str]) -> pb.SearchFilters:
    """The filters as the index takes them; checked here as in process (an unknown name is a
    TypeError, a verification it does not know a ValueError)."""
    checked = SearchFilters(**filters)
    return pb.SearchFilters(**{name: value for name, value in filters.items() if getattr(checked, name) is not None})


def _range(start_ns: int | None, end_ns: int | None) -> pb.TimeRange:
    return pb.TimeRange(start_ns=start_ns, end_ns=end_ns)


class AuditIndexClient:
    """``AuditReader`` (``gateway/web/audit_ports.py``) over the audit index's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._rpc = InternalClient(SERVER, address, tls, query_pb2_grpc.AuditQueryServiceStub, timeout_s, _refusal)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def search(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                     cursor: str | None, limit: int) -> Page:
        response = await self._rpc.call("Search", pb.SearchRequest(
            org_id=org_id, filters=filters_message(filters), time_range=_range(start_ns, end_ns), cursor=cursor,
            limit=limit))
        return page_view(response.page)

    async def counts_by_effect(self, org_id: str, filters: Mapping[str, str], start_ns: int | None,
                               end_ns: int | None) -> dict[str, int]:
        response = await self._rpc.call("CountByEffect", pb.CountByEffectRequest(
            org_id=org_id, filters=filters_message(filters), time_range=_range(start_ns, end_ns)))
        return dict(sorted(response.counts.items()))

    async def get_record(self, org_id: str, record_id: str) -> list[RecordDetail]:
        response = await self._rpc.call("GetRecord", pb.GetRecordRequest(org_id=org_id, record_id=record_id))
        return [detail_view(d) for d in response.copies]

    async def neighbours(self, org_id: str, stack_id: str, agent_id: str, record_hash: str,
                         prev_record_hash: str) -> tuple[ChainRecord | None, ChainRecord | None]:
        response = await self._rpc.call("GetNeighbours", pb.GetNeighboursRequest(
            org_id=org_id, stack_id=stack_id, agent_id=agent_id, record_hash=record_hash,
            prev_record_hash=prev_record_hash))
        return (chain_record_view(response.previous) if response.HasField("previous") else None,
                chain_record_view(response.next) if response.HasField("next") else None)

    async def records_with_bytes(self, org_id: str, record_ids: Sequence[str]) -> list[ChainRecord]:
        request = pb.RecordsWithBytesRequest(org_id=org_id, record_ids=list(record_ids))
        return [chain_record_view(m) async for m in self._rpc.stream("StreamRecordsWithBytes", request,
                                                                     EXPORT_TIMEOUT_S)]

    async def session_timeline(self, org_id: str, session_id: str, cursor: str | None, limit: int) -> Page:
        response = await self._rpc.call("GetSessionTimeline", pb.GetSessionTimelineRequest(
            org_id=org_id, session_id=session_id, cursor=cursor, limit=limit))
        return page_view(response.page)

    async def recent(self, org_id: str, limit: int, after: str | None) -> TailPage:
        response = await self._rpc.call("ListRecent", pb.ListRecentRequest(org_id=org_id, limit=limit, after=after))
        return TailPage([summary_view(r) for r in response.records], response.cursor)

    def tail_seq(self, cursor: str) -> int:
        return tail_seq(cursor)

    def tail_cursor(self, seq: int) -> str:
        return tail_cursor(seq)

    async def chain_integrity(self, org_id: str, stack_id: str | None = None) -> list[StackIntegrity]:
        response = await self._rpc.call("GetChainIntegrity", pb.GetChainIntegrityRequest(org_id=org_id,
                                                                                         stack_id=stack_id))
        return [stack_integrity_view(s, org_id) for s in response.stacks]

    async def alerts(self, org_id: str, *, include_acknowledged: bool = False) -> list[Alert]:
        response = await self._rpc.call("ListAlerts", pb.ListAlertsRequest(
            org_id=org_id, include_acknowledged=include_acknowledged))
        return [alert_view(a) for a in response.alerts]

    async def alert(self, org_id: str, alert_id: int) -> Alert | None:
        response = await self._rpc.call("GetAlert", pb.GetAlertRequest(org_id=org_id, alert_id=alert_id))
        return alert_view(response.alert) if response.HasField("alert") else None

    async def acknowledge_alert(self, org_id: str, alert_id: int, note: str, actor: Actor) -> Alert:
        response = await self._rpc.call("AcknowledgeAlert", pb.AcknowledgeAlertRequest(
            org_id=org_id, alert_id=alert_id, note=note,
            actor=pb.Actor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)))
        return alert_view(response.alert)

    async def delegations(self, org_id: str, stack_id: str, since_ns: int) -> list[Delegation]:
        response = await self._rpc.call("ListDelegations", pb.ListDelegationsRequest(
            org_id=org_id, stack_id=stack_id, since_ns=since_ns))
        return [delegation_view(d) for d in response.delegations]

    async def policy_versions(self, org_id: str, stack_ids: Sequence[str], since_ns: int) -> list[PolicyVersionUse]:
        response = await self._rpc.call("ListPolicyVersions", pb.ListPolicyVersionsRequest(
            org_id=org_id, stack_ids=list(stack_ids), since_ns=since_ns))
        return [policy_version_view(u) for u in response.uses]

    async def decision_series(self, org_id: str, stack_ids: Sequence[str], start_ns: int, end_ns: int,
                              bucket_ns: int) -> list[StackSeries]:
        response = await self._rpc.call("DecisionSeries", pb.DecisionSeriesRequest(
            org_id=org_id, stack_ids=list(stack_ids), start_ns=start_ns, end_ns=end_ns, bucket_ns=bucket_ns))
        return [StackSeries(s.stack_id, list(s.decisions), list(s.denies)) for s in response.series]

    async def arrivals(self, org_id: str, stack_id: str, start_ns: int, end_ns: int, bucket_ns: int,
                       late_after_ns: int) -> list[ArrivalBucket]:
        response = await self._rpc.call("ArrivalStats", pb.ArrivalStatsRequest(
            org_id=org_id, stack_id=stack_id, start_ns=start_ns, end_ns=end_ns, bucket_ns=bucket_ns,
            late_after_ns=late_after_ns))
        return [ArrivalBucket(b.start_ns, b.received, b.late, b.late_first_ns, b.late_last_ns)
                for b in response.buckets]

    # Evidence reads (``evidence_views.AuditEvidence``), as ``IndexReader`` answers them.

    async def decision_stats(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                             bucket_ns: int, top: int = 10) -> DecisionStats:
        response = await self._rpc.call("DecisionStats", pb.DecisionStatsRequest(
            org_id=org_id, stack_ids=_stack_ids(stacks), time_range=_range(start_ns, end_ns), bucket_ns=bucket_ns,
            top=top))
        return stats_view(response)

    async def tool_usage(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int) -> list[ToolUsage]:
        response = await self._rpc.call("ToolUsage", pb.ToolUsageRequest(
            org_id=org_id, stack_ids=_stack_ids(stacks), time_range=_range(start_ns, end_ns)))
        return [usage_view(u) for u in response.usage]

    async def sample_records(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start_ns: int,
                             end_ns: int, limit: int = 10) -> list[RecordSummary]:
        """Up to ``limit`` verified DPRs of one agent's calls of one tool in the range, newest first."""
        filters = sample_filters(stack_id, agent_id, tool_id, start_ns, end_ns)
        return (await self.search(org_id, filters, start_ns, end_ns, None, limit)).records

    async def integrity_certificate(self, org_id: str, stacks: Sequence[str], start_ns: int,
                                    end_ns: int) -> list[ChainCertificate]:
        response = await self._rpc.call("IntegrityCertificate", pb.IntegrityCertificateRequest(
            org_id=org_id, stack_ids=_stack_ids(stacks), time_range=_range(start_ns, end_ns)))
        return [certificate_view(c, finding_view) for c in response.chains]

    def export_range(self, org_id: str, stacks: Sequence[str], start_ns: int, end_ns: int,
                     page_size: int = EXPORT_PAGE) -> AsyncIterator[ChainRecord]:
        """The stream of the range's records; the index checks the arguments (ValueError,
        raised where the first record would be read)."""
        request = pb.ExportRangeRequest(org_id=org_id, stack_ids=_stack_ids(stacks),
                                        time_range=_range(start_ns, end_ns), page_size=page_size)
        return self._export(request)

    async def _export(self, request: pb.ExportRangeRequest) -> AsyncIterator[ChainRecord]:
        async for m in self._rpc.stream("ExportRange", request, RANGE_EXPORT_TIMEOUT_S):
            yield chain_record_view(m)

    async def count(self, org_id: str, filters: Mapping[str, str], start_ns: int | None, end_ns: int | None,
                    stacks: Sequence[str] = ()) -> int:
        response = await self._rpc.call("Count", pb.CountRequest(
            org_id=org_id, filters=filters_message(filters), time_range=_range(start_ns, end_ns),
            stack_ids=_stack_ids(stacks)))
        return int(response.count)


def _stack_ids(stacks: Sequence[str]) -> list[str]:
    if isinstance(stacks, str):
        raise TypeError("stacks is a sequence of stack ids, not one string")
    return list(stacks)


class CommitWatchClient:
    """The index's commit wake-ups (``Commits`` of the live views) from its ``WatchCommits``."""

    def __init__(self, address: str, tls: ServiceCredentials, max_backoff_s: float = 5.0) -> None:
        self._rpc = InternalClient(SERVER, address, tls, query_pb2_grpc.AuditQueryServiceStub)
        self._max_backoff_s = max_backoff_s
        self._signals = Signals()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while a stream is open (it has sent its first message)

    @property
    def address(self) -> str:
        return self._rpc.address

    def event(self, key: Hashable) -> asyncio.Event:
        return self._signals.event(key)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-index-commit-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._rpc.close()
        self._signals.fire_all()

    async def _run(self) -> None:
        backoff = 0.25
        while True:
            try:
                async for moved in self._rpc.stream("WatchCommits", pb.WatchCommitsRequest()):
                    backoff = 0.25
                    self.connected.set()
                    if moved.everything:
                        self._signals.fire_all()
                    for org_id in moved.org_ids:
                        self._signals.fire(org_id)
                _log.warning("the audit index ended its commit watch; reopening it")
            except ServiceUnavailable as exc:
                _log.warning("audit index commit watch: %s; retrying in %.2g s", exc, backoff)
            except ValueError as exc:  # the index refused the request (it should not)
                _log.error("audit index commit watch refused: %s", exc)
            self.connected.clear()
            self._signals.fire_all()  # waiters re-read (and fall back on their own re-check meanwhile)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)
