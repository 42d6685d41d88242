"""The approvals service's parts as other components get them: the service itself (its
internal gRPC APIs bound on ``Settings.internal_bind_address("approvals")``, mutual TLS with
the approvals certificate), ingest's ``DaemonControl`` (the gRPC client of
``DaemonControlService``, dialling ``Settings.internal_dial_address("approvals")`` with the
ingest certificate) and the gateway's ``ApprovalsPort``.

``ApprovalsPort`` is the running approvals service's own API object when that service runs in
the gateway's process (``up``): the one whose outbox relay, consumers and expiry sweep run,
no serialisation, no socket. Otherwise (``serve gateway``) it is ``ApprovalsApiClient``, the
gRPC client of ``ApprovalsService`` dialling the same address with the gateway certificate.
Either way the gateway's process builds no approvals command handlers of its own."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from faramesh_cloud.approvals.client import ApprovalsApiClient, ApprovalsClient
from faramesh_cloud.approvals.service import ApprovalsConfig, ApprovalsService
from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.approvals_ports import ApprovalsPort, mount_approvals
from faramesh_cloud.ingest.control import DaemonControl
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, ServiceContext, running


def service(ctx: ServiceContext, settings: Settings) -> ApprovalsService:
    return ApprovalsService(ctx, ApprovalsConfig(internal_address=settings.internal_bind_address("approvals"),
                                                 internal_tls=service_credentials(settings, "approvals")))


def daemon_control(settings: Settings) -> DaemonControl:
    return ApprovalsClient(settings.internal_dial_address("approvals"), service_credentials(settings, "ingest"))


def approvals_port(settings: Settings, services: Sequence[Service]) -> ApprovalsPort:
    """The approvals service's own API when it runs in this process (``services``), else its
    gRPC client (close it with :func:`release`)."""
    local = running(services, ApprovalsService)
    if local is not None:
        return local.approvals.api
    return ApprovalsApiClient(settings.internal_dial_address("approvals"), service_credentials(settings, "gateway"))


async def release(port: ApprovalsPort) -> None:
    if isinstance(port, ApprovalsApiClient):
        await port.close()


def mount(app: FastAPI, port: ApprovalsPort) -> None:
    mount_approvals(app, port)
