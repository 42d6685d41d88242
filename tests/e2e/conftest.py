"""The end-to-end suite's installs (tests/fixtures/install.py): each started once for this
package and stopped when its last test has run, so no install keeps a broker, nine service
processes and their consumers busy while the rest of the suite runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.install import (
    MODES,
    Install,
    _root,
    _stopped,
    start_distributed,
    start_embedded,
)
from tests.fixtures.postgres import _admin


@pytest.fixture(scope="package")
def embedded_install() -> Iterator[Install]:
    with _root() as root:
        install = start_embedded(root)
        yield install
        _stopped(install)


@pytest.fixture(scope="package")
def distributed_install(embedded_postgres: EmbeddedPostgres) -> Iterator[Install]:
    from psycopg import sql

    name = f"e2e_{uuid.uuid4().hex[:12]}"  # empty: each service migrates its own tables
    with _root() as root:
        with _admin(embedded_postgres) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            install = start_distributed(root, embedded_postgres.url(name))
            yield install
            _stopped(install)
        finally:
            with _admin(embedded_postgres) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="package", params=MODES)
def install(request: pytest.FixtureRequest) -> Install:
    """The install of this mode, started once for this package."""
    found: Install = request.getfixturevalue(f"{request.param}_install")
    found.check_running()
    return found
