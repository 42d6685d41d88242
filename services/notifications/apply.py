"""The one way the service's state changes: :func:`apply` of an event (``changes.py``).

The command handlers (``api.py``), the projection of ``sync.items.v1``, the escalation sweep
and the sender each build an event and :func:`record` it: apply it and add it to the
transactional outbox, in the caller's transaction. The consumer of ``notifications.events.v1``
(``projection.ChangeSink``) applies the same events read back from the log: a no-op in normal
operation, the whole state after an empty-database rebuild.

Re-applying an event changes nothing:

* configuration events are applied once by event id (``notification_applied_events``), so the
  consumer, which reads an event after the command handler applied it and maybe newer ones,
  never puts an older destination or rule back;
* everything else only ever moves forward, by natural key: a request opens once; a
  notification is queued once per (destination, approval or alert, event, step), under an id
  derived from that key; a delivery ends once (``pending`` to ``delivered`` or ``failed``).

One organisation's events are on one partition in commit order, so a rebuild applies them
in the order they happened (a notification after its destination was created, and not after
it was deleted).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.notifications.changes import (
    CONFIG_KINDS,
    ApprovalRouted,
    Change,
    Config,
    DeliveriesPruned,
    DestinationCreated,
    DestinationDeleted,
    DestinationSecretRotated,
    DestinationUpdated,
    NotificationDelivered,
    NotificationFailed,
    NotificationQueued,
    RoutingRuleDeleted,
    RoutingRuleSet,
    derived_id,
    notification_id,
)
from faramesh_cloud.notifications.domain import Event, Notice, steps_json
from faramesh_cloud.notifications.events import OUTBOX, TOPIC, encode

Conn = AsyncConnection[Any]


async def record(conn: Conn, change: Change) -> bool:
    """Apply ``change`` and, if it changed anything, add it to the outbox (same transaction)."""
    applied = await apply(conn, change)
    if applied:
        await OUTBOX.add(conn, TOPIC, [encode(change)])
    return applied


class Recorder:
    """:func:`record` for many events of one transaction: each applied at once, all added to
    the outbox together at :meth:`flush` (one insert and one relay wake-up, not one each)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._records: list[LogRecord] = []

    async def record(self, change: Change) -> bool:
        applied = await apply(self.conn, change)
        if applied:
            self._records.append(encode(change))
        return applied

    async def record_all(self, changes: Sequence[Change]) -> list[bool]:
        """:meth:`record` of each, in order, with :func:`apply_all`'s fewer round trips."""
        applied = await apply_all(self.conn, changes)
        self._records += [encode(c) for c, done in zip(changes, applied, strict=True) if done]
        return applied

    async def flush(self) -> None:
        """Before the transaction commits."""
        records, self._records = self._records, []
        await OUTBOX.add(self.conn, TOPIC, records)


async def record_all(conn: Conn, changes: Sequence[Change]) -> list[bool]:
    """:func:`record` of each (:func:`apply_all`), their events added to the outbox together."""
    recorder = Recorder(conn)
    applied = await recorder.record_all(changes)
    await recorder.flush()
    return applied


def queue_change(destination_id: str, notice: Notice, now: datetime) -> NotificationQueued:
    """The event that queues ``notice`` for one destination (its ids derived from what it is)."""
    nid = notification_id(notice.org_id, destination_id, notice.stack_id, notice.defer_token, notice.event,
                          notice.step)
    return NotificationQueued(derived_id("queued", nid), now, notice.org_id, nid, destination_id, notice)


async def enqueue(conn: Conn, destination_id: str, notice: Notice, now: datetime,
                  recorder: Recorder | None = None) -> bool:
    """Queue one notification (and record that it was); False when it was queued before (a
    replay) or its destination is gone."""
    change = queue_change(destination_id, notice, now)
    return await (recorder.record(change) if recorder is not None else record(conn, change))


async def apply(conn: Conn, change: Change) -> bool:
    """Make ``change`` part of the state; True if it changed anything."""
    match change:
        case ApprovalRouted():
            return await _routed(conn, change)
        case NotificationQueued():
            return await _queued(conn, change)
        case NotificationDelivered():
            return await _ended(conn, change.org_id, change.notification_id, "delivered", change.attempts,
                                change.status, "", change.occurred_at)
        case NotificationFailed():
            return await _ended(conn, change.org_id, change.notification_id, "failed", change.attempts,
                                change.status, change.error, change.occurred_at)
    if not await _first_time(conn, change):
        return False
    await _configure(conn, change)
    return True


