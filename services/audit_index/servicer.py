"""The audit index's internal gRPC API (``faramesh_cloud_api.audit_index.v1``,
``AuditQueryService``): what the gateway reads of the index and the alert acknowledgements
people give it, answered by :class:`~faramesh_cloud.audit_index.reader.IndexReader`; and
``WatchCommits``, the organisations whose tail moved, from :class:`CommitWatch`.

This module is the edge: requests become ``IndexReader`` calls (Python values), the views it
returns become messages field by field (a record's bytes as bytes), its refusals statuses
(``query.proto``; the evidence reads' messages in ``evidence_wire.py``); nothing else in the
service imports this generated code. Served over mutual TLS; only the ``gateway`` (it
authenticates people and names the organisation they belong to) and ``compliance`` (its
posture sweeps and report jobs name the organisation they work for) may call it; no other
caller may name an organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.audit_index.v1 import query_pb2 as pb
from faramesh_cloud_api.audit_index.v1 import query_pb2_grpc

from faramesh_cloud.audit_index import retention_servicer
from faramesh_cloud.audit_index.alert_events import AlreadyAcknowledged
from faramesh_cloud.audit_index.commits import CommitWatch
from faramesh_cloud.audit_index.domain import ChainFinding
from faramesh_cloud.audit_index.evidence_views import EXPORT_PAGE
from faramesh_cloud.audit_index.evidence_wire import (
    certificate_message,
    stats_message,
    usage_message,
)
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.events import Checkpoint
from faramesh_cloud.audit_index.views import (
    AgentIntegrity,
    Alert,
    ChainRecord,
    Delegation,
    Page,
    PolicyVersionUse,
    RecordDetail,
    RecordSummary,
    StackIntegrity,
    SummaryReceipt,
)
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.wire import timestamp

AUDIT_QUERY: Final = pb.DESCRIPTOR.services_by_name["AuditQueryService"].full_name
# The gateway reads the index for people (and acknowledges alerts for them); compliance reads
# evidence for its posture and reports, method by method (never AcknowledgeAlert).
CALLERS: Final = frozenset({"gateway"})
EVIDENCE_CALLERS: Final = frozenset({"compliance"})
EVIDENCE_METHODS: Final = ("DecisionStats", "ToolUsage", "Search", "IntegrityCertificate", "ExportRange", "Count",
                           "GetChainIntegrity")
RAW_ENCODING: Final = "utf-8"
RAW_ERRORS: Final = "surrogatepass"  # a record's text back to the exact code points it had

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")
_FILTERS: Final = ("stack_id", "agent_id", "session_id", "effect", "action_type", "tool_id", "rule_id",
                   "verification", "state")


def raw_bytes(raw: str) -> bytes:
    return raw.encode(RAW_ENCODING, RAW_ERRORS)


def summary_message(s: RecordSummary) -> pb.RecordSummary:
    return pb.RecordSummary(
        org_id=s.org_id, stack_id=s.stack_id, agent_id=s.agent_id, session_id=s.session_id, record_id=s.record_id,
        created_at=s.created_at, created_ns=s.created_ns, effect=s.effect, action_type=s.action_type,
        tool_id=s.tool_id, matched_rule_id=s.matched_rule_id, reason_code=s.reason_code, reason=s.reason,
        lamport_seq=s.lamport_seq, record_hash=s.record_hash, hash_valid=s.hash_valid,
        signature_status=s.signature_status, signature_kind=s.signature_kind, link_status=s.link_status,
        source=s.source, log_partition=s.log_partition, log_offset=s.log_offset, org_seq=s.org_seq,
        verification=s.verification, state=s.state)


def page_message(p: Page) -> pb.Page:
    return pb.Page(records=[summary_message(r) for r in p.records], next_cursor=p.next_cursor)


def finding_message(f: ChainFinding) -> pb.ChainFinding:
    return pb.ChainFinding(org_id=f.org_id, stack_id=f.stack_id, agent_id=f.agent_id, record_id=f.record_id,
                           record_hash=f.record_hash, kind=str(f.kind), severity=str(f.severity), message=f.message,
                           chain_index=f.chain_index, log_position=f.log_position,
                           record_created_at=f.record_created_at, detected_ns=f.detected_ns)


def receipt_message(r: SummaryReceipt) -> pb.SummaryReceipt:
    return pb.SummaryReceipt(stack_id=r.stack_id, record_id=r.record_id, first_source=r.first_source,
                             sources=r.sources, deliveries=r.deliveries, superseded=r.superseded)


def detail_message(d: RecordDetail) -> pb.RecordDetail:
    return pb.RecordDetail(
        summary=summary_message(d.summary), prev_record_hash=d.prev_record_hash, raw=raw_bytes(d.raw),
        origin_seq=d.origin_seq, origin_buffer=d.origin_buffer, received_ns=d.received_ns,
        chain_index=d.chain_index, findings=[finding_message(f) for f in d.findings],
        receipt=receipt_message(d.receipt) if d.receipt is not None else None, verifier_behind=d.verifier_behind)


def chain_record_message(r: ChainRecord) -> pb.ChainRecord:
    return pb.ChainRecord(record_id=r.record_id, record_hash=r.record_hash, prev_record_hash=r.prev_record_hash,
                          created_at=r.created_at, raw=raw_bytes(r.raw), stack_id=r.stack_id, agent_id=r.agent_id,
                          link_status=r.link_status, chain_index=r.chain_index)


def agent_integrity_message(a: AgentIntegrity) -> pb.AgentIntegrity:
    return pb.AgentIntegrity(stack_id=a.stack_id, agent_id=a.agent_id, chain_length=a.chain_length,
                             segments=a.segments, tip_hash=a.tip_hash, tip_record_id=a.tip_record_id,
                             last_lamport=a.last_lamport, first_created_at=a.first_created_at,
                             last_created_at=a.last_created_at, last_verified_ns=a.last_verified_ns,
                             findings=[finding_message(f) for f in a.findings],
                             checkpoint=checkpoint_message(a.checkpoint) if a.checkpoint else None)


def checkpoint_message(cp: Checkpoint) -> pb.RetentionCheckpoint:
    return pb.RetentionCheckpoint(chain_index=cp.chain_index, record_hash=cp.record_hash, record_id=cp.record_id,
                                  record_created_at=cp.record_created_at, removed_on=cp.removed_on.isoformat(),
                                  sweep_id=cp.sweep_id, key_id=cp.key_id, signature=cp.signature)


def stack_integrity_message(s: StackIntegrity) -> pb.StackIntegrity:
    return pb.StackIntegrity(stack_id=s.stack_id, chain_length=s.chain_length, segments=s.segments,
                             last_verified_ns=s.last_verified_ns, findings_by_kind=s.findings_by_kind,
                             critical_findings=s.critical_findings, open_alerts=s.open_alerts,
                             agents=[agent_integrity_message(a) for a in s.agents])


def alert_message(a: Alert) -> pb.Alert:
    return pb.Alert(alert_id=a.alert_id, org_id=a.org_id, stack_id=a.stack_id, agent_id=a.agent_id,
                    record_id=a.record_id, record_hash=a.record_hash, kind=a.kind, severity=a.severity,
                    message=a.message, record_created_at=a.record_created_at, created_at=timestamp(a.created_at),
                    acknowledged=a.acknowledged, acknowledged_at=timestamp(a.acknowledged_at),
                    acknowledged_by=a.acknowledged_by, acknowledged_note=a.acknowledged_note)


def delegation_message(d: Delegation) -> pb.Delegation:
    return pb.Delegation(parent=d.parent, child=d.child, records=d.records, last_at=timestamp(d.last_at),
                         last_record_id=d.last_record_id, parent_on_stack=d.parent_on_stack)


def policy_version_message(u: PolicyVersionUse) -> pb.PolicyVersionUse:
    return pb.PolicyVersionUse(stack_id=u.stack_id, policy_version=u.policy_version, records=u.records,
                               last_at=timestamp(u.last_at), last_record_id=u.last_record_id)


def filters_of(message: pb.SearchFilters) -> dict[str, str]:
    return {name: getattr(message, name) for name in _FILTERS if message.HasField(name)}


def _range(message: pb.TimeRange) -> tuple[int | None, int | None]:
    return (message.start_ns if message.HasField("start_ns") else None,
            message.end_ns if message.HasField("end_ns") else None)


def _optional(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def _actor(message: pb.Actor) -> Actor:
    """Who acts, as the gateway names them; a change without an actor is not accepted."""
    if not message.type or not (message.id or message.label):
        raise ValueError("actor is required: the gateway names who acts (type, id, label)")
    try:
        kind = ActorType(message.type)
    except ValueError:
        raise ValueError(f"actor.type {message.type!r} is not one of {', '.join(t.value for t in ActorType)}") from None
    return Actor(kind, message.id, message.label, message.ip)


async def _answer(context: Context, org_id: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, with the index's refusals answered as their statuses (``query.proto``)."""
    try:
        if not org_id:
            raise ValueError("org_id is required: every read of the audit index names the organisation")
        return await call()
    except AlreadyAcknowledged as exc:
        status, message = grpc.StatusCode.ABORTED, str(exc)
    except LookupError as exc:
        status, message = grpc.StatusCode.NOT_FOUND, str(exc.args[0]) if exc.args else str(exc)
    except (ValueError, TypeError) as exc:  # a cursor it did not issue, a limit out of range, no note, ...
        status, message = grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    await context.abort(status, message)
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


