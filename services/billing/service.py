"""The billing service: usage metered from the log by its own consumer groups, each writing
its meters with its position in one transaction (``sink.py``):

* ``billing`` on ``dpr.records.v1`` (governed decisions, counted from headers),
* ``billing-sync`` on ``sync.items.v1`` (connected stacks),
* ``billing-compliance`` on ``compliance.events.v1`` (reports generated),
* ``billing-registry`` on ``registry.events.v1`` (registry storage per publishing organisation),
* ``billing-events`` on its own ``billing.events.v1`` (plans set, invoices issued: a rebuild
  gives them back);

the seat sweep (``billing_meter_interval_s``), the outbox relay, and ``api`` (``BillingApi``)
that the gateway calls in process under ``up`` and as the internal gRPC API
``BillingService`` (``servicer.py``; mutual TLS, ``gateway`` only) when given an address."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from faramesh_cloud.billing.api import BillingApi
from faramesh_cloud.billing.events import OUTBOX_TABLE, decode
from faramesh_cloud.billing.plans import DEFAULT_CATALOG, Catalog
from faramesh_cloud.billing.processor import (
    DecisionCounter,
    RegistryProcessor,
    ReportProcessor,
    StackStatusProcessor,
)
from faramesh_cloud.billing.projection import EventSink
from faramesh_cloud.billing.seats import SeatCounter
from faramesh_cloud.billing.servicer import internal_server
from faramesh_cloud.billing.sink import UsageSink
from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer
from faramesh_cloud.consumer.tasks import BackgroundTasks, sweep_every
from faramesh_cloud.events.records import OwnEventProcessor
from faramesh_cloud.events.topics import (
    BILLING_EVENTS,
    COMPLIANCE_EVENTS,
    DEAD_LETTERS,
    DPR_RECORDS,
    REGISTRY_EVENTS,
    SYNC_ITEMS,
)
from faramesh_cloud.identity.members import MemberStore
from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

GROUP: Final = "billing"
COMPONENT: Final = ("billing", "faramesh_cloud.billing")
# (topic, consumer group suffix, processor): the meters' consumers
METERED: Final = ((DPR_RECORDS, "", DecisionCounter), (SYNC_ITEMS, "-sync", StackStatusProcessor),
                  (COMPLIANCE_EVENTS, "-compliance", ReportProcessor), (REGISTRY_EVENTS, "-registry", RegistryProcessor))

_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BillingConfig:
    catalog: Catalog = DEFAULT_CATALOG
    group: str = GROUP
    clock: Callable[[], datetime] = utc_now
    meter_interval_s: float = 300.0
    relay: RelayConfig = field(default_factory=RelayConfig)
    runner: RunnerConfig = field(default_factory=lambda: RunnerConfig(
        max_batch_records=5000, max_batch_seconds=0.5, poll_records=5000, dead_letter_topic=DEAD_LETTERS))


class Billing:
    def __init__(self, db: Database, log: Log, config: BillingConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the billing internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self.config = config
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        self._db = db
        self._log = log
        self.audit = PlatformAuditLog(db)
        self.seats = SeatCounter(db, MemberStore(db, self.audit), config.clock)
        self.api = BillingApi(db, self.audit, config.catalog, self.seats, clock=config.clock)
        self.relay = OutboxRelay(db, log, OUTBOX_TABLE, config.relay)
        self._tasks = BackgroundTasks()

    async def prepare(self) -> None:
        """Its tables and topics (idempotent); ``api`` works from here on."""
        await self.audit.start()
        await prepare_consumer(self._db, self._log, COMPONENT,
                               (BILLING_EVENTS, DEAD_LETTERS, *(topic for topic, _, _ in METERED)))

    async def start(self) -> None:
        await self.prepare()
        address, tls = self._internal
        if address is not None and tls is not None:
            server = internal_server(self.api, address, tls)
            await server.start()
            self.server = server
        for topic, suffix, processor in METERED:
            runner: ConsumerRunner[Any] = ConsumerRunner(self._log, topic, self.config.group + suffix, processor(),
                                                         UsageSink(self._db), self.config.runner)
            self._tasks.start(runner.run, f"billing-consumer{suffix or '-dpr'}")
        own: ConsumerRunner[Any] = ConsumerRunner(self._log, BILLING_EVENTS, f"{self.config.group}-events",
                                                  OwnEventProcessor(decode), EventSink(self._db, self._log,
                                                                                       DEAD_LETTERS),
                                                  self.config.runner)
        self._tasks.start(own.run, "billing-events")
        self._tasks.start(self.relay.run, "billing-relay")
        self._tasks.start(functools.partial(sweep_every, interval_s=self.config.meter_interval_s,
                                            work=self.seats.sweep, wake=lambda: None, log=_log,
                                            what="billing seat sweep"), "billing-seats")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        self._tasks.stopping.set()
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class BillingService(ComponentService):
    name = "billing"
    role = "billing: usage metered from the log, plans, monthly invoices (PDF, CSV)"

    def __init__(self, ctx: ServiceContext, config: BillingConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        self.billing = Billing(ctx.platform.db, ctx.platform.log, config, internal_address=internal_address,
                               internal_tls=internal_tls)
        super().__init__(self.billing, relays=(self.billing.relay,))

    @property
    def api(self) -> BillingApi:
        return self.billing.api

    def address(self) -> str:
        group = self.billing.config.group
        where = f"consumer groups {group}, {group}-sync, {group}-compliance, {group}-registry, {group}-events"
        if self.billing.server is not None:
            where += f"; internal gRPC {self.billing.server.address}"
        return where
