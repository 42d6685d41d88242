"""The approvals service's internal gRPC API (``faramesh_cloud_api.approvals.v1``,
``DaemonControlService``) on a loopback address: ingest's polls and acknowledgements for a
stack's daemon, answered by :class:`ApprovalsControl`."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc

from faramesh_cloud.approvals.sync_adapter import ApprovalsControl
from faramesh_cloud.rpc.ports import PortUnavailable, check_free, server_options

WHAT = "the approvals service's internal gRPC API"
PORT_SETTING = ("FARAMESH_CLOUD_INTERNAL_BASE_PORT to the first of a free range of ports "
                "(each service listens on the base plus its index)")

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


class InternalServer:
    """The loopback gRPC server; ``port`` is the bound one (an address ending in :0 picks one)."""

    def __init__(self, control: ApprovalsControl, address: str) -> None:
        self._control = control
        self._address = address
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self._address.rsplit(':', 1)[0]}:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server(options=server_options())
        control_pb2_grpc.add_DaemonControlServiceServicer_to_server(DaemonControlServicer(self._control), server)
        check_free(self._address, WHAT, PORT_SETTING)
        try:
            self.port = server.add_insecure_port(self._address)
        except RuntimeError:
            raise PortUnavailable(f"{WHAT} cannot listen on {self._address}: the port is in use or cannot be "
                                  f"bound; set {PORT_SETTING}") from None
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(1.0)
            self._server = None
