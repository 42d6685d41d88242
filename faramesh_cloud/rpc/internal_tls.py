"""Mutual TLS for Cloud's internal gRPC APIs, and who may call what.

* :func:`server_credentials`: the service's certificate, and a client certificate issued by
  the internal CA required in the handshake (a caller without one, or with one from another
  CA, never reaches a handler: its handshake fails).
* :func:`channel`: a client channel that presents the caller's certificate, trusts only the
  internal CA and checks that the server is the service it meant to reach (its DNS name,
  ``<name>.internal.faramesh-cloud``, whatever address it dials).
* :class:`CallerPolicy`: a server interceptor that lets a call through only when the
  caller's certificate names a service on the allow-list of the gRPC service called
  (``context.auth_context()``); others get PERMISSION_DENIED, a peer without a verified
  certificate UNAUTHENTICATED, each with a message. gRPC services not listed are refused.

Both ends run under the process-wide TLS 1.3-only setting of ``rpc/tls13.py`` (it applies
to every gRPC channel and server of the process): internal channels negotiate TLS 1.3.
Certificates and their names: ``rpc/internal_pki.py``; the server: ``rpc/internal_server.py``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any

import grpc
import grpc.aio

from faramesh_cloud.rpc.internal_pki import (
    ServiceCredentials,
    dns_name,
    service_of_dns,
    service_of_uri,
)

_log = logging.getLogger(__name__)


def server_credentials(tls: ServiceCredentials) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials([(tls.key, tls.cert)], root_certificates=tls.ca, require_client_auth=True)


def channel(target: str, tls: ServiceCredentials, server: str,
            options: Collection[tuple[str, Any]] = ()) -> grpc.aio.Channel:
    """A channel from ``tls.service`` to the ``server`` service's internal API at ``target``."""
    credentials = grpc.ssl_channel_credentials(root_certificates=tls.ca, private_key=tls.key,
                                               certificate_chain=tls.cert)
    return grpc.aio.secure_channel(target, credentials,
                                   options=[("grpc.ssl_target_name_override", dns_name(server)), *options])


def caller_services(auth_context: Mapping[str, Collection[bytes]]) -> frozenset[str]:
    """The Cloud services the peer's verified certificate names (empty: none, or no certificate)."""
    if list(auth_context.get("transport_security_type", ())) != [b"ssl"]:
        return frozenset()
    found: set[str] = set()
    for raw in auth_context.get("x509_subject_alternative_name", ()):
        value = raw.decode("utf-8", "replace")
        service = service_of_uri(value) or service_of_dns(value)
        if service is not None:
            found.add(service)
    return frozenset(found)


Context = grpc.aio.ServicerContext[Any, Any]


class CallerPolicy(grpc.aio.ServerInterceptor):
    """Allow-list per gRPC service, and per method for a caller admitted to one read only:
    ``{"pkg.v1.FooService": {"gateway"}, "pkg.v1.FooService/Summarize": {"compliance"}}``
    (a method's callers are those of its service plus its own entry's)."""

    def __init__(self, allowed: Mapping[str, Collection[str]]) -> None:
        self._allowed = {name: frozenset(callers) for name, callers in allowed.items()}

    async def admit(self, method: str, context: Context) -> None:
        """Return when the caller may call ``method`` (``/pkg.Service/Method``); abort otherwise."""
        service = method.lstrip("/").split("/", 1)[0]
        name = method.lstrip("/")
        callers = caller_services(context.auth_context())
        if not callers:
            _log.warning("refused %s from %s: no internal service certificate", method, context.peer())
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                f"{service} is an internal API: call it with a certificate issued by the internal "
                                "CA that names a Faramesh Cloud service (docs/internal-tls.md)")
        allowed = self._allowed.get(service, frozenset()) | self._allowed.get(name, frozenset())
        if not callers & allowed:
            who = ", ".join(sorted(callers))
            _log.warning("refused %s from %s: caller %s is not allowed", method, context.peer(), who)
            may = ", ".join(sorted(allowed)) or "no service"
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"the {who} service may not call {service}; only {may} may")

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            inner = getattr(handler, kind)
            if inner is not None:
                return handler._replace(**{kind: self._guard(method, inner)})  # type: ignore[attr-defined,no-any-return]
        return handler

    def _guard(self, method: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(inner):
            async def streamed(request: Any, context: Context) -> AsyncIterator[Any]:
                await self.admit(method, context)
                async for item in inner(request, context):
                    yield item
            return streamed

        async def guarded(request: Any, context: Context) -> Any:
            await self.admit(method, context)
            result = inner(request, context)
            return await result if inspect.isawaitable(result) else result
        return guarded
