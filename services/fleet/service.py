"""The fleet projection as a runtime service: a consumer of ``sync.items.v1`` in group
``fleet`` feeding the PostgreSQL sink, and the query API the gateway reads.

``FleetProjection`` is wired from ports (database, log, stack registry) so tests run what
``faramesh-cloud up`` runs; ``FleetService`` adapts it to the runtime's ``Service``.
"""

from __future__ import annotations

from typing import Final

from faramesh_cloud.consumer.runner import ConsumerRunner, RunnerConfig
from faramesh_cloud.consumer.setup import prepare_consumer, sync_items_runner
from faramesh_cloud.consumer.tasks import BackgroundTasks
from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.domain import FleetUpdate
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.query import FleetQuery, StackLister
from faramesh_cloud.fleet.sink import COMPONENT, FleetSink
from faramesh_cloud.log.port import Log
from faramesh_cloud.runtime.service import ComponentService, PlatformParts
from faramesh_cloud.sql.database import Database

GROUP: Final = "fleet"


def runner_config() -> RunnerConfig:
    # Status and health reports are small and infrequent; a short batch age keeps the
    # fleet view within a second of what daemons report.
    return sync_items_runner(max_batch_seconds=0.25)


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
        await prepare_consumer(self._db, self._log, COMPONENT)

    async def start(self) -> None:
        await self.prepare()
        runner: ConsumerRunner[FleetUpdate] = ConsumerRunner(self._log, SYNC_ITEMS, self._group, FleetProcessor(),
                                                             self.sink, self._config)
        self._tasks.start(runner.run, "fleet-projection")

    async def stop(self) -> None:
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class FleetService(ComponentService):
    """The ``Service`` protocol around ``FleetProjection``; the gateway reads ``query``."""

    name = "fleet"
    role = "fleet status, agents, budgets and apply history"

    def __init__(self, platform: PlatformParts, stacks: StackLister, disconnect_after_s: float) -> None:
        self.projection = FleetProjection(platform.db, platform.log, stacks, disconnect_after_s=disconnect_after_s)
        super().__init__(self.projection)

    @property
    def query(self) -> FleetQuery:
        return self.projection.query

    def address(self) -> str:
        return f"consumer group {GROUP} on {SYNC_ITEMS}"
