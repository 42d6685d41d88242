"""The approvals service's internal gRPC APIs (``faramesh_cloud_api.approvals.v1``), on one
server with mutual TLS:

* ``DaemonControlService``: ingest's polls and acknowledgements for a stack's daemon,
  answered by :class:`ApprovalsControl`. Only ``ingest`` may call it: the stack in a request
  is whatever ingest authenticated, so no other caller may name one.
* ``ApprovalsService``: what people do (the queue, history, decisions, bulk decisions,
  kill / isolate, the command list), answered by :class:`ApprovalsApi`. Only ``gateway``
  may call it (and ``compliance`` its one read, ``SummarizeApprovals``): the gateway
  authenticates people and applies the role table, and the request carries
  who acts and what the role table allows them; the rules of the service's own state
  (mandatory reason, the first decision wins, one pattern per bulk action) are checked
  here, by the same command handlers as in process.

This module is the edge: messages become ``ApprovalsApi`` calls (Python values), its answers
and refusals become messages and statuses (``people.proto`` lists them: a refusal's code
travels as ``google.rpc.ErrorInfo`` in the status details); nothing else in the service
imports generated code of these APIs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc, people_pb2_grpc
from faramesh_cloud_api.approvals.v1 import people_pb2 as pb
from faramesh_cloud_api.sync.v1 import approvals_pb2, emergency_pb2
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.approvals.api import ApprovalsApi
from faramesh_cloud.approvals.client import ERROR_DOMAIN
from faramesh_cloud.approvals.domain import (
    CommandRefused,
    Conflict,
    DecisionRefused,
    UnknownApproval,
)
from faramesh_cloud.approvals.sync_adapter import ApprovalsControl
from faramesh_cloud.approvals.views import Approval, ApprovalSummary, Command, Decision
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.internal_client import RETRY_AFTER
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.status import DETAILS_KEY
from faramesh_cloud.rpc.wire import moment, timestamp

DAEMON_CONTROL: Final = control_pb2.DESCRIPTOR.services_by_name["DaemonControlService"].full_name
APPROVALS: Final = pb.DESCRIPTOR.services_by_name["ApprovalsService"].full_name
CALLERS: Final = frozenset({"ingest"})  # the only service that speaks for a daemon
PEOPLE_CALLERS: Final = frozenset({"gateway"})  # the only service that speaks for people
SUMMARIZE: Final = f"{APPROVALS}/SummarizeApprovals"
SUMMARY_CALLERS: Final = frozenset({"compliance"})  # reads the summary only, never decides nor issues

# A refusal's gRPC status, by its code (people.proto); codes not listed: INVALID_ARGUMENT.
_STATUS: Final = {"not_found": grpc.StatusCode.NOT_FOUND, "already_resolved": grpc.StatusCode.ABORTED,
                  "expired": grpc.StatusCode.ABORTED, "withdrawn": grpc.StatusCode.ABORTED,
                  "conflict": grpc.StatusCode.ABORTED, "forbidden": grpc.StatusCode.PERMISSION_DENIED}
VERDICTS: Final = {approvals_pb2.APPROVAL_VERDICT_APPROVE: "approve", approvals_pb2.APPROVAL_VERDICT_DENY: "deny"}
COMMAND_KINDS: Final = {emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL: "kill",
                        emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE: "isolate"}

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


async def _stack(ref: control_pb2.StackRef, context: Context) -> tuple[str, str]:
    if not ref.org_id or not ref.stack_id:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "stack.org_id and stack.stack_id are required")
    return ref.org_id, ref.stack_id


async def _unless_busy(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``; the service's "not now" (``ServiceBusy``: catching up with the log) as
    UNAVAILABLE with ``retry-after``, which the caller's client raises as ``ServiceBusy``."""
    try:
        return await call()
    except ServiceBusy as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc),
                            trailing_metadata=((RETRY_AFTER, str(exc.retry_after_s or 1)),))
        raise AssertionError("unreachable: context.abort raises") from None  # pragma: no cover


