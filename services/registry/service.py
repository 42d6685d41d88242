"""The registry service: seeds a fresh install from the shipped catalog snapshot (``seed.py``),
lists Cloud's registry key (``keyring.py``), relays its outbox onto ``registry.events.v1``,
writes download counts in batches, and serves the daemon-facing HTTP API (``http_app``: the
gateway mounts it at ``/registry`` under ``up``; under ``serve registry`` the runtime passes
``http_listener``, which serves it on a listener of its own). ``api`` is the people-facing read
port the gateway is given in process.
"""

from __future__ import annotations

from collections.abc import Callable
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
from faramesh_cloud.registry.api import RegistryApi
from faramesh_cloud.registry.events import OUTBOX_TABLE, TOPIC
from faramesh_cloud.registry.http_api import RegistryHttp
from faramesh_cloud.registry.keyring import ensure_cloud_key, rotate
from faramesh_cloud.registry.keys import CloudKey, KeySource
from faramesh_cloud.registry.reads import Blobs, DownloadCounter
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.snapshot import SEED_DIR, load_snapshot
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

COMPONENT: Final = ("registry", "faramesh_cloud.registry")


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
    relay: RelayConfig = field(default_factory=RelayConfig)


class Registry:
    def __init__(self, db: Database, log: Log, blobs: BlobStore, config: RegistryConfig, *,
                 http_listener: Callable[[ASGIApp], HttpListener] | None = None) -> None:
        self.config = config
        self._db = db
        self._log = log
        self.store = RegistryStore(db)
        self.blobs = blobs
        reads = Blobs(blobs)
        self.downloads = DownloadCounter(self.store, config.clock, config.downloads_interval_s)
        self.http = RegistryHttp(self.store, reads, self.downloads)
        self.api = RegistryApi(self.store, reads)
        self.relay = OutboxRelay(db, log, OUTBOX_TABLE, config.relay)
        self.listener = http_listener(self.http.app) if http_listener is not None else None
        self.signing_key: CloudKey | None = None
        self._tasks = BackgroundTasks()

    @property
    def http_app(self) -> ASGIApp:
        return self.http.app

    async def start(self) -> None:
        await prepare_consumer(self._db, self._log, COMPONENT, (TOPIC,))  # its tables and its topic
        await seed(self._db, self.store, self.blobs, load_snapshot(self.config.seed_dir), self.config.clock)
        self.signing_key = await ensure_cloud_key(self._db, self.store, self.config.keys.current(), self.config.clock())
        self._tasks.start(self.relay.run, "registry-relay")
        self._tasks.start(self.downloads.run, "registry-downloads")
        if self.listener is not None:
            await self.listener.start()

    async def rotate_key(self) -> CloudKey:
        self.signing_key = await rotate(self._db, self.store, self.config.keys, self.config.clock)
        return self.signing_key

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        self._tasks.stopping.set()
        await self._tasks.stop()
        await self.downloads.flush()
        await self.blobs.close()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class RegistryService(ComponentService):
    name = "registry"
    role = "registry of providers, policy packs and framework profiles (signed, versioned; daemon API at /registry)"

    def __init__(self, ctx: ServiceContext, blobs: BlobStore, config: RegistryConfig, *,
                 http_listener: Callable[[ASGIApp], HttpListener] | None = None) -> None:
        self.registry = Registry(ctx.platform.db, ctx.platform.log, blobs, config, http_listener=http_listener)
        self.publish: Any = None  # publish_api.PublishApi, set by the runtime's wiring
        super().__init__(self.registry, relays=(self.registry.relay,))

    @property
    def api(self) -> RegistryApi:
        return self.registry.api

    @property
    def http_app(self) -> ASGIApp:
        return self.registry.http_app

    def address(self) -> str:
        listener = self.registry.listener
        where = f"{TOPIC}"
        if listener is not None:
            where += f"; daemon API http://{listener.host}:{listener.port}/registry"
        else:
            where += "; daemon API at the gateway's /registry"
        return where

