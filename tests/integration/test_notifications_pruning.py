"""Delivery retention (``delivery_retention_days``): the sweep deletes ended deliveries older
than the retention as a ``DeliveriesPruned`` event, keeps pending and recent ones; re-reading
the service's own events does not bring pruned rows back (the prune watermark), and a rebuild
from the log into an empty database ends with the same, pruned history."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from faramesh_cloud.events.topics import NOTIFICATION_EVENTS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.apply import apply
from faramesh_cloud.notifications.events import ChangeProcessor
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.identity import People
from tests.fixtures.postgres import fresh_database
from tests.integration.test_notifications_replay import consumed, copy_registry, rows
from tests.notifications_support import FakeClock, HttpReceiver, http_receiver
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
ACTOR = Actor.system("test")


@pytest.fixture
async def empty_database(embedded_postgres: EmbeddedPostgres, pg_template: str) -> AsyncIterator[Database]:
    with fresh_database(embedded_postgres, pg_template, "prune") as url:
        async with Database(url, max_size=4) as db:
            yield db


def config(clock: FakeClock, key: bytes, group: str) -> NotificationsConfig:
    return NotificationsConfig(key=key, group=group, allow_private=True, clock=clock, send_interval_s=0.05,
                               delivery_retention_days=90, prune_interval_s=3600,  # the test runs the sweep
                               outbox=OutboxConfig(retry_initial_s=3600, retry_max_s=3600, max_attempts=8))


async def history(service: Notifications, org_id: str) -> list[tuple[str, str, str]]:
    return sorted((d.destination_name, d.defer_token, d.state)
                  for d in await service.api.deliveries(org_id, limit=1000))


async def test_old_ended_deliveries_are_pruned_and_stay_pruned_through_replays(
        database: Database, postgres_log: PostgresLog, empty_database: Database, people: People) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    clock, key = FakeClock(), secrets.token_bytes(32)
    with http_receiver() as receiver:
        receiver.answers["/stuck"] = (503, b"busy")
        await _prune_and_replay(database, postgres_log, empty_database, org_id, clock, key, receiver)


async def _prune_and_replay(database: Database, log: PostgresLog, empty: Database, org_id: str, clock: FakeClock,
                            key: bytes, receiver: HttpReceiver) -> None:
    service = Notifications(database, log, config(clock, key, "notifications"))
    await service.start()
    try:
        api = service.api
        hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/hook"}, ACTOR)
        stuck, _ = await api.create_destination(org_id, "stuck", "webhook", {"url": receiver.url + "/stuck"}, ACTOR)
        old = [await api.test_destination(org_id, hook.destination_id, ACTOR) for _ in range(2)]
        waiting = await api.test_destination(org_id, stuck.destination_id, ACTOR)  # 503: retried in an hour
        await eventually(lambda: len(receiver.on("/hook")) == 2 and len(receiver.on("/stuck")) == 1, "the sends",
                         within_s=30)

        async def recorded() -> bool:
            return sorted(s for _, _, s in await history(service, org_id)) == ["delivered", "delivered", "pending"]
        await eventually(recorded, "the outcomes recorded", within_s=30)

        clock.advance(days=91)
        fresh = await api.test_destination(org_id, hook.destination_id, ACTOR)
        await eventually(lambda: len(receiver.on("/hook")) == 3, "the fresh send", within_s=30)

        async def fresh_recorded() -> bool:
            return ("hook", fresh, "delivered") in await history(service, org_id)
        await eventually(fresh_recorded, "the fresh send recorded", within_s=30)

        assert await service.pruning.run_once() == 2  # the two old delivered ones
        assert await service.pruning.run_once() == 0  # once
        after = await history(service, org_id)
        assert [h for h in after if h[0] == "hook"] == [("hook", fresh, "delivered")]
        assert [h[:2] for h in after if h[0] == "stuck"] == [("stuck", waiting)]  # pending: never pruned
        assert not {t for _, t, _ in after} & set(old)
        [(before, pruned)] = await rows(database, "SELECT pruned_before, rows_pruned FROM notification_prunes")
        assert pruned == 2 and before == clock() - timedelta(days=90)
        await eventually(lambda: consumed(database, log, NOTIFICATION_EVENTS), "own events read back", within_s=30)
        assert await history(service, org_id) == after
    finally:
        await service.stop()

    # Every event of the service's own topic applied again (a consumer reset to offset 0):
    # the pruned rows do not come back.
    reader = await log.consumer(NOTIFICATION_EVENTS, "test-reader")
    changes = []
    while batch := await reader.poll(500, 0.2):
        changes += [ChangeProcessor().process(m).change for m in batch]
    await reader.close()
    assert "DeliveriesPruned" in [type(c).__name__ for c in changes]
    async with database.transaction() as conn:
        for change in changes:
            if change is not None:
                await apply(conn, change)
    [(count,)] = await rows(database, "SELECT count(*) FROM notification_deliveries")
    assert count == 2

    # An empty database rebuilt from the log: the same, pruned history.
    await copy_registry(database, empty)
    second = Notifications(empty, log, config(clock, key, "notifications-replay"))
    await second.start()
    try:
        await eventually(second.own_events.done.is_set, "the rebuild of the service's own events", within_s=60)
        rebuilt = await history(second, org_id)
        assert [h for h in rebuilt if h[0] == "hook"] == [("hook", fresh, "delivered")]
        assert [h[:2] for h in rebuilt if h[0] == "stuck"] == [("stuck", waiting)]
    finally:
        await second.stop()
