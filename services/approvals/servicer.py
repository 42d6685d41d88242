"""The approvals service's internal gRPC API (``faramesh_cloud_api.approvals.v1``,
``DaemonControlService``): ingest's polls and acknowledgements for a stack's daemon, answered
by :class:`ApprovalsControl`. Served over mutual TLS; only the ``ingest`` service may call it
(``rpc/internal_tls.py``): the stack in a request is whatever ingest authenticated, so no
other caller may name one."""

from __future__ import annotations

from typing import Any, Final

import grpc
import grpc.aio
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc

from faramesh_cloud.approvals.sync_adapter import ApprovalsControl
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer

DAEMON_CONTROL: Final = control_pb2.DESCRIPTOR.services_by_name["DaemonControlService"].full_name
CALLERS: Final = frozenset({"ingest"})  # the only service that speaks for a daemon

Context = grpc.aio.ServicerContext[Any, Any]


async def _stack(ref: control_pb2.StackRef, context: Context) -> tuple[str, str]:
    if not ref.org_id or not ref.stack_id:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "stack.org_id and stack.stack_id are required")
    return ref.org_id, ref.stack_id


class DaemonControlServicer(control_pb2_grpc.DaemonControlServiceServicer):
    def __init__(self, control: ApprovalsControl) -> None:
        self._control = control

    async def PollDecisions(self, request: control_pb2.PollDecisionsRequest,
                            context: Context) -> control_pb2.PollDecisionsResponse:
        org, stack = await _stack(request.stack, context)
        wait_s = request.wait.ToNanoseconds() / 1e9 if request.HasField("wait") else 0.0
        deliveries, more = await self._control.poll_decisions(org, stack, request.limit, wait_s)
        return control_pb2.PollDecisionsResponse(deliveries=deliveries, has_more=more)

    async def AckDecisions(self, request: control_pb2.AckDecisionsRequest,
                           context: Context) -> control_pb2.AckDecisionsResponse:
        org, stack = await _stack(request.stack, context)
        await self._control.ack_decisions(org, stack, request.acks)
        return control_pb2.AckDecisionsResponse()

    async def PollCommands(self, request: control_pb2.PollCommandsRequest,
                           context: Context) -> control_pb2.PollCommandsResponse:
        org, stack = await _stack(request.stack, context)
        return control_pb2.PollCommandsResponse(commands=await self._control.poll_commands(org, stack))

    async def AckCommand(self, request: control_pb2.AckCommandRequest,
                         context: Context) -> control_pb2.AckCommandResponse:
        org, stack = await _stack(request.stack, context)
        return control_pb2.AckCommandResponse(known=await self._control.ack_command(org, stack, request.ack))


def internal_server(control: ApprovalsControl, address: str, tls: ServiceCredentials) -> InternalServer:
    """The approvals service's internal server on ``address`` (mutual TLS, ``ingest`` only)."""
    def register(server: grpc.aio.Server) -> None:
        control_pb2_grpc.add_DaemonControlServiceServicer_to_server(DaemonControlServicer(control), server)

    return InternalServer(tls, address, {DAEMON_CONTROL: CALLERS}, register)
