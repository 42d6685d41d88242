"""The gateway's ``NotificationsPort`` in either adapter, over one test database:

* ``"in-process"``: ``NotificationsApi`` itself (what ``up`` gives the gateway: the running
  service's own API);
* ``"grpc"``: ``NotificationsClient`` with the gateway's certificate, talking over real
  mutual TLS on 127.0.0.1 to the notifications service's real servicer (``InternalServer``,
  the notifications certificate) in front of that same ``NotificationsApi`` (what ``serve
  gateway`` gets).

``both_notifications_ports`` is the fixture ``notifications_port`` parametrised over both: a
test module that imports it (``from tests.notifications_adapters import
both_notifications_ports  # noqa: F401``) runs each of its tests that uses notifications
(``notifications_port`` directly, or the ``gateway_app`` fixture) once per adapter."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest

from faramesh_cloud.gateway.web.notifications_ports import NotificationsPort
from faramesh_cloud.notifications.api import NotificationsApi
from faramesh_cloud.notifications.client import NotificationsClient
from faramesh_cloud.notifications.servicer import internal_server
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.sql.database import Database
from tests.fixtures.internal_tls import ServiceTls
from tests.notifications_support import notifications_api

ADAPTERS: Final = ("in-process", "grpc")


@contextlib.asynccontextmanager
async def notifications_server(api: NotificationsApi, tls: ServiceTls,
                               address: str = "127.0.0.1:0") -> AsyncIterator[InternalServer]:
    """The notifications service's internal API over ``api`` (on a free loopback port)."""
    server = internal_server(api, address, tls("notifications"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def notifications_adapter(kind: str, api: NotificationsApi, tls: ServiceTls) -> AsyncIterator[Any]:
    """``api`` as the gateway meets it through adapter ``kind``."""
    if kind == "in-process":
        yield api
        return
    assert kind == "grpc", kind
    async with notifications_server(api, tls) as server:
        client = NotificationsClient(server.address, tls("gateway"))
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture(name="notifications_port", params=ADAPTERS)
async def both_notifications_ports(request: pytest.FixtureRequest, database: Database,
                                   internal_tls: ServiceTls) -> AsyncIterator[NotificationsPort]:
    async with notifications_adapter(request.param, notifications_api(database), internal_tls) as port:
        yield port
