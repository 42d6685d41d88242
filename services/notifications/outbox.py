"""The delivery loop over ``notification_deliveries`` (at-least-once).

A claim bumps ``attempts`` and pushes ``next_attempt_at`` out by a lease in one statement
(``FOR UPDATE SKIP LOCKED``), so two senders never take the same row and a sender that dies
mid-send leaves the row to be retried when the lease runs out. After the send the row is
``delivered``, rescheduled with capped exponential backoff, or ``failed`` (permanent error or
attempts used up). Retries of a webhook keep its ``webhook-id``, so receivers can dedupe.

How a notification ended is an event (``NotificationDelivered`` / ``NotificationFailed``,
with the attempts it took), applied and put in the service's outbox in the transaction that
records it: a rebuild from the log knows what went out and sends it not again. A retry
scheduled is not an event (a rebuilt row that never ended is sent again: at-least-once).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from faramesh_cloud.notifications.apply import record_all
from faramesh_cloud.notifications.changes import (
    NotificationDelivered,
    NotificationFailed,
    derived_id,
)
from faramesh_cloud.notifications.destinations import SecretBox
from faramesh_cloud.notifications.domain import Notice
from faramesh_cloud.notifications.senders import Outcome, Senders
from faramesh_cloud.notifications.store import destination_row
from faramesh_cloud.observability.catalogue import NOTIFICATION_DELIVERIES
from faramesh_cloud.observability.setup import current
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    batch: int = 50
    max_attempts: int = 8
    retry_initial_s: float = 5.0
    retry_max_s: float = 900.0
    lease_s: float = 120.0


def backoff(attempts: int, config: OutboxConfig, jitter: float = 1.0) -> float:
    """Seconds before attempt ``attempts + 1``: initial * 2^(attempts-1), capped, jittered."""
    return min(config.retry_max_s, config.retry_initial_s * 2 ** max(0, attempts - 1)) * jitter


class Outbox:
    def __init__(self, db: Database, box: SecretBox, senders: Senders, clock: Clock,
                 config: OutboxConfig | None = None) -> None:
        self._db = db
        self._box = box
        self._senders = senders
        self._clock = clock
        self.config = config or OutboxConfig()

    async def deliver_due(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        now = self._clock()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE notification_deliveries o SET attempts = o.attempts + 1, next_attempt_at = %s "
                "FROM notification_destinations d WHERE d.destination_id = o.destination_id AND "
                "o.notification_id IN (SELECT notification_id FROM notification_deliveries WHERE state = 'pending' "
                "AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING o.notification_id::text, o.attempts, o.notice, d.destination_id, d.org_id, d.name, "
                "d.kind, d.config, d.created_at, d.created_by, d.secret, o.stack_id",
                (now + timedelta(seconds=self.config.lease_s), now, self.config.batch))
            claimed = await cur.fetchall()
        if claimed:
            outcomes = await asyncio.gather(*(self._one(row) for row in claimed))
            await self._record([(row, outcome) for row, outcome in zip(claimed, outcomes, strict=True)])
        return len(claimed)

    async def _one(self, row: tuple[Any, ...]) -> Outcome:
        notification_id, notice_raw = row[0], row[2]
        destination = destination_row(row[3:10])
        try:
            secret = self._box.open(destination.org_id, destination.destination_id, bytes(row[10]))
            outcome = await self._senders.send(destination, secret, Notice.from_dict(notice_raw), notification_id)
        except Exception as exc:  # a bug or an undecryptable secret: record it, never lose the row
            _log.warning("notification %s: send failed", notification_id, exc_info=True)
            outcome = Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])
        return outcome

    async def _record(self, results: list[tuple[tuple[Any, ...], Outcome]]) -> None:
        """The batch's outcomes in one transaction: an end is an event, a retry a new time."""
        now = self._clock()
        ends: list[NotificationDelivered | NotificationFailed] = []
        retries = []
        telemetry = current()  # None when OpenTelemetry is off
        for row, outcome in results:
            nid, attempts, destination_id, org_id, stack_id = row[0], int(row[1]), str(row[3]), str(row[4]), row[11]
            if outcome.delivered:
                label = "delivered"
                ends.append(NotificationDelivered(derived_id("delivered", nid), now, org_id, nid, destination_id,
                                                  stack_id, attempts, outcome.status))
            elif outcome.retry and attempts < self.config.max_attempts:
                label = "retry"
                next_at = now + timedelta(seconds=backoff(attempts, self.config, random.uniform(0.8, 1.2)))
                retries.append((next_at, outcome.status, outcome.error, nid))
            else:
                label = "failed"
                ends.append(NotificationFailed(derived_id("failed", nid), now, org_id, nid, destination_id, stack_id,
                                               attempts, outcome.status, outcome.error))
            if telemetry is not None:
                telemetry.add(NOTIFICATION_DELIVERIES, 1, {"kind": str(row[6]), "outcome": label})
        async with self._db.transaction() as conn:
            await record_all(conn, ends)  # one statement and one outbox insert for the batch
            if retries:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "UPDATE notification_deliveries SET next_attempt_at = %s, last_status = %s, last_error = %s "
                        "WHERE notification_id = %s AND state = 'pending'", retries)