class DaemonControlServicer(control_pb2_grpc.DaemonControlServiceServicer):
    def __init__(self, control: ApprovalsControl) -> None:
        self._control = control

    async def PollDecisions(self, request: control_pb2.PollDecisionsRequest,
                            context: Context) -> control_pb2.PollDecisionsResponse:
        org, stack = await _stack(request.stack, context)
        wait_s = request.wait.ToNanoseconds() / 1e9 if request.HasField("wait") else 0.0
        deliveries, more = await _unless_busy(
            context, lambda: self._control.poll_decisions(org, stack, request.limit, wait_s))
        return control_pb2.PollDecisionsResponse(deliveries=deliveries, has_more=more)

    async def AckDecisions(self, request: control_pb2.AckDecisionsRequest,
                           context: Context) -> control_pb2.AckDecisionsResponse:
        org, stack = await _stack(request.stack, context)
        await _unless_busy(context, lambda: self._control.ack_decisions(org, stack, request.acks))
        return control_pb2.AckDecisionsResponse()

    async def PollCommands(self, request: control_pb2.PollCommandsRequest,
                           context: Context) -> control_pb2.PollCommandsResponse:
        org, stack = await _stack(request.stack, context)
        commands = await _unless_busy(context, lambda: self._control.poll_commands(org, stack))
        return control_pb2.PollCommandsResponse(commands=commands)

    async def AckCommand(self, request: control_pb2.AckCommandRequest,
                         context: Context) -> control_pb2.AckCommandResponse:
        org, stack = await _stack(request.stack, context)
        known = await _unless_busy(context, lambda: self._control.ack_command(org, stack, request.ack))
        return control_pb2.AckCommandResponse(known=known)


# -- people's API ---------------------------------------------------------------------


def approval_message(a: Approval) -> pb.Approval:
    return pb.Approval(
        approval_id=a.approval_id, stack_id=a.stack_id, defer_token=a.defer_token, agent_id=a.agent_id,
        tool_id=a.tool_id, session_id=a.session_id, args_json=a.args_json, matched_rule_id=a.matched_rule_id,
        reason_code=a.reason_code, reason=a.reason, priority=a.priority, dpr_record_id=a.dpr_record_id,
        policy_version=a.policy_version, created_at=timestamp(a.created_at), deadline=timestamp(a.deadline),
        state=a.state, resolved_at=timestamp(a.resolved_at), resolved_by=a.resolved_by,
        resolved_by_label=a.resolved_by_label, resolution_reason=a.resolution_reason,
        resolution_source=a.resolution_source, decision_id=a.decision_id, bulk_action_id=a.bulk_action_id,
        read_at=timestamp(a.now), resolution_record_id=a.resolution_record_id, daemon_state=a.daemon_state)


def decision_message(d: Decision) -> pb.Decision:
    return pb.Decision(approval_id=d.approval_id, decision_id=d.decision_id, state=str(d.state),
                       decided_at=timestamp(d.decided_at))


def command_message(c: Command) -> pb.Command:
    return pb.Command(
        command_id=c.command_id, stack_id=c.stack_id, agent_id=c.agent_id, command_type=c.command_type,
        reason=c.reason, issued_by=c.issued_by, issued_by_label=c.issued_by_label, issued_at=timestamp(c.issued_at),
        state=c.state, delivered_at=timestamp(c.delivered_at), acked_at=timestamp(c.acked_at),
        applied_at=timestamp(c.applied_at), outcome=c.outcome, message=c.message, dpr_record_id=c.dpr_record_id)


def summary_message(s: ApprovalSummary) -> pb.SummarizeApprovalsResponse:
    return pb.SummarizeApprovalsResponse(
        approved=s.approved, denied=s.denied, expired=s.expired, withdrawn=s.withdrawn, pending=s.pending,
        median_pending_seconds=s.median_pending_s, p95_pending_seconds=s.p95_pending_s,
        approvers=[pb.ApproverDecisions(approver_id=a.approver_id, label=a.label, approved=a.approved,
                                        denied=a.denied, single=a.single, bulk=a.bulk) for a in s.approvers],
        bulk_actions=s.bulk_actions, bulk_decided=s.bulk_decided,
        commands=[pb.CommandFigures(command_type=c.command_type, issued=c.issued, acknowledged=c.acknowledged,
                                    applied=c.applied, median_ack_seconds=c.median_ack_s) for c in s.commands])


