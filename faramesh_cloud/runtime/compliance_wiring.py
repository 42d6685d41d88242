"""The compliance service and what the gateway uses of it.

The service reads the audit index, the approvals service and the fleet through their ports:
their own objects when they run in this process (``up``), else their gRPC clients with the
compliance certificate. Its artifacts live in ``<data_dir>/compliance/artifacts``; its report
PDFs are signed with the platform key (the appendix) and the platform document certificate
(the PDF; ``<data_dir>/keys``). It serves its people-facing API (``ComplianceService``, gateway
only) on its internal address. The gateway's ``CompliancePort`` is the running service's own
API in process, or its gRPC client (``ComplianceClient``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

from faramesh_cloud.approvals.client import ApprovalsApiClient
from faramesh_cloud.approvals.service import ApprovalsService
from faramesh_cloud.audit_index.client import AuditIndexClient, summary_view
from faramesh_cloud.audit_index.service import AuditIndexService
from faramesh_cloud.compliance.certificates import Certifier
from faramesh_cloud.compliance.client import ComplianceClient
from faramesh_cloud.compliance.coverage_reads import CoverageReads
from faramesh_cloud.compliance.measure import Measurer
from faramesh_cloud.compliance.pipeline import Keys, ReportPipeline
from faramesh_cloud.compliance.policy import Policies, policy_words
from faramesh_cloud.compliance.report.sign import document_key
from faramesh_cloud.compliance.service import ComplianceConfig, ComplianceService
from faramesh_cloud.compliance.servicer import internal_server
from faramesh_cloud.compliance.sources import Sources
from faramesh_cloud.compliance.sweep import Sweep
from faramesh_cloud.config import Settings
from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.service import FleetService
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort, mount_compliance
from faramesh_cloud.identity.org_settings import OrgSettingsStore
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, running
from faramesh_cloud.signing.keys import platform_signing_key
from faramesh_cloud.sql.database import Database

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext

SERVICE = "compliance"


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


class OrgSettings:
    """The organisation settings evidence reads (the platform's identity store)."""

    def __init__(self, db: Database) -> None:
        self._store = OrgSettingsStore(db, PlatformAuditLog(db))

    async def sso_enabled(self, org_id: str) -> bool:
        sso = await self._store.sso(org_id)
        return bool(sso.enabled and sso.issuer)

    async def retention_days(self, org_id: str) -> int | None:
        return None  # Cloud deletes no DPR yet: every record is kept


def service(ctx: RuntimeContext) -> ComplianceService:
    platform = ctx.platform
    settings = platform.settings
    found = sources(settings, ctx.services)
    config = ComplianceConfig(artifacts=settings.data_dir / "compliance" / "artifacts")
    policies = Policies(found.fleet)
    measurer = Measurer(found.audit, found.approvals, PlatformAuditLog(platform.db), OrgSettings(platform.db))
    posture = Sweep(platform.db, measurer, policies.checks, config.clock, policy_words=policy_words())
    keys = Keys(platform_signing_key(settings), document_key(settings))
    certifier = Certifier(found.audit, keys.signing)
    maker = ReportPipeline(platform.db, found, keys, posture.posture)
    return ComplianceService(ctx, config, maker=maker, sweep=lambda api: posture,
                             coverage=CoverageReads(found.audit, found.fleet), certifier=certifier,
                             server=lambda api: internal_server(api, settings.internal_bind_address(SERVICE),
                                                                service_credentials(settings, SERVICE)))


def gateway_port(settings: Settings, services: Sequence[Service]) -> CompliancePort:
    """The compliance service's own API when it runs in this process (``services``), else its
    gRPC client with the gateway certificate (close it with :func:`release`)."""
    local = running(services, ComplianceService)
    if local is not None:
        return local.api
    return ComplianceClient(settings.internal_dial_address(SERVICE), service_credentials(settings, "gateway"),
                            sample=summary_view)


async def release(port: CompliancePort) -> None:
    if isinstance(port, ComplianceClient):
        await port.close()


def mount(app: FastAPI, port: CompliancePort, settings: Settings | None = None) -> None:
    """The Compliance section, its REST twin and the public share page. Auditors are offered
    the public certificates and keys in ``<data_dir>/keys`` and the report certificate where an
    operator configured it (``report_signing_cert_file`` or ``secrets_dir``: a `serve gateway`
    has no data-dir keys, and the compliance service signs with the configured pair)."""
    if settings is None:
        mount_compliance(app, port)
        return
    from faramesh_cloud.secrets import source

    where = source(settings, "report_signing_cert")
    configured = (Path(where),) if where is not None and not where.startswith("FARAMESH_CLOUD_") else ()
    mount_compliance(app, port, keys_dir=settings.data_dir / "keys", key_files=configured)
