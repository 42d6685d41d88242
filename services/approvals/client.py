"""The approvals service's internal gRPC client: ingest's ``DaemonControl`` over
``faramesh_cloud_api.approvals.v1.DaemonControlService``, over mutual TLS with the caller's
own service certificate (``rpc/internal_tls.py``; the approvals service admits only ``ingest``).

Failures surface as :class:`ControlUnavailable` (the approvals service is down or slow);
ingest answers the daemon UNAVAILABLE and the daemon retries its poll, so nothing is lost:
deliveries and commands stay queued until acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc
from faramesh_cloud_api.sync.v1 import deliveries_pb2, emergency_pb2, sync_pb2

from faramesh_cloud.rpc import internal_tls
from faramesh_cloud.rpc.internal_pki import ServiceCredentials

TIMEOUT_S: Final = 10.0
SERVER: Final = "approvals"  # the identity the server's certificate must carry


class ControlUnavailable(ConnectionError):
    """The approvals service did not answer; the message says what failed."""


class ApprovalsClient:
    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = TIMEOUT_S) -> None:
        self._address = address
        self._tls = tls
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: control_pb2_grpc.DaemonControlServiceStub | None = None

    def _client(self) -> control_pb2_grpc.DaemonControlServiceStub:
        if self._stub is None:
            self._channel = internal_tls.channel(self._address, self._tls, SERVER)
            self._stub = control_pb2_grpc.DaemonControlServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None

    def _failed(self, exc: grpc.aio.AioRpcError) -> ControlUnavailable:
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
