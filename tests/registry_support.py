"""Registry test support: the component on the test's database and a blob dir, and its
daemon-facing app served by uvicorn on 127.0.0.1 (under a base path, as a daemon reaches it)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.service import Registry, RegistryConfig
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.sql.database import Database

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def registry(database: Database, log: Log, data_dir: Path, **config: object) -> Registry:
    return Registry(database, log, FileBlobStore(data_dir / "registry" / "blobs"),
                    RegistryConfig(keys=KeySource(data_dir), clock=lambda: T0, **config))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def served(app: ASGIApp, base: str = "/registry") -> AsyncIterator[str]:
    """``app`` mounted at ``base`` on a loopback port; yields the registry URL (with ``base``)."""
    port = free_port()
    server = HttpServer(Starlette(routes=[Mount(base, app=app)]) if base else app, "127.0.0.1", port, HttpOptions())
    await server.start()
    try:
        yield f"http://127.0.0.1:{port}{base}"
    finally:
        await server.stop()
