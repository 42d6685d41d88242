"""The whole Cloud in the test's process, as ``faramesh-cloud up`` composes it: the runtime's
service factories (``runtime/services.py``) over one platform (a PostgreSQL database on the
test run's embedded server holding the PostgreSQL log and every service's tables, and chDB
in the run's one chDB data dir), real ports (sync gRPC over TLS 1.3, internal gRPC over mutual
TLS, the gateway's HTTP server), and what a person does and reads over the REST API.

Used by the rebuild tests: ``running_cloud`` starts and stops it, ``settle`` waits until
every outbox is relayed, every consumer group has read every topic to its end and every
notification ended, ``copy_tables`` / ``copy_log`` move what is not rebuilt from the log (and
the log itself) into a fresh database, and ``Person`` signs in and reads."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from psycopg import sql

from faramesh_cloud.config import Settings
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.runtime.demo_service import DemoFleetService
from faramesh_cloud.runtime.platform import Platform, open_platform
from faramesh_cloud.runtime.service import Service
from faramesh_cloud.runtime.services import SERVICES, RuntimeContext
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.sql.database import Database
from tests.fixtures.identity import PASSWORD
from tests.ports import free_internal_base
from tests.simulator_support import free_port

# Every service `up` runs, in its start order, but the demo fleet (started apart, with options).
CLOUD_SERVICES = ("ingest", "audit-index", "fleet", "approvals", "notifications", "compliance", "billing", "gateway")
OLAP_DATABASE = "faramesh_audit"  # the audit index's ClickHouse database under `up` (AuditIndexConfig)
OUTBOXES = ("approvals_outbox", "notifications_outbox", "audit_index_outbox", "stacks_outbox", "compliance_outbox",
            "billing_outbox")
# What is not on the log and not rebuilt from it: organisations, people and the stack registry
# (with its stack keys and its own record of pins, whose events are on the log).
REGISTRY = ("orgs", "users", "memberships", "stacks", "stack_api_keys", "stack_signing_keys")
# Every service's state (not its positions, outbox or other bookkeeping): what a rebuild must
# give back row for row.
STATE_TABLES = (
    "approvals", "approval_deliveries", "emergency_commands",
    "fleet_stacks", "fleet_agents", "fleet_budgets", "fleet_credentials", "fleet_applies", "fleet_providers",
    "fleet_config_texts",
    "notification_destinations", "notification_rules", "notification_requests", "notification_deliveries",
    "notification_alerts", "notification_alert_closures",
    "audit_chain_agents", "audit_chain_records", "audit_chain_findings", "audit_alerts", "audit_alert_closures",
    "audit_signing_key_pins", "audit_legacy_decisions",
    # compliance's evaluated posture (compliance_posture, _days) is measured at a time, not
    # rebuilt from the log: not here
    "compliance_frameworks", "compliance_reports", "compliance_artifacts", "compliance_share_links",
    # billing's meters, plans and invoices (its seats are snapshots of the members list taken at a
    # time, like compliance's posture: not here)
    "billing_usage_counts", "billing_usage_items", "billing_plans", "billing_invoices",
)
LOG_TABLES = ("log_topics", "log_partitions", "log_records")  # not log_groups: new groups replay from 0
OWNER = "owner@example.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cloud_settings(data_dir: Path, postgres_url: str) -> Settings:
    """``up``'s settings on free ports, the given database, daemons told to poll for emergency
    commands often (the sync API's Hello), local destinations allowed (a fake webhook)."""
    return Settings(data_dir=data_dir, http_host="127.0.0.1", http_port=free_port(), sync_host="127.0.0.1",
                    sync_port=free_port(), internal_base_port=free_internal_base(), postgres_url=postgres_url,
                    emergency_poll_interval_s=0.2, allow_private_destinations=True, disconnect_after_s=3600.0)


@dataclass
class RunningCloud:
    ctx: RuntimeContext
    demo: DemoFleetService | None

    @property
    def platform(self) -> Platform:
        return self.ctx.platform

    @property
    def db(self) -> Database:
        return self.ctx.platform.db

    @property
    def base_url(self) -> str:
        return self.ctx.platform.settings.http_url

    def service(self, name: str) -> Service:
        return next(s for s in self.ctx.services if s.name == name)

    def failures(self) -> list[str]:
        return [f"{s.name}: {s.info().state}" for s in self.ctx.services if s.info().state == "failed"]


@contextlib.asynccontextmanager
async def running_cloud(settings: Settings, chdb_dir: Path, demo: DaemonOptions | None = None
                        ) -> AsyncIterator[RunningCloud]:
    """``runtime.runner.run`` for a test: open the platform (migrations, the log's topics),
    start the services in order, yield, stop them in reverse. The OLAP store is chDB on the
    test run's data dir (a process opens one), the rest is what ``up`` opens."""
    platform = await open_platform(settings, with_olap=False)
    platform.olap = await asyncio.to_thread(ChdbOlap, chdb_dir)
    ctx = RuntimeContext(platform, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), [])
    started: list[Service] = []
    demo_service: DemoFleetService | None = None
    try:
        for name in CLOUD_SERVICES:
            service = SERVICES[name].factory(ctx)
            ctx.services.append(service)
            await service.start()
            started.append(service)
        if demo is not None:
            demo_service = DemoFleetService(ctx, demo)
            ctx.services.append(demo_service)
            await demo_service.start()
            started.append(demo_service)
        yield RunningCloud(ctx, demo_service)
    finally:
        for service in reversed(started):
            await asyncio.wait_for(service.stop(), 30)
        await platform.close()


def drop_olap_database(chdb_dir: Path, name: str = OLAP_DATABASE) -> None:
    admin = ChdbOlap(chdb_dir)
    try:
        admin.command(f"DROP DATABASE IF EXISTS {name} SYNC")
    finally:
        admin.close()


