"""The delivery loop over ``forwarding_outbox`` (at-least-once) and its delivery log.

A claim bumps ``attempts`` and pushes ``next_attempt_at`` out by a lease in one statement
(``FOR UPDATE SKIP LOCKED``): two senders (two replicas) never take the same row, and a
sender that dies mid-send leaves the row to be retried when the lease runs out. The claimed
rows are at most ``per_destination`` of each destination with due items (a round serves every
destination: one organisation's backlog never holds another's back), sent in batches, each
one request (a product's
rate limits see few large requests). Each row then ends ``delivered``, is rescheduled with
capped, jittered exponential backoff (never sooner than the destination's Retry-After), or
ends ``failed`` (a permanent refusal, or ``max_attempts`` used up). Every send is one line of
``forwarding_delivery_log`` (what a person reads: outcome, items, attempts, HTTP status,
error). Delivered and failed rows and old log lines are pruned by ``prune``."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from faramesh_cloud.egress.http import Outcome, backoff_s
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.forwarding.domain import Destination, Item, Kind
from faramesh_cloud.forwarding.senders import Senders
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)
Clock = Callable[[], datetime]

DESTINATION_COLUMNS = ("destination_id::text, org_id::text, name, kind, config, forward_dprs, forward_metrics, "
                       "created_at, created_by")


def destination_row(row: Sequence[Any]) -> Destination:
    return Destination(str(row[0]), str(row[1]), str(row[2]), Kind(row[3]), dict(row[4]), bool(row[5]),
                       bool(row[6]), row[7], str(row[8]))


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    claim: int = 10000  # rows claimed per round
    per_destination: int = 2000  # at most this many of one destination a round (sent ``batch`` at a time)
    batch: int = 500  # items per request (Datadog takes at most 1000 logs per request)
    max_attempts: int = 20
    retry_initial_s: float = 5.0
    retry_max_s: float = 900.0
    lease_s: float = 120.0
    retention_s: float = 7 * 86400.0  # delivered/failed rows and delivery-log lines kept this long


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    destination_id: str
    org_id: str
    stack_id: str
    kind: str
    payload: str
    attempts: int
    created_ns: int
    received_ns: int


def _item(row: _Claimed) -> Item:
    return Item(row.kind, row.org_id, row.stack_id, row.payload,
                extra={"created_ns": row.created_ns, "received_ns": row.received_ns})


class Deliveries:
    def __init__(self, db: Database, box: SecretBox, senders: Senders, clock: Clock,
                 config: DeliveryConfig | None = None) -> None:
        self._db = db
        self._box = box
        self._senders = senders
        self._clock = clock
        self.config = config or DeliveryConfig()

    async def deliver_due(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        now = self._clock()
        async with self._db.transaction() as conn:
            # At most ``per_destination`` rows of each destination a round, every destination with
            # due items: one organisation's backlog never holds another's items back.
            cur = await conn.execute(
                "UPDATE forwarding_outbox o SET attempts = o.attempts + 1, next_attempt_at = %s "
                "WHERE o.id IN (SELECT due.id FROM forwarding_destinations d CROSS JOIN LATERAL "
                "(SELECT id FROM forwarding_outbox WHERE destination_id = d.destination_id AND state = 'pending' "
                "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) due "
                "LIMIT %s) "
                "RETURNING o.id, o.destination_id::text, o.org_id::text, o.stack_id, o.item_kind, o.payload, o.attempts, "
                "o.created_ns, o.received_ns",
                (now + timedelta(seconds=self.config.lease_s), now, self.config.per_destination,
                 self.config.claim))
            claimed = [_Claimed(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), int(r[8]))
                       for r in await cur.fetchall()]
            if not claimed:
                return 0
            cur = await conn.execute(
                f"SELECT {DESTINATION_COLUMNS}, secret FROM forwarding_destinations WHERE destination_id = ANY(%s::uuid[])",
                (sorted({c.destination_id for c in claimed}),))
            destinations = {str(r[0]): (destination_row(r), bytes(r[9])) for r in await cur.fetchall()}
        groups: dict[tuple[str, str], list[_Claimed]] = {}
        for row in sorted(claimed, key=lambda c: c.id):
            groups.setdefault((row.destination_id, row.kind), []).append(row)
        batches = [(key[0], rows[i:i + self.config.batch]) for key, rows in groups.items()
                   for i in range(0, len(rows), self.config.batch)]
        results = await asyncio.gather(*(self._send(destinations.get(d), rows) for d, rows in batches))
        await self._record(list(zip(batches, results, strict=True)))
        return len(claimed)

    async def _send(self, found: tuple[Destination, bytes] | None, rows: list[_Claimed]) -> list[Outcome]:
        if found is None:  # deleted meanwhile (its rows cascade away)
            return [Outcome(False, error="the destination was deleted")] * len(rows)
        destination, sealed = found
        try:
            secret = self._box.open(destination.org_id, destination.destination_id, sealed)
            return await self._senders.send(destination, secret, [_item(r) for r in rows])
        except Exception as exc:  # a bug or an undecryptable secret: record it, never lose the rows
            _log.warning("forwarding to %s failed", destination.destination_id, exc_info=True)
            return [Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])] * len(rows)

    async def _record(self, results: list[tuple[tuple[str, list[_Claimed]], list[Outcome]]]) -> None:
        now = self._clock()
        done, retries, log = [], [], []
        for (destination_id, rows), outcomes in results:
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome.delivered:
                    done.append(("delivered", outcome.status, "", now, row.id))
                elif outcome.retry and row.attempts < self.config.max_attempts:
                    wait = backoff_s(row.attempts, self.config.retry_initial_s, self.config.retry_max_s,
                                     random.uniform(0.8, 1.2), outcome.retry_after_s)
                    retries.append((now + timedelta(seconds=wait), outcome.status, outcome.error, row.id))
                else:
                    done.append(("failed", outcome.status, outcome.error, now, row.id))
            if rows and rows[0].org_id:
                worst = _summary(outcomes, [r.attempts for r in rows], self.config.max_attempts)
                log.append((rows[0].org_id, destination_id, now, len(rows), worst[0], max(r.attempts for r in rows),
                            worst[1], worst[2]))
        async with self._db.transaction() as conn, conn.cursor() as cur:
            if done:
                await cur.executemany(
                    "UPDATE forwarding_outbox SET state = %s, last_status = %s, last_error = %s, done_at = %s "
                    "WHERE id = %s AND state = 'pending'", done)
            if retries:
                await cur.executemany(
                    "UPDATE forwarding_outbox SET next_attempt_at = %s, last_status = %s, last_error = %s "
                    "WHERE id = %s AND state = 'pending'", retries)
            if log:
                await cur.executemany(
                    "INSERT INTO forwarding_delivery_log (org_id, destination_id, at, items, outcome, attempts, "
                    "http_status, error) SELECT %s, %s, %s, %s, %s, %s, %s, %s WHERE EXISTS "
                    "(SELECT 1 FROM forwarding_destinations WHERE destination_id = %s)",
                    [(*line, line[1]) for line in log])

    async def prune(self) -> int:
        """Forget delivered and failed rows and delivery-log lines older than the retention."""
        before = self._clock() - timedelta(seconds=self.config.retention_s)
        async with self._db.transaction() as conn:
            a = await conn.execute("DELETE FROM forwarding_outbox WHERE state <> 'pending' AND done_at < %s", (before,))
            b = await conn.execute("DELETE FROM forwarding_delivery_log WHERE at < %s", (before,))
            c = await conn.execute("DELETE FROM forwarding_decision_counts WHERE count = sent AND minute < %s",
                                   (before,))
            return a.rowcount + b.rowcount + c.rowcount


def _summary(outcomes: Sequence[Outcome], attempts: Sequence[int], max_attempts: int) -> tuple[str, int | None, str]:
    """A send's line in the delivery log: delivered if every item was, else its first problem."""
    for outcome, tried in zip(outcomes, attempts, strict=True):
        if not outcome.delivered:
            state = "retrying" if outcome.retry and tried < max_attempts else "failed"
            return state, outcome.status, outcome.error
    return "delivered", outcomes[0].status if outcomes else None, ""
