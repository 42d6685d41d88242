"""Registry test support: the component on the test's database and a blob dir, and its
daemon-facing app served by uvicorn on 127.0.0.1 (under a base path, as a daemon reaches it).

``seeded_pg_url`` is the fixture ``pg_url`` for modules whose registry is ``registry(database,
log, tmp_path)``: a fresh database copied from a template in which the shipped catalog is
already seeded exactly as that registry's ``start()`` seeds it (``seed`` with the snapshot at
``T0``: the same rows, outbox events and registry-log entries; only the random event ids
differ), with the catalog's blobs copied into ``tmp_path/registry/blobs`` (the fixture
``registry_blobs_dir``: a module whose registry keeps them elsewhere overrides it). ``start()`` then
finds every version stored and seeds nothing; everything else it does (its topic, the Cloud
key from ``tmp_path/keys``, the checkpoint, relaying the seed's outbox events) is unchanged.
A module opts in with ``from tests.registry_support import seeded_pg_url  # noqa: F401``
(the template is the session fixture ``seeded_catalog``, ``tests/fixtures/registry.py``).
``seeded_now_pg_url`` is the same for a registry on the default clock (and for the gateway
fixture ``seeded_registry``, whose own ``seed`` then finds everything stored): the catalog is
seeded with the wall clock once per run (``seeded_catalog_now``).
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


@contextlib.contextmanager
def _copy_of(catalog: SeededCatalog, blobs: Path) -> Iterator[str]:
    shutil.copytree(catalog.blobs, blobs)
    with catalog.copies.copy() as url:
        yield url


@pytest.fixture(name="pg_url")
def seeded_pg_url(seeded_catalog: SeededCatalog, registry_blobs_dir: Path) -> Iterator[str]:
    """``pg_url`` with the catalog seeded at ``T0``, its blobs in ``registry_blobs_dir`` (see
    the module docstring)."""
    with _copy_of(seeded_catalog, registry_blobs_dir) as url:
        yield url


@pytest.fixture(name="pg_url")
def seeded_now_pg_url(seeded_catalog_now: SeededCatalog, registry_blobs_dir: Path) -> Iterator[str]:
    """``pg_url`` with the catalog seeded on the wall clock (once per run: its rows are
    minutes old, not milliseconds), its blobs in ``registry_blobs_dir``."""
    with _copy_of(seeded_catalog_now, registry_blobs_dir) as url:
        yield url
