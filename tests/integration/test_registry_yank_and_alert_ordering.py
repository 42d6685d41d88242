"""The registry's yank command on PostgreSQL (state, typed ``VersionYanked`` in the outbox and
the registry log's ``yanked`` entry, in one transaction; refusals write nothing), and which
version a pack alert names as the latest: SemVer precedence over the version columns (1.10.0
after 1.9.0), prereleases and yanked versions never offered, a prerelease import told of its
release."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faramesh_cloud_api.registry.v1 import events_pb2

from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.log.port import Log
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.alert_sweep import AlertEvaluator
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.registry.snapshot import load_snapshot
from faramesh_cloud.registry.yank import YankRefused
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeTenant
from tests.registry_support import T0, registry

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

STRIPE = "faramesh/stripe"
REVIEWER = Actor(ActorType.USER, "u-1", "reviewer@example.com")


@pytest.fixture
async def reg(database: Database, postgres_log: Log, tmp_path: Path) -> AsyncIterator[Registry]:
    """The registry seeded but not started: its outbox is not relayed, so what a command wrote
    there stays to be read."""
    r = registry(database, postgres_log, tmp_path)
    await seed(database, r.store, r.blobs, load_snapshot())
    try:
        yield r
    finally:
        await r.blobs.close()


async def _counts(database: Database) -> tuple[Any, ...]:
    async with database.connection() as conn:
        row = await (await conn.execute(
            "SELECT (SELECT count(*) FROM registry_outbox), (SELECT count(*) FROM registry_log), "
            "(SELECT count(*) FROM registry_versions WHERE state = 'yanked')")).fetchone()
    assert row is not None
    return tuple(row)


async def test_a_yank_writes_state_event_and_log_entry_together_and_a_refusal_writes_nothing(
        reg: Registry, database: Database) -> None:
    before = await _counts(database)
    for args, why in [(("policy", STRIPE, "9.9.9", "bad"), "is not in the registry"),
                      (("policy", STRIPE, "1.0.0", "  "), "needs a reason"),
                      (("policy", STRIPE, "1.0", "bad"), "1.0"),
                      (("widget", STRIPE, "1.0.0", "bad"), "unknown kind"),
                      (("policy", "Stripe", "1.0.0", "bad"), "Stripe")]:
        with pytest.raises(YankRefused, match=why):
            await reg.yank(*args, REVIEWER)
    assert await _counts(database) == before

    event = await reg.yank("policy", STRIPE, "1.0.0", "refunds unchecked", REVIEWER)
    row = await reg.store.version(Kind.POLICY, STRIPE, "1.0.0")
    assert row is not None and row.yanked and (row.yanked_by, row.yank_reason, row.yanked_at) == (
        REVIEWER.label, "refunds unchecked", T0)
    async with database.transaction() as conn:
        [(key, value)] = await (await conn.execute(
            "SELECT key, value FROM registry_outbox ORDER BY id DESC LIMIT 1")).fetchall()
        [entry] = [e for e in await translog.read_entries(conn) if e.action == "yanked"]
    assert entry.subject == {"kind": "policy", "name": STRIPE, "version": "1.0.0"}
    assert entry.body == {"reason": "refunds unchecked", "event_id": event.event_id}
    assert entry.actor == {"type": "user", "id": "u-1", "label": "reviewer@example.com"}
    assert await _counts(database) == (before[0] + 1, before[1] + 1, before[2] + 1)
    with pytest.raises(YankRefused, match="already yanked"):
        await reg.yank("policies", STRIPE, "1.0.0", "again", REVIEWER)
    assert await _counts(database) == (before[0] + 1, before[1] + 1, before[2] + 1)
    typed = events_pb2.VersionYanked.FromString(value)
    assert bytes(key) == f"policy/{STRIPE}".encode()
    assert (typed.event_id, typed.kind, typed.name, typed.version, typed.reason, typed.org_id, typed.actor.label) == (
        event.event_id, "policy", STRIPE, "1.0.0", "refunds unchecked", "", REVIEWER.label)


async def test_the_latest_is_semver_precedence_over_published_releases(
        reg: Registry, database: Database, stack_store: StackStore, tenant: MakeTenant) -> None:
    [seeded] = await reg.store.versions(Kind.POLICY, STRIPE)
    async with database.transaction() as conn:
        for version in ("1.9.0", "1.10.0", "1.11.0", "2.0.0-rc.1", "1.10.0-rc.1"):
            await reg.store.add_version(conn, _replace(seeded, version))
    await reg.yank("policy", STRIPE, "1.11.0", "broken", REVIEWER)
    t = await tenant()
    org, stack = t.org.org_id, t.stack.stack_id
    async with database.transaction() as conn:
        for version in ("1.0.0", "1.10.0-rc.1", "1.10.0"):
            await conn.execute(
                "INSERT INTO registry_stack_imports (org_id, stack_id, kind, name, version, config_sha256, seen_at) "
                "VALUES (%s, %s, 'policy', %s, %s, 'x', now())", (org, stack, STRIPE, version))
    evaluator = AlertEvaluator(database, FleetQuery(database, stack_store), lambda: T0)
    assert await evaluator.raise_due([org]) == 2
    async with database.connection() as conn:
        rows = await (await conn.execute(
            "SELECT imported_version, latest_version, yanked FROM registry_alerts WHERE org_id = %s "
            "ORDER BY imported_version", (org,))).fetchall()
    assert rows == [("1.0.0", "1.10.0", False), ("1.10.0-rc.1", "1.10.0", False)]


def _replace(row: Any, version: str) -> Any:
    from dataclasses import replace
    return replace(row, version=version, source="publish")
