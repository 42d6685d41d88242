"""The calling side of an internal gRPC API, for a service's ``client.py`` adapter.

:class:`InternalClient` holds one lazily opened channel to one service (mutual TLS with the
caller's certificate, the server's identity checked: ``rpc/internal_tls.channel``), calls a
stub method with a deadline, and turns every failure into an exception the caller can act
on: :class:`~faramesh_cloud.rpc.errors.InvalidRequest` for INVALID_ARGUMENT (the request was
wrong), :class:`~faramesh_cloud.rpc.errors.ServiceBusy` for UNAVAILABLE with the trailing
metadata ``retry-after`` (the service answered: not now, try again in that many seconds),
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` for anything else (down,
unreachable, too slow, refusing this caller's certificate, failing inside), which the
gateway answers 503 and a background caller retries. A service whose API refuses requests
for reasons of its own (a conflict, an unknown id) gives its client a ``refusal``: either a
mapping of those statuses to the exception each becomes (made from the server's message), or
a function that turns a failed call into its own exception (None: left to the mapping here).

Reconnection: grpc backs off between connection attempts to a server that is down, up to
two minutes by default, failing calls at once meanwhile; here the back-off is capped at
:data:`MAX_RECONNECT_BACKOFF_MS`, so a service that comes back is used again within seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

import grpc
import grpc.aio
from google.protobuf.message import Message

from faramesh_cloud.rpc import internal_tls
from faramesh_cloud.rpc.errors import (
    InvalidRequest,
    OutcomeUnknown,
    ServiceBusy,
    ServiceUnavailable,
)
from faramesh_cloud.rpc.internal_pki import ServiceCredentials

DEFAULT_TIMEOUT_S: Final = 5.0
MAX_RECONNECT_BACKOFF_MS: Final = 5000
# An answer from another Cloud service may be as large as what its in-process twin returns (an
# approval carries up to a WAL frame, 8 MiB, of a daemon's arguments): well past grpc's
# default 4 MiB receive limit, which would turn a large answer into a 503.
MAX_RESPONSE_BYTES: Final = 256 * 1024 * 1024
CHANNEL_OPTIONS: Final = (("grpc.initial_reconnect_backoff_ms", 250),
                          ("grpc.min_reconnect_backoff_ms", 250),
                          ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
                          ("grpc.max_receive_message_length", MAX_RESPONSE_BYTES))
RETRY_AFTER: Final = "retry-after"  # trailing metadata of a server's "not now": whole seconds
Refusal = Callable[[grpc.aio.AioRpcError], Exception | None]
Refusals = Mapping[grpc.StatusCode, Callable[[str], Exception]]


def retry_after(exc: grpc.aio.AioRpcError) -> int | None:
    """The seconds a server's UNAVAILABLE asked to wait (its ``retry-after``), or None."""
    for key, value in exc.trailing_metadata() or ():
        if key == RETRY_AFTER:
            try:
                return min(3600, max(1, int(value)))
            except (TypeError, ValueError):
                return None
    return None


def by_status(refusals: Refusals, server: str) -> Refusal:
    """A ``Refusal`` from statuses and the exception each becomes."""
    def refusal(exc: grpc.aio.AioRpcError) -> Exception | None:
        make = refusals.get(exc.code())
        return None if make is None else make(exc.details() or f"the {server} service refused the request")
    return refusal


class InternalClient:
    """``server``'s internal API at ``address``, called as ``tls.service``; ``stub`` builds the
    generated stub from a channel (``FooServiceStub``); ``refusal`` (optional): the statuses
    (beyond INVALID_ARGUMENT) with which the server refuses a request and the exception each
    becomes, or a function mapping a failed call to the service's own exception (None: left
    to the mapping above)."""

    def __init__(self, server: str, address: str, tls: ServiceCredentials, stub: Callable[[grpc.aio.Channel], Any],
                 timeout_s: float = DEFAULT_TIMEOUT_S, refusal: Refusal | Refusals | None = None) -> None:
        self.server = server
        self._refusal = refusal if callable(refusal) or refusal is None else by_status(refusal, server)
        self.address = address
        self._tls = tls
        self._make_stub = stub
        self.timeout_s = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None

    def _client(self) -> Any:
        if self._stub is None:
            self._channel = internal_tls.channel(self.address, self._tls, self.server, CHANNEL_OPTIONS)
            self._stub = self._make_stub(self._channel)
        return self._stub

    async def call(self, method: str, request: Message, timeout_s: float | None = None, *,
                   change: str | None = None) -> Any:
        """The stub's ``method`` with ``request``; its response, or the exceptions above. A
        ``change`` (where a person checks whether it happened) whose deadline passes raises
        :class:`~faramesh_cloud.rpc.errors.OutcomeUnknown`: the server may have applied it."""
        try:
            return await getattr(self._client(), method)(request, timeout=timeout_s or self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            if change is not None and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise OutcomeUnknown(self.server, f"{method} at {self.address}: no answer before the deadline",
                                     change) from None
            raise self._failure(method, exc) from None

    async def stream(self, method: str, request: Message, timeout_s: float | None = None) -> AsyncIterator[Any]:
        """The messages of the server-streaming ``method`` with ``request``, or the exceptions
        above (raised where the stream fails); ``timeout_s`` bounds the whole stream (None:
        it lasts until the server ends it or the caller stops reading)."""
        call = getattr(self._client(), method)(request, timeout=timeout_s)
        try:
            async for message in call:
                yield message
        except grpc.aio.AioRpcError as exc:
            raise self._failure(method, exc) from None
        finally:
            call.cancel()

    async def upload(self, method: str, requests: AsyncIterator[Message], timeout_s: float | None = None) -> Any:
        """The client-streaming ``method`` fed with ``requests``; its response, or the
        exceptions above. ``timeout_s`` bounds the whole call (None: no deadline, for bytes
        whose size sets the time). Check what can be checked before: ``requests`` should not
        raise (grpc cancels the call)."""
        call = getattr(self._client(), method)(requests, timeout=timeout_s)
        try:
            return await call
        except grpc.aio.AioRpcError as exc:
            raise self._failure(method, exc) from None
        finally:
            call.cancel()

    def _failure(self, method: str, exc: grpc.aio.AioRpcError) -> Exception:
        refused = self._refusal(exc) if self._refusal is not None else None
        if refused is not None:
            return refused
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            return InvalidRequest(exc.details() or f"the {self.server} service refused the request")
        wait = retry_after(exc) if exc.code() == grpc.StatusCode.UNAVAILABLE else None
        if wait is not None:
            return ServiceBusy(self.server, exc.details() or f"the {self.server} service is busy", wait)
        return ServiceUnavailable(self.server, f"{method} at {self.address}: {exc.code().name}: {exc.details()}")

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel, self._stub = self._channel, None, None
            await channel.close()