async def apply_all(conn: Conn, changes: Sequence[Change]) -> list[bool]:
    """:func:`apply` of each of ``changes`` in this order, with the same answers and the same
    state after, in fewer round trips: each run of ``NotificationQueued`` is one statement, and
    so is each run of delivery ends (``NotificationDelivered`` / ``NotificationFailed``);
    anything else is applied one by one."""
    applied: list[bool] = []
    start = 0
    while start < len(changes):
        kind = _bulk_kind(changes[start])
        end = start + 1
        while end < len(changes) and kind is not None and _bulk_kind(changes[end]) is kind:
            end += 1
        run = changes[start:end]
        if kind is NotificationQueued:
            applied += await _queued_all(conn, [c for c in run if isinstance(c, NotificationQueued)])
        elif kind is NotificationDelivered:
            applied += await _ended_all(conn, [c for c in run if isinstance(c, NotificationDelivered | NotificationFailed)])
        else:
            applied += [await apply(conn, c) for c in run]
        start = end
    return applied


def _bulk_kind(change: Change) -> type[Change] | None:
    if isinstance(change, NotificationQueued):
        return NotificationQueued
    if isinstance(change, NotificationDelivered | NotificationFailed):
        return NotificationDelivered
    return None


def _firsts(keys: Sequence[tuple[str, ...]]) -> list[bool] | None:
    """Which of ``keys`` come first among equal keys (a later equal change never applies once
    the first did or did not); None when one notification id comes with two different keys
    (only a forged log can do that: then the caller applies one by one, exactly as ``apply``)."""
    seen: dict[str, tuple[str, ...]] = {}
    first: list[bool] = []
    for key in keys:
        if key[0] in seen:
            if seen[key[0]] != key:
                return None
            first.append(False)
        else:
            seen[key[0]] = key
            first.append(True)
    return first


_QUEUED_ALL = (
    "WITH q AS (SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::text[], "
    "%s::int4[], %s::text[], %s::timestamptz[]) AS q (notification_id, org_id, destination_id, stack_id, "
    "defer_token, event, step, notice, at)), "
    "added AS (INSERT INTO notification_deliveries (notification_id, org_id, destination_id, stack_id, defer_token, "
    "event, step, notice, next_attempt_at, created_at) SELECT q.notification_id, q.org_id, q.destination_id, "
    "q.stack_id, q.defer_token, q.event, q.step, q.notice::jsonb, q.at, q.at FROM q WHERE EXISTS (SELECT 1 FROM "
    "notification_destinations d WHERE d.org_id = q.org_id AND d.destination_id = q.destination_id) "
    "AND NOT EXISTS (SELECT 1 FROM notification_prunes p WHERE p.org_id = q.org_id AND q.at < p.pruned_before) "
    "ON CONFLICT DO NOTHING RETURNING notification_id, org_id, stack_id, defer_token, event, step), "
    "progress AS (UPDATE notification_requests r SET steps_sent = p.next FROM (SELECT org_id, stack_id, "
    "defer_token, max(step) + 1 AS next FROM added WHERE event = ANY(%s::text[]) GROUP BY 1, 2, 3) p "
    "WHERE r.org_id = p.org_id AND r.stack_id = p.stack_id AND r.defer_token = p.defer_token "
    "AND r.steps_sent < p.next) "
    "SELECT notification_id::text FROM added")


async def _queued_all(conn: Conn, changes: Sequence[NotificationQueued]) -> list[bool]:
    """``_queued`` of each in one statement (the request's progress moved as far as the
    furthest step queued, as one by one would)."""
    first = _firsts([(c.notification_id, c.org_id, c.destination_id) for c in changes])
    if first is None:
        return [await _queued(conn, c) for c in changes]
    batch = [c for c, f in zip(changes, first, strict=True) if f]
    cur = await conn.execute(_QUEUED_ALL, (
        [c.notification_id for c in batch], [c.org_id for c in batch], [c.destination_id for c in batch],
        [c.notice.stack_id for c in batch], [c.notice.defer_token for c in batch],
        [c.notice.event.value for c in batch], [c.notice.step for c in batch],
        [json.dumps(c.notice.as_dict()) for c in batch], [c.occurred_at for c in batch],
        [Event.REQUESTED.value, Event.ESCALATED.value]))
    added = {r[0] for r in await cur.fetchall()}
    return [f and c.notification_id in added for c, f in zip(changes, first, strict=True)]


