"""The ingest service and the daemon's HTTP ways in (legacy Horizon feed, webhooks,
``/v1/auth/me``; ``docs/daemon-feeds.md``) as the runtime places them.

The handlers, and the webhook secrets they read, are ingest's alone: they run in the ingest
service's process, whatever the topology.

* ``up`` (ingest and the gateway in one process): :func:`daemon_feeds` gives the gateway the
  running ingest service's own ``feeds_app``, which the gateway's server mounts at ``/v1`` (one
  URL for people and daemons); the gateway builds no ingest store and runs no ingest migration.
* ``serve ingest`` (no gateway in its process): :func:`service` gives the service a listener
  of its own on ``Settings.ingest_http_host:ingest_http_port``, the same uvicorn server and
  edge protections as the gateway's (body limit, NUL bytes refused, head and keep-alive
  timeouts, forwarded headers believed only from ``http_trusted_proxies``).
* ``serve gateway`` (no ingest in its process): :func:`daemon_feeds` is
  :class:`~faramesh_cloud.runtime.feeds_proxy.IngestHttpProxy`, which forwards the gateway's
  ``/v1`` daemon requests to ``Settings.ingest_http_url``, so daemons configured with the
  gateway's URL keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.edge import BodyLimit, EdgeLimits, RejectNul
from faramesh_cloud.ingest.legacy_http import MAX_BODY_BYTES
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.runtime.approvals_wiring import daemon_control
from faramesh_cloud.runtime.feeds_proxy import IngestHttpProxy
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.runtime.service import Service, running
from faramesh_cloud.stacks.store import StackStore

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

MOUNT = "/v1"
PORT_SETTING = "FARAMESH_CLOUD_INGEST_HTTP_PORT"


def service(ctx: RuntimeContext) -> IngestService:
    """The ingest service; with a listener of its own for the HTTP feeds when the process runs
    no gateway to host them (``ctx.names``: empty when services are built one by one, which
    then opens no extra port)."""
    platform = ctx.platform
    settings = platform.settings
    own_listener = bool(ctx.names) and "gateway" not in ctx.names
    return IngestService(settings, platform.log, platform.db, StackStore(platform.db, region=platform.region),
                         control=daemon_control(settings), region=platform.region,
                         http_listener=(lambda app: listener(settings, app)) if own_listener else None)


def listener(settings: Settings, feeds: ASGIApp) -> HttpServer:
    """``feeds`` at ``/v1`` on ingest's own port, behind the gateway's edge middleware."""
    app: ASGIApp = Starlette(routes=[Mount(MOUNT, app=feeds)])
    app = BodyLimit(RejectNul(app), EdgeLimits(min(settings.http_max_body_bytes, MAX_BODY_BYTES)))
    return HttpServer(app, settings.ingest_http_host, settings.ingest_http_port, HttpOptions.of(settings),
                      what="ingest's HTTP daemon feeds", port_setting=PORT_SETTING)


def daemon_feeds(settings: Settings, services: list[Service]) -> ASGIApp:
    """What the gateway mounts at ``/v1``: the running ingest service's own app when it runs in
    this process, else the proxy to ingest's listener (close it with :func:`release`)."""
    local = running(services, IngestService)
    if local is not None:
        return local.feeds_app
    return IngestHttpProxy(settings.ingest_http_url, max_body_bytes=MAX_BODY_BYTES)


async def release(feeds: ASGIApp) -> None:
    if isinstance(feeds, IngestHttpProxy):
        await feeds.close()
