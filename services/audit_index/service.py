"""The audit index as a runtime service: consumer(s) of ``dpr.records.v1`` in group
``audit-index`` feeding the sink, a consumer of ``decisions.legacy.v1`` (the legacy Horizon
feed's and daemon webhooks' unverified decision summaries) in group ``audit-index-legacy``
feeding the legacy sink, one of ``dpr.wal_problems.v1`` (``wal_problems.py``: damage WAL
imports met, as findings), one of ``stacks.signing_keys.v1`` (``pins.py``: its own history of
pinned signing keys), one of its own ``audit.alerts.v1`` (``alert_consumer.py``), the relay of
its outbox (``audit_index_outbox`` to ``audit.alerts.v1``), and the gateway's API
(``reader.py``: every read people make of the index and the one command they give it,
acknowledging an alert, ``api.py``) with the index's commit wake-ups (``commits.py``: one
LISTEN session), served as the internal gRPC API ``AuditQueryService`` (``servicer.py``;
mutual TLS, ``gateway`` only) when given an address and the index's certificate.

Issue 18 splits the DPR consumer in two groups on ``dpr.records.v1`` (docs/audit-index.md,
"Searchable first, verified right after"): the **search index** (group ``audit-index``,
``SearchProcessor`` + ``SearchIndexSink``: rows searchable first) and the **chain verifier**
(group ``audit-verifier``, ``DprProcessor`` + ``VerifierSink``: hashes, links, signatures,
findings, alerts; it skips what the search index parks). ``AuditIndexConfig.roles`` says which
this process runs (``Settings.audit_index_roles``): the search role also runs the summaries,
the compliance events, the retention sweep and the internal API; the verifier role the pins,
re-verification, the WAL problems and the alert events. Both read the retention topic to its
end before they take a DPR; both relay the outbox (the relay takes turns by a lock).

On start the pin consumer first catches up with what ``stacks.signing_keys.v1`` held when
the service started, so a rebuild from offset 0 judges every record under the pins that
were in force when it was received, not under none.

``AuditIndex`` is the service wired from ports (database, log, OLAP store), so tests and the
benchmark run exactly what ``faramesh-cloud up`` runs; ``AuditIndexService`` adapts it to
the runtime's ``Service`` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.audit_index.alert_consumer import (
    AlertEventProcessor,
    AlertEventSink,
    PositionedAlertEvent,
)
from faramesh_cloud.audit_index.announce import announce_existing
from faramesh_cloud.audit_index.api import AuditIndexApi
from faramesh_cloud.audit_index.clickhouse import SearchWriter, SummaryWriter
from faramesh_cloud.audit_index.commits import CommitWatch
from faramesh_cloud.audit_index.domain import PROJECTION as SEARCH_PROJECTION
from faramesh_cloud.audit_index.domain import IndexedRecord, SummaryRow
from faramesh_cloud.audit_index.legacy_processor import LegacyProcessor
from faramesh_cloud.audit_index.legacy_sink import LegacySink
from faramesh_cloud.audit_index.pins import PinEvent, PinEventProcessor, PinSink
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.consumer import (
    COMPLIANCE_GROUP,
    COMPLIANCE_PROJECTION,
    FrameworksProcessor,
    Positioned,
    RetentionEventProcessor,
    RetentionSink,
)
from faramesh_cloud.audit_index.retention.consumer import (
    PROJECTION as RETENTION_PROJECTION,
)
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.reverify import reverify
from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
from faramesh_cloud.audit_index.search_processor import SearchProcessor, SearchRow
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.servicer import internal_server
from faramesh_cloud.audit_index.trust import TrustSnapshot
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.audit_index.wal_problems import WalProblem, WalProblemProcessor, WalProblemSink
from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.events.topics import (
    AUDIT_ALERTS,
    AUDIT_RETENTION,
    COMPLIANCE_EVENTS,
    DEAD_LETTERS,
    DPR_RECORDS,
    LEGACY_DECISIONS,
    SIGNING_KEYS,
    WAL_PROBLEMS,
)
from faramesh_cloud.log.port import Log
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService
from faramesh_cloud.runtime.service import PlatformParts as BasePlatformParts
from faramesh_cloud.sql.database import Database

GROUP: Final = "audit-index"
VERIFIER_GROUP: Final = "audit-verifier"
_log = logging.getLogger(__name__)


class PlatformParts(BasePlatformParts, Protocol):
    """The injected ports this service uses (``runtime.platform.Platform`` has them): a
    consumer service's, plus the OLAP store."""

    @property
    def olap(self) -> Olap: ...