_ENDED_ALL = (
    "UPDATE notification_deliveries d SET state = u.state, attempts = u.attempts, last_status = u.status, "
    "last_error = u.error, next_attempt_at = u.at, "
    "delivered_at = CASE WHEN u.state = 'delivered' THEN u.at ELSE d.delivered_at END "
    "FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::int4[], %s::int4[], %s::text[], %s::timestamptz[]) "
    "AS u (org_id, notification_id, state, attempts, status, error, at) "
    "WHERE d.org_id = u.org_id AND d.notification_id = u.notification_id AND d.state = 'pending' "
    "RETURNING d.notification_id::text")


async def _ended_all(conn: Conn, changes: Sequence[NotificationDelivered | NotificationFailed]) -> list[bool]:
    """``_ended`` of each in one statement: a delivery ends once, the first end wins."""
    first = _firsts([(c.notification_id, c.org_id) for c in changes])
    if first is None:
        return [await apply(conn, c) for c in changes]
    batch = [c for c, f in zip(changes, first, strict=True) if f]
    cur = await conn.execute(_ENDED_ALL, (
        [c.org_id for c in batch], [c.notification_id for c in batch],
        ["delivered" if isinstance(c, NotificationDelivered) else "failed" for c in batch],
        [c.attempts for c in batch], [c.status for c in batch],
        [c.error if isinstance(c, NotificationFailed) else "" for c in batch], [c.occurred_at for c in batch]))
    ended = {r[0] for r in await cur.fetchall()}
    return [f and c.notification_id in ended for c, f in zip(changes, first, strict=True)]


async def applied_already(conn: Conn, changes: Sequence[Change]) -> set[str]:
    """The event ids among ``changes`` that ``apply`` would find applied (a few queries for a
    whole batch: in normal operation the consumer of the service's own topic finds them all)."""
    found: set[str] = set()
    config = [c.event_id for c in changes if isinstance(c, CONFIG_KINDS)]
    if config:
        cur = await conn.execute("SELECT event_id::text FROM notification_applied_events "
                                 "WHERE event_id = ANY(%s::uuid[])", (config,))
        found |= {r[0] for r in await cur.fetchall()}
    queued = {c.notification_id: c.event_id for c in changes if isinstance(c, NotificationQueued)}
    ended = {c.notification_id: c.event_id for c in changes if isinstance(c, NotificationDelivered | NotificationFailed)}
    if queued or ended:
        cur = await conn.execute("SELECT notification_id::text, state FROM notification_deliveries "
                                 "WHERE notification_id = ANY(%s::uuid[])", ([*queued, *ended],))
        for nid, state in await cur.fetchall():
            if nid in queued:
                found.add(queued[nid])
            if nid in ended and state != "pending":
                found.add(ended[nid])
    routed = [c for c in changes if isinstance(c, ApprovalRouted)]
    if routed:
        cur = await conn.execute(
            "SELECT r.org_id::text, r.stack_id, r.defer_token FROM notification_requests r JOIN "
            "unnest(%s::uuid[], %s::text[], %s::text[]) AS k (org_id, stack_id, defer_token) "
            "USING (org_id, stack_id, defer_token)",
            ([c.org_id for c in routed], [c.stack_id for c in routed], [c.defer_token for c in routed]))
        present = {tuple(r) for r in await cur.fetchall()}
        found |= {c.event_id for c in routed if (c.org_id, c.stack_id, c.defer_token) in present}
    return found


async def _first_time(conn: Conn, change: Config) -> bool:
    cur = await conn.execute("INSERT INTO notification_applied_events (event_id, org_id) VALUES (%s, %s) "
                             "ON CONFLICT DO NOTHING", (change.event_id, change.org_id))
    return cur.rowcount == 1