def refusal_kind(exc: DecisionRefused) -> str:
    if isinstance(exc, Conflict):
        return "conflict"
    return "command" if isinstance(exc, CommandRefused) else "decision"


def refusal_trailer(code: str, kind: str, status: grpc.StatusCode, message: str) -> tuple[tuple[str, bytes], ...]:
    """The status details of a refusal: ``google.rpc.ErrorInfo`` (reason: the code in upper
    case; metadata ``kind``), which the client turns back into the same exception."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=code.upper(), domain=ERROR_DOMAIN, metadata={"kind": kind}))
    details = status_pb2.Status(code=status.value[0], message=message, details=[info])
    return ((DETAILS_KEY, details.SerializeToString()),)


async def _answer(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, with the service's refusals answered as their statuses (people.proto), and
    its "not now" as UNAVAILABLE with ``retry-after``."""
    try:
        return await _unless_busy(context, call)
    except UnknownApproval as exc:
        code, kind, message = "not_found", "decision", str(exc)
    except DecisionRefused as exc:
        code, kind, message = exc.code, refusal_kind(exc), str(exc)
    except ValueError as exc:  # a request the service cannot read: an org_id that is not a UUID, ...
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        raise  # abort raises; this keeps type checkers informed
    status = _STATUS.get(code, grpc.StatusCode.INVALID_ARGUMENT)
    await context.abort(status, message, trailing_metadata=refusal_trailer(code, kind, status, message))
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


def _optional(message: Any, name: str) -> str | None:
    return getattr(message, name) if message.HasField(name) else None


def _scope(message: Any) -> list[str] | None:
    return list(message.scope.stack_ids) if message.HasField("scope") else None


def _bound(request: pb.SummarizeApprovalsRequest, name: str) -> datetime:
    found = moment(request, name)
    if found is None:
        raise ValueError(f"{name} is required: the summary covers [start, end)")
    return found


def _actor(caller: pb.Caller) -> Actor:
    """Who acts, as the gateway names them; a change without an actor is not accepted."""
    if not caller.type or not (caller.id or caller.label):
        raise ValueError("caller is required: the gateway names who acts (type, id, label)")
    try:
        kind = ActorType(caller.type)
    except ValueError:
        raise ValueError(f"caller.type {caller.type!r} is not one of {', '.join(t.value for t in ActorType)}") from None
    return Actor(kind, caller.id, caller.label, caller.ip)


def _verdict(number: int) -> str:
    if number not in VERDICTS:
        raise ValueError("verdict is required: APPROVAL_VERDICT_APPROVE or APPROVAL_VERDICT_DENY")
    return VERDICTS[number]


def _kind(number: int) -> str:
    if number not in COMMAND_KINDS:
        raise ValueError("type is required: EMERGENCY_COMMAND_TYPE_AGENT_KILL or EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE")
    return COMMAND_KINDS[number]


