"""A typed async client of the sync API (``faramesh_cloud_api.sync.v1.SyncService``) for
daemons, the reference daemon simulator and tools.

One TLS channel, the stack key sent as ``authorization: Bearer fmc_sk_...`` on every call,
the per-call deadlines docs/sync-api.md recommends, and failures raised as
:class:`SyncError` with the status code, the retry delay and the offending fields decoded.

    async with SyncClient("cloud.example.com:443", key, root_certificates=ca) as client:
        hello = await client.hello(buffer_id)
        response = await client.push(buffer_id, [push_item(1, DprRecord(record_json=raw))])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import grpc
import grpc.aio
from faramesh_cloud_api.sync.v1 import (
    deliveries_pb2,
    emergency_pb2,
    push_pb2,
    sync_pb2,
    sync_pb2_grpc,
)
from google.protobuf.message import Message

from faramesh_cloud.rpc.status import details_of

# Large enough for a push at the default max_push_bytes (16 MiB) plus framing.
DEFAULT_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024 + 64 * 1024
# Codes after which resending the same items is safe and expected (docs/sync-api.md §7).
RETRYABLE: Final = frozenset({
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN,
})

class SyncError(Exception):
    """A sync call failed. ``retry_after_s`` is Cloud's retry hint (RetryInfo), ``fields``
    the request fields it named (BadRequest), ``reason`` and ``metadata`` its ErrorInfo (e.g.
    ``STACK_IN_OTHER_REGION`` with the ``region`` and ``sync_address`` to use instead)."""

    def __init__(self, code: grpc.StatusCode, message: str, *, retry_after_s: float | None = None,
                 fields: tuple[str, ...] = (), reason: str = "",
                 metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.fields = fields
        self.reason = reason
        self.metadata = dict(metadata or {})

    @property
    def retryable(self) -> bool:
        """Whether resending (after a backoff) is the right reaction."""
        return self.code in RETRYABLE


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Per-call deadlines in seconds, as recommended in docs/sync-api.md §1."""

    hello: float = 10.0
    push: float = 30.0
    poll_extra: float = 10.0  # added to the long-poll wait
    ack: float = 10.0


def push_item(sequence: int, payload: Message, enqueued_at_ns: int | None = None) -> push_pb2.PushItem:
    """A PushItem carrying ``payload`` in the matching ``payload`` oneof field."""
    item = push_pb2.PushItem(sequence=sequence)
    for field in push_pb2.PushItem.DESCRIPTOR.oneofs_by_name["payload"].fields:
        if field.message_type is payload.DESCRIPTOR:
            getattr(item, field.name).CopyFrom(payload)
            break
    else:
        raise TypeError(f"{payload.DESCRIPTOR.full_name} is not a PushItem payload kind")
    if enqueued_at_ns is not None:
        item.enqueued_at.FromNanoseconds(enqueued_at_ns)
    return item


class SyncClient:
    """An async sync-API client; use it as an async context manager or call close()."""

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        root_certificates: bytes | None = None,
        server_name: str | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        deadlines: Deadlines | None = None,
    ) -> None:
        """``target`` is ``host:port``; ``root_certificates`` (PEM) trusts a self-hosted
        Cloud's CA instead of the system store; ``server_name`` overrides the name the
        certificate is checked against."""
        options: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        if server_name is not None:
            options.append(("grpc.ssl_target_name_override", server_name))
        credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        self._channel = grpc.aio.secure_channel(target, credentials, options=options)
        self._stub = sync_pb2_grpc.SyncServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._deadlines = deadlines or Deadlines()

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: Any, request: Message, deadline_s: float) -> Any:
        try:
            return await method(request, metadata=self._metadata, timeout=deadline_s)
        except grpc.aio.AioRpcError as exc:
            details = details_of(exc.trailing_metadata())
            info = details.error_info
            raise SyncError(exc.code(), exc.details() or "", retry_after_s=details.retry_after_s,
                            fields=details.fields, reason=info.reason if info is not None else "",
                            metadata=info.metadata if info is not None else None) from exc

    async def hello(self, buffer_id: str, *, daemon_version: str = "", hostname: str = "") -> sync_pb2.HelloResponse:
        request = sync_pb2.HelloRequest(buffer_id=buffer_id, daemon_version=daemon_version, hostname=hostname)
        response: sync_pb2.HelloResponse = await self._call(self._stub.Hello, request, self._deadlines.hello)
        return response

    async def push(self, buffer_id: str, items: Sequence[push_pb2.PushItem]) -> sync_pb2.PushResponse:
        request = sync_pb2.PushRequest(buffer_id=buffer_id, items=items)
        response: sync_pb2.PushResponse = await self._call(self._stub.Push, request, self._deadlines.push)
        return response

    async def poll_decisions(self, max_deliveries: int = 0, wait_s: float = 0.0) -> sync_pb2.PollDecisionsResponse:
        request = sync_pb2.PollDecisionsRequest(max_deliveries=max_deliveries)
        if wait_s > 0:
            request.wait.FromNanoseconds(round(wait_s * 1e9))
        response: sync_pb2.PollDecisionsResponse = await self._call(
            self._stub.PollDecisions, request, wait_s + self._deadlines.poll_extra)
        return response

    async def ack_decisions(self, acks: Sequence[deliveries_pb2.DeliveryAck]) -> sync_pb2.AckDecisionsResponse:
        response: sync_pb2.AckDecisionsResponse = await self._call(
            self._stub.AckDecisions, sync_pb2.AckDecisionsRequest(acks=acks), self._deadlines.ack)
        return response

    async def poll_emergency_commands(self) -> sync_pb2.PollEmergencyCommandsResponse:
        response: sync_pb2.PollEmergencyCommandsResponse = await self._call(
            self._stub.PollEmergencyCommands, sync_pb2.PollEmergencyCommandsRequest(), self._deadlines.ack)
        return response

    async def ack_emergency_command(
        self,
        command_id: str,
        outcome: emergency_pb2.EmergencyCommandOutcome | int,
        *,
        applied_at_ns: int | None = None,
        dpr_record_id: str = "",
        message: str = "",
    ) -> sync_pb2.AckEmergencyCommandResponse:
        request = sync_pb2.AckEmergencyCommandRequest(
            command_id=command_id, outcome=outcome, dpr_record_id=dpr_record_id, message=message)
        if applied_at_ns is not None:
            request.applied_at.FromNanoseconds(applied_at_ns)
        response: sync_pb2.AckEmergencyCommandResponse = await self._call(
            self._stub.AckEmergencyCommand, request, self._deadlines.ack)
        return response
