"""The registry service and its daemon-facing HTTP API as the runtime places them.

* Blobs: ``runtime/blobstores.py`` picks them: ``FileBlobStore`` in ``<data_dir>/registry/blobs``
  (embedded default) or ``S3BlobStore`` when ``blob_s3_bucket`` is set.
* Cloud's registry key: ``Settings.registry_signing_key`` or ``<data_dir>/keys`` (``keys.py``).
* ``up`` (registry and gateway in one process): :func:`daemon_api` gives the gateway the running
  service's own app, mounted at ``/registry`` on the gateway's port.
* ``serve registry`` (no gateway in its process): the service gets a listener of its own on
  ``Settings.registry_http_host:registry_http_port``, the app at ``/registry`` behind the
  gateway's edge middleware.
* Pack version alerts read the fleet's stacks and applied texts: the running ``FleetService``'s
  query under ``up``, else its gRPC client with the registry's certificate (the fleet admits
  the ``registry`` caller to ``ListStacks`` and ``GetConfigText``).
* ``serve gateway`` (no registry in its process): :func:`daemon_api` is a proxy forwarding
  ``/registry`` to ``Settings.registry_http_url`` (the client's ``Host`` kept, so the download
  URLs the registry builds point at the gateway the daemon reached).
* The registry's internal gRPC API (``servicer.py``, ``faramesh_cloud_api.registry.v1``) on
  ``Settings.internal_bind_address("registry")``, mutual TLS, the ``gateway`` caller only.
* The people-facing Registry section (browse pages, REST twin, the stack tab "Registry
  imports") and the pack alerts of the stack tabs and Home: :func:`gateway_port` is the running
  service's ``RegistryApi`` under ``up``, else the registry's gRPC client (``client.py``) with
  the gateway's certificate; :func:`alert_reads` likewise (the same client). Publishing
  (Publish, Review queue, My artifacts, Issues): :func:`publish_port`, the running service's
  ``PublishApi`` under ``up``, else ``RegistryPublishClient`` (provider binaries streamed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from faramesh_cloud.config import Settings
from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.service import FleetService
from faramesh_cloud.fpl.preview import check_submission
from faramesh_cloud.gateway.edge import BodyLimit, EdgeLimits, RejectNul
from faramesh_cloud.gateway.web.pack_alerts import PackAlertReads, mount_pack_alerts
from faramesh_cloud.gateway.web.registry_ports import RegistryPort, mount_registry
from faramesh_cloud.gateway.web.registry_publish_ports import (
    UPLOAD_PATHS,
    Publishing,
    RegistryPublishPort,
    mount_registry_publish,
)
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry.alert_sweep import FleetTexts
from faramesh_cloud.registry.client import RegistryClient
from faramesh_cloud.registry.domain import CAPABILITIES, PLATFORMS
from faramesh_cloud.registry.http_api import MOUNT as MOUNT
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.my_artifacts import FleetAppliedTexts
from faramesh_cloud.registry.provider_upload import HOST_PLATFORM, ProviderInput, ProviderLimits
from faramesh_cloud.registry.publish_api import PublishApi, Reviewers, first_owner, parse_reviewers
from faramesh_cloud.registry.publish_client import RegistryPublishClient
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.sandbox import smoke_test
from faramesh_cloud.registry.service import RegistryConfig, RegistryService
from faramesh_cloud.registry.servicer import internal_server
from faramesh_cloud.registry.submissions import PackInput
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.blobstores import blobstore_from_settings
from faramesh_cloud.runtime.feeds_proxy import IngestHttpProxy
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.runtime.service import Service, running

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

PORT_SETTING = "FARAMESH_CLOUD_REGISTRY_HTTP_PORT"
SERVICE = "registry"
_MAX_BODY = 64 * 1024  # the daemon API is GET only


def config(settings: Settings) -> RegistryConfig:
    return RegistryConfig(keys=KeySource.for_settings(settings),
                          mirror_sources=settings.registry_mirror_sources_list,
                          mirror_interval_s=settings.registry_mirror_interval_s,
                          mirror_pins=settings.registry_mirror_pins_list)


def fleet_port(settings: Settings, services: list[Service]) -> FleetTexts:
    """The fleet as the pack alerts read it: its own query in process, else its gRPC client."""
    local = running(services, FleetService)
    if local is not None:
        return local.query
    return FleetQueryClient(settings.internal_dial_address("fleet"), service_credentials(settings, "registry"))


def service(ctx: RuntimeContext) -> RegistryService:
    settings = ctx.platform.settings
    own_listener = bool(ctx.names) and "gateway" not in ctx.names
    fleet = fleet_port(settings, ctx.services)
    svc = RegistryService(ctx, blobstore_from_settings(settings, settings.data_dir / "registry" / "blobs"),
                          config(settings),
                          http_listener=(lambda app: listener(settings, app)) if own_listener else None,
                          fleet=fleet, release_fleet=fleet.close if isinstance(fleet, FleetQueryClient) else None,
                          server=lambda api, alerts: internal_server(api, alerts, settings.internal_bind_address(SERVICE),
                                                                     service_credentials(settings, SERVICE),
                                                                     publish=svc.publish))
    svc.publish = publish_api(ctx, svc, fleet)
    return svc


def upload_limit(settings: Settings) -> int:
    """The body limit of the provider upload routes: one binary at the limit plus its form."""
    return settings.registry_max_upload_bytes + 1024 * 1024


def download_url(settings: Settings) -> Callable[[str, str, str], str]:
    """The absolute URL a signed manifest gives for a binary (the daemon API under the
    gateway's /registry; the API's own answer rewrites them to the URL the daemon reached)."""
    def url(name: str, version: str, platform: str) -> str:
        return (f"{settings.http_url}{MOUNT}/v1/providers/{quote(name, safe='')}/versions/{version}/binaries/"
                f"{platform}")
    return url


def publish_api(ctx: RuntimeContext, svc: RegistryService, fleet: FleetTexts) -> PublishApi:
    """Publishing on the running registry: signed with its ACTIVE key, smoke tests in the real
    sandbox, imports read through the fleet's port (in process, or gRPC with the registry's
    certificate; the fleet admits it to ListStacks and GetConfigText only)."""
    settings = ctx.platform.settings
    db = ctx.platform.db
    paths = [Path(p) for p in settings.registry_sandbox_paths.split(":") if p.strip()]
    reviewers = Reviewers(parse_reviewers(settings.registry_reviewers),
                          first_owner=first_owner(db) if settings.demo else None)
    return PublishApi(db, svc.registry.blobs, PlatformAuditLog(db),
                      signer=CloudSigner(lambda: svc.registry.signing_key), check_fpl=check_submission,
                      smoke_test=functools.partial(smoke_test, runtime_paths=paths),
                      download_url=download_url(settings), texts=FleetAppliedTexts(db, fleet), reviewers=reviewers,
                      limits=ProviderLimits(settings.registry_max_upload_bytes))


class _Inputs:
    """The registry's input types, for the gateway to build without importing the service."""

    def pack(self, **fields: Any) -> PackInput:
        return PackInput(**fields)

    def provider(self, **fields: Any) -> ProviderInput:
        return ProviderInput(**fields)