# -- the log and the tables ---------------------------------------------------------------

async def log_ends(db: Database) -> dict[tuple[str, int], int]:
    """(topic, partition) → the partition's end offset, on the PostgreSQL log in ``db``."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            "SELECT t.name, p.partition, p.next_offset FROM log_partitions p JOIN log_topics t USING (topic_id) "
            "WHERE p.next_offset > 0")).fetchall()
    return {(str(t), int(p)): int(o) for t, p, o in rows}


async def groups_behind(db: Database) -> dict[tuple[str, str], int]:
    """(group, topic) → how many records the group has not committed yet, for every group
    that joined a topic on the PostgreSQL log in ``db``."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            "SELECT g.name, t.name, sum(p.next_offset - coalesce(o.next_offset, 0)) "
            "FROM log_groups g JOIN log_topics t USING (topic_id) JOIN log_partitions p USING (topic_id) "
            "LEFT JOIN log_group_offsets o ON o.group_id = g.group_id AND o.partition = p.partition "
            "GROUP BY g.name, t.name")).fetchall()
    return {(str(g), str(t)): int(n) for g, t, n in rows}


async def count(db: Database, table: str, where: str = "") -> int:
    async with db.connection() as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        if where:
            query = query + sql.SQL(" WHERE " + where)  # a literal condition of the test's own
        row = await (await conn.execute(query)).fetchone()
    return int(row[0]) if row else -1


async def table_rows(db: Database, tables: Sequence[str] = STATE_TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``tables`` (as column → value), in a stable order."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with db.connection() as conn:
        for table in tables:
            cur = await conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            names = [c.name for c in cur.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]
            found[table] = sorted(rows, key=repr)
    return found


async def settle(cloud: RunningCloud, groups: Iterable[tuple[str, str]] = (), within_s: float = 60.0) -> None:
    """Until every outbox is relayed, every consumer group (and each of ``groups``, which must
    have joined) has committed every topic to its end and no notification is pending: three
    checks in a row, 0.3 s apart (a relay or a consumer may append after a check)."""
    wanted = set(groups)
    calm, deadline = 0, time.monotonic() + within_s
    while calm < 3:
        failed = cloud.failures()
        assert not failed, failed
        behind = await groups_behind(cloud.db)
        if ("audit-index", "dpr.records.v1") in behind:  # the chain verifier's group joins right after
            wanted.add(("audit-verifier", "dpr.records.v1"))
        quiet = (wanted <= set(behind) and not any(behind.values())
                 and all([await count(cloud.db, t) == 0 for t in OUTBOXES])
                 and await count(cloud.db, "notification_deliveries", "state = 'pending'") == 0)
        calm = calm + 1 if quiet else 0
        if time.monotonic() > deadline:
            late = {k: v for k, v in behind.items() if v} or sorted(wanted - set(behind))
            raise AssertionError(f"the services did not settle within {within_s:g} s: {late}")
        await asyncio.sleep(0.3)


async def copy_tables(source: Database, target: Database, tables: Sequence[str]) -> None:
    """Rows of ``tables`` as they are (binary COPY, identity values kept), in this order."""
    async with source.connection() as src, target.connection() as dst:
        for table in tables:
            name = sql.Identifier(table)
            async with src.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(name)) as out, \
                    dst.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(name)) as into:
                async for chunk in out:
                    await into.write(chunk)


async def copy_log(source: Database, target: Database) -> None:
    """The PostgreSQL log's topics and records, byte for byte at the same offsets, without its
    consumer groups: every group that joins it in ``target`` is new and reads from offset 0."""
    await copy_tables(source, target, LOG_TABLES)
    async with target.connection() as conn:
        await conn.execute("SELECT setval(pg_get_serial_sequence('log_topics', 'topic_id'), "
                           "(SELECT max(topic_id) FROM log_topics))")


# -- a person at the REST API ----------------------------------------------------------------

class Person:
    """A signed-in browser session against the running gateway (its real HTTP server)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.csrf = ""

    async def __aenter__(self) -> Person:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def sign_in(self, org: str = "") -> str:
        """The first owner through /setup on a fresh install (adopting its one organisation),
        else /login to ``org``; the organisation's slug."""
        form = await self.http.get("/setup")
        if form.status_code == 200:
            slug = _value(form.text, "org_slug")
            data = {"name": "Owner", "email": OWNER, "password": PASSWORD, "org_name": _value(form.text, "org_name"),
                    "org_slug": slug, "csrf_token": _csrf(form.text)}
            answer = await self.http.post("/setup", data=data)
        else:
            form = await self.http.get("/login")
            answer = await self.http.post("/login", data={"email": OWNER, "password": PASSWORD,
                                                          "next": f"/o/{org}/", "csrf_token": _csrf(form.text)})
        assert answer.status_code == 303, answer.text[:500]
        slug = answer.headers["location"].split("/")[2]
        self.csrf = _csrf((await self.http.get(f"/o/{slug}/approvals")).text)
        return slug

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    async def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers={"x-csrf-token": self.csrf})


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


def differences(before: Any, after: Any, path: str = "", limit: int = 12) -> list[str]:
    """Where two JSON-like values differ (the first ``limit`` places), for a readable failure."""
    found: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                found.append(f"{path}/{key}: only {'after' if key in after else 'before'}")
            else:
                found += differences(before[key], after[key], f"{path}/{key}", limit - len(found))
            if len(found) >= limit:
                break
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            found += differences(b, a, f"{path}[{i}]", limit - len(found))
            if len(found) >= limit:
                break
    elif before != after:
        found.append(f"{path}: {str(before)[:300]} != {str(after)[:300]}")
    return found[:limit]