async def _configure(conn: Conn, change: Config) -> None:
    match change:
        case DestinationCreated():
            # A name or id taken already cannot happen in log order; a command racing a
            # rebuild is refused while it runs (the service's catch-up).
            await conn.execute(
                "INSERT INTO notification_destinations (destination_id, org_id, name, kind, config, secret, "
                "created_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (change.destination_id, change.org_id, change.name, change.kind.value, Jsonb(change.config),
                 change.sealed_secret, change.occurred_at, change.actor.label))
        case DestinationSecretRotated():
            await conn.execute("UPDATE notification_destinations SET secret = %s WHERE org_id = %s "
                               "AND destination_id = %s", (change.sealed_secret, change.org_id, change.destination_id))
        case DeliveriesPruned():
            await conn.execute("DELETE FROM notification_deliveries WHERE org_id = %s AND created_at < %s "
                               "AND state <> 'pending'", (change.org_id, change.pruned_before))
            await conn.execute(
                "INSERT INTO notification_prunes (org_id, pruned_before, pruned_at, rows_pruned) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (org_id) DO UPDATE SET "
                "pruned_before = greatest(notification_prunes.pruned_before, EXCLUDED.pruned_before), "
                "pruned_at = greatest(notification_prunes.pruned_at, EXCLUDED.pruned_at), "
                "rows_pruned = notification_prunes.rows_pruned + EXCLUDED.rows_pruned",
                (change.org_id, change.pruned_before, change.occurred_at, change.rows))
        case DestinationUpdated():
            await conn.execute("UPDATE notification_destinations SET name = %s, config = %s WHERE org_id = %s "
                               "AND destination_id = %s",
                               (change.name, Jsonb(change.config), change.org_id, change.destination_id))
        case DestinationDeleted():  # its deliveries go with it (ON DELETE CASCADE)
            await conn.execute("DELETE FROM notification_destinations WHERE org_id = %s AND destination_id = %s",
                               (change.org_id, change.destination_id))
        case RoutingRuleSet():
            await conn.execute(
                "INSERT INTO notification_rules (rule_id, org_id, stack_id, agent_id, steps, updated_at, subject) "
                "SELECT %(rule)s, %(org)s, %(stack)s, %(agent)s, %(steps)s, %(at)s, %(subject)s "
                "WHERE NOT EXISTS (SELECT 1 FROM notification_rules WHERE rule_id = %(rule)s AND "
                "(org_id, subject, stack_id, agent_id) IS DISTINCT FROM (%(org)s::uuid, %(subject)s, %(stack)s, "
                "%(agent)s)) "
                "ON CONFLICT (org_id, subject, stack_id, agent_id) DO UPDATE SET rule_id = EXCLUDED.rule_id, "
                "steps = EXCLUDED.steps, updated_at = EXCLUDED.updated_at",
                {"rule": change.rule_id, "org": change.org_id, "stack": change.stack_id, "agent": change.agent_id,
                 "steps": Jsonb(steps_json(change.steps)), "at": change.occurred_at,
                 "subject": change.subject.value})
        case RoutingRuleDeleted():
            await conn.execute("DELETE FROM notification_rules WHERE org_id = %s AND rule_id = %s",
                               (change.org_id, change.rule_id))


async def _routed(conn: Conn, change: ApprovalRouted) -> bool:
    cur = await conn.execute(
        "INSERT INTO notification_requests (org_id, stack_id, defer_token, agent_id, tool_id, session_id, reason, "
        "priority, matched_rule_id, created_at, deadline, opened_at, state, outcome, resolved_by, rule_id, "
        "steps_sent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', '', '', %s, 0) "
        "ON CONFLICT DO NOTHING",
        (change.org_id, change.stack_id, change.defer_token, change.agent_id, change.tool_id, change.session_id,
         change.reason, change.priority, change.matched_rule_id, change.created_at, change.deadline,
         change.occurred_at, change.rule_id or None))
    return cur.rowcount == 1


async def _queued(conn: Conn, change: NotificationQueued) -> bool:
    n = change.notice
    cur = await conn.execute(
        "INSERT INTO notification_deliveries (notification_id, org_id, destination_id, stack_id, defer_token, "
        "event, step, notice, next_attempt_at, created_at) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s "
        "WHERE EXISTS (SELECT 1 FROM notification_destinations WHERE org_id = %s AND destination_id = %s) "
        "AND NOT EXISTS (SELECT 1 FROM notification_prunes WHERE org_id = %s AND %s < pruned_before) "
        "ON CONFLICT DO NOTHING",
        (change.notification_id, change.org_id, change.destination_id, n.stack_id, n.defer_token, n.event.value,
         n.step, Jsonb(n.as_dict()), change.occurred_at, change.occurred_at, change.org_id, change.destination_id,
         change.org_id, change.occurred_at))
    if cur.rowcount != 1:
        return False
    if n.event in (Event.REQUESTED, Event.ESCALATED):  # how far the request's escalation got
        await conn.execute("UPDATE notification_requests SET steps_sent = %s WHERE org_id = %s AND stack_id = %s "
                           "AND defer_token = %s AND steps_sent < %s",
                           (n.step + 1, change.org_id, n.stack_id, n.defer_token, n.step + 1))
    return True


async def _ended(conn: Conn, org_id: str, nid: str, state: str, attempts: int, status: int | None, error: str,
                 at: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE notification_deliveries SET state = %s, attempts = %s, last_status = %s, last_error = %s, "
        "next_attempt_at = %s, delivered_at = CASE WHEN %s THEN %s ELSE delivered_at END "
        "WHERE org_id = %s AND notification_id = %s AND state = 'pending'",
        (state, attempts, status, error, at, state == "delivered", at, org_id, nid))
    return cur.rowcount == 1
