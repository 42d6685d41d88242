"""Upgrading an index whose alerts were raised before alerts were events (real PostgreSQL,
the PostgreSQL log, chDB): migration 0006 keeps their ids and acknowledgements, and on its
next start the index announces each once on audit.alerts.v1 (AlertRaised, then
AlertAcknowledged for a closed one), so the log holds every alert and a rebuild loses none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import AlertAcknowledged, AlertRaised
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.events.topics import AUDIT_ALERTS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import load_migrations, migrate
from tests.fixtures.ingest import read_topic
from tests.fixtures.postgres import TEMPLATE_COMPONENTS, fresh_database
from tests.integration.audit_support import fast_config, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


@pytest.fixture
async def database(embedded_postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A database with every component's tables but the audit index's (the shared template
    has those at today's version): this test builds the index's as they were."""
    with fresh_database(embedded_postgres, "template1") as url:
        async with Database(url, max_size=4) as db:
            await migrate(db, [c for c in TEMPLATE_COMPONENTS if c != COMPONENT])
            yield db


async def _as_before_issue_13(database: Database) -> None:
    """The audit index's schema up to migration 0005, applied as the runner would have."""
    async with database.connection() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (component text, version integer, "
                           "name text, checksum text, applied_at timestamptz DEFAULT now(), "
                           "PRIMARY KEY (component, version))")
        for migration in load_migrations(*COMPONENT)[:5]:
            await conn.execute(migration.sql.encode())
            await conn.execute("INSERT INTO schema_migrations (component, version, name, checksum) "
                               "VALUES (%s, %s, %s, %s)",
                               (COMPONENT[0], migration.version, migration.name, migration.checksum))


async def test_alerts_raised_before_the_upgrade_are_announced_once_with_their_ids_and_acknowledgements(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    await _as_before_issue_13(database)
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT INTO audit_alerts (org_id, stack_id, agent_id, record_id, record_hash, kind, message, "
            "record_created_at, created_at, acknowledged, acknowledged_at, acknowledged_by, acknowledged_note) VALUES "
            "('org-a', 's1', 'agent', 'r1', 'h1', 'gap', 'a gap', '', '2026-05-28T10:00:00Z', false, NULL, NULL, NULL),"
            "('org-a', 's1', 'agent', 'r2', 'h2', 'broken_link', 'a link', '', '2026-05-28T11:00:00Z', true, "
            "'2026-05-29T08:00:00Z', 'olga@example.test', 'looked at it')")
        old_ids = [int(r[0]) for r in await (await conn.execute(
            "SELECT alert_id FROM audit_alerts ORDER BY alert_id")).fetchall()]
    await migrate(database, [COMPONENT])

    await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)
    events = [codec.decode(m.headers["kind"].decode(), m.value) for m in await read_topic(postgres_log, AUDIT_ALERTS)]
    assert [(type(e).__name__, e.alert_id, e.key.record_id) for e in events if e is not None] == [
        ("AlertRaised", old_ids[0], "r1"), ("AlertRaised", old_ids[1], "r2"), ("AlertAcknowledged", old_ids[1], "r2")]
    raised = events[1]
    assert isinstance(raised, AlertRaised) and raised.message == "a link"
    acknowledged = events[2]
    assert isinstance(acknowledged, AlertAcknowledged)
    assert (acknowledged.actor_label, acknowledged.note) == ("olga@example.test", "looked at it")

    # Announced once: a restart adds nothing.
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)
    assert len(await read_topic(postgres_log, AUDIT_ALERTS)) == 3
    async with database.connection() as conn:
        assert await (await conn.execute("SELECT count(*) FROM audit_alerts WHERE NOT announced")).fetchone() == (0,)
