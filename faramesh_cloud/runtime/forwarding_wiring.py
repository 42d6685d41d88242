"""The forwarding service and what the gateway uses of it: the service (its config from
``Settings``: the sealing key ``forwarding_key`` (until the shared secrets resolver lands:
``<data_dir>/keys/forwarding.key``), ``allow_private_destinations``), and the gateway's
``ForwardingPort``: the running service's own API when it runs in the gateway's process
(``up``). A gateway run apart (``serve gateway``) has no forwarding pages yet (its internal
gRPC API, index 6, is not built: ARCHITECTURE.md "Not built yet")."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from faramesh_cloud.config import Settings
from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.destinations import load_or_create_key
from faramesh_cloud.forwarding.service import ForwardingConfig, ForwardingService
from faramesh_cloud.gateway.web.forwarding_ports import mount_forwarding
from faramesh_cloud.runtime.service import Service, ServiceContext, running


def config(settings: Settings) -> ForwardingConfig:
    return ForwardingConfig(key=load_or_create_key(settings.data_dir),
                            allow_private=settings.allow_private_destinations)


def service(ctx: ServiceContext, settings: Settings) -> ForwardingService:
    return ForwardingService(ctx, config(settings))


def gateway_port(services: Sequence[Service]) -> ForwardingApi | None:
    local = running(services, ForwardingService)
    return local.api if local is not None else None


def mount(app: FastAPI, port: ForwardingApi | None) -> None:
    mount_forwarding(app, port)
