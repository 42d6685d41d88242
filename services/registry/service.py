"""The registry service: seeds a fresh install from the shipped catalog snapshot (``seed.py``),
lists Cloud's registry key (``keyring.py``), signs a registry-log checkpoint with that key after
each batch of commands (start, rotation, a mirror run, and every ``checkpoint_interval_s`` when
anything else was logged: ``log_entries.py``), relays its outbox onto ``registry.events.v1``,
writes download counts in batches, and serves the daemon-facing HTTP API (``http_app``: the
gateway mounts it at ``/registry`` under ``up``; under ``serve registry`` the runtime passes
``http_listener``, which serves it on a listener of its own). ``api`` is the people-facing read
port the gateway is given in process. Given the fleet's port (``fleet``: the in-process query
under ``up``, its gRPC client with the registry's certificate under ``serve registry``), it runs
the pack version alerts too (``alert_service.RegistryAlerts``), whose events its relay carries.
:meth:`Registry.yank` is the yank command (``yank.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from starlette.types import ASGIApp

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.consumer.setup import prepare_consumer
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.alert_reads import AlertReads
from faramesh_cloud.registry.alert_service import AlertsConfig, RegistryAlerts
from faramesh_cloud.registry.alert_sweep import AlertEvaluator, FleetTexts
from faramesh_cloud.registry.api import RegistryApi
from faramesh_cloud.registry.events import OUTBOX_TABLE, TOPIC, VersionYanked
from faramesh_cloud.registry.http_api import RegistryHttp
from faramesh_cloud.registry.keyring import ensure_cloud_key, rotate
from faramesh_cloud.registry.keys import CloudKey, KeySource
from faramesh_cloud.registry.log_entries import sign_checkpoint
from faramesh_cloud.registry.mirror import Mirror, Progress, pins_of, source_for
from faramesh_cloud.registry.reads import Blobs, DownloadCounter
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.snapshot import SEED_DIR, load_snapshot
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.registry.translog_format import Checkpoint
from faramesh_cloud.registry.yank import yank
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

COMPONENT: Final = ("registry", "faramesh_cloud.registry")
_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class HttpListener(Protocol):
    host: str
    port: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class RegistryConfig:
    keys: KeySource
    seed_dir: Path = SEED_DIR
    clock: Callable[[], datetime] = utc_now
    downloads_interval_s: float = 5.0
    checkpoint_interval_s: float = 5.0
    # Mirrors run on a schedule when both are set (docs/registry-mirror.md): registry URLs or
    # catalog checkouts, and the seconds between runs (0: off; on demand always works).
    mirror_sources: tuple[str, ...] = ()
    mirror_interval_s: float = 0.0
    mirror_pins: tuple[str, ...] = ()  # ID=BASE64; none: the official key
    relay: RelayConfig = field(default_factory=RelayConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    # The start of the alerts' details links ("https://cloud.example.com"; "": a path the
    # daemon's operator reads against the Cloud they use).
    alerts_base_url: str = ""


class Registry:
    def __init__(self, db: Database, log: Log, blobs: BlobStore, config: RegistryConfig, *,
                 http_listener: Callable[[ASGIApp], HttpListener] | None = None,
                 fleet: FleetTexts | None = None, release_fleet: Callable[[], Awaitable[None]] | None = None,
                 server: Callable[[RegistryApi, AlertReads], InternalServer] | None = None) -> None:
        self.config = config
        self._db = db
        self._log = log
        self.store = RegistryStore(db)
        self.blobs = blobs
        reads = Blobs(blobs)
        self.downloads = DownloadCounter(self.store, config.clock, config.downloads_interval_s)
        self.http = RegistryHttp(self.store, reads, self.downloads)
        self.api = RegistryApi(self.store, reads, clock=config.clock)
        self.relay = OutboxRelay(db, log, OUTBOX_TABLE, config.relay)
        self.listener = http_listener(self.http.app) if http_listener is not None else None
        self.signing_key: CloudKey | None = None
        self.mirror = Mirror(db, self.store, blobs, config.clock, after_batch=self.checkpoint)
        self._tasks = BackgroundTasks()
        self.alert_reads = AlertReads(db)
        self.alerts = None if fleet is None else RegistryAlerts(db, log, AlertEvaluator(
            db, fleet, config.clock, base_url=config.alerts_base_url), config.alerts)
        self._release_fleet = release_fleet
        self._server_factory = server
        self.server: InternalServer | None = None  # the internal gRPC API, once started

    @property
    def http_app(self) -> ASGIApp:
        return self.http.app

    async def start(self) -> None:
        await prepare_consumer(self._db, self._log, COMPONENT, (TOPIC,))  # its tables and its topic
        await seed(self._db, self.store, self.blobs, load_snapshot(self.config.seed_dir), self.config.clock)
        self.signing_key = await ensure_cloud_key(self._db, self.store, self.config.keys.current(), self.config.clock())
        await self.checkpoint()
        self._tasks.start(self.relay.run, "registry-relay")
        self._tasks.start(self._checkpoints, "registry-checkpoints")
        if self.config.mirror_sources and self.config.mirror_interval_s > 0:
            self._tasks.start(self._mirrors, "registry-mirror")
        self._tasks.start(self.downloads.run, "registry-downloads")
        if self.alerts is not None:
            await self.alerts.start()
        if self.listener is not None:
            await self.listener.start()
        if self._server_factory is not None:
            server = self._server_factory(self.api, self.alert_reads)
            await server.start()
            self.server = server

    async def yank(self, kind: str, name: str, version: str, reason: str, actor: Actor) -> VersionYanked:
        """Yank a published version (``yank.py``; who may is the caller's check)."""
        return await yank(self._db, self.store, kind=kind, name=name, version=version, reason=reason, actor=actor,
                          at=self.config.clock())

    async def rotate_key(self) -> CloudKey:
        self.signing_key = await rotate(self._db, self.store, self.config.keys, self.config.clock)
        await self.checkpoint()
        return self.signing_key

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the registry log as it is now with the key that signs now (after a batch)."""
        if self.signing_key is None:
            return None
        return await sign_checkpoint(self._db, self.signing_key)

    async def mirror_now(self, source: str, pins: tuple[str, ...] = (), *, trigger: str = "demand",
                         on_progress: Callable[[Progress], None] | None = None) -> Progress:
        """One mirror run of ``source`` (a registry URL or a catalog checkout)."""
        return await self.mirror.run(source_for(source), pins_of(pins or self.config.mirror_pins), trigger=trigger,
                                     on_progress=on_progress)

    async def _mirrors(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            for source in self.config.mirror_sources:
                try:
                    done = await self.mirror_now(source, trigger="schedule")
                    _log.info("registry mirror %s: %s (%d mirrored, %d quarantined, %d failed)", source, done.state,
                              done.mirrored, done.quarantined, done.failed)
                except Exception:
                    _log.warning("registry mirror %s failed", source, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.config.mirror_interval_s)

    async def _checkpoints(self, stopping: asyncio.Event) -> None:
        """Checkpoint what other commands (publish, review, yank) logged since the last one."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.config.checkpoint_interval_s)
            try:
                await self.checkpoint()
            except Exception:
                _log.warning("registry: signing a log checkpoint failed; retrying", exc_info=True)

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()
        if self.listener is not None:
            await self.listener.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        if self._release_fleet is not None:
            await self._release_fleet()
        self._tasks.stopping.set()
        await self._tasks.stop()
        await self.downloads.flush()
        await self.blobs.close()

    def failure(self) -> BaseException | None:
        return self._tasks.failure() or (self.alerts.failure() if self.alerts is not None else None)


class RegistryService(ComponentService):
    name = "registry"
    role = "registry of providers, policy packs and framework profiles (signed, versioned; daemon API at /registry)"

    def __init__(self, ctx: ServiceContext, blobs: BlobStore, config: RegistryConfig, *,
                 http_listener: Callable[[ASGIApp], HttpListener] | None = None,
                 fleet: FleetTexts | None = None, release_fleet: Callable[[], Awaitable[None]] | None = None,
                 server: Callable[[RegistryApi, AlertReads], InternalServer] | None = None) -> None:
        self.registry = Registry(ctx.platform.db, ctx.platform.log, blobs, config, http_listener=http_listener,
                                 fleet=fleet, release_fleet=release_fleet, server=server)
        self.publish: Any = None  # publish_api.PublishApi, set by the runtime's wiring
        super().__init__(self.registry, relays=(self.registry.relay,))

    @property
    def api(self) -> RegistryApi:
        return self.registry.api

    @property
    def http_app(self) -> ASGIApp:
        return self.registry.http_app

    @property
    def alert_reads(self) -> AlertReads:
        return self.registry.alert_reads

    def address(self) -> str:
        listener = self.registry.listener
        where = f"{TOPIC}"
        if listener is not None:
            where += f"; daemon API http://{listener.host}:{listener.port}/registry"
        else:
            where += "; daemon API at the gateway's /registry"
        if self.registry.server is not None:
            where += f"; internal gRPC {self.registry.server.address}"
        return where

