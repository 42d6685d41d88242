"""The forwarding service: its own consumer groups (``forwarding`` on ``dpr.records.v1``,
``forwarding-legacy`` on ``decisions.legacy.v1``) writing the outbox and the decision counts in its sink's transaction (``sink.py``); the
sender loop delivering the outbox at least once (``delivery.py``); the metrics sweep queuing
closed minutes' decision counts (``metrics.py``); and the prune sweep keeping the delivery
log short. ``api`` is what the gateway calls: in process under ``up``, and as the internal
gRPC API ``ForwardingService`` (``servicer.py``; mutual TLS, ``gateway`` only) when given an
address and the service's certificate."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer
from faramesh_cloud.consumer.tasks import BackgroundTasks, send_loop, sweep_every
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.egress.ssrf import Resolver, system_resolver
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, LEGACY_DECISIONS
from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.delivery import Deliveries, DeliveryConfig
from faramesh_cloud.forwarding.metrics import MetricsSweep
from faramesh_cloud.forwarding.processor import (
    Forwardable,
    ForwardProcessor,
    LegacyForwardProcessor,
)
from faramesh_cloud.forwarding.senders import Endpoints, Senders
from faramesh_cloud.forwarding.servicer import internal_server
from faramesh_cloud.forwarding.sink import ForwardSink
from faramesh_cloud.log.port import Log
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

GROUP: Final = "forwarding"
COMPONENT: Final = ("forwarding", "faramesh_cloud.forwarding")

_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ForwardingConfig:
    key: bytes  # 32 bytes: seals destination secrets (Settings: the forwarding_key secret)
    group: str = GROUP
    allow_private: bool = False
    endpoints: Endpoints = field(default_factory=Endpoints)
    resolver: Resolver = system_resolver
    clock: Callable[[], datetime] = utc_now
    send_interval_s: float = 1.0
    metrics_interval_s: float = 15.0
    metrics_grace_s: float = 60.0
    prune_interval_s: float = 3600.0
    http_timeout_s: float = 10.0
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    runner: RunnerConfig = field(default_factory=lambda: RunnerConfig(
        max_batch_records=2000, max_batch_seconds=0.2, poll_records=2000, dead_letter_topic=DEAD_LETTERS))


class Forwarding:
    """Stores and background work of the forwarding service, over injected ports."""

    def __init__(self, db: Database, log: Log, config: ForwardingConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the forwarding internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self.config = config
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        self._db = db
        self._log = log
        self._wakeup = asyncio.Event()
        box = SecretBox(config.key, "the forwarding key")
        self.audit = PlatformAuditLog(db)
        self.senders = Senders(allow_private=config.allow_private, resolver=config.resolver,
                               endpoints=config.endpoints, timeout_s=config.http_timeout_s)
        self.deliveries = Deliveries(db, box, self.senders, config.clock, config.delivery)
        self.metrics = MetricsSweep(db, config.clock, config.metrics_grace_s)
        self.api = ForwardingApi(db, box, self.audit, self.senders, allow_private=config.allow_private,
                                 clock=config.clock, resolver=config.resolver)
        self.runner: ConsumerRunner[Forwardable] | None = None
        self._tasks = BackgroundTasks()

    def wake(self) -> None:
        self._wakeup.set()

    async def prepare(self) -> None:
        """Its tables and topics (idempotent); ``api`` and ``deliveries`` work from here on."""
        await self.audit.start()
        await prepare_consumer(self._db, self._log, COMPONENT, (DPR_RECORDS, LEGACY_DECISIONS, DEAD_LETTERS))

    def sink(self) -> ForwardSink:
        dead_letters = self.config.runner.dead_letter_topic or DEAD_LETTERS
        return ForwardSink(self._db, self.config.clock, self.wake,
                           lambda records: self._log.append(dead_letters, records))

    async def start(self) -> None:
        await self.prepare()
        address, tls = self._internal
        if address is not None and tls is not None:
            server = internal_server(self.api, address, tls)
            await server.start()
            self.server = server
        self.runner = ConsumerRunner(self._log, DPR_RECORDS, self.config.group, ForwardProcessor(),
                                     self.sink(), self.config.runner)
        self._tasks.start(self.runner.run, "forwarding-consumer")
        legacy: ConsumerRunner[Forwardable] = ConsumerRunner(
            self._log, LEGACY_DECISIONS, f"{self.config.group}-legacy", LegacyForwardProcessor(), self.sink(),
            self.config.runner)
        self._tasks.start(legacy.run, "forwarding-legacy")
        self._tasks.start(self._send, "forwarding-sender")
        self._tasks.start(functools.partial(sweep_every, interval_s=self.config.metrics_interval_s,
                                            work=self.metrics.run_once, wake=self.wake, log=_log,
                                            what="forwarding metrics sweep"), "forwarding-metrics")
        self._tasks.start(functools.partial(sweep_every, interval_s=self.config.prune_interval_s,
                                            work=self.deliveries.prune, wake=self.wake, log=_log,
                                            what="forwarding prune sweep"), "forwarding-prune")

    async def _send(self, stopping: asyncio.Event) -> None:
        await send_loop(stopping, self._wakeup, self.config.send_interval_s, self.deliveries.deliver_due, _log,
                        "forwarding sender")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        self._tasks.stopping.set()
        await self._tasks.stop()
        await self.senders.close()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class ForwardingService(ComponentService):
    name = "forwarding"
    role = "observability forwarding: DPRs and decision metrics to Datadog, Grafana Cloud, Splunk, Elastic, OTLP"

    def __init__(self, ctx: ServiceContext, config: ForwardingConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        self.forwarding = Forwarding(ctx.platform.db, ctx.platform.log, config, internal_address=internal_address,
                                     internal_tls=internal_tls)
        super().__init__(self.forwarding)

    @property
    def api(self) -> ForwardingApi:
        return self.forwarding.api

    def address(self) -> str:
        group = self.forwarding.config.group
        where = f"consumer group {group} on {DPR_RECORDS}; {group}-legacy on {LEGACY_DECISIONS}"
        if self.forwarding.server is not None:
            where += f"; internal gRPC {self.forwarding.server.address}"
        return where
