"""Fleet pages over the real audit index (PostgreSQL + chDB): the ``fleet_audit`` fixture
(the index migrated, chDB open) fills the index through the real service and builds the
gateway app with Fleet mounted over ``IndexFleetAudit``, as the runtime wires it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import CLOUD_URL, static_status
from tests.integration.audit_support import fast_config, run_index


@dataclass
class FleetAuditIndex:
    database: Database
    log: PostgresLog
    olap: ChdbOlap
    olap_database: str
    stacks: StackStore
    web_deps: WebDeps
    audit: IndexFleetAudit = field(init=False)

    def __post_init__(self) -> None:
        self.audit = IndexFleetAudit(IndexReader(self.olap, self.database, self.tables))

    @property
    def tables(self) -> AuditTables:
        return AuditTables(self.olap_database)

    async def index(self, messages: int) -> None:
        """Run the real audit index until it has handled ``messages`` messages of the log."""
        await run_index(self.database, self.log, self.olap, fast_config(self.olap_database), messages)

    def app(self, *, audit_reader: bool = True) -> FastAPI:
        """The gateway app with Fleet mounted over ``audit`` (and the DPR explorer's reader)."""
        deps = self.web_deps
        if audit_reader:
            deps = dataclasses.replace(deps, audit=IndexReader(self.olap, self.database, self.tables))
        app = create_app(static_status, web=deps)
        mount_fleet(app, FleetPorts(query=FleetQuery(self.database, self.stacks), registry=self.stacks,
                                    cloud_url=CLOUD_URL, audit=self.audit))
        return app


@pytest.fixture(name="fleet_audit")
async def fleet_audit_fixture(database: Database, postgres_log: PostgresLog, chdb_data_dir: Path, olap_database: str,
                      web_deps: WebDeps, stacks: StackStore) -> AsyncIterator[FleetAuditIndex]:
    olap = ChdbOlap(chdb_data_dir)
    try:
        await migrate(database, [COMPONENT])
        yield FleetAuditIndex(database, postgres_log, olap, olap_database, stacks, web_deps)
    finally:
        olap.close()
