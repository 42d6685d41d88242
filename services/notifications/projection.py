"""The notifications projections, each writing its rows with its consumed log position in ONE
transaction (a redelivered batch is skipped by position):

``NotificationSink`` (``sync.items.v1``): approval events into ``notification_requests`` and
the notifications they cause into ``notification_deliveries``. Deliveries are unique per
(destination, approval, event, step), so nothing is queued twice. What it decides is recorded
as the service's events (``ApprovalRouted``, ``NotificationQueued``), added to the outbox in
the same transaction:

* a new PENDING approval opens a request, picks its rule (most specific; ``ApprovalRouted``
  records the choice and when it opened) and queues step 0 (``approval.requested``), unless
  its deadline has passed already (an old event replayed);
* a resolved one closes the request and queues ``approval.resolved`` to the PagerDuty and
  webhook destinations it was sent to (PagerDuty resolves the incident; Slack and email
  stay quiet); a late PENDING never reopens a closed request.

``ChangeSink`` (``notifications.events.v1``): the service's own events applied again (below).
On an empty-database rebuild it runs first (the service waits for it), so the request a
PENDING snapshot finds is the one the log says was opened, with its rule and its time, and
the notifications it would queue are there already: nothing new is decided or sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from psycopg import AsyncConnection

from faramesh_cloud.consumer.runner import dead_letter
from faramesh_cloud.identity.groups import member_emails_in
from faramesh_cloud.log.port import Log
from faramesh_cloud.notifications.apply import (
    Recorder,
    applied_already,
    apply,
    queue_change,
    record_all,
)
from faramesh_cloud.notifications.changes import ApprovalRouted, NotificationQueued, derived_id
from faramesh_cloud.notifications.domain import Event, Notice, Rule, Step, due_steps, route
from faramesh_cloud.notifications.events import Seen
from faramesh_cloud.notifications.processor import ApprovalSeen
from faramesh_cloud.notifications.store import org_rules, told_destinations
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
_log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
POSITIONS: Final = "notification_positions"

REQUEST_COLUMNS = ("org_id, stack_id, defer_token, agent_id, tool_id, session_id, reason, priority, matched_rule_id, "
                   "created_at, deadline, opened_at, state, outcome, resolved_by, rule_id, steps_sent")


class Lookups:
    """Per-transaction memo of what every approval of a batch looks up (the organisation, its
    rules, its destinations, the stack's name): one query each per batch, not per approval."""

    def __init__(self) -> None:
        self._orgs: dict[str, bool] = {}
        self._rules: dict[str, list[Rule]] = {}
        self._destinations: dict[str, set[str]] = {}
        self._names: dict[tuple[str, str], tuple[str, str]] = {}
        self._groups: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}

    async def org_exists(self, conn: Conn, org_id: str) -> bool:
        if org_id not in self._orgs:
            cur = await conn.execute("SELECT 1 FROM orgs WHERE org_id = %s", (org_id,))
            self._orgs[org_id] = await cur.fetchone() is not None
        return self._orgs[org_id]

    async def rules(self, conn: Conn, org_id: str) -> list[Rule]:
        if org_id not in self._rules:
            self._rules[org_id] = await org_rules(conn, org_id)
        return self._rules[org_id]

    async def destinations(self, conn: Conn, org_id: str) -> set[str]:
        if org_id not in self._destinations:
            cur = await conn.execute("SELECT destination_id::text FROM notification_destinations WHERE org_id = %s",
                                     (org_id,))
            self._destinations[org_id] = {r[0] for r in await cur.fetchall()}
        return self._destinations[org_id]

    async def group_emails(self, conn: Conn, org_id: str, group_ids: tuple[str, ...]) -> dict[str, list[str]]:
        if (org_id, group_ids) not in self._groups:
            self._groups[(org_id, group_ids)] = await member_emails_in(conn, org_id, group_ids)
        return self._groups[(org_id, group_ids)]

    async def names(self, conn: Conn, org_id: str, stack_id: str) -> tuple[str, str]:
        if (org_id, stack_id) not in self._names:
            self._names[(org_id, stack_id)] = await names(conn, org_id, stack_id)
        return self._names[(org_id, stack_id)]


async def names(conn: Conn, org_id: str, stack_id: str) -> tuple[str, str]:
    cur = await conn.execute(
        "SELECT o.slug, coalesce((SELECT s.name FROM stacks s WHERE s.org_id = o.org_id "
        "AND s.stack_id::text = %s), '') FROM orgs o WHERE o.org_id = %s", (stack_id, org_id))
    row = await cur.fetchone()
    return (row[0], row[1]) if row is not None else ("", "")


