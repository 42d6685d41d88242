"""The HTTP servers (the gateway's, and ingest's own listener for the daemon feeds under
``serve ingest``): uvicorn inside the running event loop, configured for the open network (the
limits that are about connections, not requests, live here; the request-level ones, body size
and NUL bytes, are the gateway's ASGI middleware, ``gateway/edge.py``, which the runtime also
puts in front of ingest's listener).

* Forwarded headers: uvicorn believes ``X-Forwarded-For`` / ``-Proto`` from 127.0.0.1 unless
  told otherwise, so anyone on the host (or behind a local tunnel) could pick the address that
  sign-in lockout and the platform audit log record. Here they are believed only from
  ``Settings.http_trusted_proxies``; with none, the socket peer is the client.
* Slow request heads (slowloris): uvicorn arms its keep-alive timer only after a response, so
  a connection that never completes its request head is held for ever. :class:`_HeadTimeout`
  (uvicorn's h11 protocol plus one timer) closes a connection that has not sent a complete
  request head within ``http_header_timeout_s`` of opening or of its previous answer; an idle
  keep-alive connection is closed after ``http_keep_alive_s`` (uvicorn's own timer). The h11
  protocol is always used (never httptools): the timer is written against it, and a head is
  still capped at h11's 16 KiB (``h11_max_incomplete_event_size``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from faramesh_cloud.config import Settings
from faramesh_cloud.rpc.ports import PortUnavailable, check_free

MAX_HEAD_BYTES = 16 * 1024
_PORT_SETTING = "FARAMESH_CLOUD_HTTP_PORT (up --http-port)"


@dataclass(frozen=True, slots=True)
class HttpOptions:
    trusted_proxies: tuple[str, ...] = ()
    header_timeout_s: float = 10.0
    keep_alive_s: int = 5

    @classmethod
    def of(cls, settings: Settings) -> HttpOptions:
        return cls(tuple(settings.trusted_proxies), settings.http_header_timeout_s, settings.http_keep_alive_s)


class _HeadTimeout(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    head_timeout_s = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the request is being served
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # waiting for the next request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _protocol(header_timeout_s: float) -> type[H11Protocol]:
    return type("HeadTimeoutH11Protocol", (_HeadTimeout,), {"head_timeout_s": header_timeout_s})


def uvicorn_config(app: Any, host: str, port: int, options: HttpOptions) -> uvicorn.Config:
    proxies = list(options.trusted_proxies)
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", access_log=False,
        http=_protocol(options.header_timeout_s), h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=options.keep_alive_s,
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or [],
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """An ASGI app served by uvicorn inside the running event loop. ``what`` and
    ``port_setting`` name the server and the setting that moves it in the one-line error a
    taken port gives."""

    def __init__(self, app: Any, host: str, port: int, options: HttpOptions | None = None, *,
                 what: str = "the web UI and REST API", port_setting: str = _PORT_SETTING) -> None:
        self._server = _QuietServer(uvicorn_config(app, host, port, options or HttpOptions()))
        self._task: asyncio.Task[None] | None = None
        self.host, self.port = host, port
        self._what, self._port_setting = what, port_setting

    async def start(self) -> None:
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        check_free(address, self._what, self._port_setting)  # one line, not uvicorn's exit
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                try:
                    self._task.result()
                except SystemExit:  # uvicorn exits when it cannot bind (taken since the check)
                    raise PortUnavailable(f"{self._what} cannot listen on {address}; "
                                          f"set {self._port_setting}") from None
                raise RuntimeError(f"HTTP server on {self.host}:{self.port} stopped during start-up")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None
