"""The fleet projection as a runtime service: a consumer of ``sync.items.v1`` in group
``fleet`` feeding the PostgreSQL sink, and the query API the gateway reads.

``FleetProjection`` is wired from ports (database, log, stack registry) so tests run what
``faramesh-cloud up`` runs; ``FleetService`` adapts it to the runtime's ``Service``.
"""

from __future__ import annotations

from typing import Final, Protocol

from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.events.topics import DEAD_LETTERS, DEFAULT_PARTITIONS, SYNC_ITEMS
from faramesh_cloud.fleet.domain import FleetUpdate
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.query import FleetQuery, StackLister
from faramesh_cloud.fleet.sink import COMPONENT, FleetSink
from faramesh_cloud.log.port import Log
from faramesh_cloud.runtime.service import ServiceInfo
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

GROUP: Final = "fleet"


def runner_config() -> RunnerConfig:
    # Status and health reports are small and infrequent; a short batch age keeps the
    # fleet view within a second of what daemons report.
    return RunnerConfig(max_batch_records=500, max_batch_seconds=0.25, poll_records=500,
                        dead_letter_topic=DEAD_LETTERS)


class FleetProjection:
    def __init__(self, db: Database, log: Log, stacks: StackLister, *, disconnect_after_s: float = 120.0,
                 group: str = GROUP, config: RunnerConfig | None = None) -> None:
        self._db = db
        self._log = log
        self._group = group
        self._config = config or runner_config()
        self.sink = FleetSink(db)
        self.query = FleetQuery(db, stacks, disconnect_after_s)
        self._tasks = BackgroundTasks()

    async def prepare(self) -> None:
        await migrate(self._db, [COMPONENT])
        for topic in (SYNC_ITEMS, DEAD_LETTERS):
            await self._log.create_topic(topic, DEFAULT_PARTITIONS.get(topic, 1))

    async def start(self) -> None:
        await self.prepare()
        runner: ConsumerRunner[FleetUpdate] = ConsumerRunner(self._log, SYNC_ITEMS, self._group, FleetProcessor(),
                                                             self.sink, self._config)
        self._tasks.start(runner.run, "fleet-projection")

    async def stop(self) -> None:
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class PlatformParts(Protocol):
    @property
    def db(self) -> Database: ...

    @property
    def log(self) -> Log: ...


class FleetService:
    """The ``Service`` protocol around ``FleetProjection``; the gateway reads ``query``."""

    name = "fleet"

    def __init__(self, platform: PlatformParts, stacks: StackLister, disconnect_after_s: float) -> None:
        self.projection = FleetProjection(platform.db, platform.log, stacks, disconnect_after_s=disconnect_after_s)
        self._state = "starting"

    @property
    def query(self) -> FleetQuery:
        return self.projection.query

    async def start(self) -> None:
        await self.projection.start()
        self._state = "running"

    async def stop(self) -> None:
        await self.projection.stop()
        self._state = "stopped"

    def info(self) -> ServiceInfo:
        state = self._state
        failure = self.projection.failure()
        if state == "running" and failure is not None:
            state = f"failed: {failure}"
        return ServiceInfo(self.name, "fleet status, agents, budgets and apply history",
                           f"consumer group {GROUP} on {SYNC_ITEMS}", state)