def notice_for(row: dict[str, Any], event: Event, *, slug: str, stack_name: str, link_base: str,
               step: int = 0, after_minutes: int = 0) -> Notice:
    query = urlencode({"stack": row["stack_id"], "agent": row["agent_id"]})
    return Notice(
        event=event, org_id=str(row["org_id"]), org_slug=slug, stack_id=row["stack_id"], stack_name=stack_name,
        defer_token=row["defer_token"], agent_id=row["agent_id"], tool_id=row["tool_id"], reason=row["reason"],
        priority=row["priority"], matched_rule_id=row["matched_rule_id"], session_id=row["session_id"],
        created_at=row["created_at"].isoformat(), deadline=row["deadline"].isoformat(),
        link=f"{link_base.rstrip('/')}/o/{slug}/approvals?{query}" if link_base and slug else "",
        step=step, after_minutes=after_minutes, outcome=row.get("outcome", ""),
        resolved_by=row.get("resolved_by", ""))


async def step_notices(conn: Conn, lookups: Lookups, org_id: str, step: Step,
                       notice: Notice) -> list[tuple[str, Notice]]:
    """(destination, what it is sent) for each existing destination ``step`` queues to. The
    step's groups are resolved to their members' emails now and written into the notice of
    the step's group email destination (``group_recipients``; ``only_groups`` when the step
    does not also name that destination for its own list), so the queued event says who was
    told and a rebuild sends to the same people. A group with nobody in it adds nobody."""
    existing = await lookups.destinations(conn, org_id)
    out = [(d, notice) for d in step.destinations if d in existing]
    if step.groups and step.group_email in existing:
        emails = await lookups.group_emails(conn, org_id, step.groups)
        recipients = sorted({e for g in step.groups for e in emails.get(g, ())})
        if recipients:
            direct = step.group_email in step.destinations
            to_groups = replace(notice, extra={**notice.extra, "group_recipients": recipients,
                                               "only_groups": not direct})
            out = [(d, to_groups if d == step.group_email else n) for d, n in out]
            if not direct:
                out.append((step.group_email, to_groups))
    return out


async def queue_steps(conn: Conn, row: dict[str, Any], rule: Rule, steps: Sequence[int], now: datetime,
                      link_base: str, lookups: Lookups | None = None, recorder: Recorder | None = None) -> None:
    """Queue the given steps of ``rule`` for this request and record how far it got."""
    if not steps:
        return
    lookups = lookups or Lookups()
    slug, stack_name = await lookups.names(conn, str(row["org_id"]), row["stack_id"])
    last = max(steps)
    queued: list[tuple[int, NotificationQueued]] = []
    for index in steps:
        step = rule.steps[index]
        event = Event.REQUESTED if index == 0 else Event.ESCALATED
        notice = notice_for(row, event, slug=slug, stack_name=stack_name, link_base=link_base, step=index,
                            after_minutes=step.after_minutes)
        queued += [(index, queue_change(destination_id, told, now))
                   for destination_id, told in await step_notices(conn, lookups, str(row["org_id"]), step, notice)]
    changes = [c for _, c in queued]  # one statement for all of them (apply_all)
    applied = await (recorder.record_all(changes) if recorder is not None else record_all(conn, changes))
    # applying a queued notification of the last step records the progress
    recorded_last = any(done and index == last for (index, _), done in zip(queued, applied, strict=True))
    if not recorded_last:  # (a step whose destinations are all gone counts as sent too)
        await conn.execute("UPDATE notification_requests SET steps_sent = %s WHERE org_id = %s AND stack_id = %s "
                           "AND defer_token = %s AND steps_sent < %s",
                           (last + 1, row["org_id"], row["stack_id"], row["defer_token"], last + 1))