class AuditQueryServicer(query_pb2_grpc.AuditQueryServiceServicer):
    def __init__(self, reader: IndexReader, commits: CommitWatch | None) -> None:
        self._reader = reader
        self._commits = commits

    async def Search(self, request: pb.SearchRequest, context: Context) -> pb.SearchResponse:
        start, end = _range(request.time_range)
        page = await _answer(context, request.org_id, lambda: self._reader.search(
            request.org_id, filters_of(request.filters), start, end, _optional(request, "cursor"), request.limit))
        return pb.SearchResponse(page=page_message(page))

    async def CountByEffect(self, request: pb.CountByEffectRequest, context: Context) -> pb.CountByEffectResponse:
        start, end = _range(request.time_range)
        counts = await _answer(context, request.org_id, lambda: self._reader.counts_by_effect(
            request.org_id, filters_of(request.filters), start, end))
        return pb.CountByEffectResponse(counts=counts)

    async def GetRecord(self, request: pb.GetRecordRequest, context: Context) -> pb.GetRecordResponse:
        copies = await _answer(context, request.org_id, lambda: self._reader.get_record(request.org_id,
                                                                                       request.record_id))
        return pb.GetRecordResponse(copies=[detail_message(d) for d in copies])

    async def GetNeighbours(self, request: pb.GetNeighboursRequest, context: Context) -> pb.GetNeighboursResponse:
        previous, following = await _answer(context, request.org_id, lambda: self._reader.neighbours(
            request.org_id, request.stack_id, request.agent_id, request.record_hash, request.prev_record_hash))
        return pb.GetNeighboursResponse(
            previous=chain_record_message(previous) if previous is not None else None,
            next=chain_record_message(following) if following is not None else None)

    async def StreamRecordsWithBytes(self, request: pb.RecordsWithBytesRequest,
                                     context: Context) -> AsyncIterator[pb.ChainRecord]:
        found = await _answer(context, request.org_id, lambda: self._reader.records_with_bytes(
            request.org_id, list(request.record_ids)))
        for record in found:
            yield chain_record_message(record)

    async def GetSessionTimeline(self, request: pb.GetSessionTimelineRequest,
                                 context: Context) -> pb.GetSessionTimelineResponse:
        page = await _answer(context, request.org_id, lambda: self._reader.session_timeline(
            request.org_id, request.session_id, _optional(request, "cursor"), request.limit))
        return pb.GetSessionTimelineResponse(page=page_message(page))

    async def ListRecent(self, request: pb.ListRecentRequest, context: Context) -> pb.ListRecentResponse:
        tail = await _answer(context, request.org_id, lambda: self._reader.recent(
            request.org_id, request.limit, _optional(request, "after")))
        return pb.ListRecentResponse(records=[summary_message(r) for r in tail.records], cursor=tail.cursor)

    async def GetChainIntegrity(self, request: pb.GetChainIntegrityRequest,
                                context: Context) -> pb.GetChainIntegrityResponse:
        stacks = await _answer(context, request.org_id, lambda: self._reader.chain_integrity(
            request.org_id, _optional(request, "stack_id")))
        return pb.GetChainIntegrityResponse(stacks=[stack_integrity_message(s) for s in stacks])

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: Context) -> pb.ListAlertsResponse:
        alerts = await _answer(context, request.org_id, lambda: self._reader.alerts(
            request.org_id, include_acknowledged=request.include_acknowledged))
        return pb.ListAlertsResponse(alerts=[alert_message(a) for a in alerts])

    async def GetAlert(self, request: pb.GetAlertRequest, context: Context) -> pb.GetAlertResponse:
        found = await _answer(context, request.org_id, lambda: self._reader.alert(request.org_id, request.alert_id))
        return pb.GetAlertResponse(alert=alert_message(found) if found is not None else None)

    async def AcknowledgeAlert(self, request: pb.AcknowledgeAlertRequest,
                               context: Context) -> pb.AcknowledgeAlertResponse:
        done = await _answer(context, request.org_id, lambda: self._reader.acknowledge_alert(
            request.org_id, request.alert_id, request.note, _actor(request.actor)))
        return pb.AcknowledgeAlertResponse(alert=alert_message(done))

    async def ListDelegations(self, request: pb.ListDelegationsRequest,
                              context: Context) -> pb.ListDelegationsResponse:
        found = await _answer(context, request.org_id, lambda: self._reader.delegations(
            request.org_id, request.stack_id, request.since_ns))
        return pb.ListDelegationsResponse(delegations=[delegation_message(d) for d in found])

    async def ListPolicyVersions(self, request: pb.ListPolicyVersionsRequest,
                                 context: Context) -> pb.ListPolicyVersionsResponse:
        found = await _answer(context, request.org_id, lambda: self._reader.policy_versions(
            request.org_id, list(request.stack_ids), request.since_ns))
        return pb.ListPolicyVersionsResponse(uses=[policy_version_message(u) for u in found])

    async def DecisionSeries(self, request: pb.DecisionSeriesRequest, context: Context) -> pb.DecisionSeriesResponse:
        found = await _answer(context, request.org_id, lambda: self._reader.decision_series(
            request.org_id, list(request.stack_ids), request.start_ns, request.end_ns, request.bucket_ns))
        return pb.DecisionSeriesResponse(series=[pb.StackSeries(stack_id=s.stack_id, decisions=s.decisions,
                                                                denies=s.denies) for s in found])

    async def ArrivalStats(self, request: pb.ArrivalStatsRequest, context: Context) -> pb.ArrivalStatsResponse:
        found = await _answer(context, request.org_id, lambda: self._reader.arrivals(
            request.org_id, request.stack_id, request.start_ns, request.end_ns, request.bucket_ns,
            request.late_after_ns))
        return pb.ArrivalStatsResponse(buckets=[pb.ArrivalBucket(
            start_ns=b.start_ns, received=b.received, late=b.late, late_first_ns=b.late_first_ns,
            late_last_ns=b.late_last_ns) for b in found])

    async def WatchCommits(self, request: pb.WatchCommitsRequest, context: Context) -> AsyncIterator[pb.CommitsMoved]:
        if self._commits is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this audit index does not watch its commits")
            return
        wanted = frozenset(request.org_ids)
        with self._commits.subscribe() as subscription:
            while True:
                moved, everything = await subscription.next()
                if wanted:
                    moved = [org for org in moved if org in wanted]
                if moved or everything:
                    yield pb.CommitsMoved(org_ids=moved, everything=everything)


    async def DecisionStats(self, request: pb.DecisionStatsRequest, context: Context) -> pb.DecisionStatsResponse:
        start, end = _range(request.time_range)
        stats = await _answer(context, request.org_id, lambda: self._reader.decision_stats(
            request.org_id, list(request.stack_ids), start, end, request.bucket_ns, request.top or 10))
        return stats_message(stats)

    async def ToolUsage(self, request: pb.ToolUsageRequest, context: Context) -> pb.ToolUsageResponse:
        start, end = _range(request.time_range)
        usage = await _answer(context, request.org_id, lambda: self._reader.tool_usage(
            request.org_id, list(request.stack_ids), start, end))
        return pb.ToolUsageResponse(usage=[usage_message(u) for u in usage])

    async def IntegrityCertificate(self, request: pb.IntegrityCertificateRequest,
                                   context: Context) -> pb.IntegrityCertificateResponse:
        start, end = _range(request.time_range)
        chains = await _answer(context, request.org_id, lambda: self._reader.integrity_certificate(
            request.org_id, list(request.stack_ids), start, end))
        return pb.IntegrityCertificateResponse(chains=[certificate_message(c, finding_message) for c in chains])

    async def ExportRange(self, request: pb.ExportRangeRequest, context: Context) -> AsyncIterator[pb.ChainRecord]:
        """One message per record; the reader reads a page at a time, and gRPC's flow control
        holds it back while the caller is slower, so memory stays bounded."""
        start, end = _range(request.time_range)

        async def records() -> AsyncIterator[ChainRecord]:  # the arguments are checked when this is made
            return self._reader.export_range(request.org_id, list(request.stack_ids), start, end,
                                             request.page_size or EXPORT_PAGE)

        found = await _answer(context, request.org_id, records)
        async for record in found:
            yield chain_record_message(record)

    async def Count(self, request: pb.CountRequest, context: Context) -> pb.CountResponse:
        start, end = _range(request.time_range)
        found = await _answer(context, request.org_id, lambda: self._reader.count(
            request.org_id, filters_of(request.filters), start, end, list(request.stack_ids)))
        return pb.CountResponse(count=found)


def internal_server(reader: IndexReader, commits: CommitWatch | None, address: str,
                    tls: ServiceCredentials, retention: RetentionApi | None = None) -> InternalServer:
    """The audit index's internal server on ``address`` (mutual TLS, ``gateway`` and
    ``compliance``), with ``RetentionService`` (``retention_servicer.py``; ``gateway`` only)
    when given ``retention``."""
    def register(server: grpc.aio.Server) -> None:
        query_pb2_grpc.add_AuditQueryServiceServicer_to_server(AuditQueryServicer(reader, commits), server)
        if retention is not None:
            retention_servicer.register(server, retention)

    allowed = {AUDIT_QUERY: CALLERS, **{f"{AUDIT_QUERY}/{m}": EVIDENCE_CALLERS for m in EVIDENCE_METHODS}}
    if retention is not None:
        allowed[retention_servicer.RETENTION] = retention_servicer.CALLERS
    return InternalServer(tls, address, allowed, register)
