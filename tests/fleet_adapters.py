"""The gateway's ``FleetReads`` port in either adapter, over one test database:

* ``"in-process"``: ``FleetQuery`` itself (what ``up`` gives the gateway);
* ``"grpc"``: ``FleetQueryClient`` with the gateway's certificate, talking over real mutual
  TLS on 127.0.0.1 to the fleet service's real servicer (``InternalServer``, the fleet's
  certificate) in front of a ``FleetQuery`` on the same database (what ``serve gateway``
  gets).

``both_fleet_reads`` is the fixture ``fleet_reads`` parametrised over both: a test module
that imports it (``from tests.fleet_adapters import both_fleet_reads  # noqa: F401``) runs
each of its tests that reads the fleet (``fleet_reads`` directly, or the ``gateway_app``
fixture) once per adapter."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

import pytest

from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fleet.servicer import internal_server
from faramesh_cloud.gateway.web.fleet_ports import FleetReads
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.internal_tls import ServiceTls

ADAPTERS: Final = ("in-process", "grpc")


@contextlib.asynccontextmanager
async def fleet_server(query: FleetQuery, tls: ServiceTls) -> AsyncIterator[InternalServer]:
    """The fleet service's internal API over ``query`` on a free loopback port."""
    server = internal_server(query, "127.0.0.1:0", tls("fleet"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def fleet_adapter(kind: str, database: Database, stacks: StackStore, tls: ServiceTls,
                        disconnect_after_s: float = 120.0) -> AsyncIterator[FleetReads]:
    query = FleetQuery(database, stacks, disconnect_after_s)
    if kind == "in-process":
        yield query
        return
    assert kind == "grpc", kind
    async with fleet_server(query, tls) as server:
        client = FleetQueryClient(server.address, tls("gateway"))
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture(name="fleet_reads", params=ADAPTERS)
async def both_fleet_reads(request: pytest.FixtureRequest, database: Database, stacks: StackStore,
                           internal_tls: ServiceTls) -> AsyncIterator[FleetReads]:
    async with fleet_adapter(request.param, database, stacks, internal_tls) as reads:
        yield reads
