"""The approvals service's internal gRPC clients, over mutual TLS with the caller's own
service certificate (``rpc/internal_tls.py``):

* :class:`ApprovalsClient`: ingest's ``DaemonControl`` over
  ``faramesh_cloud_api.approvals.v1.DaemonControlService`` (the approvals service admits only
  ``ingest``). Failures surface as :class:`ControlUnavailable` (the approvals service is down
  or slow), or :class:`ControlBusy` when it answered "not now" (catching up with the log after
  a start: ``catch_up.py``); ingest answers the daemon UNAVAILABLE (with the service's reason
  and retry hint when busy) and the daemon retries, so nothing is lost: deliveries and
  commands stay queued until acknowledged.
* :class:`ApprovalsApiClient`: the gateway's ``ApprovalsPort`` over ``ApprovalsService``
  (admits only ``gateway``), answering exactly as ``ApprovalsApi`` does in process."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc, people_pb2_grpc
from faramesh_cloud_api.approvals.v1 import people_pb2 as pb
from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, emergency_pb2, sync_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.approvals.domain import (
    CommandRefused,
    Conflict,
    DecisionRefused,
    State,
    UnknownApproval,
)
from faramesh_cloud.approvals.summary import check_range
from faramesh_cloud.approvals.views import (
    Approval,
    ApprovalSummary,
    ApproverCount,
    BulkResult,
    Command,
    CommandCount,
    Decision,
)
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc import internal_tls
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.internal_client import CHANNEL_OPTIONS, InternalClient, retry_after
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import moment, timestamp

TIMEOUT_S: Final = 10.0
SERVER: Final = "approvals"  # the identity the server's certificate must carry
ERROR_DOMAIN: Final = "approvals.internal.faramesh-cloud"  # google.rpc.ErrorInfo.domain of the service's refusals


class ControlUnavailable(ConnectionError):
    """The approvals service did not answer; the message says what failed."""


class ControlBusy(ControlUnavailable, ServiceBusy):
    """The approvals service answered "not now" (UNAVAILABLE with ``retry-after``: it is
    catching up with the log): its reason, and when to try again."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(SERVER, reason, retry_after_s)


