"""The gateway's ``/v1`` daemon feeds when ingest runs in another process (``serve gateway``):
a small reverse proxy to ingest's own HTTP listener (``Settings.ingest_http_url``), so a daemon
configured with the gateway's URL keeps working.

* The body is read first, at most ``max_body_bytes`` (the feeds' own 2 MiB): a larger one is
  refused here with 413 (at once when ``Content-Length`` says so) and never reaches ingest, and
  ingest never sees half a request. The gateway's edge middleware in front has already refused
  NUL bytes and applied the gateway's own limit. The answer is streamed back as it comes.
* The client's address: ``X-Forwarded-For`` is set to the address the gateway's server
  believes (the socket peer, or what a proxy listed in ``http_trusted_proxies`` said), and
  ``X-Forwarded-Proto`` to its scheme; whatever forwarded headers the client sent are dropped,
  so a client cannot choose the address ingest records. Ingest's listener believes the
  gateway's headers only when the gateway's address is in its own ``http_trusted_proxies``.
* Ingest not answering (no connection): 503 in the feeds' error shape, ``{"error": ...}``,
  with ``Retry-After``, and nothing was stored. No answer after the request went out: 504,
  saying it may have been stored.

The registry's daemon API (``/registry``, GET only) is forwarded the same way under ``serve
gateway`` (``what="registry"``, ``keep_host=True``: the client's ``Host`` goes along, so the
absolute download URLs the registry builds name the gateway the daemon reached).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Final

import httpx
from starlette.types import Message, Receive, Scope, Send

_log = logging.getLogger(__name__)

# Per connection, or about the client's own connection: never forwarded (RFC 9110 7.6.1), and
# forwarded headers, which only the trusted-proxies rule may set.
_HOP_BY_HOP: Final = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"proxy-connection",
    b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
_FORWARDED: Final = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
                               b"x-forwarded-port", b"x-real-ip"})
_DOWN: Final = ("Cloud's ingest service is not answering; nothing was stored, send it again later")


class _TooLarge(Exception):
    pass


class IngestHttpProxy:
    """ASGI app forwarding each HTTP request to the same path on ``base_url``."""

    def __init__(self, base_url: str, *, max_body_bytes: int, timeout_s: float = 30.0,
                 connect_timeout_s: float = 5.0, keep_host: bool = False, what: str = "ingest") -> None:
        self.base_url = base_url
        self._max_body = max_body_bytes
        self._keep_host = keep_host
        self._what = what
        # Idle connections are dropped before ingest's keep-alive (5 s) would close them under a request.
        self._client = httpx.AsyncClient(
            base_url=base_url, follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=100, keepalive_expiry=2.0))

    async def close(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets, no lifespan under a mount
            return
        declared = _header(scope["headers"], b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            await _error(send, 413, f"the body of {int(declared)} bytes exceeds {self._max_body} bytes; "
                         "send smaller batches")
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await _error(send, 413, f"the body exceeds {self._max_body} bytes; send smaller batches")
            return
        except _Disconnected:
            return
        request = self._client.build_request(
            scope["method"], _target(scope), content=body, headers=_forward_headers(scope, self._keep_host))
        try:
            upstream = await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            _log.warning("%s's HTTP API at %s is not answering: %s", self._what, self.base_url, exc)
            await _error(send, 503, _DOWN if self._what == "ingest" else
                         f"Cloud's {self._what} service is not answering; try again later", {"retry-after": "5"})
            return
        except httpx.HTTPError as exc:
            _log.warning("no answer from ingest's HTTP feeds at %s: %r", self.base_url, exc)
            await _error(send, 504, "Cloud's ingest service did not answer; the request may have been "
                         "stored: check Audit before sending it again")
            return
        try:
            await send({"type": "http.response.start", "status": upstream.status_code,
                        "headers": _response_headers(upstream.headers.raw)})
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await upstream.aclose()

    async def _read(self, receive: Receive) -> bytes:
        body = bytearray()
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            body += message.get("body", b"")
            if len(body) > self._max_body:
                raise _TooLarge
            if not message.get("more_body", False):
                return bytes(body)


class _Disconnected(Exception):
    pass


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _target(scope: Scope) -> str:
    path = scope.get("raw_path") or (scope.get("root_path", "") + scope["path"]).encode()
    query = scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")


def _forward_headers(scope: Scope, keep_host: bool = False) -> list[tuple[bytes, bytes]]:
    drop = _HOP_BY_HOP - {b"host"} if keep_host else _HOP_BY_HOP
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in drop | _FORWARDED]
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", str(client[0]).encode("latin-1")))
    headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode("latin-1")))
    return headers


def _response_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Ingest's answer headers, minus per-connection ones (the gateway's server frames the body)."""
    return [(k.lower(), v) for k, v in raw if k.lower() not in _HOP_BY_HOP - {b"content-length"}]


async def _error(send: Send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