class ServiceContext(Protocol):
    """What the service needs of ``runtime.services.RuntimeContext``: declared here so the
    service does not import the composition root (which imports every adapter)."""

    @property
    def platform(self) -> PlatformParts: ...


def _runner_config() -> RunnerConfig:
    # chDB takes 10k-row inserts at its best rate (PERF-CEILINGS 4: ~100k rows/s streamed);
    # 0.5 s bounds the ingest-to-searchable lag when traffic is light. 1 s batches (fewer
    # parts to merge) saved the search process 4-7 µs/DPR at 10k DPR/s but moved searchable
    # p95 from 0.8 to 1.4 s (bench/RESULTS.md, "Merges and the verifier's lookups"): not worth it.
    return RunnerConfig(max_batch_records=10_000, max_batch_seconds=0.5, poll_records=2_000,
                        dead_letter_topic=DEAD_LETTERS)


def _verifier_runner_config() -> RunnerConfig:
    # The search index parks what neither group can read (same checks): the verifier counts
    # those and commits past them (``rejects_parked_by`` is set to the search group at start).
    return RunnerConfig(max_batch_records=10_000, max_batch_seconds=0.5, poll_records=2_000)


def _legacy_runner_config() -> RunnerConfig:
    # The legacy feeds send at most 50 events a request: small batches, indexed within 0.25 s.
    return RunnerConfig(max_batch_records=2_000, max_batch_seconds=0.25, poll_records=1_000,
                        dead_letter_topic=DEAD_LETTERS)


class Role(StrEnum):
    """A half of the audit index a process runs (``Settings.audit_index_roles``)."""

    SEARCH = "search"  # rows searchable first; summaries, compliance events, retention sweep, internal API
    VERIFIER = "verifier"  # the chain verifier; pins, re-verification, WAL problems, alert events


BOTH: Final = frozenset(Role)


def verifier_niceness(roles: frozenset[Role], nice: int) -> int:
    """The niceness a process adds to itself: ``nice`` when it runs the verifier alone (its
    CPU then yields to a search index on the same node), else 0 (it would slow search too)."""
    return nice if roles == {Role.VERIFIER} else 0


@dataclass(frozen=True, slots=True)
class AuditIndexConfig:
    database: str = "faramesh_audit"  # ClickHouse database holding dpr_records
    topic: str = DPR_RECORDS
    group: str = GROUP
    consumers: int = 1  # group members in this process (chDB: one writer is the fast path)
    runner: RunnerConfig = field(default_factory=_runner_config)
    trust_refresh_s: float = 5.0  # how often the pin history is reloaded (changes other processes applied)
    legacy_topic: str = LEGACY_DECISIONS
    legacy_runner: RunnerConfig = field(default_factory=_legacy_runner_config)
    retention_sweep_interval_s: float = 3600.0  # the retention job (0: never on its own; run on demand)
    roles: frozenset[Role] = BOTH  # which halves this process runs
    verifier_consumers: int = 1  # verifier group members in this process
    verifier_runner: RunnerConfig = field(default_factory=_verifier_runner_config)
    verifier_nice: int = 0  # os.nice increment of a verifier-only process (verifier_niceness)

    def __post_init__(self) -> None:
        if not self.roles or not self.roles <= BOTH:
            raise ValueError(f"roles must be a non-empty subset of {sorted(BOTH)}, got {sorted(self.roles)}")

    @property
    def verifier_group(self) -> str:
        """The chain verifier's consumer group: ``audit-verifier``, or named after the DPR
        group for a rebuild under a new name (which then replays both)."""
        return VERIFIER_GROUP if self.group == GROUP else f"{self.group}-verifier"

    @property
    def legacy_group(self) -> str:
        """The summaries' own consumer group, named after the DPR group (a rebuild under a
        new group name replays both topics)."""
        return f"{self.group}-legacy"


