"""The forwarding service and what the gateway uses of it: the service (its config from
``Settings``: the sealing key ``forwarding_key`` (``faramesh_cloud.secrets``),
``allow_private_destinations``), and the gateway's
``ForwardingPort``: the running service's own API when it runs in the gateway's process
(``up``), else ``ForwardingClient`` dialling ``Settings.internal_dial_address("forwarding")``
(index 6) with the gateway certificate: a gateway alone never builds the service, reads its
tables or holds its sealing key."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from faramesh_cloud.config import Settings
from faramesh_cloud.forwarding.client import ForwardingClient
from faramesh_cloud.forwarding.destinations import forwarding_key
from faramesh_cloud.forwarding.service import ForwardingConfig, ForwardingService
from faramesh_cloud.gateway.web.forwarding_ports import ForwardingPort, mount_forwarding
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, ServiceContext, running


def config(settings: Settings) -> ForwardingConfig:
    return ForwardingConfig(key=forwarding_key(settings),
                            allow_private=settings.allow_private_destinations)


def service(ctx: ServiceContext, settings: Settings) -> ForwardingService:
    return ForwardingService(ctx, config(settings), internal_address=settings.internal_bind_address("forwarding"),
                             internal_tls=service_credentials(settings, "forwarding"))


def gateway_port(settings: Settings, services: Sequence[Service]) -> ForwardingPort:
    local = running(services, ForwardingService)
    if local is not None:
        return local.api
    return ForwardingClient(settings.internal_dial_address("forwarding"), service_credentials(settings, "gateway"))


async def release(port: ForwardingPort) -> None:
    if isinstance(port, ForwardingClient):
        await port.close()


def mount(app: FastAPI, port: ForwardingPort) -> None:
    mount_forwarding(app, port)
