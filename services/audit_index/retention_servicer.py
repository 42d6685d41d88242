"""Retention as an internal gRPC API (``faramesh_cloud_api.audit_index.v1``,
``RetentionService``, on the audit index's server beside ``AuditQueryService``), answered by
:class:`~faramesh_cloud.audit_index.retention.api.RetentionApi`.

The edge: requests become ``RetentionApi`` calls and its values become messages (nothing else
of retention imports generated code). Refusals keep their meaning on the wire:
``RetentionRefused`` (below a declared framework's minimum, with its citation) is
FAILED_PRECONDITION, any other ``ValueError`` INVALID_ARGUMENT, ``LookupError`` NOT_FOUND.
Only the ``gateway`` service may call it."""

from __future__ import annotations

from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.audit_index.v1 import retention_pb2 as pb
from faramesh_cloud_api.audit_index.v1 import retention_pb2_grpc

from faramesh_cloud.audit_index.retention.api import RetentionApi, RetentionRefused, RetentionStatus
from faramesh_cloud.audit_index.retention.events import Checkpoint, RetentionSwept
from faramesh_cloud.audit_index.retention.frameworks import Minimum
from faramesh_cloud.audit_index.retention.plan import Decision, Plan, Policies
from faramesh_cloud.audit_index.retention.store import SweepRow
from faramesh_cloud.audit_index.retention.sweep import SweepReport
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.servicing import Context
from faramesh_cloud.rpc.wire import timestamp

RETENTION: Final = pb.DESCRIPTOR.services_by_name["RetentionService"].full_name
CALLERS: Final = frozenset({"gateway"})
EDGE: Final = servicing.Edge(ValueError, ((RetentionRefused, grpc.StatusCode.FAILED_PRECONDITION),
                                          (ValueError, grpc.StatusCode.INVALID_ARGUMENT)))


def decision_message(d: Decision) -> pb.RetentionDecision:
    p = d.partition
    return pb.RetentionDecision(
        partition=pb.RetentionPartition(month=p.month, stacks=sorted(p.stacks), records=p.records,
                                        summaries=p.summaries),
        drop=d.drop, why=d.why, due_at=timestamp(d.due_at))


def plan_message(p: Plan) -> pb.RetentionPlan:
    return pb.RetentionPlan(decisions=[decision_message(d) for d in p.decisions], horizon_ns=p.horizon_ns)


def policies_message(p: Policies) -> pb.RetentionPolicies:
    return pb.RetentionPolicies(org_days=p.org_days or 0, stack_days=dict(p.stack_days), holds=dict(p.holds),
                                floor_days=p.floor_days)


def minimum_message(m: Minimum) -> pb.RetentionMinimum:
    return pb.RetentionMinimum(framework=m.framework, name=m.name, days=m.days, citation=m.citation, note=m.note)


def sweep_row_message(s: SweepRow) -> pb.RetentionSweepRow:
    return pb.RetentionSweepRow(sweep_id=s.sweep_id, ran_at=timestamp(s.ran_at), horizon_ns=s.horizon_ns,
                                months=s.months, records=s.records, summaries=s.summaries, chains=s.chains)


def status_message(s: RetentionStatus) -> pb.RetentionStatus:
    return pb.RetentionStatus(
        org_id=s.org_id, policies=policies_message(s.policies), frameworks=s.frameworks,
        minimum=minimum_message(s.minimum) if s.minimum is not None else None, plan=plan_message(s.plan),
        last_run=timestamp(s.last_run), next_run=timestamp(s.next_run),
        sweeps=[sweep_row_message(r) for r in s.sweeps])


def checkpoint_message(c: Checkpoint) -> pb.RetentionChainCheckpoint:
    return pb.RetentionChainCheckpoint(
        org_id=c.org_id, stack_id=c.stack_id, agent_id=c.agent_id, chain_index=c.chain_index,
        record_hash=c.record_hash, record_id=c.record_id, record_created_at=c.record_created_at,
        removed_on=timestamp(c.removed_on), sweep_id=c.sweep_id, key_id=c.key_id, signature=c.signature)


def swept_message(s: RetentionSwept) -> pb.RetentionSwept:
    return pb.RetentionSwept(event_id=s.event_id, occurred_at=timestamp(s.occurred_at), org_id=s.org_id,
                             sweep_id=s.sweep_id, horizon_ns=s.horizon_ns, months=s.months, records=s.records,
                             summaries=s.summaries, checkpoints=[checkpoint_message(c) for c in s.checkpoints])


def report_message(r: SweepReport) -> pb.SweepResponse:
    return pb.SweepResponse(org_id=r.org_id, plan=plan_message(r.plan),
                            swept=swept_message(r.swept) if r.swept is not None else None,
                            dropped_months=r.dropped_months, postponed=r.postponed or "")


class RetentionServicer(retention_pb2_grpc.RetentionServiceServicer):
    def __init__(self, api: RetentionApi) -> None:
        self._api = api

    async def GetRetention(self, request: pb.GetRetentionRequest, context: Context) -> pb.GetRetentionResponse:
        found = await EDGE.answer(context, lambda: self._api.status(EDGE.org(request.org_id)))
        return pb.GetRetentionResponse(status=status_message(found))

    async def SetRetention(self, request: pb.SetRetentionRequest, context: Context) -> pb.SetRetentionResponse:
        await EDGE.answer(context, lambda: self._api.set_retention(
            EDGE.org(request.org_id), request.days, EDGE.actor(request), stack_id=request.stack_id))
        return pb.SetRetentionResponse()

    async def ClearStackRetention(self, request: pb.ClearStackRetentionRequest,
                                  context: Context) -> pb.ClearStackRetentionResponse:
        await EDGE.answer(context, lambda: self._api.clear_stack_retention(
            EDGE.org(request.org_id), request.stack_id, EDGE.actor(request)))
        return pb.ClearStackRetentionResponse()

    async def SetLegalHold(self, request: pb.SetLegalHoldRequest, context: Context) -> pb.SetLegalHoldResponse:
        await EDGE.answer(context, lambda: self._api.set_hold(
            EDGE.org(request.org_id), request.stack_id, EDGE.actor(request), held=request.held,
            reason=request.reason))
        return pb.SetLegalHoldResponse()

    async def DryRun(self, request: pb.DryRunRequest, context: Context) -> pb.DryRunResponse:
        found = await EDGE.answer(context, lambda: self._api.dry_run(
            EDGE.org(request.org_id), days=request.days if request.HasField("days") else None, stack_id=request.stack_id))
        return pb.DryRunResponse(plan=plan_message(found))

    async def Sweep(self, request: pb.SweepRequest, context: Context) -> pb.SweepResponse:
        report = await EDGE.answer(context, lambda: self._api.sweep_now(EDGE.org(request.org_id), EDGE.actor(request)))
        return report_message(report)


def register(server: grpc.aio.Server, api: RetentionApi) -> None:
    retention_pb2_grpc.add_RetentionServiceServicer_to_server(RetentionServicer(api), server)