def mount_publish(app: FastAPI, settings: Settings, port: RegistryPublishPort) -> None:
    """The Registry section's Publish, Review queue, My artifacts and Issues pages and their
    REST twin over ``port`` (:func:`publish_port`)."""
    platforms = (HOST_PLATFORM, *(p for p in PLATFORMS if p != HOST_PLATFORM))
    mount_registry_publish(app, Publishing(port, _Inputs(), settings.registry_max_upload_bytes, platforms,
                                           tuple(CAPABILITIES)))


def edge_limits(settings: Settings) -> dict[str, int]:
    """The provider upload routes' own body limit (the gateway's default would cut them first)."""
    return dict.fromkeys(UPLOAD_PATHS, upload_limit(settings))


def publish_port(settings: Settings, services: list[Service]) -> RegistryPublishPort:
    """What the gateway's Publish area, Review queue and My artifacts use: the registry's own
    publishing API when it runs in this process (``up``), else its gRPC client with the
    gateway's certificate (close it with :func:`release_port`)."""
    local = running(services, RegistryService)
    if local is not None:
        port: RegistryPublishPort = local.publish
        return port
    return RegistryPublishClient(settings.internal_dial_address(SERVICE), service_credentials(settings, "gateway"))


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


def alert_reads(services: list[Service], port: RegistryPort) -> PackAlertReads:
    """The pack alerts the stack tabs and Home list: the running service's reads under ``up``,
    else ``port`` (the registry's gRPC client :func:`gateway_port` gave)."""
    local = running(services, RegistryService)
    if local is not None:
        return local.alert_reads
    assert isinstance(port, RegistryClient), port
    return port


def mount_alerts(app: FastAPI, reads: PackAlertReads) -> None:
    mount_pack_alerts(app, reads)


async def release(app: ASGIApp) -> None:
    if isinstance(app, IngestHttpProxy):
        await app.close()


def gateway_port(settings: Settings, services: list[Service]) -> RegistryPort:
    """The registry service's read API when it runs in this process (``up``), else its gRPC
    client with the gateway certificate (close it with :func:`release_port`)."""
    local = running(services, RegistryService)
    if local is not None:
        return local.api
    return RegistryClient(settings.internal_dial_address(SERVICE), service_credentials(settings, "gateway"))


async def release_port(port: RegistryPort | RegistryPublishPort) -> None:
    if isinstance(port, (RegistryClient, RegistryPublishClient)):
        await port.close()


def mount(app: FastAPI, port: RegistryPort) -> None:
    """The Registry section, its REST twin and the stack tab."""
    mount_registry(app, port)
