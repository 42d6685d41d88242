"""The billing service and what the gateway uses of it: the service (its config from
``Settings``: ``billing_plans_file``, ``billing_meter_interval_s``), and the gateway's
``BillingPort``: the running service's own API when it runs in the gateway's process (``up``),
else ``BillingClient`` dialling ``Settings.internal_dial_address("billing")`` (index 7) with
the gateway certificate: a gateway alone never builds the service or reads its tables."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from faramesh_cloud.billing.client import BillingClient
from faramesh_cloud.billing.plans import load_catalog
from faramesh_cloud.billing.service import BillingConfig, BillingService
from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.billing_ports import BillingPort, mount_billing
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, ServiceContext, running


def config(settings: Settings) -> BillingConfig:
    return BillingConfig(catalog=load_catalog(settings.billing_plans_file),
                         meter_interval_s=settings.billing_meter_interval_s)


def service(ctx: ServiceContext, settings: Settings) -> BillingService:
    return BillingService(ctx, config(settings), internal_address=settings.internal_bind_address("billing"),
                          internal_tls=service_credentials(settings, "billing"))


def gateway_port(settings: Settings, services: Sequence[Service]) -> BillingPort:
    local = running(services, BillingService)
    if local is not None:
        return local.api
    return BillingClient(settings.internal_dial_address("billing"), service_credentials(settings, "gateway"))


async def release(port: BillingPort) -> None:
    if isinstance(port, BillingClient):
        await port.close()


def mount(app: FastAPI, port: BillingPort) -> None:
    mount_billing(app, port)
