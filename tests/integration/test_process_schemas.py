"""A process creates the tables of the services it runs, and no other service's: ``serve
NAME`` migrates the platform (the log, organisations and stacks) and NAME's own schema, so a
gateway or fleet process never creates, let alone reads, approvals' or ingest's tables."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.runtime.runner import run
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.postgres import fresh_database
from tests.ports import free_internal_base

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def _components(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT component FROM schema_migrations").fetchall()}


def _table(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone() == (True,)


async def test_serve_fleet_creates_the_platforms_and_the_fleets_tables_only(
        embedded_postgres: EmbeddedPostgres, tmp_path: Path) -> None:
    with fresh_database(embedded_postgres, "template1", prefix="schemas") as url:
        settings = Settings(data_dir=tmp_path / "fleet", postgres_url=url,
                            internal_base_port=free_internal_base())
        stop = asyncio.Event()

        def ready(_: RuntimeContext) -> None:
            stop.set()
        await asyncio.wait_for(run(settings, ["fleet"], stop, on_ready=ready), 120)
        assert _components(url) == {"log", "stacks", "fleet"}
        assert _table(url, "orgs") and not _table(url, "approvals") and not _table(url, "sync_acks")
