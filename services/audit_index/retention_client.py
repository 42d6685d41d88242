"""Retention over the audit index's internal gRPC API (``RetentionService``): the gateway's
``RetentionPort`` when the index runs in another process (``serve gateway``), over mutual TLS
with the gateway's certificate. It answers as
:class:`~faramesh_cloud.audit_index.retention.api.RetentionApi` does, with the same values and
refusals (``tests/contracts/test_retention_api_contract.py``): ``RetentionRefused``
(FAILED_PRECONDITION: below a declared framework's minimum, the citation in the message),
``ValueError`` (INVALID_ARGUMENT), ``LookupError`` (NOT_FOUND); the index down or slow:
``ServiceUnavailable`` (the gateway's 503)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import grpc
from faramesh_cloud_api.audit_index.v1 import retention_pb2 as pb
from faramesh_cloud_api.audit_index.v1 import retention_pb2_grpc

from faramesh_cloud.audit_index.retention.api import RetentionRefused, RetentionStatus, check_days
from faramesh_cloud.audit_index.retention.events import Checkpoint, RetentionSwept
from faramesh_cloud.audit_index.retention.frameworks import Minimum
from faramesh_cloud.audit_index.retention.plan import Decision, Partition, Plan, Policies
from faramesh_cloud.audit_index.retention.store import SweepRow
from faramesh_cloud.audit_index.retention.sweep import SweepReport
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "audit-index"
REFUSALS: Final = {
    grpc.StatusCode.FAILED_PRECONDITION: RetentionRefused,
    grpc.StatusCode.NOT_FOUND: LookupError,
}
# A run lists the removed records, signs a checkpoint per chain and drops partitions; a dry
# run or the status counts an organisation's months in ClickHouse.
SWEEP_TIMEOUT_S: Final = 300.0
PLAN_TIMEOUT_S: Final = 60.0


def _at(m: Any, name: str) -> Any:
    at = moment(m, name)
    if at is None:
        raise ValueError(f"the audit index sent a {type(m).__name__} without {name}")
    return at


def plan(m: pb.RetentionPlan) -> Plan:
    return Plan([Decision(Partition(d.partition.month, frozenset(d.partition.stacks), d.partition.records,
                                    d.partition.summaries), d.drop, d.why, moment(d, "due_at"))
                 for d in m.decisions], m.horizon_ns)


def policies(m: pb.RetentionPolicies) -> Policies:
    return Policies(m.org_days or None, dict(m.stack_days), dict(m.holds), m.floor_days)


def minimum(m: pb.RetentionMinimum) -> Minimum:
    return Minimum(m.framework, m.name, m.days, m.citation, m.note)


def sweep_row(m: pb.RetentionSweepRow) -> SweepRow:
    return SweepRow(m.sweep_id, _at(m, "ran_at"), m.horizon_ns, list(m.months), m.records, m.summaries, m.chains)


def status(m: pb.RetentionStatus) -> RetentionStatus:
    return RetentionStatus(m.org_id, policies(m.policies), list(m.frameworks),
                           minimum(m.minimum) if m.HasField("minimum") else None, plan(m.plan),
                           moment(m, "last_run"), moment(m, "next_run"), [sweep_row(s) for s in m.sweeps])


def checkpoint(m: pb.RetentionChainCheckpoint) -> Checkpoint:
    return Checkpoint(org_id=m.org_id, stack_id=m.stack_id, agent_id=m.agent_id, chain_index=m.chain_index,
                      record_hash=m.record_hash, record_id=m.record_id, record_created_at=m.record_created_at,
                      removed_on=_at(m, "removed_on"), sweep_id=m.sweep_id, key_id=m.key_id, signature=m.signature)


def swept(m: pb.RetentionSwept) -> RetentionSwept:
    return RetentionSwept(event_id=m.event_id, occurred_at=_at(m, "occurred_at"), org_id=m.org_id,
                          sweep_id=m.sweep_id, horizon_ns=m.horizon_ns, months=list(m.months), records=m.records,
                          summaries=m.summaries, checkpoints=[checkpoint(c) for c in m.checkpoints])


def report(m: pb.SweepResponse) -> SweepReport:
    return SweepReport(m.org_id, plan(m.plan), swept(m.swept) if m.HasField("swept") else None,
                       list(m.dropped_months), m.postponed or None)


def actor_message(actor: Actor) -> pb.RetentionActor:
    return pb.RetentionActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


class RetentionClient:
    """``RetentionPort`` (``gateway/web/retention_ports.py``) over the audit index's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        refusals: Mapping[grpc.StatusCode, Any] = REFUSALS
        self._rpc = InternalClient(SERVER, address, tls, retention_pb2_grpc.RetentionServiceStub, timeout_s,
                                   refusals)

    async def close(self) -> None:
        await self._rpc.close()

    async def status(self, org_id: str) -> RetentionStatus:
        response = await self._rpc.call("GetRetention", pb.GetRetentionRequest(org_id=org_id),
                                        timeout_s=PLAN_TIMEOUT_S)
        return status(response.status)

    async def set_retention(self, org_id: str, days: int, actor: Actor, *, stack_id: str = "") -> None:
        await self._rpc.call("SetRetention", pb.SetRetentionRequest(
            org_id=org_id, actor=actor_message(actor), days=_int32(days), stack_id=stack_id))

    async def clear_stack_retention(self, org_id: str, stack_id: str, actor: Actor) -> None:
        await self._rpc.call("ClearStackRetention", pb.ClearStackRetentionRequest(
            org_id=org_id, actor=actor_message(actor), stack_id=stack_id))

    async def set_hold(self, org_id: str, stack_id: str, actor: Actor, *, held: bool, reason: str = "") -> None:
        await self._rpc.call("SetLegalHold", pb.SetLegalHoldRequest(
            org_id=org_id, actor=actor_message(actor), stack_id=stack_id, held=held, reason=reason))

    async def dry_run(self, org_id: str, *, days: int | None = None, stack_id: str = "") -> Plan:
        request = pb.DryRunRequest(org_id=org_id, stack_id=stack_id)
        if days is not None:
            request.days = _int32(days)
        response = await self._rpc.call("DryRun", request, timeout_s=PLAN_TIMEOUT_S)
        return plan(response.plan)

    async def sweep_now(self, org_id: str, actor: Actor) -> SweepReport:
        return report(await self._rpc.call("Sweep", pb.SweepRequest(org_id=org_id, actor=actor_message(actor)),
                                          timeout_s=SWEEP_TIMEOUT_S,
                                          change="Settings → Retention (the job's last runs)"))


def _int32(days: int) -> int:
    """``days`` as the wire carries it; a value no int32 holds is refused here with the
    service's own words (it is out of range there too)."""
    if isinstance(days, bool) or not isinstance(days, int) or not -(2**31) <= days < 2**31:
        check_days(days)
    return days
