"""Registry test support: the component on the test's database and a blob dir, and its
daemon-facing app served by uvicorn on 127.0.0.1 (under a base path, as a daemon reaches it).

``seeded_pg_url`` is the fixture ``pg_url`` for modules whose registry is ``registry(database,
log, tmp_path)``: a fresh database copied from a template in which the shipped catalog is
already seeded exactly as that registry's ``start()`` seeds it (``seed`` with the snapshot at
``T0``: the same rows, outbox events and registry-log entries; only the random event ids
differ), with the catalog's blobs copied into ``tmp_path/registry/blobs``. ``start()`` then
finds every version stored and seeds nothing; everything else it does (its topic, the Cloud
key from ``tmp_path/keys``, the checkpoint, relaying the seed's outbox events) is unchanged.
A module opts in with ``from tests.registry_support import seeded_pg_url  # noqa: F401``
(the template is the session fixture ``seeded_catalog``, ``tests/fixtures/registry.py``).
Each test still gets its own database and blob dir (tests that change the catalog stay
isolated); the seeding itself runs once per test run instead of once per test."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.service import Registry, RegistryConfig
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
from faramesh_cloud.sql.database import Database

if TYPE_CHECKING:
    from tests.fixtures.registry import SeededCatalog

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


@pytest.fixture(name="pg_url")
def seeded_pg_url(seeded_catalog: SeededCatalog, tmp_path: Path) -> Iterator[str]:
    """``pg_url`` with the catalog seeded at ``T0`` and its blobs in ``tmp_path/registry/blobs``
    (see the module docstring)."""
    shutil.copytree(seeded_catalog.blobs, tmp_path / "registry" / "blobs")
    with seeded_catalog.copies.copy() as url:
        yield url
