"""The approvals service: the projection's consumers (group ``approvals``) of
``sync.items.v1`` (the daemons' approval snapshots) and of its own topics
(``approvals.events.v1``, ``commands.emergency.v1``), the relay of its outbox onto those
topics, the expiry sweep, and the parts other components are given: decisions, queries,
emergency commands, ``control`` (ingest's ``DaemonControl``) and ``api`` (people's
operations: the gateway's ``ApprovalsPort`` in process, and what ``ApprovalsService`` serves
on the internal address)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field
from typing import Final

from faramesh_cloud.approvals.api import ApprovalsApi
from faramesh_cloud.approvals.catch_up import CatchUp
from faramesh_cloud.approvals.changes import Consumed
from faramesh_cloud.approvals.decisions import HAND_OUT_EVENTS_EVERY_S, Decisions
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.pack_alerts import PackAlertQueued
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import OUTBOX, ApprovalSink
from faramesh_cloud.approvals.queries import ApprovalQueries
from faramesh_cloud.approvals.servicer import internal_server
from faramesh_cloud.approvals.sync_adapter import ApprovalsControl
from faramesh_cloud.approvals.waits import DeliveryWaits
from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer, sync_items_runner
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.events.topics import (
    APPROVAL_EVENTS,
    DEAD_LETTERS,
    EMERGENCY_COMMANDS,
    REGISTRY_EVENTS,
    SYNC_ITEMS,
)
from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

GROUP: Final = "approvals"
# what the projection reads (of registry.events.v1 only the pack alerts it delivers)
TOPICS: Final = (SYNC_ITEMS, APPROVAL_EVENTS, EMERGENCY_COMMANDS, REGISTRY_EVENTS)
COMPONENT: Final = ("approvals", "faramesh_cloud.approvals")

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApprovalsConfig:
    group: str = GROUP
    sweep_interval_s: float = 5.0
    # A held PollDecisions re-reads this often even without a NOTIFY (a lost one only delays).
    poll_recheck_s: float = 2.0
    # Where the internal gRPC APIs (DaemonControlService for ingest, ApprovalsService for the
    # gateway) listen; None: not served.
    internal_address: str | None = None
    # Its mutual TLS material (the approvals service's certificate); required to serve it.
    internal_tls: ServiceCredentials | None = None
    runner: RunnerConfig = field(default_factory=sync_items_runner)
    relay: RelayConfig = field(default_factory=RelayConfig)
    # A delivery's DeliveryHandedOut events: the first hand-out, then at most one per this
    # many seconds (decisions.py); the sweep records the rest after it.
    hand_out_events_every_s: float = HAND_OUT_EVENTS_EVERY_S


class Approvals:
    """Stores and background work of the approvals service, over injected ports."""

    def __init__(self, db: Database, log: Log, config: ApprovalsConfig | None = None) -> None:
        self.config = config or ApprovalsConfig()
        self._db = db
        self._log = log
        self.audit = PlatformAuditLog(db)
        self.outbox = Outbox(OUTBOX)
        self.relay = OutboxRelay(db, log, OUTBOX, self.config.relay)
        self.catch_up = CatchUp()
        self.decisions = Decisions(db, self.audit, self.outbox, self.catch_up,
                                   hand_out_events_every_s=self.config.hand_out_events_every_s)
        self.commands = EmergencyCommands(db, self.audit, self.outbox, self.catch_up)
        self.queries = ApprovalQueries(db)
        self.waits = DeliveryWaits(db, recheck_s=self.config.poll_recheck_s)
        self.control = ApprovalsControl(self.decisions, self.commands, self.waits)
        self.api = ApprovalsApi(self.queries, self.decisions, self.commands)
        self._tasks = BackgroundTasks()
        self.server: InternalServer | None = None

    async def prepare(self) -> None:
        await self.audit.start()  # platform_audit (needs stacks' orgs), then ours
        await prepare_consumer(self._db, self._log, COMPONENT, (*TOPICS, DEAD_LETTERS))

    def consumers(self) -> list[ConsumerRunner[ApprovalFact | PackAlertQueued | Consumed]]:
        """The projection's runners, one per topic of :data:`TOPICS` (group
        ``config.group``); what rebuilds the tables from the log into an empty database."""
        sink = ApprovalSink(self._db)
        return [ConsumerRunner(self._log, topic, self.config.group, ApprovalProcessor(), sink, self.config.runner)
                for topic in TOPICS]

    async def start(self) -> None:
        await self.prepare()
        self.catch_up.begin()  # nothing acts on the rows until the consumers have read the log (catch_up.py)
        ends = {topic: dict(await self._log.end_offsets(topic)) for topic in TOPICS}
        runners = self.consumers()
        server = self._internal_server()
        await self.waits.start()  # LISTEN before the internal API answers long polls
        if server is not None:
            try:
                await server.start()
            except BaseException:
                await self.waits.stop()  # the runner stops only services that started
                raise
            self.server = server
        for runner in runners:
            self._tasks.start(runner.run, f"approvals-consumer-{runner.topic}")
        self._tasks.start(functools.partial(self.catch_up.run, runners, ends), "approvals-catch-up")
        self._tasks.start(self.relay.run, "approvals-relay")
        self._tasks.start(self.catch_up.after(self._sweep), "approvals-expiry")  # first sweep once caught up

    async def caught_up(self) -> None:
        """Until the service acts on its state (its consumers have read what the log held at
        start; at once in a normal start): what a caller that must not be told "busy" waits for."""
        await self.catch_up.done.wait()

    def _internal_server(self) -> InternalServer | None:
        address, tls = self.config.internal_address, self.config.internal_tls
        if address is None:
            return None
        if tls is None:
            raise ValueError("the approvals internal API is served only over mutual TLS: set "
                             "ApprovalsConfig.internal_tls with internal_address")
        return internal_server(self.control, address, tls, self.api)

    async def _sweep(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.decisions.expire_due()
                await self.decisions.record_hand_outs()
            except Exception:  # the database may be briefly away; the next sweep catches up
                _log.warning("approval expiry sweep failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.config.sweep_interval_s)

    async def stop(self) -> None:
        self._tasks.stopping.set()
        await self.waits.stop()  # held polls answer now, before the server goes
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class ApprovalsService(ComponentService):
    name = "approvals"
    role = "approvals and emergency commands"

    def __init__(self, ctx: ServiceContext, config: ApprovalsConfig | None = None) -> None:
        self.approvals = Approvals(ctx.platform.db, ctx.platform.log, config)
        super().__init__(self.approvals, relays=(self.approvals.relay,))

    def address(self) -> str:
        where = (f"consumer group {self.approvals.config.group} on {', '.join(TOPICS)}; "
                 f"relays {OUTBOX}")
        server = self.approvals.server
        if server is not None:
            where += f"; internal gRPC {server.address}"
        return where
