"""IngestService: the sync channel's gRPC server (TLS 1.3 minimum, health service), and the
daemon's HTTP ways in (legacy Horizon feed, webhooks, ``/v1/auth/me``: :attr:`feeds_app`).

Wiring only: the servicer and ``legacy_http`` do the work. ``start()`` applies the ``stacks``,
``ingest`` and ``ingest_feeds`` migrations (webhook secrets: only this service reads them),
creates the topics ingest writes, binds ``settings.sync_address`` with TLS (port reuse off: a
taken port is ``rpc.ports.PortUnavailable``) and checks that a TLS 1.2 handshake is refused
before it reports SERVING.

Where the HTTP feeds are served is the runtime's choice: with the gateway in this process
(``up``) the gateway's server mounts :attr:`feeds_app` at ``/v1``; without it (``serve
ingest``) the runtime passes ``http_listener``, which serves the app on a listener of its own
(started and stopped with the service).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import OVERALL_HEALTH
from grpc_health.v1.health import aio as health_aio
from starlette.applications import Starlette

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.directory.region import Region
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
    LEGACY_DECISIONS,
    SYNC_ITEMS,
)
from faramesh_cloud.ingest.acks import AckStore
from faramesh_cloud.ingest.config import IngestConfig
from faramesh_cloud.ingest.control import DaemonControl
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.ingest.legacy_http import LegacyHttp, create_legacy_app
from faramesh_cloud.ingest.limits import RateLimiter
from faramesh_cloud.ingest.servicer import SERVICE, SyncServicer, sync_handler
from faramesh_cloud.log.port import Log
from faramesh_cloud.rpc.ports import bind, server_options
from faramesh_cloud.rpc.tls13 import (
    InsecureTransport,
    insecure_transport_message,
    require_tls13_env,
    tls12_refused,
)
from faramesh_cloud.runtime.service import ServiceInfo
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.orgs import OrgStore
from faramesh_cloud.stacks.store import StackStore
from faramesh_cloud.tls import ensure_self_signed, tls_pair_problem

# The topics a Push and the HTTP feeds append to.
TOPICS: Final = (DPR_RECORDS, SYNC_ITEMS, DEAD_LETTERS, LEGACY_DECISIONS)


class HttpListener(Protocol):
    """An HTTP server for :attr:`IngestService.feeds_app` (``runtime.http_server.HttpServer``)."""

    host: str
    port: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...



class IngestStartError(ConfigError):
    """The server could not start because of its settings; the message says what to change."""


def _probe_host(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host)


class IngestService:
    name = "ingest"

    def __init__(
        self,
        settings: Settings,
        log: Log,
        db: Database,
        stacks: StackStore,
        config: IngestConfig | None = None,
        control: DaemonControl | None = None,
        http_listener: Callable[[Starlette], HttpListener] | None = None,
        region: Region | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._region = region
        self._wall_ns = wall_ns  # when an item was received (its origin's received_ns)
        self._control = control
        self._settings = settings
        self._log = log
        self._stacks = stacks
        self._acks = AckStore(db)
        self._secrets = WebhookSecretStore(db)
        # The daemon's HTTP ways in; mount at /v1 (the gateway under `up`) or served by http_listener.
        self.feeds_app: Starlette = create_legacy_app(LegacyHttp(log=log, stacks=stacks, orgs=OrgStore(db),
                                                                 webhooks=self._secrets, region=region))
        self._http = http_listener(self.feeds_app) if http_listener is not None else None
        self._http_running = False
        self._config = config or IngestConfig(emergency_poll_interval_s=settings.emergency_poll_interval_s)
        self._server: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._port: int | None = None
        self._servicer: SyncServicer | None = None

    @property
    def port(self) -> int:
        """The bound port (differs from settings.sync_port when that is 0)."""
        if self._port is None:
            raise RuntimeError("IngestService is not started; call start() first")
        return self._port

    @property
    def address(self) -> str:
        return f"{self._settings.sync_host}:{self.port}"

    def _tls_pair(self) -> tuple[bytes, bytes]:
        settings = self._settings
        cert: Path | None = settings.tls_cert
        key: Path | None = settings.tls_key
        if cert is None or key is None:
            cert, key = ensure_self_signed(settings.data_dir / "tls")
        try:
            pair = cert.read_bytes(), key.read_bytes()
        except OSError as exc:
            raise IngestStartError(
                f"cannot read the sync channel's TLS certificate/key ({exc}); check "
                "FARAMESH_CLOUD_TLS_CERT / FARAMESH_CLOUD_TLS_KEY"
            ) from exc
        problem = tls_pair_problem(*pair)
        if problem is not None:
            raise IngestStartError(f"tls_cert {cert} / tls_key {key}: {problem}; give the sync channel's PEM "
                                   "certificate and its unencrypted PEM key (FARAMESH_CLOUD_TLS_CERT / _KEY)")
        return pair

    async def start(self) -> None:
        # Effective only if gRPC was not imported yet; the probe below checks the outcome.
        require_tls13_env()
        await self._stacks.start()
        await self._acks.start()
        await self._secrets.start()
        for topic in TOPICS:
            await self._log.create_topic(topic, DEFAULT_PARTITIONS[topic])
        if self._http is not None:  # a taken port stops start-up here, before the sync channel binds
            await self._http.start()
            self._http_running = True
        try:
            await self._start_sync()
        except BaseException:
            await self._stop_http()
            raise

    async def _stop_http(self) -> None:
        if self._http is not None and self._http_running:
            self._http_running = False
            await self._http.stop()

    async def _start_sync(self) -> None:
        cert, key = await asyncio.to_thread(self._tls_pair)
        limits = self._config.limits
        server = grpc.aio.server(options=server_options(
            # Larger messages are refused by the transport with RESOURCE_EXHAUSTED before
            # they are buffered; slightly smaller ones get ingest's own explanation.
            ("grpc.max_receive_message_length", limits.transport_max_bytes),
            ("grpc.max_send_message_length", limits.transport_max_bytes),
        ))
        servicer = SyncServicer(
            log=self._log, stacks=self._stacks, acks=self._acks, config=self._config, region=self._region,
            limiter=RateLimiter.for_limits(limits), control=self._control, wall_ns=self._wall_ns,
        )
        server.add_generic_rpc_handlers((sync_handler(servicer),))
        self._servicer = servicer
        health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        address = self._settings.sync_address
        port = bind(server, address, grpc.ssl_server_credentials([(key, cert)]), "the sync channel",
                    "FARAMESH_CLOUD_SYNC_PORT (up --sync-port) to a free port")
        await server.start()
        if not await tls12_refused(_probe_host(self._settings.sync_host), port):
            await server.stop(None)
            raise InsecureTransport(insecure_transport_message(address))
        for service in (SERVICE, OVERALL_HEALTH):
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self._server, self._health, self._port = server, health, port

    async def stop(self) -> None:
        await self._stop_http()
        server, health = self._server, self._health
        if server is None or health is None:
            return
        await health.enter_graceful_shutdown()
        if self._servicer is not None:
            self._servicer.release_waits()
        await server.stop(self._config.shutdown_grace_s)
        self._server = self._health = None
        if self._control is not None:
            await self._control.close()

    def info(self) -> ServiceInfo:
        role = "daemon sync channel (gRPC, TLS 1.3)"
        if self._http is not None:
            role += f"; HTTP daemon feeds on http://{self._http.host}:{self._http.port}/v1"
        if self._server is None:
            return ServiceInfo(self.name, role, self._settings.sync_address, "stopped")
        return ServiceInfo(self.name, role, self.address, "running")