class ApprovalsServicer(people_pb2_grpc.ApprovalsServiceServicer):
    def __init__(self, api: ApprovalsApi) -> None:
        self._api = api

    async def ListPending(self, request: pb.ListPendingRequest, context: Context) -> pb.ListPendingResponse:
        f = request.filter
        found = await _answer(context, lambda: self._api.pending(
            request.org_id, stack_id=_optional(f, "stack_id"), agent_id=_optional(f, "agent_id"),
            tool_id=_optional(f, "tool_id"), stacks=_scope(f), rule_id=_optional(f, "rule_id")))
        return pb.ListPendingResponse(approvals=[approval_message(a) for a in found])

    async def ListHistory(self, request: pb.ListHistoryRequest, context: Context) -> pb.ListHistoryResponse:
        f = request.filter
        found = await _answer(context, lambda: self._api.history(
            request.org_id, stack_id=_optional(f, "stack_id"), agent_id=_optional(f, "agent_id"),
            tool_id=_optional(f, "tool_id"), stacks=_scope(f), rule_id=_optional(f, "rule_id")))
        return pb.ListHistoryResponse(approvals=[approval_message(a) for a in found])

    async def GetApproval(self, request: pb.GetApprovalRequest, context: Context) -> pb.GetApprovalResponse:
        found = await _answer(context, lambda: self._api.get(request.org_id, request.approval_id, _scope(request)))
        return pb.GetApprovalResponse(approval=approval_message(found))

    async def GetDelivery(self, request: pb.GetDeliveryRequest, context: Context) -> pb.GetDeliveryResponse:
        found = await _answer(context, lambda: self._api.delivery(request.org_id, request.decision_id))
        if found is None:
            return pb.GetDeliveryResponse()
        handed_out, acked_at, outcome, record_id = found
        return pb.GetDeliveryResponse(delivery=pb.DeliveryState(
            handed_out=handed_out, acked_at=timestamp(acked_at), outcome=outcome, dpr_record_id=record_id))

    async def Decide(self, request: pb.DecideRequest, context: Context) -> pb.DecideResponse:
        async def decide() -> Decision:
            return await self._api.decide(request.org_id, request.approval_id, _actor(request.caller),
                                          _verdict(request.verdict), request.reason, _scope(request))
        return pb.DecideResponse(decision=decision_message(await _answer(context, decide)))

    async def BulkDecide(self, request: pb.BulkDecideRequest, context: Context) -> pb.BulkDecideResponse:
        async def decide() -> Any:
            # Shielded: a caller whose deadline passes mid-way (each approval is its own
            # transaction) does not leave the bulk decision half done; it finishes, and the
            # caller is told the outcome is unknown (rpc/errors.OutcomeUnknown).
            return await asyncio.shield(self._api.bulk_decide(
                request.org_id, list(request.approval_ids), _actor(request.caller), _verdict(request.verdict),
                request.reason, _scope(request)))
        result = await _answer(context, decide)
        return pb.BulkDecideResponse(
            bulk_action_id=result.bulk_action_id, decided=[decision_message(d) for d in result.decided],
            refused=[pb.BulkRefusal(approval_id=i, code=result.codes.get(i, ""), message=why)
                     for i, why in result.refused.items()])

    async def IssueCommand(self, request: pb.IssueCommandRequest, context: Context) -> pb.IssueCommandResponse:
        async def issue() -> Command:
            return await self._api.issue_command(
                request.org_id, request.stack_id, request.agent_id, _actor(request.caller), request.reason,
                _kind(request.type), permitted=request.permitted, stack_exists=request.stack_exists)
        return pb.IssueCommandResponse(command=command_message(await _answer(context, issue)))

    async def ListCommands(self, request: pb.ListCommandsRequest, context: Context) -> pb.ListCommandsResponse:
        found = await _answer(context, lambda: self._api.commands(
            request.org_id, stack_id=_optional(request, "stack_id"), agent_id=_optional(request, "agent_id"),
            stacks=_scope(request)))
        return pb.ListCommandsResponse(commands=[command_message(c) for c in found])

    async def GetCommand(self, request: pb.GetCommandRequest, context: Context) -> pb.GetCommandResponse:
        found = await _answer(context, lambda: self._api.command(request.org_id, request.command_id))
        return pb.GetCommandResponse(command=command_message(found))

    async def SummarizeApprovals(self, request: pb.SummarizeApprovalsRequest,
                                 context: Context) -> pb.SummarizeApprovalsResponse:
        async def summarize() -> ApprovalSummary:
            return await self._api.summary(request.org_id, stacks=_scope(request), start=_bound(request, "start"),
                                           end=_bound(request, "end"))
        return summary_message(await _answer(context, summarize))


def internal_server(control: ApprovalsControl, address: str, tls: ServiceCredentials,
                    api: ApprovalsApi | None = None) -> InternalServer:
    """The approvals service's internal server on ``address`` (mutual TLS): ``DaemonControlService``
    for ``ingest`` and, given ``api``, ``ApprovalsService`` for ``gateway``."""
    allowed = {DAEMON_CONTROL: CALLERS,
               **({APPROVALS: PEOPLE_CALLERS, SUMMARIZE: SUMMARY_CALLERS} if api is not None else {})}

    def register(server: grpc.aio.Server) -> None:
        control_pb2_grpc.add_DaemonControlServiceServicer_to_server(DaemonControlServicer(control), server)
        if api is not None:
            people_pb2_grpc.add_ApprovalsServiceServicer_to_server(ApprovalsServicer(api), server)

    return InternalServer(tls, address, allowed, register)