async def _apply(conn: Conn, fact: ApprovalSeen, now: datetime, link_base: str, lookups: Lookups,
                 recorder: Recorder) -> None:
    if not await lookups.org_exists(conn, fact.org_id):
        return  # no such organisation (any more): nothing to route
    cur = await conn.execute(
        f"SELECT {REQUEST_COLUMNS} FROM notification_requests WHERE org_id = %s AND stack_id = %s "
        "AND defer_token = %s FOR UPDATE", (fact.org_id, fact.stack_id, fact.defer_token))
    found = await cur.fetchone()
    if fact.outcome == "":
        if found is not None:
            if found[12] == "open":  # a re-sent snapshot: refresh the deadline only
                await conn.execute("UPDATE notification_requests SET deadline = %s WHERE org_id = %s "
                                   "AND stack_id = %s AND defer_token = %s",
                                   (fact.deadline, fact.org_id, fact.stack_id, fact.defer_token))
            return
        rule = route(await lookups.rules(conn, fact.org_id), fact.stack_id, fact.agent_id)
        await recorder.record(ApprovalRouted(
            derived_id("routed", fact.org_id, fact.stack_id, fact.defer_token), now, fact.org_id, fact.stack_id,
            fact.defer_token, fact.agent_id, fact.tool_id, fact.session_id, fact.reason, fact.priority,
            fact.matched_rule_id, fact.created_at, fact.deadline, rule.rule_id if rule is not None else ""))
        if rule is not None:
            row = _row(fact, now)
            await queue_steps(conn, row, rule, due_steps(rule.steps[:1], 0, now, fact.deadline, now), now,
                              link_base, lookups, recorder)
        return
    if found is None:
        await conn.execute(
            f"INSERT INTO notification_requests ({REQUEST_COLUMNS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'resolved', %s, %s, NULL, 0)",
            (fact.org_id, fact.stack_id, fact.defer_token, fact.agent_id, fact.tool_id, fact.session_id,
             fact.reason, fact.priority, fact.matched_rule_id, fact.created_at, fact.deadline,
             fact.received_at or now, fact.outcome, fact.resolved_by))
        return
    if found[12] != "open":
        return
    await conn.execute(
        "UPDATE notification_requests SET state = 'resolved', outcome = %s, resolved_by = %s "
        "WHERE org_id = %s AND stack_id = %s AND defer_token = %s",
        (fact.outcome, fact.resolved_by, fact.org_id, fact.stack_id, fact.defer_token))
    told = await told_destinations(conn, fact.org_id, fact.stack_id, fact.defer_token,
                                   (Event.REQUESTED, Event.ESCALATED))
    if not told:
        return
    row = {**_row(fact, found[11]), "outcome": fact.outcome, "resolved_by": fact.resolved_by}
    slug, stack_name = await lookups.names(conn, fact.org_id, fact.stack_id)
    notice = notice_for(row, Event.RESOLVED, slug=slug, stack_name=stack_name, link_base=link_base)
    await recorder.record_all([queue_change(destination_id, notice, now) for destination_id in told])


def _row(fact: ApprovalSeen, opened_at: datetime) -> dict[str, Any]:
    return {"org_id": fact.org_id, "stack_id": fact.stack_id, "defer_token": fact.defer_token,
            "agent_id": fact.agent_id, "tool_id": fact.tool_id, "session_id": fact.session_id,
            "reason": fact.reason, "priority": fact.priority, "matched_rule_id": fact.matched_rule_id,
            "created_at": fact.created_at, "deadline": fact.deadline, "opened_at": opened_at}


class NotificationSink:
    def __init__(self, db: Database, clock: Clock, link_base: str, on_queued: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._link_base = link_base
        self._on_queued = on_queued

    async def write(self, rows: Sequence[ApprovalSeen]) -> None:
        if not rows:
            return
        now = self._clock()
        lookups = Lookups()

        async def one(conn: Conn, fact: ApprovalSeen) -> None:
            await _apply(conn, fact, now, self._link_base, lookups, recorder)

        async with self._db.transaction() as conn:
            recorder = Recorder(conn)
            await apply_unseen(conn, POSITIONS, rows, one)
            await recorder.flush()
        self._on_queued()


class ChangeSink:
    """The consumer of ``notifications.events.v1``: each event applied with ``apply`` (what
    the command handlers, this projection, the sweep and the sender did already: a no-op; after
    an empty-database rebuild, the state), with the position, in one transaction. Every
    record moves the position, so the service's catch-up can wait for it: a record that
    cannot be read is dead-lettered with its reason first, a kind from a newer version is
    passed over, and so are events of an organisation this installation does not know."""

    def __init__(self, db: Database, log: Log, dead_letters: str, on_applied: Callable[[], None]) -> None:
        self._db = db
        self._log = log
        self._dead_letters = dead_letters
        self._on_applied = on_applied

    async def write(self, rows: Sequence[Seen]) -> None:
        parked = [dead_letter(r.message, r.problem) for r in rows if r.problem and r.message is not None]
        if parked:  # before the position passes them; a retry may park them twice, never zero times
            await self._log.append(self._dead_letters, parked)
        lookups = Lookups()
        done: set[str] = set()
        changed = False

        async def one(conn: Conn, seen: Seen) -> None:
            nonlocal changed
            if seen.change is None or seen.change.event_id in done:
                return
            if not await lookups.org_exists(conn, seen.change.org_id):
                _log.info("event %s of unknown organisation %s passed over", seen.change.event_id,
                          seen.change.org_id)
                return
            changed = await apply(conn, seen.change) or changed

        async with self._db.transaction() as conn:
            done = await applied_already(conn, [r.change for r in rows if r.change is not None])
            await apply_unseen(conn, POSITIONS, rows, one)
        if changed:  # (normally nothing: what the service did itself is applied already)
            self._on_applied()
