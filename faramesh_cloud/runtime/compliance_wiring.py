"""The compliance service and what the gateway uses of it.

The service reads the audit index, the approvals service and the fleet through their ports:
their own objects when they run in this process (``up``), else their gRPC clients with the
compliance certificate. Its artifacts live in ``<data_dir>/compliance/artifacts``; its report
PDFs are signed with the platform key (the appendix) and the platform document certificate
(the PDF; ``<data_dir>/keys``). The gateway's ``CompliancePort`` is the running service's own
API in process, or its gRPC client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import FastAPI

from faramesh_cloud.approvals.client import ApprovalsApiClient
from faramesh_cloud.approvals.service import ApprovalsService
from faramesh_cloud.audit_index.client import AuditIndexClient
from faramesh_cloud.audit_index.service import AuditIndexService
from faramesh_cloud.compliance.service import ComplianceConfig, ComplianceService
from faramesh_cloud.compliance.sources import Sources
from faramesh_cloud.config import Settings
from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.service import FleetService
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort, mount_compliance
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, running

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

SERVICE = "compliance"
_log = logging.getLogger(__name__)


def sources(settings: Settings, services: Sequence[Service]) -> Sources:
    tls = service_credentials(settings, SERVICE)
    audit = running(services, AuditIndexService)
    approvals = running(services, ApprovalsService)
    fleet = running(services, FleetService)
    return Sources(
        audit=audit.reader if audit is not None else AuditIndexClient(
            settings.internal_dial_address("audit-index"), tls),
        approvals=approvals.approvals.api if approvals is not None else ApprovalsApiClient(
            settings.internal_dial_address("approvals"), tls),
        fleet=fleet.query if fleet is not None else FleetQueryClient(settings.internal_dial_address("fleet"), tls),
    )


def service(ctx: RuntimeContext) -> ComplianceService:
    from faramesh_cloud.compliance.pipeline import report_maker

    settings = ctx.platform.settings
    found = sources(settings, ctx.services)
    config = ComplianceConfig(artifacts=settings.data_dir / "compliance" / "artifacts")
    return ComplianceService(ctx, config, maker=report_maker(settings, found))


class ComplianceNotReachable(RuntimeError):
    """The gateway runs apart from the compliance service (``serve gateway``): it reaches
    compliance only in process (``up``) until the service's gRPC client exists."""


def gateway_port(settings: Settings, services: Sequence[Service]) -> CompliancePort:
    """The compliance service's own API when it runs in this process (``services``). A
    gateway run apart from it has no way to it yet: :class:`ComplianceNotReachable` (the
    gateway then runs without the Compliance section; see :func:`try_gateway_port`)."""
    local = running(services, ComplianceService)
    if local is not None:
        return local.api
    raise ComplianceNotReachable(
        "the gateway reaches the compliance service only when both run in one process (`faramesh-cloud up`); "
        "its gRPC client is not built yet, so `serve gateway` runs without Compliance (issue #14)")


def try_gateway_port(settings: Settings, services: Sequence[Service]) -> CompliancePort | None:
    try:
        return gateway_port(settings, services)
    except ComplianceNotReachable as exc:
        _log.warning("%s", exc)
        return None


def mount(app: FastAPI, port: CompliancePort | None, settings: Settings | None = None) -> None:
    """The Compliance section, its REST twin and the public share page (nothing without a port).
    Auditors are offered the public certificates and keys in ``<data_dir>/keys``."""
    if port is not None:
        mount_compliance(app, port, keys_dir=settings.data_dir / "keys" if settings is not None else None)
