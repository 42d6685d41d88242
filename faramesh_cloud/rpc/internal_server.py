"""A service's internal gRPC server: mutual TLS with the internal CA, an allow-list of
calling services, port reuse off, one-line errors when its address is taken.

A service registers its servicers in ``register`` and names who may call each gRPC service
in ``allowed`` (``rpc/internal_tls.py``); anything not listed is refused."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final

import grpc.aio

from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_tls import CallerPolicy, server_credentials
from faramesh_cloud.rpc.ports import INTERNAL_PORT_SETTING, bind, internal_api, server_options

PORT_SETTING: Final = INTERNAL_PORT_SETTING


class InternalServer:
    """``port`` is the bound one (an address ending in ``:0`` picks one)."""

    def __init__(self, tls: ServiceCredentials, address: str, allowed: Mapping[str, Collection[str]],
                 register: Callable[[grpc.aio.Server], None], port_setting: str = PORT_SETTING) -> None:
        self._tls = tls
        self._address = address
        self._policy = CallerPolicy(allowed)
        self._register = register
        self._port_setting = port_setting
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self._address.rsplit(':', 1)[0]}:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server(interceptors=[self._policy], options=server_options())
        self._register(server)
        self.port = bind(server, self._address, server_credentials(self._tls), internal_api(self._tls.service),
                         self._port_setting)
        await server.start()
        self._server = server

    async def stop(self, grace_s: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace_s)
            self._server = None
