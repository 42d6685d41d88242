"""The gateway's ``CompliancePort`` in either adapter, over one test database:

* ``"in-process"``: ``ComplianceApi`` itself (what ``up`` gives the gateway: the running
  service's own API);
* ``"grpc"``: ``ComplianceClient`` with the gateway's certificate, talking over real mutual
  TLS on 127.0.0.1 to the compliance service's real servicer (``InternalServer``, the
  compliance certificate) in front of that same ``ComplianceApi`` (what ``serve gateway``
  gets)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

from faramesh_cloud.compliance.api import ComplianceApi
from faramesh_cloud.compliance.client import ComplianceClient
from faramesh_cloud.compliance.domain import MAX_ARTIFACT_BYTES
from faramesh_cloud.compliance.servicer import internal_server
from faramesh_cloud.rpc.internal_server import InternalServer
from tests.fixtures.internal_tls import ServiceTls

ADAPTERS: Final = ("in-process", "grpc")


@contextlib.asynccontextmanager
async def compliance_server(api: ComplianceApi, tls: ServiceTls, *,
                            max_artifact_bytes: int = MAX_ARTIFACT_BYTES) -> AsyncIterator[InternalServer]:
    """The compliance service's internal API over ``api`` on a free loopback port."""
    server = internal_server(api, "127.0.0.1:0", tls("compliance"), max_artifact_bytes=max_artifact_bytes)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def compliance_adapter(kind: str, api: ComplianceApi, tls: ServiceTls) -> AsyncIterator[Any]:
    """``api`` as the gateway meets it through adapter ``kind``."""
    if kind == "in-process":
        yield api
        return
    assert kind == "grpc", kind
    async with compliance_server(api, tls) as server:
        client = ComplianceClient(server.address, tls("gateway"))
        try:
            yield client
        finally:
            await client.close()
