"""The registry's pack version alerts at run time: the evaluator (``alert_sweep.py``) run on
a trigger and on an interval, and the consumers of group ``registry-alerts``
(``alert_consumers.py``). The registry service starts it beside its own work; it adds events
to ``registry_outbox``, which the registry service's relay puts on ``registry.events.v1``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from faramesh_cloud.consumer.runner import ConsumerRunner, MarkSink, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer, sync_items_runner
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.events.topics import APPROVAL_EVENTS, DEAD_LETTERS, REGISTRY_EVENTS, SYNC_ITEMS
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.alert_consumers import (
    CATALOG,
    DeliveryProcessor,
    DeliverySink,
    SignalProcessor,
)
from faramesh_cloud.registry.alert_sweep import AlertEvaluator
from faramesh_cloud.sql.database import Database

GROUP: Final = "registry-alerts"
COMPONENT: Final = ("registry", "faramesh_cloud.registry")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    group: str = GROUP
    sweep_interval_s: float = 300.0  # the backstop: every organisation's imports re-read
    settle_s: float = 0.5  # after a stack's status, let the fleet project it before reading it
    runner: RunnerConfig = field(default_factory=sync_items_runner)


class RegistryAlerts:
    def __init__(self, db: Database, log: Log, evaluator: AlertEvaluator, config: AlertsConfig | None = None) -> None:
        self.config = config or AlertsConfig()
        self._db = db
        self._log = log
        self.evaluator = evaluator
        self._marked: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks = BackgroundTasks()
        self.sweeps = 0

    def mark(self, orgs: set[str]) -> None:
        self._marked |= orgs
        self._wake.set()

    def consumers(self) -> list[ConsumerRunner[Any]]:
        signals = MarkSink(self.mark)
        group, runner = self.config.group, self.config.runner
        return [ConsumerRunner(self._log, REGISTRY_EVENTS, group, SignalProcessor(), signals, runner),
                ConsumerRunner(self._log, SYNC_ITEMS, group, SignalProcessor(), signals, runner),
                ConsumerRunner(self._log, APPROVAL_EVENTS, group, DeliveryProcessor(), DeliverySink(self._db), runner)]

    async def start(self) -> None:
        await prepare_consumer(self._db, self._log, COMPONENT, (REGISTRY_EVENTS, SYNC_ITEMS, APPROVAL_EVENTS,
                                                                 DEAD_LETTERS))
        for runner in self.consumers():
            self._tasks.start(runner.run, f"registry-alerts-{runner.topic}")
        self._tasks.start(self._loop, "registry-alerts-sweep")

    async def sweep(self, orgs: set[str] | None = None) -> int:
        """Re-read ``orgs``' imports (None: every organisation) and raise what is due
        (``CATALOG`` in ``orgs``: every organisation with imports, without re-reading)."""
        scope = set(await self.evaluator.organisations()) if orgs is None else {o for o in orgs if o != CATALOG}
        for org_id in sorted(scope):
            try:
                await self.evaluator.refresh(org_id)
            except Exception:
                _log.warning("imports of organisation %s could not be read; next round", org_id, exc_info=True)
        raised = await self.evaluator.raise_due(None if orgs is None or CATALOG in orgs else scope)
        self.sweeps += 1
        return raised

    async def _loop(self, stopping: asyncio.Event) -> None:
        orgs: set[str] | None = None  # the first round: every organisation
        while not stopping.is_set():
            try:
                await self.sweep(orgs)
            except Exception:  # the database may be briefly away; the next round catches up
                _log.warning("registry alert sweep failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.sweep_interval_s)
            if not self._wake.is_set():
                orgs = None
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.config.settle_s)
            self._wake.clear()
            orgs, self._marked = self._marked, set()

    async def stop(self) -> None:
        self._tasks.stopping.set()
        self._wake.set()
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()
