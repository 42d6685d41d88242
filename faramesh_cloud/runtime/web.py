"""The gateway's signed-in UI and REST API, composed: identity stores, the platform audit
log, stacks, the platform signing key and the web secret, all on the platform's database
and data dir; and the DPR explorer and live views over the audit index as
``runtime/audit_wiring.py`` gives it (the running index's own objects in ``up``, its gRPC
clients in ``serve gateway``)."""

from __future__ import annotations

import secrets
from pathlib import Path

from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebConfig, WebDeps
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.keyfile import read_or_create
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.audit_wiring import GatewayAudit
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.stacks.store import StackStore

SECRET_FILE = Path("keys") / "web-secret"


def load_or_create_secret(data_dir: Path) -> str:
    """A random secret kept in ``<data_dir>/keys/web-secret`` (0600), made on first use."""
    return read_or_create(data_dir / SECRET_FILE, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


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
            signing_key=load_or_create_signing_key(settings.data_dir),
            config=WebConfig(secret_key=load_or_create_secret(settings.data_dir),
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
