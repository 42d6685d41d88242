"""``/livez`` and ``/readyz`` of a ``faramesh-cloud serve NAME`` process (Kubernetes probes).

A tiny HTTP listener on ``Settings.health_host:health_port`` (0: none), started before the
platform opens, so an orchestrator can tell "alive but still starting" from "dead":

* ``GET /livez``: 200 while the process's event loop answers and no service it runs has failed
  (a background task died: ``ServiceInfo.state`` ``failed: ...``); 503 with the failure
  otherwise, so a liveness probe restarts a process that cannot recover by itself.
* ``GET /readyz``: 503 until every service of the process has started (migrations, topics,
  servers, consumer groups joined), 200 while all of them run, 503 again once the process is
  stopping or a service has failed. A readiness probe takes the pod out of its Service then.

The body is JSON: ``{"status": ..., "services": {name: state}}``, never anything secret.
``faramesh-cloud up`` keeps the gateway's ``/healthz`` and opens no health listener.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from faramesh_cloud.config import Settings
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.runtime.service import Service

PORT_SETTING = "FARAMESH_CLOUD_HEALTH_PORT"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Health:
    """What the probes answer: the phase of the process and the state of each service."""

    def __init__(self, services: Sequence[Service]) -> None:
        self._services = services  # the runtime's live list: services appear as they are built
        self.phase = "starting"  # starting → running → stopping

    def _states(self) -> dict[str, str]:
        return {s.name: s.info().state for s in self._services}

    def live(self) -> tuple[int, dict[str, Any]]:
        states = self._states()
        failed = {n: s for n, s in states.items() if s.startswith("failed")}
        if failed:
            return 503, {"status": "failed", "services": states}
        return 200, {"status": "alive", "services": states}

    def ready(self) -> tuple[int, dict[str, Any]]:
        states = self._states()
        if self.phase != "running":
            return 503, {"status": self.phase, "services": states}
        if any(state != "running" for state in states.values()):
            return 503, {"status": "not ready", "services": states}
        return 200, {"status": "ready", "services": states}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: two GET (or HEAD) routes, everything else 404 / 405."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        routes = {"/livez": self.live, "/readyz": self.ready}
        path, method = scope["path"], scope["method"]
        if path not in routes:
            status, body = 404, {"status": "not found", "routes": sorted(routes)}
        elif method not in ("GET", "HEAD"):
            status, body = 405, {"status": "method not allowed"}
        else:
            status, body = routes[path]()
        payload = json.dumps(body, sort_keys=True).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                   (b"cache-control", b"no-store")]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})


def health_server(settings: Settings, health: Health) -> HttpServer | None:
    """The listener for ``health`` on the configured address; None when ``health_port`` is 0."""
    if settings.health_port == 0:
        return None
    return HttpServer(health, settings.health_host, settings.health_port, HttpOptions.of(settings),
                      what="the health endpoints (/livez, /readyz)", port_setting=PORT_SETTING)
