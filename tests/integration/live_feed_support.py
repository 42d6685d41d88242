"""The live views under test, as ``faramesh-cloud up`` runs them: the gateway app on the real
HTTP server (uvicorn on loopback) with the DPR explorer and Home mounted, the real audit index
consuming the PostgreSQL log in the same loop, its sinks' ``NOTIFY`` heard by a ``PgListener``
that wakes the gateway's ``LiveHub``; and a client that reads server-sent event streams as a
browser's EventSource does."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from faramesh_cloud.audit_index.postgres import TAIL_CHANNEL
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.live_feed import LiveConfig, LiveHub
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.olap.port import Olap, QueryResult
from faramesh_cloud.runtime.fleet_wiring import IndexFleetAudit
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import CLOUD_URL, serve_app, static_status
from tests.integration.audit_support import fast_config

WAIT_S = 60.0  # a guard against hanging, never a timing assertion


class CountingOlap:
    """The real OLAP adapter, counting the queries made through it (the gateway's reads)."""

    def __init__(self, olap: Olap) -> None:
        self._olap = olap
        self.queries = 0

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        self.queries += 1
        return self._olap.query(sql, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._olap, name)


@dataclass
class LiveCloud:
    """The served gateway, the index feeding it, and the hub under test."""

    base: str
    hub: LiveHub
    index: AuditIndex
    olap: CountingOlap
    log: Log
    tables: AuditTables

    async def legacy(self, org_id: str, stack_id: str, decision: LegacyDecision, seq: int) -> None:
        """An unverified decision summary, as ingest's legacy feed appends it."""
        origin = Origin(org_id, stack_id, SOURCE_HORIZON, seq, "req", 1_780_000_001_000_000_000)
        await self.log.append(LEGACY_DECISIONS, [LogRecord(stack_key(org_id, stack_id), decision.to_json(),
                                                           origin.headers())])

    async def tail(self, org_id: str) -> list[Any]:
        """Every row of the organisation's tail, in order (what search shows)."""
        return (await self.index.queries.recent(org_id, 1000)).records


class GatedReader:
    """The real reader, except that a read from ``gate`` (a tail cursor) waits for ``release``:
    before reading (``before``) or after reading, before returning (then ``read`` is set)."""

    def __init__(self, reader: IndexReader) -> None:
        self._reader = reader
        self.gate: str | None = None
        self.before = False
        self.waiting = asyncio.Event()
        self.read = asyncio.Event()
        self.release = asyncio.Event()

    async def recent(self, org_id: str, limit: int, after: str | None) -> Any:
        if after is None or after != self.gate:
            return await self._reader.recent(org_id, limit, after)
        self.waiting.set()
        if self.before:
            await self.release.wait()
        page = await self._reader.recent(org_id, limit, after)
        self.read.set()
        await self.release.wait()
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


@contextlib.asynccontextmanager
async def live_cloud(db: Database, log: Log, olap: Olap, olap_database: str, web_deps: WebDeps,
                     stacks: StackStore, config: LiveConfig | None = None,
                     wrap: Callable[[IndexReader], Any] | None = None) -> AsyncIterator[LiveCloud]:
    tables = AuditTables(olap_database)
    counting = CountingOlap(olap)
    index = AuditIndex(db, log, olap, fast_config(olap_database))
    await index.start()
    commits = PgListener(db, TAIL_CHANNEL)
    await commits.start()
    reader = IndexReader(counting, db, tables)  # type: ignore[arg-type]
    if wrap is not None:
        reader = wrap(reader)
    hub = LiveHub(reader, commits.signals, config)
    deps = WebDeps(identity=web_deps.identity, stacks=web_deps.stacks, signing_key=web_deps.signing_key,
                   config=web_deps.config, audit=reader, live=hub, sections=(AUDIT_SECTION,))
    app = create_app(static_status, web=deps)
    mount_fleet(app, FleetPorts(query=FleetQuery(db, stacks), registry=stacks, cloud_url=CLOUD_URL,
                                audit=IndexFleetAudit(IndexReader(olap, db, tables))))
    try:
        async with serve_app(app) as base:
            try:
                yield LiveCloud(base, hub, index, counting, log, tables)
            finally:
                hub.close()  # open streams end, so the server's shutdown does not wait for them
    finally:
        await commits.stop()
        await index.stop()


@dataclass
class Stream:
    """One server-sent event stream read in the background, as EventSource reads it."""

    client: httpx.AsyncClient
    url: str
    last_event_id: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # every id line, in order
    kinds: list[str] = field(default_factory=list)  # every event name (dpr, end, behind)
    data: list[dict[str, Any]] = field(default_factory=list)  # the data of end / behind
    status: int | None = None
    headers: httpx.Headers | None = None
    error: Exception | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def open(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        await self.until(lambda: bool(self.ids) or self.status not in (None, 200))
        return self

    async def _read(self) -> None:
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        try:
            async with self.client.stream("GET", self.url, headers=headers, timeout=None) as response:
                self.status, self.headers = response.status_code, response.headers
                buffer = ""
                async for text in response.aiter_text():
                    buffer += text
                    *blocks, buffer = buffer.split("\n\n")
                    for block in blocks:
                        self._block(block)
                    self._changed.set()
        except httpx.TransportError as exc:  # the server went away mid-stream (shown by until())
            self.error = exc
        finally:
            self._changed.set()

    def _block(self, block: str) -> None:
        kind = data = None
        for line in block.split("\n"):
            if line.startswith("id: "):
                self.ids.append(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if kind is not None:
            self.kinds.append(kind)
            (self.records if kind == "dpr" else self.data).append(data)  # type: ignore[arg-type]

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def until(self, ready: Any) -> None:
        async with asyncio.timeout(WAIT_S):
            while not ready():
                if self.done and not ready():
                    raise AssertionError(f"{self.url}: the stream ended first ({self.kinds}, {self.error!r})")
                self._changed.clear()
                await self._changed.wait()

    async def records_at_least(self, n: int) -> list[dict[str, Any]]:
        await self.until(lambda: len(self.records) >= n)
        return self.records

    async def ended(self) -> None:
        async with asyncio.timeout(WAIT_S):
            assert self._task is not None
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def ids_of(rows: Sequence[Any]) -> list[str]:
    return [r["record_id"] if isinstance(r, dict) else r.record_id for r in rows]