class AuditIndex:
    """Consumers, sink and query API of the audit index, over injected ports.
    ``internal_address`` (with ``internal_tls``, the index's certificate): where ``reader``
    and ``commits`` are served as the internal gRPC API; None serves nothing."""

    def __init__(self, db: Database, log: Log, olap: Olap, config: AuditIndexConfig | None = None, *,
                 internal_address: str | None = None, internal_tls: ServiceCredentials | None = None,
                 checkpoint_key: Ed25519PrivateKey | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the audit index's internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self.config = config or AuditIndexConfig()
        self._db = db
        self._log = log
        self._olap = olap
        self.tables = AuditTables(self.config.database)
        self.queries = AuditQueries(olap, db, self.tables, topic=self.config.topic)
        self.api = AuditIndexApi(db, PlatformAuditLog(db))
        self.reader = IndexReader(olap, db, self.tables, self.api, topic=self.config.topic)
        self.commits = CommitWatch(db)
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        # The pin history the processor judges signatures under (the index's own table).
        self.trust = TrustSnapshot(db, self.config.trust_refresh_s)
        # The search index (group ``audit-index``) and the chain verifier (``audit-verifier``).
        self.sink = SearchIndexSink(db, SearchWriter(olap, self.tables))
        self._search_processor = SearchProcessor()
        self.runners: list[ConsumerRunner[SearchRow]] = []
        self.verifier_sink = VerifierSink(db, self.trust, after=SEARCH_PROJECTION)  # searchable first
        self._processor = DprProcessor(self.trust)
        self.verifiers: list[ConsumerRunner[IndexedRecord]] = []
        self.legacy_sink = LegacySink(db, SummaryWriter(olap, self.tables))
        self.legacy_runner: ConsumerRunner[SummaryRow] | None = None
        self.wal_problems: ConsumerRunner[WalProblem] | None = None
        self.pin_sink = PinSink(db, olap, self.tables, self.trust)
        self.pins: ConsumerRunner[PinEvent] | None = None
        self.alert_sink = AlertEventSink(db)
        self.alert_events: ConsumerRunner[PositionedAlertEvent] | None = None
        self.relay = OutboxRelay(db, log, "audit_index_outbox")
        # Retention (retention/): the sweep signs chain checkpoints with the platform key.
        self.retention_sweeper = RetentionSweeper(db, olap, self.tables, checkpoint_key)
        self.retention = RetentionApi(db, self.retention_sweeper, self.config.retention_sweep_interval_s)
        self.retention_events: ConsumerRunner[Positioned] | None = None
        self.compliance_events: ConsumerRunner[Positioned] | None = None
        self._tasks = BackgroundTasks()

    async def prepare(self) -> None:
        """Create what the index needs (idempotent): tables, topics."""
        await prepare_consumer(self._db, self._log, COMPONENT,
                               (self.config.topic, self.config.legacy_topic, WAL_PROBLEMS, SIGNING_KEYS,
                                AUDIT_ALERTS, AUDIT_RETENTION, COMPLIANCE_EVENTS, DEAD_LETTERS))
        await asyncio.to_thread(ensure_schema, self._olap, self.tables)

    async def _catch_up_pins(self) -> None:
        """Start the pin consumer and wait until it has applied what the topic held now."""
        ends = await self._log.end_offsets(SIGNING_KEYS)
        self.pins = ConsumerRunner(self._log, SIGNING_KEYS, f"{self.config.group}-pins", PinEventProcessor(),
                                   self.pin_sink, RunnerConfig(max_batch_seconds=0.05, dead_letter_topic=DEAD_LETTERS))
        self._tasks.start(self.pins.run, "audit-index-pins")
        while not await self.pins.caught_up(ends):
            failed = self._tasks.failure()
            if failed is not None:
                raise failed
            await asyncio.sleep(0.02)

    async def _catch_up_retention(self) -> None:
        """Start the retention consumer and wait until it has applied what the topic held now:
        a rebuild knows every horizon and checkpoint before it reads the first DPR again."""
        ends = await self._log.end_offsets(AUDIT_RETENTION)
        self.retention_events = ConsumerRunner(
            self._log, AUDIT_RETENTION, f"{self.config.group}-retention", RetentionEventProcessor(),
            RetentionSink(self._db, RETENTION_PROJECTION),
            RunnerConfig(max_batch_seconds=0.05, dead_letter_topic=DEAD_LETTERS))
        self._tasks.start(self.retention_events.run, "audit-index-retention")
        while not await self.retention_events.caught_up(ends):
            failed = self._tasks.failure()
            if failed is not None:
                raise failed
            await asyncio.sleep(0.02)

    async def _sweep_periodically(self, stopping: asyncio.Event) -> None:
        """The retention job, every ``retention_sweep_interval_s`` (first run one interval after
        start), until the service stops."""
        interval = self.config.retention_sweep_interval_s
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
            if stopping.is_set():
                return
            try:
                await self.retention_sweeper.run()
            except Exception:  # the next run retries; a sweep is idempotent
                _log.exception("retention sweep failed; retrying in %.0f s", interval)

    async def start(self) -> None:
        """Rebuild order (docs/audit-index.md, "Retention and the rebuild order"): retention's
        topic is read to its end before either group takes a DPR; the pins are caught up and
        re-verification done before the verifier takes one; the search index needs nothing else."""
        roles = self.config.roles
        nice = verifier_niceness(roles, self.config.verifier_nice)
        if nice:
            os.nice(nice)
            _log.info("chain verifier alone in this process: niceness +%d", nice)
        await self.prepare()
        verifier = Role.VERIFIER in roles
        if verifier:
            await self.trust.refresh()
            await self._catch_up_pins()
        await self._catch_up_retention()
        if verifier:
            await announce_existing(self._db)
            report = await reverify(self._db, self._olap, self.tables, PlatformAuditLog(self._db), self.trust,
                                    datetime.now(UTC))
            if report is not None and report.checked:
                _log.info("verifier revision %d -> %d: re-checked %d finding(s), retracted %d",
                          report.from_revision, report.to_revision, report.checked, len(report.retracted))
        if Role.SEARCH in roles:
            self._start_search()
        if verifier:
            self._start_verifier()
        self._tasks.start(self.relay.run, "audit-index-outbox-relay")
        if Role.SEARCH in roles:
            await self.commits.start()
            address, tls = self._internal
            if address is not None and tls is not None:
                server = internal_server(self.reader, self.commits, address, tls, self.retention)
                await server.start()
                self.server = server

    def _start_search(self) -> None:
        """The search index's runners (first: what people wait for), the summaries, the
        compliance events and the retention sweep."""
        self.runners = [
            ConsumerRunner(self._log, self.config.topic, self.config.group, self._search_processor, self.sink,
                           self.config.runner)
            for _ in range(self.config.consumers)
        ]
        for i, runner in enumerate(self.runners):
            self._tasks.start(runner.run, f"audit-index-{i}")
        self.legacy_runner = ConsumerRunner(self._log, self.config.legacy_topic, self.config.legacy_group,
                                            LegacyProcessor(), self.legacy_sink, self.config.legacy_runner)
        self._tasks.start(self.legacy_runner.run, "audit-index-legacy")
        compliance_group = COMPLIANCE_GROUP if self.config.group == GROUP else f"{self.config.group}-compliance"
        self.compliance_events = ConsumerRunner(
            self._log, COMPLIANCE_EVENTS, compliance_group, FrameworksProcessor(),
            RetentionSink(self._db, COMPLIANCE_PROJECTION),
            RunnerConfig(max_batch_seconds=0.2, dead_letter_topic=DEAD_LETTERS))
        self._tasks.start(self.compliance_events.run, "audit-index-compliance")
        if self.config.retention_sweep_interval_s > 0:
            self._tasks.start(self._sweep_periodically, "audit-index-retention-sweep")

    def _start_verifier(self) -> None:
        """The chain verifier's runners (its rejects are the search group's to park), the WAL
        problems, the alert events and the pin history's refresh."""
        config = replace(self.config.verifier_runner, dead_letter_topic=None, rejects_parked_by=self.config.group)
        self.verifiers = [
            ConsumerRunner(self._log, self.config.topic, self.config.verifier_group, self._processor,
                           self.verifier_sink, config)
            for _ in range(self.config.verifier_consumers)
        ]
        for i, runner in enumerate(self.verifiers):
            self._tasks.start(runner.run, f"audit-verifier-{i}")
        self.wal_problems = ConsumerRunner(self._log, WAL_PROBLEMS, f"{self.config.group}-wal-problems",
                                           WalProblemProcessor(), WalProblemSink(self._db),
                                           RunnerConfig(max_batch_seconds=0.2, dead_letter_topic=DEAD_LETTERS))
        self._tasks.start(self.wal_problems.run, "audit-index-wal-problems")
        self.alert_events = ConsumerRunner(self._log, AUDIT_ALERTS, f"{self.config.group}-alerts",
                                           AlertEventProcessor(), self.alert_sink,
                                           RunnerConfig(max_batch_seconds=0.1, dead_letter_topic=DEAD_LETTERS))
        self._tasks.start(self.alert_events.run, "audit-index-alert-events")
        self._tasks.start(self.trust.run, "audit-index-trust")

    async def stop(self) -> None:
        """Stop answering, finish the batch in hand, commit it, stop."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await self.commits.stop()
        await self._tasks.stop()

    def handled(self) -> int:
        """How many ``dpr.records.v1`` messages every half this process runs has handled (the
        fewer): what a caller waits on to see a record both searchable and checked."""
        counts = []
        if Role.SEARCH in self.config.roles:
            counts.append(sum(r.stats.messages for r in self.runners))
        if Role.VERIFIER in self.config.roles:
            counts.append(sum(r.stats.messages for r in self.verifiers))
        return min(counts)

    @property
    def running(self) -> bool:
        return self._tasks.running

    def failure(self) -> BaseException | None:
        """The exception a consumer died of, if one did."""
        return self._tasks.failure()


class AuditIndexService(ComponentService):
    """The ``Service`` protocol around ``AuditIndex``; a gateway in its process reads
    ``reader`` and waits on ``commits``."""

    name = "audit-index"
    role = "DPR search index and chain integrity"

    def __init__(self, ctx: ServiceContext, config: AuditIndexConfig | None = None, *,
                 internal_address: str | None = None, internal_tls: ServiceCredentials | None = None,
                 checkpoint_key: Ed25519PrivateKey | None = None) -> None:
        platform = ctx.platform
        self.index = AuditIndex(platform.db, platform.log, platform.olap, config,
                                internal_address=internal_address, internal_tls=internal_tls,
                                checkpoint_key=checkpoint_key)
        super().__init__(self.index, relays=(self.index.relay,))

    @property
    def reader(self) -> IndexReader:
        return self.index.reader

    @property
    def commits(self) -> CommitWatch:
        return self.index.commits

    @property
    def queries(self) -> AuditQueries:
        return self.index.queries

    @property
    def api(self) -> AuditIndexApi:
        return self.index.api

    def address(self) -> str:
        config = self.index.config
        parts = []
        if Role.SEARCH in config.roles:
            parts.append(f"search index: consumer group {config.group} on {config.topic}, "
                         f"{config.legacy_group} on {config.legacy_topic}")
        if Role.VERIFIER in config.roles:
            parts.append(f"chain verifier: consumer group {config.verifier_group} on {config.topic}; "
                         f"events on {AUDIT_ALERTS}")
        where = "; ".join(parts)
        if self.index.server is not None:
            where += f"; internal gRPC {self.index.server.address}"
        return where
