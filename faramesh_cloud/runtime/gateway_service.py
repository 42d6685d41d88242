"""The gateway as a runtime service: the FastAPI app on the configured HTTP address, and the
relay of the stacks component's outbox (pins of DPR signing keys people make here, onto
``stacks.signing_keys.v1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.gateway.app import Status, create_app
from faramesh_cloud.gateway.edge import EdgeLimits
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.runtime import (
    approvals_wiring,
    audit_wiring,
    billing_wiring,
    compliance_wiring,
    fleet_wiring,
    forwarding_wiring,
    ingest_wiring,
    notifications_wiring,
    registry_wiring,
)
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.runtime.service import ServiceInfo
from faramesh_cloud.runtime.web import Web
from faramesh_cloud.stacks.signing_keys import OUTBOX_TABLE as STACKS_OUTBOX
from faramesh_cloud.stacks.store import StackStore

if TYPE_CHECKING:
    from faramesh_cloud.runtime.services import RuntimeContext


class GatewayService:
    name = "gateway"

    def __init__(self, ctx: RuntimeContext) -> None:
        self._ctx = ctx
        settings = ctx.platform.settings
        # The audit index's own reader and commit signals when it runs in this process (`up`),
        # else its gRPC clients: the gateway never reads the index's tables or the OLAP store.
        self.audit = audit_wiring.gateway_audit(settings, ctx.services)
        self._web = Web(ctx.platform, self.audit)
        app = create_app(self.status, web=self._web.deps, limits=EdgeLimits(
            settings.http_max_body_bytes, body_limits=registry_wiring.edge_limits(settings)))
        # Settings → Retention: the index's retention API in process (`up`), else its gRPC client.
        self.retention = audit_wiring.retention_port(settings, ctx.services)
        mount_retention(app, self.retention)
        self._fleet = fleet_wiring.fleet_reads(settings, ctx.services)  # in process, or gRPC to the fleet service
        self._git = fleet_wiring.git_port(settings, ctx.services)  # the fleet's git integrations, likewise
        fleet_wiring.mount(app, fleet_wiring.fleet_ports(StackStore(ctx.platform.db, region=ctx.platform.region),
                                                         cloud_url=f"https://{settings.sync_address}",
                                                         query=self._fleet, audit=self.audit.reader),
                           git=self._git)  # Settings → Integrations → Git
        # The approvals and notifications services' own APIs when they run in this process
        # (`up`), else their gRPC clients.
        self.approvals = approvals_wiring.approvals_port(settings, ctx.services)
        approvals_wiring.mount(app, self.approvals)
        self._notifications = notifications_wiring.gateway_port(settings, ctx.services)
        notifications_wiring.mount(app, self._notifications, settings)
        # Settings → Integrations → External observability: the forwarding service's own API
        # when it runs in this process (`up`), else its gRPC client.
        self._forwarding = forwarding_wiring.gateway_port(settings, ctx.services)
        forwarding_wiring.mount(app, self._forwarding)
        # Settings → Billing (Owner): the billing service's own API in process (`up`), else its gRPC client.
        self._billing = billing_wiring.gateway_port(settings, ctx.services)
        billing_wiring.mount(app, self._billing)
        # Compliance (posture, reports, the evidence library, /share/{token}): the service's own
        # API when it runs in this process (`up`); a gateway run apart has no Compliance yet.
        self.compliance = compliance_wiring.gateway_port(settings, ctx.services)  # in process, or gRPC
        compliance_wiring.mount(app, self.compliance, settings)
        # The daemon's HTTP ways in (/v1/auth/me, /v1/ingest/dpr, /v1/webhooks/...): the ingest
        # service's own app when it runs in this process (`up`), else a proxy to ingest's listener.
        self.daemon_feeds = ingest_wiring.daemon_feeds(settings, ctx.services)
        app.mount(ingest_wiring.MOUNT, self.daemon_feeds)
        # The registry's daemon API (FARAMESH_REGISTRY_URL=<gateway>/registry): the registry
        # service's own app when it runs in this process (`up`), else a proxy to its listener.
        self.registry_api = registry_wiring.daemon_api(settings, ctx.services)
        app.mount(registry_wiring.MOUNT, self.registry_api)
        # The Registry section (browse, REST twin, a stack's registry imports) and the stack tabs'
        # and Home's pack alerts: the service's reads when it runs in this process (`up`), else
        # its gRPC client.
        self.registry = registry_wiring.gateway_port(settings, ctx.services)
        registry_wiring.mount(app, self.registry)
        registry_wiring.mount_alerts(app, registry_wiring.alert_reads(ctx.services, self.registry))
        # Publishing (Publish, Review queue, My artifacts, Issues): the registry's own API in process,
        # else its gRPC client (provider binaries streamed in chunks).
        self.registry_publish = registry_wiring.publish_port(settings, ctx.services)  # in process, or gRPC
        registry_wiring.mount_publish(app, settings, self.registry_publish)
        self._server = HttpServer(app, settings.http_host, settings.http_port, HttpOptions.of(settings))
        self._relay = OutboxRelay(ctx.platform.db, ctx.platform.log, STACKS_OUTBOX)
        self._tasks = BackgroundTasks()
        self._state = "starting"

    def status(self) -> Status:
        platform = self._ctx.platform
        settings = platform.settings
        cert = settings.tls_cert or settings.data_dir / "tls" / "sync-cert.pem"
        return Status(
            mode=settings.mode,
            data_dir=str(settings.data_dir),
            components=dict(platform.components),
            services=self._ctx.infos(),
            sync_address=settings.sync_address,
            sync_cert=str(cert) if settings.tls_cert is None else None,
            started_at=self._ctx.started_at,
        )

    async def start(self) -> None:
        await self._web.start()
        await self._server.start()
        await StackStore(self._ctx.platform.db).signing_keys.announce_existing()  # pins made before they were events
        self._tasks.start(self._relay.run, "stacks-outbox-relay")
        self._state = "running"

    async def stop(self) -> None:
        self._web.close_streams()  # an open live stream would hold uvicorn's shutdown for its lifetime
        await self._server.stop()
        await self._tasks.stop()
        await self._web.stop()
        await fleet_wiring.release(self._fleet)
        await fleet_wiring.release_git(self._git)
        await audit_wiring.release_retention(self.retention)
        await notifications_wiring.release(self._notifications)
        await forwarding_wiring.release(self._forwarding)
        await billing_wiring.release(self._billing)
        await compliance_wiring.release(self.compliance)
        await approvals_wiring.release(self.approvals)
        await ingest_wiring.release(self.daemon_feeds)
        await registry_wiring.release(self.registry_api)
        await registry_wiring.release_port(self.registry)
        await registry_wiring.release_port(self.registry_publish)
        self._state = "stopped"

    def info(self) -> ServiceInfo:
        settings = self._ctx.platform.settings
        return ServiceInfo(self.name, "web UI and REST API", settings.http_url, self._state, (self._relay.lag(),))
