"""The notifications service: the consumer of ``sync.items.v1`` (group ``notifications``)
feeding its projection and deliveries, the consumer of the audit index's ``audit.alerts.v1``
(group ``notifications-alerts``, ``alerts.py``), the escalation sweep, and the sender loop;
plus the people-facing API the gateway is given.

Its own events go out through its transactional outbox (the relay runs here):
``notifications.events.v1`` (routing changes, what was routed, queued, delivered or given up
on) and ``notifications.alerts.v1`` (what it did with the alerts it handed on). Each comes
back through its own consumer, which applies it: a no-op normally, the whole state after an
empty-database rebuild. On start the consumers of ``sync.items.v1`` and ``audit.alerts.v1`` wait
until those have caught up with their topics as they were; the escalation sweep and the sender
wait, further, until these two have caught up with theirs (``catch_up.py``'s two stages), so
a rebuild routes, escalates and sends from the rebuilt state: nothing that was sent before goes
out again, and nothing resolved in the history is escalated.

The people-facing API (``api.py``, the command handlers) is served as the internal gRPC API
``RoutingService`` (``servicer.py``; mutual TLS, ``gateway`` only) when given an address and
the service's certificate; a gateway in the same process is given ``api`` itself, so a test
send wakes this service's sender."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer, sync_items_runner
from faramesh_cloud.consumer.tasks import BackgroundTasks, send_loop, sweep_every
from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.ssrf import Resolver, system_resolver
from faramesh_cloud.events.topics import (
    AUDIT_ALERTS,
    DEAD_LETTERS,
    EMERGENCY_COMMANDS,
    NOTIFICATION_ALERTS,
    NOTIFICATION_EVENTS,
    SYNC_ITEMS,
)
from faramesh_cloud.log.port import Log
from faramesh_cloud.notifications.alerts import (
    AlertEventProcessor,
    AlertHandOff,
    AlertStateSink,
    OwnEventProcessor,
    Positioned,
)
from faramesh_cloud.notifications.api import NotificationsApi
from faramesh_cloud.notifications.catch_up import CatchUp, OwnEvents
from faramesh_cloud.notifications.commands import CommandProcessor, CommandSeen, CommandSink
from faramesh_cloud.notifications.destinations import SecretBox
from faramesh_cloud.notifications.escalation import Escalation
from faramesh_cloud.notifications.events import OUTBOX_TABLE, ChangeProcessor, Seen
from faramesh_cloud.notifications.outbox import Outbox, OutboxConfig
from faramesh_cloud.notifications.processor import ApprovalSeen, NotificationProcessor
from faramesh_cloud.notifications.projection import POSITIONS, ChangeSink, NotificationSink
from faramesh_cloud.notifications.pruning import DeliveryPruning
from faramesh_cloud.notifications.senders import Endpoints, Senders
from faramesh_cloud.notifications.servicer import internal_server
from faramesh_cloud.notifications.slack_calls import SlackCalls
from faramesh_cloud.notifications.store import RoutingStore
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

GROUP: Final = "notifications"
COMPONENT: Final = ("notifications", "faramesh_cloud.notifications")

_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NotificationsConfig:
    key: bytes  # 32 bytes: seals destination secrets (runtime: <data_dir>/keys/notifications.key)
    group: str = GROUP
    allow_private: bool = False
    link_base: str = ""  # the UI's public URL, for links in notifications
    endpoints: Endpoints = field(default_factory=Endpoints)
    resolver: Resolver = system_resolver
    clock: Callable[[], datetime] = utc_now
    send_interval_s: float = 1.0
    escalation_interval_s: float = 15.0
    delivery_retention_days: int = 90  # ended deliveries older than this are pruned (pruning.py)
    prune_interval_s: float = 3600.0
    http_timeout_s: float = 10.0
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    runner: RunnerConfig = field(default_factory=sync_items_runner)
    relay: RelayConfig = field(default_factory=RelayConfig)
    catch_up_poll_s: float = 0.1
    alert_runner: RunnerConfig = field(default_factory=lambda: RunnerConfig(
        max_batch_records=500, max_batch_seconds=0.1, poll_records=500, dead_letter_topic=DEAD_LETTERS))


class Notifications:
    """Stores and background work of the notifications service, over injected ports.
    ``internal_address`` (with ``internal_tls``, the notifications certificate): where ``api``
    is served as the internal gRPC API; None serves nothing."""

    def __init__(self, db: Database, log: Log, config: NotificationsConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the notifications internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self.config = config
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        self._db = db
        self._log = log
        self._wakeup = asyncio.Event()
        self.audit = PlatformAuditLog(db)
        box = SecretBox(config.key)
        self.store = RoutingStore(db, box, self.audit)
        self.senders = Senders(allow_private=config.allow_private, resolver=config.resolver,
                               endpoints=config.endpoints, timeout_s=config.http_timeout_s)
        self.outbox = Outbox(db, box, self.senders, config.clock, config.outbox)
        # stage 2 of the catch-up: escalation and sending wait for what the service reads
        self.catch_up = CatchUp(config.catch_up_poll_s)
        self.escalation = Escalation(db, config.clock, config.link_base, self.catch_up)
        self.pruning = DeliveryPruning(db, config.clock, config.delivery_retention_days, self.catch_up)
        self.alerts = AlertHandOff(db, config.clock, config.link_base, self.wake)
        self.alert_runner: ConsumerRunner[Positioned] | None = None
        self.alert_state: ConsumerRunner[Positioned] | None = None
        self.slack_http = PinnedHttp(allow_private=config.allow_private, resolver=config.resolver,
                                     timeout_s=config.http_timeout_s)
        self.command_runner: ConsumerRunner[CommandSeen] | None = None
        self.api = NotificationsApi(db, self.store, allow_private=config.allow_private, resolver=config.resolver,
                                    clock=config.clock, wake=self.wake,
                                    slack=SlackCalls(db, box, self.slack_http, config.endpoints.slack_api))
        self.relay = OutboxRelay(db, log, OUTBOX_TABLE, config.relay)
        # stage 1: its own events applied before anything decides (commands refused till then)
        self.own_events = OwnEvents(db, log, NOTIFICATION_EVENTS, POSITIONS, config.catch_up_poll_s)
        self._tasks = BackgroundTasks()

    def wake(self) -> None:
        """Something was queued: send without waiting for the next interval."""
        self._wakeup.set()

    async def prepare(self) -> None:
        await self.audit.start()
        await prepare_consumer(self._db, self._log, COMPONENT,
                               (SYNC_ITEMS, DEAD_LETTERS, NOTIFICATION_EVENTS, AUDIT_ALERTS, NOTIFICATION_ALERTS,
                                EMERGENCY_COMMANDS))

    async def start(self) -> None:
        await self.prepare()
        address, tls = self._internal
        if address is not None and tls is not None:  # first: changes during the catch-up get "rebuilding"
            server = internal_server(self.api, address, tls)
            await server.start()
            self.server = server
        try:
            await self._start_work()
        except BaseException:
            await self._stop_server()
            raise

    async def _start_work(self) -> None:
        self.catch_up.begin()  # before anything that escalates or sends can start
        ends = {topic: dict(await self._log.end_offsets(topic)) for topic in (SYNC_ITEMS, AUDIT_ALERTS,
                                                                               EMERGENCY_COMMANDS)}
        own: ConsumerRunner[Seen] = ConsumerRunner(
            self._log, NOTIFICATION_EVENTS, self.config.group, ChangeProcessor(),
            ChangeSink(self._db, self._log, DEAD_LETTERS, self.wake), self.config.runner)
        self._tasks.start(self.relay.run, "notifications-relay")
        self._tasks.start(own.run, "notifications-events")
        await self._catch_up_own_alert_events()
        sink = NotificationSink(self._db, self.config.clock, self.config.link_base, self.wake)
        runner: ConsumerRunner[ApprovalSeen] = ConsumerRunner(
            self._log, SYNC_ITEMS, self.config.group, NotificationProcessor(), sink, self.config.runner)
        self.alert_runner = ConsumerRunner(self._log, AUDIT_ALERTS, f"{self.config.group}-alerts",
                                           AlertEventProcessor(), self.alerts, self.config.alert_runner)
        self.command_runner = ConsumerRunner(
            self._log, EMERGENCY_COMMANDS, f"{self.config.group}-commands", CommandProcessor(),
            CommandSink(self._db, self.config.clock, self.config.link_base, self.wake), self.config.alert_runner)
        self._tasks.start(self.own_events.run, "notifications-own-events")
        self._tasks.start(self.own_events.after(self.command_runner.run), "notifications-commands")
        self._tasks.start(self.own_events.after(runner.run), "notifications-consumer")
        self._tasks.start(self.own_events.after(self.alert_runner.run), "notifications-alerts")
        self._tasks.start(functools.partial(self.catch_up.run, [runner, self.alert_runner, self.command_runner],
                                            ends),
                          "notifications-catch-up")
        self._tasks.start(self.catch_up.after(self._escalate), "notifications-escalation")
        self._tasks.start(self.catch_up.after(self._send), "notifications-sender")
        self._tasks.start(self.catch_up.after(self._prune), "notifications-pruning")

    async def _catch_up_own_alert_events(self) -> None:
        """Start the consumer of this service's own alert events and wait until it has applied
        what ``notifications.alerts.v1`` held now: after a rebuild from an empty database every
        alert notified before is then known before ``audit.alerts.v1`` is read again."""
        ends = await self._log.end_offsets(NOTIFICATION_ALERTS)
        self.alert_state = ConsumerRunner(self._log, NOTIFICATION_ALERTS, f"{self.config.group}-alert-state",
                                          OwnEventProcessor(), AlertStateSink(self._db), self.config.alert_runner)
        self._tasks.start(self.alert_state.run, "notifications-alert-state")
        while not await self.alert_state.caught_up(ends):
            failed = self._tasks.failure()
            if failed is not None:
                raise failed
            await asyncio.sleep(0.02)

    async def _escalate(self, stopping: asyncio.Event) -> None:
        await sweep_every(stopping, self.config.escalation_interval_s, self.escalation.run_once, self.wake, _log,
                          "escalation sweep")

    async def _prune(self, stopping: asyncio.Event) -> None:
        await sweep_every(stopping, self.config.prune_interval_s, self.pruning.run_once, lambda: None, _log,
                          "delivery retention sweep")

    async def _send(self, stopping: asyncio.Event) -> None:
        await send_loop(stopping, self._wakeup, self.config.send_interval_s, self.outbox.deliver_due, _log,
                        "notification sender")

    async def _stop_server(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def stop(self) -> None:
        await self._stop_server()
        self._tasks.stopping.set()
        await self._tasks.stop()
        await self.senders.close()
        await self.slack_http.close()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class NotificationsService(ComponentService):
    name = "notifications"
    role = "approval and chain-integrity notifications, escalation"

    def __init__(self, ctx: ServiceContext, config: NotificationsConfig, *, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        self.notifications = Notifications(ctx.platform.db, ctx.platform.log, config,
                                           internal_address=internal_address, internal_tls=internal_tls)
        super().__init__(self.notifications, relays=(self.notifications.relay,))

    @property
    def api(self) -> NotificationsApi:
        """The people-facing API of this running service (the gateway's port in its process)."""
        return self.notifications.api

    def address(self) -> str:
        group = self.notifications.config.group
        where = (f"consumer group {group} on {SYNC_ITEMS}, {NOTIFICATION_EVENTS}; {group}-alerts on "
                 f"{AUDIT_ALERTS}")
        if self.notifications.server is not None:
            where += f"; internal gRPC {self.notifications.server.address}"
        return where
