"""The fleet projection as a runtime service: a consumer of ``sync.items.v1`` in group
``fleet`` feeding the PostgreSQL sink, and the query API the gateway reads, served as the
internal gRPC API ``FleetQueryService`` (``servicer.py``; mutual TLS, ``gateway`` only) when
given an address and the fleet service's certificate; and, given ``GitSettings`` (the
``git_key``), the git integrations (``git_api.py``: connections, stack mappings, drift) with
their scheduled drift check every ``poll_interval_s``.

``FleetProjection`` is wired from ports (database, log, stack registry) so tests run what
``faramesh-cloud up`` runs; ``FleetService`` adapts it to the runtime's ``Service``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer, sync_items_runner
from faramesh_cloud.consumer.tasks import BackgroundTasks, sweep_every
from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.events.topics import DEAD_LETTERS, FLEET_EVENTS, SYNC_ITEMS
from faramesh_cloud.fleet import git_events
from faramesh_cloud.fleet.domain import FleetUpdate
from faramesh_cloud.fleet.git_api import GitIntegrations
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.query import FleetQuery, StackLister
from faramesh_cloud.fleet.servicer import internal_server
from faramesh_cloud.fleet.sink import COMPONENT, FleetSink
from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, PlatformParts
from faramesh_cloud.sql.database import Database

GROUP: Final = "fleet"
_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GitSettings:
    """The git integrations: ``key`` seals tokens (the ``git_key`` secret); ``allow_private``
    is ``Settings.allow_private_destinations`` (the SSRF guard's one switch)."""

    key: bytes
    poll_interval_s: float = 900.0
    allow_private: bool = False
    http_timeout_s: float = 10.0
    clock: Callable[[], datetime] = field(default=_now)


def runner_config() -> RunnerConfig:
    # Status and health reports are small and infrequent; a short batch age keeps the
    # fleet view within a second of what daemons report.
    return sync_items_runner(max_batch_seconds=0.25)


class FleetProjection:
    """``internal_address`` (with ``internal_tls``, the fleet service's certificate): where
    ``query`` is served as the internal gRPC API; None serves nothing."""

    def __init__(self, db: Database, log: Log, stacks: StackLister, *, disconnect_after_s: float = 120.0,
                 group: str = GROUP, config: RunnerConfig | None = None, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None, git: GitSettings | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the fleet internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self._db = db
        self._log = log
        self._group = group
        self._config = config or runner_config()
        self.sink = FleetSink(db)
        self.query = FleetQuery(db, stacks, disconnect_after_s)
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        self._tasks = BackgroundTasks()
        self._git_settings = git
        self._git_http: PinnedHttp | None = None
        self.git: GitIntegrations | None = None
        if git is not None:
            self._git_http = PinnedHttp(allow_private=git.allow_private, timeout_s=git.http_timeout_s)
            self.git = GitIntegrations(db, SecretBox(git.key, "the git key"), PlatformAuditLog(db), stacks,
                                       self._git_http, allow_private=git.allow_private, clock=git.clock)
        # The git integrations' events (fleet.events.v1), relayed from the fleet's outbox.
        self.relay: OutboxRelay | None = OutboxRelay(db, log, git_events.OUTBOX_TABLE) if git is not None else None

    async def prepare(self) -> None:
        topics = (SYNC_ITEMS, DEAD_LETTERS, FLEET_EVENTS) if self.git is not None else (SYNC_ITEMS, DEAD_LETTERS)
        await prepare_consumer(self._db, self._log, COMPONENT, topics)

    async def start(self) -> None:
        await self.prepare()
        address, tls = self._internal
        if address is not None and tls is not None:
            server = internal_server(self.query, address, tls, self.git)
            await server.start()
            self.server = server
        runner: ConsumerRunner[FleetUpdate] = ConsumerRunner(self._log, SYNC_ITEMS, self._group, FleetProcessor(),
                                                             self.sink, self._config)
        self._tasks.start(runner.run, "fleet-projection")
        if self.relay is not None:
            self._tasks.start(self.relay.run, "fleet-relay")
        if self.git is not None and self._git_settings is not None:
            self._tasks.start(functools.partial(sweep_every, interval_s=self._git_settings.poll_interval_s,
                                                work=self.git.check_all, wake=lambda: None, log=_log,
                                                what="git drift check"), "fleet-git-drift")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await self._tasks.stop()
        if self._git_http is not None:
            await self._git_http.close()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class FleetService(ComponentService):
    """The ``Service`` protocol around ``FleetProjection``; the gateway reads ``query``."""

    name = "fleet"
    role = "fleet status, agents, budgets and apply history"

    def __init__(self, platform: PlatformParts, stacks: StackLister, disconnect_after_s: float, *,
                 internal_address: str | None = None, internal_tls: ServiceCredentials | None = None,
                 git: GitSettings | None = None) -> None:
        self.projection = FleetProjection(platform.db, platform.log, stacks, disconnect_after_s=disconnect_after_s,
                                          internal_address=internal_address, internal_tls=internal_tls, git=git)
        super().__init__(self.projection, relays=(self.projection.relay,) if self.projection.relay else ())

    @property
    def query(self) -> FleetQuery:
        return self.projection.query

    @property
    def git(self) -> GitIntegrations | None:
        return self.projection.git

    def address(self) -> str:
        where = f"consumer group {GROUP} on {SYNC_ITEMS}"
        if self.projection.server is not None:
            where += f"; internal gRPC {self.projection.server.address}"
        return where
