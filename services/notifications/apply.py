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
    DestinationCreated,
    DestinationDeleted,
    DestinationSecretRotated,
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

    async def flush(self) -> None:
        """Before the transaction commits."""
        records, self._records = self._records, []
        await OUTBOX.add(self.conn, TOPIC, records)


async def enqueue(conn: Conn, destination_id: str, notice: Notice, now: datetime,
                  recorder: Recorder | None = None) -> bool:
    """Queue one notification (and record that it was); False when it was queued before (a
    replay) or its destination is gone."""
    nid = notification_id(notice.org_id, destination_id, notice.stack_id, notice.defer_token, notice.event,
                          notice.step)
    change = NotificationQueued(derived_id("queued", nid), now, notice.org_id, nid, destination_id, notice)
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
        "ON CONFLICT DO NOTHING",
        (change.notification_id, change.org_id, change.destination_id, n.stack_id, n.defer_token, n.event.value,
         n.step, Jsonb(n.as_dict()), change.occurred_at, change.occurred_at, change.org_id, change.destination_id))
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
