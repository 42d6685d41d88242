"""The gateway's signed-in UI and REST API, composed: identity stores, the platform audit
log, stacks, the platform signing key and the web secret, all on the platform's database
and data dir; and the DPR explorer and live views over the audit index as
``runtime/audit_wiring.py`` gives it (the running index's own objects in ``up``, its gRPC
clients in ``serve gateway``)."""

from __future__ import annotations

from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebConfig, WebDeps
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.audit_wiring import GatewayAudit
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.secrets import resolve_secret
from faramesh_cloud.signing.keys import platform_signing_key
from faramesh_cloud.stacks.store import StackStore


def web_secret(settings: Settings) -> str:
    """The shared secret that signs session cookies: every gateway replica must hold the same
    one (``faramesh_cloud.secrets``; under ``up``, made once in ``<data_dir>/keys/web-secret``)."""
    return resolve_secret(settings, "web_secret").decode()


class Web:
    def __init__(self, platform: Platform, audit: GatewayAudit) -> None:
        settings = platform.settings
        self._stacks = StackStore(platform.db, region=platform.region)
        self.identity = Identity(platform.db, PlatformAuditLog(platform.db), region=platform.region)
        self._audit = audit
        # The live views: one feed per organisation, woken by the index's commits (one LISTEN
        # session in the index's process, or its WatchCommits stream, for the whole gateway).
        self.live = LiveHub(audit.reader, audit.commits)
        self.deps = WebDeps(
            identity=self.identity, stacks=self._stacks,
            signing_key=platform_signing_key(settings),
            config=WebConfig(secret_key=web_secret(settings),
                             disconnect_after_s=settings.disconnect_after_s),
            # The DPR explorer reads the audit index through its API (in process or gRPC).
            audit=audit.reader, live=self.live, sections=(AUDIT_SECTION,),
        )

    async def start(self) -> None:
        """Migrations, in dependency order: stacks (orgs), then identity and the audit log."""
        await self._stacks.start()
        await self.identity.start()
        self._audit.start()

    def close_streams(self) -> None:
        """End the open live streams (each tells its browser where to resume)."""
        self.live.close()

    async def stop(self) -> None:
        self.close_streams()
        await self._audit.release()
