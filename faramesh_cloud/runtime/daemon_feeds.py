"""The daemon's HTTP ways in (legacy Horizon feed, webhooks), built from the platform.

Ingest owns the handlers (``faramesh_cloud.ingest.legacy_http``); the gateway's HTTP server
hosts them at ``/v1`` (``gateway_service`` mounts :attr:`DaemonHttpFeeds.app`), so the
gateway package itself never imports ingest.
"""

from __future__ import annotations

from typing import Final

from starlette.applications import Starlette

from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.ingest.legacy_http import LegacyHttp, create_legacy_app
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.stacks.orgs import OrgStore
from faramesh_cloud.stacks.store import StackStore

MOUNT: Final = "/v1"


class DaemonHttpFeeds:
    def __init__(self, platform: Platform) -> None:
        self._stacks = StackStore(platform.db)
        self._secrets = WebhookSecretStore(platform.db)
        http = LegacyHttp(log=platform.log, stacks=self._stacks, orgs=OrgStore(platform.db),
                          webhooks=self._secrets)
        self.app: Starlette = create_legacy_app(http)

    async def start(self) -> None:
        """Apply the tables the handlers read (stacks first: webhook secrets reference them)."""
        await self._stacks.start()
        await self._secrets.start()
