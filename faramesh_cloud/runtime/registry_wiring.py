"""The registry service and its daemon-facing HTTP API as the runtime places them.

* Blobs: ``runtime/blobstores.py`` picks them: ``FileBlobStore`` in ``<data_dir>/registry/blobs``
  (embedded default) or ``S3BlobStore`` when ``blob_s3_bucket`` is set.
* Cloud's registry key: ``Settings.registry_signing_key`` or ``<data_dir>/keys`` (``keys.py``).
* ``up`` (registry and gateway in one process): :func:`daemon_api` gives the gateway the running
  service's own app, mounted at ``/registry`` on the gateway's port.
* ``serve registry`` (no gateway in its process): the service gets a listener of its own on
  ``Settings.registry_http_host:registry_http_port``, the app at ``/registry`` behind the
  gateway's edge middleware.
* ``serve gateway`` (no registry in its process): :func:`daemon_api` is a proxy forwarding
  ``/registry`` to ``Settings.registry_http_url`` (the client's ``Host`` kept, so the download
  URLs the registry builds point at the gateway the daemon reached).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.edge import BodyLimit, EdgeLimits, RejectNul
from faramesh_cloud.registry.http_api import MOUNT as MOUNT
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.service import RegistryConfig, RegistryService
from faramesh_cloud.runtime.blobstores import blobstore_from_settings
from faramesh_cloud.runtime.feeds_proxy import IngestHttpProxy
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.runtime.service import Service, running

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

PORT_SETTING = "FARAMESH_CLOUD_REGISTRY_HTTP_PORT"
_MAX_BODY = 64 * 1024  # the daemon API is GET only


def config(settings: Settings) -> RegistryConfig:
    return RegistryConfig(keys=KeySource(settings.data_dir, settings.registry_signing_key))


def service(ctx: RuntimeContext) -> RegistryService:
    settings = ctx.platform.settings
    own_listener = bool(ctx.names) and "gateway" not in ctx.names
    return RegistryService(ctx, blobstore_from_settings(settings, settings.data_dir / "registry" / "blobs"),
                           config(settings),
                           http_listener=(lambda app: listener(settings, app)) if own_listener else None)


def listener(settings: Settings, app: ASGIApp) -> HttpServer:
    outer: ASGIApp = Starlette(routes=[Mount(MOUNT, app=app)])
    outer = BodyLimit(RejectNul(outer), EdgeLimits(_MAX_BODY))
    return HttpServer(outer, settings.registry_http_host, settings.registry_http_port, HttpOptions.of(settings),
                      what="the registry's daemon API", port_setting=PORT_SETTING)


def daemon_api(settings: Settings, services: list[Service]) -> ASGIApp:
    local = running(services, RegistryService)
    if local is not None:
        return local.http_app
    return IngestHttpProxy(settings.registry_http_url, max_body_bytes=_MAX_BODY, keep_host=True,
                           what="registry")


async def release(app: ASGIApp) -> None:
    if isinstance(app, IngestHttpProxy):
        await app.close()
