"""The gateway's signed-in UI and REST API, composed: identity stores, the platform audit
log, stacks, the platform signing key and the web secret, all on the platform's database
and data dir."""

from __future__ import annotations

import secrets
from pathlib import Path

from faramesh_cloud.audit_index.postgres import TAIL_CHANNEL
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebConfig, WebDeps
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.keyfile import read_or_create
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.audit_reader import IndexAuditReader
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.stacks.store import StackStore

SECRET_FILE = Path("keys") / "web-secret"


def load_or_create_secret(data_dir: Path) -> str:
    """A random secret kept in ``<data_dir>/keys/web-secret`` (0600), made on first use."""
    return read_or_create(data_dir / SECRET_FILE, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


class Web:
    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self._stacks = StackStore(platform.db)
        self.identity = Identity(platform.db, PlatformAuditLog(platform.db))
        audit = IndexAuditReader(platform.olap, platform.db) if platform.olap is not None else None
        # The live views: one feed per organisation, woken by the index's commits (its sinks
        # NOTIFY TAIL_CHANNEL with the org id; one LISTEN session for the whole gateway).
        self._commits = PgListener(platform.db, TAIL_CHANNEL) if audit is not None else None
        self.live = LiveHub(audit, self._commits.signals) if audit is not None and self._commits else None
        self.deps = WebDeps(
            identity=self.identity, stacks=self._stacks,
            signing_key=load_or_create_signing_key(settings.data_dir),
            config=WebConfig(secret_key=load_or_create_secret(settings.data_dir),
                             disconnect_after_s=settings.disconnect_after_s),
            # The DPR explorer reads the audit index (chDB/ClickHouse + PostgreSQL) directly.
            audit=audit, live=self.live,
            sections=(AUDIT_SECTION,) if platform.olap is not None else (),
        )

    async def start(self) -> None:
        """Migrations, in dependency order: stacks (orgs), then identity and the audit log."""
        await self._stacks.start()
        await self.identity.start()
        if self._commits is not None:
            await self._commits.start()

    def close_streams(self) -> None:
        """End the open live streams (each tells its browser where to resume)."""
        if self.live is not None:
            self.live.close()

    async def stop(self) -> None:
        self.close_streams()
        if self._commits is not None:
            await self._commits.stop()
