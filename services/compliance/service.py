"""The compliance service: the consumer of its own ``compliance.events.v1`` (group
``compliance``: a no-op normally, the declarations, reports, library index and share links
after an empty-database rebuild), the relay of its outbox, the report jobs and the posture
sweep; plus the people-facing API the gateway is given (``api.py``).

It reads DPRs only through the audit index's query port, approvals through the approvals
service's port and applied governance.fms texts through the fleet's port (all injected by
``runtime/compliance_wiring.py``: in process under ``up``, gRPC clients otherwise).

On start its own-events consumer catches up with the topic as it was; until then people's
changes get "busy" (503) and neither the jobs nor the sweep run, so a rebuild never makes a
report twice or evaluates an organisation whose declarations are not back yet."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from faramesh_cloud.compliance.api import ComplianceApi
from faramesh_cloud.compliance.artifacts import FileArtifactStore
from faramesh_cloud.compliance.certificates import Certifier
from faramesh_cloud.compliance.coverage_reads import CoverageReads
from faramesh_cloud.compliance.events import OUTBOX_TABLE, ChangeProcessor, Seen
from faramesh_cloud.compliance.jobs import ReportJobs, ReportMaker
from faramesh_cloud.compliance.projection import ChangeSink
from faramesh_cloud.compliance.signals import TOPICS as SIGNAL_TOPICS
from faramesh_cloud.compliance.signals import SignalProcessor
from faramesh_cloud.consumer.catch_up import CatchUp
from faramesh_cloud.consumer.runner import ConsumerRunner, MarkSink, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer
from faramesh_cloud.consumer.tasks import BackgroundTasks, until_woken
from faramesh_cloud.events.topics import COMPLIANCE_EVENTS, DEAD_LETTERS
from faramesh_cloud.log.port import Log
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, ServiceContext
from faramesh_cloud.sql.database import Database

GROUP: Final = "compliance"
COMPONENT: Final = ("compliance", "faramesh_cloud.compliance")
_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class PostureSweep(Protocol):
    async def run_once(self, orgs: Collection[str] | None = None) -> int:
        """Evaluate ``orgs`` (None: every organisation that declared frameworks); the number evaluated."""
        ...


@dataclass(frozen=True)
class ComplianceConfig:
    artifacts: Path  # where artifacts' bytes live (embedded: <data_dir>/compliance/artifacts)
    group: str = GROUP
    clock: Callable[[], datetime] = utc_now
    posture_interval_s: float = 60.0  # every organisation, for what moves with time (DPR counts, windows)
    signal_debounce_s: float = 1.0  # after a signal, gather the others for this long before evaluating
    job_idle_s: float = 2.0
    catch_up_poll_s: float = 0.1
    runner: RunnerConfig = field(default_factory=lambda: RunnerConfig(
        max_batch_records=200, max_batch_seconds=0.05, poll_records=200, dead_letter_topic=DEAD_LETTERS))
    relay: RelayConfig = field(default_factory=RelayConfig)


class Compliance:
    """``maker`` makes one report's PDF; ``sweep`` evaluates posture; ``server`` builds the
    internal gRPC server for ``api`` (None: serve nothing)."""

    def __init__(self, db: Database, log: Log, config: ComplianceConfig, *, maker: ReportMaker,
                 sweep: Callable[[ComplianceApi], PostureSweep] | None = None,
                 server: Callable[[ComplianceApi], InternalServer] | None = None,
                 coverage: CoverageReads | None = None, certifier: Certifier | None = None) -> None:
        self.config = config
        self._db = db
        self._log = log
        self.audit = PlatformAuditLog(db)
        self.catch_up = CatchUp("compliance", "report jobs, the posture sweep and people's changes",
                                config.catch_up_poll_s)
        self._posture_wakeup = asyncio.Event()
        self._dirty: set[str] = set()
        self.api = ComplianceApi(db, self.audit, FileArtifactStore(config.artifacts), clock=config.clock,
                                 catch_up=self.catch_up, wake=self.wake, coverage=coverage,
                                 certifier=certifier)
        self.jobs = ReportJobs(db, self.api, maker, idle_s=config.job_idle_s)
        self.sweep = sweep(self.api) if sweep is not None else None
        self._server_factory = server
        self.server: InternalServer | None = None
        self.relay = OutboxRelay(db, log, OUTBOX_TABLE, config.relay)
        self._tasks = BackgroundTasks()

    def wake(self) -> None:
        """Something of its own changed (a declaration, a report): run the jobs and re-evaluate
        every organisation's posture now."""
        self.jobs.wake()
        self._dirty.add("*")
        self._posture_wakeup.set()

    def mark(self, orgs: set[str]) -> None:
        """Events on the log moved these organisations' evidence: re-evaluate them soon."""
        self._dirty |= orgs
        self._posture_wakeup.set()

    async def start(self) -> None:
        await self.audit.start()
        await prepare_consumer(self._db, self._log, COMPONENT, (COMPLIANCE_EVENTS, DEAD_LETTERS, *SIGNAL_TOPICS))
        if self._server_factory is not None:
            server = self._server_factory(self.api)
            await server.start()
            self.server = server
        try:
            self.catch_up.begin()
            ends = {COMPLIANCE_EVENTS: dict(await self._log.end_offsets(COMPLIANCE_EVENTS))}
            own: ConsumerRunner[Seen] = ConsumerRunner(
                self._log, COMPLIANCE_EVENTS, self.config.group, ChangeProcessor(),
                ChangeSink(self._db, self._log, DEAD_LETTERS, self.wake), self.config.runner)
            self._tasks.start(self.relay.run, "compliance-relay")
            self._tasks.start(own.run, "compliance-events")
            self._tasks.start(functools.partial(self.catch_up.run, [own], ends), "compliance-catch-up")
            self._tasks.start(self.catch_up.after(self.jobs.run), "compliance-report-jobs")
            if self.sweep is not None:
                self._tasks.start(self.catch_up.after(self._posture), "compliance-posture")
                for topic in SIGNAL_TOPICS:
                    signals: ConsumerRunner[str] = ConsumerRunner(
                        self._log, topic, f"{self.config.group}-signals", SignalProcessor(), MarkSink(self.mark),
                        self.config.runner)
                    self._tasks.start(self.catch_up.after(signals.run), f"compliance-signals-{topic}")
        except BaseException:
            await self._stop_server()
            raise

    async def _posture(self, stopping: asyncio.Event) -> None:
        """Every organisation at start and each interval; in between, those the log's signals
        (or the service's own changes: all) marked, a moment after the first mark."""
        sweep = self.sweep
        assert sweep is not None
        loop = asyncio.get_running_loop()
        next_full = loop.time()
        while not stopping.is_set():
            if loop.time() >= next_full:
                self._dirty.clear()
                orgs: set[str] | None = None
                next_full = loop.time() + self.config.posture_interval_s
            else:
                with contextlib.suppress(TimeoutError):  # gather the marks that come together
                    await asyncio.wait_for(stopping.wait(), self.config.signal_debounce_s)
                orgs, self._dirty = self._dirty, set()
                if "*" in orgs:
                    orgs = None
            self._posture_wakeup.clear()
            try:
                await sweep.run_once(orgs)
            except Exception:
                _log.warning("posture sweep failed; retrying", exc_info=True)
            if self._dirty:
                continue
            await until_woken(stopping, self._posture_wakeup, max(0.0, next_full - loop.time()))

    async def _stop_server(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def stop(self) -> None:
        await self._stop_server()
        self._tasks.stopping.set()
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class ComplianceService(ComponentService):
    name = "compliance"
    role = "compliance posture, signed reports, the evidence library and auditor share links"

    def __init__(self, ctx: ServiceContext, config: ComplianceConfig, *, maker: ReportMaker,
                 sweep: Callable[[ComplianceApi], PostureSweep] | None = None,
                 server: Callable[[ComplianceApi], InternalServer] | None = None,
                 coverage: CoverageReads | None = None, certifier: Certifier | None = None) -> None:
        self.compliance = Compliance(ctx.platform.db, ctx.platform.log, config, maker=maker, sweep=sweep,
                                     server=server, coverage=coverage, certifier=certifier)
        super().__init__(self.compliance, relays=(self.compliance.relay,))

    @property
    def api(self) -> ComplianceApi:
        return self.compliance.api

    def address(self) -> str:
        where = f"consumer group {self.compliance.config.group} on {COMPLIANCE_EVENTS}"
        if self.compliance.server is not None:
            where += f"; internal gRPC {self.compliance.server.address}"
        return where