class ApprovalsClient:
    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = TIMEOUT_S) -> None:
        self._address = address
        self._tls = tls
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: control_pb2_grpc.DaemonControlServiceStub | None = None

    def _client(self) -> control_pb2_grpc.DaemonControlServiceStub:
        if self._stub is None:
            self._channel = internal_tls.channel(self._address, self._tls, SERVER, CHANNEL_OPTIONS)
            self._stub = control_pb2_grpc.DaemonControlServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None

    def _failed(self, exc: grpc.aio.AioRpcError) -> ControlUnavailable:
        wait = retry_after(exc) if exc.code() == grpc.StatusCode.UNAVAILABLE else None
        if wait is not None:
            return ControlBusy(exc.details() or "the approvals service is busy", wait)
        return ControlUnavailable(f"the approvals service at {self._address} did not answer "
                                  f"({exc.code().name}: {exc.details()})")

    async def poll_decisions(self, org_id: str, stack_id: str, limit: int,
                             wait_s: float = 0.0) -> tuple[list[deliveries_pb2.Delivery], bool]:
        request = control_pb2.PollDecisionsRequest(stack=control_pb2.StackRef(org_id=org_id, stack_id=stack_id),
                                                   limit=limit)
        if wait_s > 0:
            request.wait.FromNanoseconds(round(wait_s * 1e9))
        try:
            response = await self._client().PollDecisions(request, timeout=self._timeout + max(wait_s, 0.0))
        except grpc.aio.AioRpcError as exc:
            raise self._failed(exc) from None
        return list(response.deliveries), response.has_more

    async def ack_decisions(self, org_id: str, stack_id: str, acks: Sequence[deliveries_pb2.DeliveryAck]) -> None:
        try:
            await self._client().AckDecisions(control_pb2.AckDecisionsRequest(
                stack=control_pb2.StackRef(org_id=org_id, stack_id=stack_id), acks=acks), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise self._failed(exc) from None

    async def poll_commands(self, org_id: str, stack_id: str) -> list[emergency_pb2.EmergencyCommand]:
        try:
            response = await self._client().PollCommands(control_pb2.PollCommandsRequest(
                stack=control_pb2.StackRef(org_id=org_id, stack_id=stack_id)), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise self._failed(exc) from None
        return list(response.commands)

    async def ack_command(self, org_id: str, stack_id: str, ack: sync_pb2.AckEmergencyCommandRequest) -> bool:
        try:
            response = await self._client().AckCommand(control_pb2.AckCommandRequest(
                stack=control_pb2.StackRef(org_id=org_id, stack_id=stack_id), ack=ack), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise self._failed(exc) from None
        return response.known


# -- people's API (the gateway's ApprovalsPort) ------------------------------------------

PEOPLE_TIMEOUT_S: Final = 5.0
BULK_TIMEOUT_S: Final = 30.0  # up to 200 approvals, each decided in its own transaction
_VERDICTS: Final = {"approve": approvals_pb2.APPROVAL_VERDICT_APPROVE, "deny": approvals_pb2.APPROVAL_VERDICT_DENY}
_KINDS: Final = {"kill": emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL,
                 "isolate": emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE}
_REFUSALS: Final[dict[str, type[DecisionRefused]]] = {
    "conflict": Conflict, "command": CommandRefused, "decision": DecisionRefused}


def _required(m: Message, name: str) -> datetime:
    found = moment(m, name)
    if found is None:
        raise ValueError(f"the approvals service sent a {type(m).__name__} without {name}")
    return found


def approval_view(m: pb.Approval) -> Approval:
    return Approval(
        m.approval_id, m.stack_id, m.defer_token, m.agent_id, m.tool_id, m.session_id, m.args_json, m.matched_rule_id,
        m.reason_code, m.reason, m.priority, m.dpr_record_id, m.policy_version, _required(m, "created_at"),
        _required(m, "deadline"), m.state, moment(m, "resolved_at"), m.resolved_by, m.resolved_by_label,
        m.resolution_reason, m.resolution_source, m.decision_id, m.bulk_action_id, _required(m, "read_at"),
        m.resolution_record_id, m.daemon_state)


def decision_view(m: pb.Decision) -> Decision:
    return Decision(m.approval_id, m.decision_id, State(m.state), _required(m, "decided_at"))


def command_view(m: pb.Command) -> Command:
    return Command(m.command_id, m.stack_id, m.agent_id, m.command_type, m.reason, m.issued_by, m.issued_by_label,
                   _required(m, "issued_at"), m.state, moment(m, "delivered_at"), moment(m, "acked_at"),
                   moment(m, "applied_at"), m.outcome, m.message, m.dpr_record_id)


def _optional_float(m: Message, name: str) -> float | None:
    return float(getattr(m, name)) if m.HasField(name) else None


def summary_view(m: pb.SummarizeApprovalsResponse, start: datetime, end: datetime) -> ApprovalSummary:
    return ApprovalSummary(
        start=start, end=end, approved=m.approved, denied=m.denied, expired=m.expired, withdrawn=m.withdrawn,
        pending=m.pending, median_pending_s=_optional_float(m, "median_pending_seconds"),
        p95_pending_s=_optional_float(m, "p95_pending_seconds"),
        approvers=[ApproverCount(a.approver_id, a.label, a.approved, a.denied, a.single, a.bulk) for a in m.approvers],
        bulk_actions=m.bulk_actions, bulk_decided=m.bulk_decided,
        commands=[CommandCount(c.command_type, c.issued, c.acknowledged, c.applied,
                               _optional_float(c, "median_ack_seconds")) for c in m.commands])


def refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
    """The approvals service's refusal as the exception ``ApprovalsApi`` raises in process
    (``UnknownApproval``, ``Conflict``, ``CommandRefused``, ``DecisionRefused`` with its
    code); None for any other failure (the caller's certificate refused, the service down)."""
    for key, value in exc.trailing_metadata() or ():
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                code, message = info.reason.lower(), exc.details() or ""
                if code == "not_found":
                    return UnknownApproval(message)
                return _REFUSALS.get(info.metadata.get("kind", ""), DecisionRefused)(code, message)
    return None


def _scope(stacks: Collection[str] | None) -> pb.StackScope | None:
    return None if stacks is None else pb.StackScope(stack_ids=list(stacks))


def _caller(actor: Actor) -> pb.Caller:
    return pb.Caller(type=str(actor.type), id=actor.id, label=actor.label, ip=actor.ip)


def _filter(stack_id: str | None, agent_id: str | None, tool_id: str | None, stacks: Collection[str] | None,
            rule_id: str | None) -> pb.ApprovalFilter:
    return pb.ApprovalFilter(stack_id=stack_id, agent_id=agent_id, tool_id=tool_id, rule_id=rule_id,
                             scope=_scope(stacks))


def _verdict(verdict: str) -> int:
    if verdict not in _VERDICTS:
        raise ValueError(f"{verdict!r} is not a valid Verdict")
    return _VERDICTS[verdict]


def _kind(kind: str) -> int:
    if kind not in _KINDS:
        raise ValueError(f"{kind!r} is not a valid CommandType")
    return _KINDS[kind]


class ApprovalsApiClient:
    """``ApprovalsPort`` (``gateway/web/approvals_ports.py``) over the approvals service's
    ``ApprovalsService``, over mutual TLS with the gateway's certificate: the same values and
    the same exceptions as :class:`~faramesh_cloud.approvals.api.ApprovalsApi` in process
    (``tests/contracts/test_approvals_api_contract.py``). The approvals service down, slow
    (a deadline per call) or refusing this caller's certificate is
    :class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` (the gateway's 503)."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = PEOPLE_TIMEOUT_S) -> None:
        self._rpc = InternalClient(SERVER, address, tls, people_pb2_grpc.ApprovalsServiceStub, timeout_s, refusal)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def pending(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> list[Approval]:
        response = await self._rpc.call("ListPending", pb.ListPendingRequest(
            org_id=org_id, filter=_filter(stack_id, agent_id, tool_id, stacks, rule_id)))
        return [approval_view(a) for a in response.approvals]

    async def history(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> list[Approval]:
        response = await self._rpc.call("ListHistory", pb.ListHistoryRequest(
            org_id=org_id, filter=_filter(stack_id, agent_id, tool_id, stacks, rule_id)))
        return [approval_view(a) for a in response.approvals]

    async def get(self, org_id: str, approval_id: str, stacks: Collection[str] | None = None) -> Approval:
        response = await self._rpc.call("GetApproval", pb.GetApprovalRequest(
            org_id=org_id, approval_id=approval_id, scope=_scope(stacks)))
        return approval_view(response.approval)

    async def delivery(self, org_id: str, decision_id: str) -> tuple[int, datetime | None, str, str] | None:
        response = await self._rpc.call("GetDelivery", pb.GetDeliveryRequest(org_id=org_id, decision_id=decision_id))
        if not response.HasField("delivery"):
            return None
        d = response.delivery
        return d.handed_out, moment(d, "acked_at"), d.outcome, d.dpr_record_id

    async def decide(self, org_id: str, approval_id: str, actor: Actor, verdict: str, reason: str,
                     stacks: Collection[str] | None = None) -> Decision:
        response = await self._rpc.call("Decide", pb.DecideRequest(
            org_id=org_id, approval_id=approval_id, caller=_caller(actor), verdict=_verdict(verdict), reason=reason,
            scope=_scope(stacks)), change="the approval's page")
        return decision_view(response.decision)

    async def bulk_decide(self, org_id: str, approval_ids: Sequence[str], actor: Actor, verdict: str, reason: str,
                          stacks: Collection[str] | None = None) -> BulkResult:
        response = await self._rpc.call("BulkDecide", pb.BulkDecideRequest(
            org_id=org_id, approval_ids=list(approval_ids), caller=_caller(actor), verdict=_verdict(verdict),
            reason=reason, scope=_scope(stacks)), max(BULK_TIMEOUT_S, self._rpc.timeout_s),
            change="Approvals → History (the service finishes a bulk decision it has started)")
        return BulkResult(response.bulk_action_id, [decision_view(d) for d in response.decided],
                          {r.approval_id: r.message for r in response.refused},
                          {r.approval_id: r.code for r in response.refused})

    async def issue_command(self, org_id: str, stack_id: str, agent_id: str, actor: Actor, reason: str, kind: str,
                            *, permitted: bool, stack_exists: bool) -> Command:
        response = await self._rpc.call("IssueCommand", pb.IssueCommandRequest(
            org_id=org_id, stack_id=stack_id, agent_id=agent_id, caller=_caller(actor), reason=reason,
            type=_kind(kind), permitted=permitted, stack_exists=stack_exists),
            change="Fleet → Emergency commands")
        return command_view(response.command)

    async def commands(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                       stacks: Collection[str] | None = None) -> list[Command]:
        response = await self._rpc.call("ListCommands", pb.ListCommandsRequest(
            org_id=org_id, stack_id=stack_id, agent_id=agent_id, scope=_scope(stacks)))
        return [command_view(c) for c in response.commands]

    async def command(self, org_id: str, command_id: str) -> Command:
        response = await self._rpc.call("GetCommand", pb.GetCommandRequest(org_id=org_id, command_id=command_id))
        return command_view(response.command)

    async def summary(self, org_id: str, *, stacks: Collection[str] | None, start: datetime,
                      end: datetime) -> ApprovalSummary:
        check_range(start, end)
        response = await self._rpc.call("SummarizeApprovals", pb.SummarizeApprovalsRequest(
            org_id=org_id, scope=_scope(stacks), start=timestamp(start), end=timestamp(end)))
        return summary_view(response, start, end)
