"""The approvals service's parts as other components get them: the service itself (with its
internal gRPC API bound on ``Settings.internal_bind_address("approvals")``, mutual TLS with
the approvals certificate), ingest's ``DaemonControl`` (the gRPC client of that API, dialling
``Settings.internal_dial_address("approvals")`` with the ingest certificate) and the
gateway's ``ApprovalsPort``.

Ingest reaches the approvals service only through its gRPC client. The gateway is given the
service's API object in process (it runs in the same process as the approvals stores in
``up``; a gRPC twin of the people-facing API is future work)."""

from __future__ import annotations

from fastapi import FastAPI

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.approvals.service import (
    Approvals,
    ApprovalsConfig,
    ApprovalsService,
)
from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.ingest.control import DaemonControl
from faramesh_cloud.log.port import Log
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import ServiceContext
from faramesh_cloud.sql.database import Database


def service(ctx: ServiceContext, settings: Settings) -> ApprovalsService:
    return ApprovalsService(ctx, ApprovalsConfig(internal_address=settings.internal_bind_address("approvals"),
                                                 internal_tls=service_credentials(settings, "approvals")))


def daemon_control(settings: Settings) -> DaemonControl:
    return ApprovalsClient(settings.internal_dial_address("approvals"), service_credentials(settings, "ingest"))


def mount(app: FastAPI, db: Database, log: Log) -> None:
    mount_approvals(app, Approvals(db, log).api)
