"""The gateway's registry reads (``RegistryPort`` and the pack alert reads) in either adapter,
over one started ``Registry`` (test database, seeded catalog):

* ``"in-process"``: ``RegistryApi`` and ``AlertReads`` themselves (what ``up`` gives the gateway);
* ``"grpc"``: ``RegistryClient`` with the gateway's certificate, talking over real mutual TLS
  on 127.0.0.1 to the registry's real servicer (``InternalServer``, the registry certificate)
  in front of that same registry (what ``serve gateway`` gets).

``publish_adapter`` does the same for publishing (``PublishApi`` / ``RegistryPublishClient``)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Final

from faramesh_cloud.registry.client import RegistryClient
from faramesh_cloud.registry.publish_api import PublishApi
from faramesh_cloud.registry.publish_client import RegistryPublishClient
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.registry.servicer import internal_server
from faramesh_cloud.rpc.internal_server import InternalServer
from tests.fixtures.internal_tls import ServiceTls

ADAPTERS: Final = ("in-process", "grpc")


@dataclasses.dataclass(frozen=True)
class Reads:
    port: Any  # RegistryPort
    alerts: Any  # PackAlertReads


@contextlib.asynccontextmanager
async def registry_server(reg: Registry, tls: ServiceTls) -> AsyncIterator[InternalServer]:
    server = internal_server(reg.api, reg.alert_reads, "127.0.0.1:0", tls("registry"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def registry_adapter(kind: str, reg: Registry, tls: ServiceTls) -> AsyncIterator[Reads]:
    if kind == "in-process":
        yield Reads(reg.api, reg.alert_reads)
        return
    assert kind == "grpc", kind
    async with registry_server(reg, tls) as server:
        client = RegistryClient(server.address, tls("gateway"))
        try:
            yield Reads(client, client)
        finally:
            await client.close()


@contextlib.asynccontextmanager
async def publish_adapter(kind: str, reg: Registry, api: PublishApi, tls: ServiceTls) -> AsyncIterator[Any]:
    """``api`` (a ``PublishApi`` on ``reg``) as the gateway meets it through adapter ``kind``."""
    if kind == "in-process":
        yield api
        return
    assert kind == "grpc", kind
    server = internal_server(reg.api, reg.alert_reads, "127.0.0.1:0", tls("registry"), publish=api)
    await server.start()
    client = RegistryPublishClient(server.address, tls("gateway"))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()
