"""``AuditGateway``: the live gateway with the audit index (PostgreSQL log + chDB) consuming
``dpr.records.v1`` in the server's loop and the DPR explorer mounted over it; the browser
tests of the explorer use it as is, the Home/Fleet ones add the fleet projection."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from faramesh_cloud.audit_index.postgres import TAIL_CHANNEL
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.live_feed import LiveConfig, LiveHub
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.browser import LiveGateway, serve_live
from tests.fixtures.gateway import static_status
from tests.integration.audit_support import fast_config

A = TypeVar("A", bound="AuditGateway")


class AuditGateway(LiveGateway):
    """``LiveGateway`` plus the audit index consuming ``dpr.records.v1`` in the same loop."""

    pool_size = 6
    with_log = True
    live_config: LiveConfig | None = None  # the live views' limits (None: the product's)

    def __init__(self, url: str, data_dir: Path, chdb_dir: Path, olap_database: str) -> None:
        super().__init__(url, data_dir)
        self._chdb_dir = chdb_dir
        self.olap_database = olap_database
        self._olap: ChdbOlap | None = None
        self._index: AuditIndex | None = None
        self._commits: PgListener | None = None
        self.live: LiveHub | None = None

    @property
    def olap(self) -> ChdbOlap:
        assert self._olap is not None
        return self._olap

    @property
    def tables(self) -> AuditTables:
        return AuditTables(self.olap_database)

    async def _start_parts(self, db: Database) -> None:
        assert self.log is not None
        self._olap = ChdbOlap(self._chdb_dir)
        self._index = AuditIndex(db, self.log, self._olap, fast_config(self.olap_database))
        await self._index.start()
        # The live views woken by the index's commits, as the runtime wires them.
        self._commits = PgListener(db, TAIL_CHANNEL)
        await self._commits.start()

    def _app(self, db: Database) -> Any:
        assert self._commits is not None
        reader = IndexReader(self.olap, db, self.tables)
        self.live = LiveHub(reader, self._commits.signals, self.live_config)
        return create_app(static_status, web=self._web_deps(audit=reader, live=self.live, sections=(AUDIT_SECTION,)))

    async def _stop_parts(self) -> None:
        if self._commits is not None:
            await self._commits.stop()
        if self._index is not None:
            await self._index.stop()
        if self._olap is not None:
            self._olap.close()


@contextmanager
def serve_audit(make: Callable[[str, Path, Path, str], A], embedded_postgres: EmbeddedPostgres, pg_template: str,
                prefix: str, chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[A]:
    """``make``'s gateway on a fresh database and a fresh chDB database, started, stopped after."""
    olap_database = f"browser_{uuid.uuid4().hex[:12]}"
    with serve_live(embedded_postgres, pg_template, prefix, lambda url: make(
            url, tmp_path_factory.mktemp(f"{prefix}-gateway"), chdb_dir, olap_database)) as live:
        yield live
