"""The fleet projection as a runtime service: a consumer of ``sync.items.v1`` in group
``fleet`` feeding the PostgreSQL sink, and the query API the gateway reads, served as the
internal gRPC API ``FleetQueryService`` (``servicer.py``; mutual TLS, ``gateway`` only) when
given an address and the fleet service's certificate.

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
from faramesh_cloud.fleet.servicer import internal_server
from faramesh_cloud.fleet.sink import COMPONENT, FleetSink
from faramesh_cloud.log.port import Log
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.service import ComponentService, PlatformParts
from faramesh_cloud.sql.database import Database

GROUP: Final = "fleet"


def runner_config() -> RunnerConfig:
    # Status and health reports are small and infrequent; a short batch age keeps the
    # fleet view within a second of what daemons report.
    return sync_items_runner(max_batch_seconds=0.25)


class FleetProjection:
    """``internal_address`` (with ``internal_tls``, the fleet service's certificate): where
    ``query`` is served as the internal gRPC API; None serves nothing."""

    def __init__(self, db: Database, log: Log, stacks: StackLister, *, disconnect_after_s: float = 120.0,
                 group: str = GROUP, config: RunnerConfig | None = None, internal_address: str | None = None,
                 internal_tls: ServiceCredentials | None = None) -> None:
        if internal_address is not None and internal_tls is None:
            raise ValueError("the fleet internal API is served only over mutual TLS: pass internal_tls "
                             "with internal_address")
        self._db = db
        self._log = log
        self._group = group
        self._config = config or runner_config()
        self.sink = FleetSink(db)
        self.query = FleetQuery(db, stacks, disconnect_after_s)
        self._internal = (internal_address, internal_tls)
        self.server: InternalServer | None = None
        self._tasks = BackgroundTasks()

    async def prepare(self) -> None:
        await prepare_consumer(self._db, self._log, COMPONENT)

    async def start(self) -> None:
        await self.prepare()
        address, tls = self._internal
        if address is not None and tls is not None:
            server = internal_server(self.query, address, tls)
            await server.start()
            self.server = server
        runner: ConsumerRunner[FleetUpdate] = ConsumerRunner(self._log, SYNC_ITEMS, self._group, FleetProcessor(),
                                                             self.sink, self._config)
        self._tasks.start(runner.run, "fleet-projection")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await self._tasks.stop()

    def failure(self) -> BaseException | None:
        return self._tasks.failure()


class FleetService(ComponentService):
    """The ``Service`` protocol around ``FleetProjection``; the gateway reads ``query``."""

    name = "fleet"
    role = "fleet status, agents, budgets and apply history"

    def __init__(self, platform: PlatformParts, stacks: StackLister, disconnect_after_s: float, *,
                 internal_address: str | None = None, internal_tls: ServiceCredentials | None = None) -> None:
        self.projection = FleetProjection(platform.db, platform.log, stacks, disconnect_after_s=disconnect_after_s,
                                          internal_address=internal_address, internal_tls=internal_tls)
        super().__init__(self.projection)

    @property
    def query(self) -> FleetQuery:
        return self.projection.query

    def address(self) -> str:
        where = f"consumer group {GROUP} on {SYNC_ITEMS}"
        if self.projection.server is not None:
            where += f"; internal gRPC {self.projection.server.address}"
        return where
