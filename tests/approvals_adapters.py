"""The gateway's ``ApprovalsPort`` in either adapter, over one test database:

* ``"in-process"``: ``ApprovalsApi`` itself (what ``up`` gives the gateway: the running
  approvals service's own API object);
* ``"grpc"``: ``ApprovalsApiClient`` with the gateway's certificate, talking over real mutual
  TLS on 127.0.0.1 to the approvals service's real internal server (``InternalServer``, the
  approvals certificate, ``DaemonControlService`` and ``ApprovalsService``) in front of that
  same ``ApprovalsApi`` (what ``serve gateway`` gets).

``both_approvals_ports`` is the fixture ``approvals_port`` (``tests/fixtures/gateway.py``)
parametrised over both: a test module that imports it (``from tests.approvals_adapters import
both_approvals_ports  # noqa: F401``) runs each of its tests that uses the gateway's approvals
(``approvals_port`` directly, or the ``gateway_app`` fixture) once per adapter; one test alone
takes ``@pytest.mark.parametrize("approvals_port", ADAPTERS, indirect=True)``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

import pytest

from faramesh_cloud.approvals.api import ApprovalsApi
from faramesh_cloud.approvals.client import ApprovalsApiClient
from faramesh_cloud.approvals.servicer import internal_server
from faramesh_cloud.approvals.sync_adapter import ApprovalsControl
from faramesh_cloud.gateway.web.approvals_ports import ApprovalsPort
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.sql.database import Database
from tests.fixtures.internal_tls import ServiceTls

ADAPTERS: Final = ("in-process", "grpc")


def unused_control(database: Database) -> ApprovalsControl:
    """A ``DaemonControl`` for the server's other API, over the same database (its long-poll
    waits are never started: these tests do not poll)."""
    from faramesh_cloud.approvals.decisions import Decisions
    from faramesh_cloud.approvals.emergency import EmergencyCommands
    from faramesh_cloud.approvals.waits import DeliveryWaits
    from faramesh_cloud.platform_audit.store import PlatformAuditLog

    audit = PlatformAuditLog(database)
    return ApprovalsControl(Decisions(database, audit), EmergencyCommands(database, audit), DeliveryWaits(database))


@contextlib.asynccontextmanager
async def approvals_server(api: ApprovalsApi, control: ApprovalsControl, tls: ServiceTls,
                           address: str = "127.0.0.1:0") -> AsyncIterator[InternalServer]:
    """The approvals service's internal server over ``api`` on a loopback port."""
    server = internal_server(control, address, tls("approvals"), api)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def approvals_adapter(kind: str, api: ApprovalsApi, control: ApprovalsControl,
                            tls: ServiceTls) -> AsyncIterator[ApprovalsPort]:
    if kind == "in-process":
        yield api
        return
    assert kind == "grpc", kind
    async with approvals_server(api, control, tls) as server:
        client = ApprovalsApiClient(server.address, tls("gateway"))
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture(name="approvals_port", params=ADAPTERS)
async def both_approvals_ports(request: pytest.FixtureRequest, database: Database,
                               internal_tls: ServiceTls) -> AsyncIterator[ApprovalsPort]:
    from tests.fixtures.gateway import approvals_api

    async with approvals_adapter(request.param, approvals_api(database), unused_control(database),
                                 internal_tls) as port:
        yield port
