"""Emergency commands notify through the same routing (subject ``emergency_commands``).

The service consumes ``commands.emergency.v1`` (the approvals service's outbox) with its own
consumer group ``<group>-commands`` (``notifications-commands``) and never reads the approvals
service's tables:

* ``CommandProcessor`` (pure) reads ``EmergencyCommandIssued`` and ``EmergencyCommandAcknowledged``
  (a ``Delivered`` is not notified; unknown kinds are passed over, unreadable records
  dead-lettered with the reason).
* ``CommandSink`` handles a batch in ONE transaction with its position
  (``notification_positions``, topic ``commands.emergency.v1``): an issued command is kept in
  ``notification_commands`` (what its acknowledgement needs: agent, kind, reason, issuer) and
  ``emergency.issued`` is queued to the destinations (and groups) of the organisation's most
  specific ``emergency_commands`` rule for (stack, agent); an acknowledgement queues
  ``emergency.applied`` (applied, already in effect: PagerDuty resolves the incident) or
  ``emergency.failed`` (rejected, failed: severity critical) the same way.
* **Rebuild-safe:** a notification's id is uuid5 of (destination, ``cmd-<command id>``, event,
  step) and its ``NotificationQueued`` is on the service's own topic, which is applied before
  this consumer starts (``OwnEvents``): a replay or a new group finds every notification queued
  already and queues nothing twice. And an event older than ``STALE`` when read (a new group
  reading the topic from its start, an upgrade) is recorded but notifies nobody, like an
  approval whose deadline has passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from faramesh_cloud_api.approvals.v1 import events_pb2 as pb
from faramesh_cloud_api.sync.v1 import emergency_pb2
from google.protobuf.message import DecodeError
from psycopg import AsyncConnection

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, H_ORG
from faramesh_cloud.log.port import Message
from faramesh_cloud.notifications.apply import Recorder, queue_change
from faramesh_cloud.notifications.domain import Event, Notice, Subject, route
from faramesh_cloud.notifications.projection import POSITIONS, Lookups, step_notices
from faramesh_cloud.rpc.wire import read_instant
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
Clock = Callable[[], datetime]
STALE: Final = timedelta(hours=1)
TOKEN: Final = "cmd-"
_TYPES: Final = {emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL: "kill",
                 emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE: "isolate"}
_OUTCOMES: Final = {emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED: ("applied", Event.COMMAND_APPLIED),
                    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT: ("already in effect",
                                                                               Event.COMMAND_APPLIED),
                    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_REJECTED: ("rejected", Event.COMMAND_FAILED),
                    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_FAILED: ("failed", Event.COMMAND_FAILED)}


@dataclass(frozen=True, slots=True)
class CommandSeen:
    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    command_id: str
    at: datetime
    event: Event
    agent_id: str = ""  # issued only
    command: str = ""  # kill | isolate (issued only)
    reason: str = ""
    issued_by: str = ""
    outcome: str = ""  # acknowledged only
    message: str = ""


class CommandProcessor:
    """``commands.emergency.v1`` records as what to notify (pure)."""

    def process(self, message: Message) -> CommandSeen | Rejected | None:
        kind = message.headers.get(H_KIND, b"").decode("utf-8", "replace")
        if kind not in ("EmergencyCommandIssued", "EmergencyCommandAcknowledged"):
            return None  # delivered, or a kind of a newer version: nothing to tell
        try:
            body: Any = (pb.EmergencyCommandIssued if kind == "EmergencyCommandIssued"
                         else pb.EmergencyCommandAcknowledged).FromString(message.value)
            org_id = str(uuid.UUID(body.org_id))
        except (DecodeError, ValueError) as exc:
            return Rejected(f"{kind} cannot be read: {exc}")
        if org_id != message.headers.get(H_ORG, b"").decode("utf-8", "replace"):
            return Rejected(f"the event names organisation {org_id} but its org header differs")
        if not body.command_id or not body.HasField("occurred_at"):
            return Rejected(f"{kind} without its command id or time")
        common = {"topic": message.topic, "partition": message.partition, "offset": message.offset,
                  "org_id": org_id, "stack_id": body.stack_id, "command_id": body.command_id,
                  "at": read_instant(body.occurred_at)}
        if kind == "EmergencyCommandIssued":
            return CommandSeen(**common, event=Event.COMMAND_ISSUED, agent_id=body.agent_id,
                               command=_TYPES.get(body.command_type, "command"), reason=body.reason,
                               issued_by=body.issued_by.label or body.issued_by.id)
        outcome, event = _OUTCOMES.get(body.outcome, ("failed", Event.COMMAND_FAILED))
        return CommandSeen(**common, event=event, outcome=outcome, message=body.message[:2000])


class CommandSink:
    def __init__(self, db: Database, clock: Clock, link_base: str, on_queued: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._link_base = link_base
        self._on_queued = on_queued

    async def write(self, rows: Sequence[CommandSeen]) -> None:
        if not rows:
            return
        now = self._clock()
        lookups = Lookups()

        async def one(conn: Conn, seen: CommandSeen) -> None:
            await self._apply(conn, seen, now, lookups, recorder)

        async with self._db.transaction() as conn:
            recorder = Recorder(conn)
            await apply_unseen(conn, POSITIONS, rows, one)
            await recorder.flush()
        self._on_queued()

    async def _apply(self, conn: Conn, seen: CommandSeen, now: datetime, lookups: Lookups,
                     recorder: Recorder) -> None:
        if not await lookups.org_exists(conn, seen.org_id):
            return
        if seen.event is Event.COMMAND_ISSUED:
            await conn.execute(
                "INSERT INTO notification_commands (org_id, command_id, stack_id, agent_id, command_type, reason, "
                "issued_by, issued_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (seen.org_id, seen.command_id, seen.stack_id, seen.agent_id, seen.command, seen.reason,
                 seen.issued_by, seen.at))
        row = await (await conn.execute(
            "SELECT agent_id, command_type, reason, issued_by, issued_at FROM notification_commands "
            "WHERE org_id = %s AND command_id = %s", (seen.org_id, seen.command_id))).fetchone()
        if row is None or now - seen.at > STALE:
            return  # issued before this service knew of it, or an old event read again: nobody is told
        agent_id, command, reason, issued_by, issued_at = row
        rule = route(await lookups.rules(conn, seen.org_id), seen.stack_id, agent_id, Subject.EMERGENCY_COMMANDS)
        if rule is None:
            return
        slug, stack_name = await lookups.names(conn, seen.org_id, seen.stack_id)
        link = (f"{self._link_base}/o/{slug}/emergency/commands/{seen.command_id}?"
                + urlencode({"stack": seen.stack_id})) if self._link_base else ""
        notice = Notice(event=seen.event, org_id=seen.org_id, org_slug=slug, stack_id=seen.stack_id,
                        stack_name=stack_name, defer_token=f"{TOKEN}{seen.command_id}", agent_id=agent_id,
                        tool_id="", reason=reason, priority="high", matched_rule_id="", session_id="",
                        created_at=issued_at.isoformat(), deadline="", link=link, outcome=seen.outcome,
                        resolved_by=issued_by, message=seen.message, extra={"command": command})
        told = await step_notices(conn, lookups, seen.org_id, rule.steps[0], notice)
        await recorder.record_all([queue_change(destination_id, n, now) for destination_id, n in told])
