"""The audit index as the gateway gets it, in either adapter, over one test database and chDB:

* ``"in-process"``: the index's own ``IndexReader`` and the signals of its ``CommitWatch``
  (what ``up`` gives the gateway);
* ``"grpc"``: ``AuditIndexClient`` and ``CommitWatchClient`` with the gateway's certificate,
  talking over real mutual TLS on 127.0.0.1 to the index's real servicer (``InternalServer``,
  the audit-index certificate) in front of an ``IndexReader`` and a ``CommitWatch`` on the same
  database (what ``serve gateway`` gets).

``audit_gateway`` is the fixture parametrised over both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

import pytest

from faramesh_cloud.audit_index.client import AuditIndexClient, CommitWatchClient
from faramesh_cloud.audit_index.commits import CommitWatch
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.servicer import internal_server
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from tests.fixtures.internal_tls import ServiceTls

ADAPTERS: Final = ("in-process", "grpc")
WAIT_S: Final = 30.0  # a guard against hanging, never a timing assertion


@dataclass
class AuditGateway:
    """The adapter under test (``reader``, ``commits``, Fleet's port over it) and the index's
    own reader on the same tables (``truth``)."""

    kind: str
    reader: Any
    commits: Any
    truth: IndexReader
    server: InternalServer | None

    @property
    def fleet(self) -> IndexFleetAudit:
        return IndexFleetAudit(self.reader)

    async def connected(self) -> None:
        """Return once commits are being watched (a gRPC watch has opened its stream)."""
        if isinstance(self.commits, CommitWatchClient):
            async with asyncio.timeout(WAIT_S):
                await self.commits.connected.wait()


@contextlib.asynccontextmanager
async def audit_server(reader: IndexReader, commits: CommitWatch | None, tls: ServiceTls) -> AsyncIterator[InternalServer]:
    """The index's internal API over ``reader`` on a free loopback port."""
    server = internal_server(reader, commits, "127.0.0.1:0", tls("audit-index"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def audit_adapter(kind: str, database: Database, olap: Olap, tables: AuditTables,
                        tls: ServiceTls) -> AsyncIterator[AuditGateway]:
    truth = IndexReader(olap, database, tables)
    watch = CommitWatch(database)
    await watch.start()
    try:
        if kind == "in-process":
            yield AuditGateway(kind, truth, watch.signals, truth, None)
            return
        assert kind == "grpc", kind
        async with audit_server(truth, watch, tls) as server:
            client = AuditIndexClient(server.address, tls("gateway"))
            commits = CommitWatchClient(server.address, tls("gateway"))
            commits.start()
            try:
                yield AuditGateway(kind, client, commits, truth, server)
            finally:
                await commits.stop()
                await client.close()
    finally:
        await watch.stop()


@pytest.fixture(name="audit_gateway", params=ADAPTERS)
async def both_audit_adapters(request: pytest.FixtureRequest, database: Database, chdb: Olap, olap_database: str,
                              internal_tls: ServiceTls) -> AsyncIterator[AuditGateway]:
    async with audit_adapter(request.param, database, chdb, AuditTables(olap_database), internal_tls) as adapter:
        yield adapter
