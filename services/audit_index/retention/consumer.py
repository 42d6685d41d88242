"""The index's consumers for retention: its own ``audit.retention.v1`` (group
``<group>-retention``, projection ``audit-index/retention``) and the compliance service's
``compliance.events.v1`` (group ``audit-index-compliance``, projection
``audit-index/compliance``: the frameworks each organisation declared). Positions are stored
in ``audit_index_positions`` in the transaction of what they applied.

In normal operation every retention event was applied by the transaction that wrote it, so
the first consumer changes nothing; after a rebuild from an empty database it restores the
policies, holds, horizons and checkpoints, and the service starts the DPR consumers only once
it has caught up (``service.py``): a replay never indexes a record retention removed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud_api.compliance.v1 import events_pb2 as compliance_pb
from google.protobuf.message import DecodeError

from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.retention import events, store
from faramesh_cloud.audit_index.retention.events import RetentionEvent
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.records import event_headers
from faramesh_cloud.log.port import Message
from faramesh_cloud.sql.database import Database

PROJECTION: Final = "audit-index/retention"
COMPLIANCE_PROJECTION: Final = "audit-index/compliance"
COMPLIANCE_GROUP: Final = "audit-index-compliance"


@dataclass(frozen=True, slots=True)
class FrameworksSeen:
    org_id: str
    frameworks: tuple[str, ...]
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class Positioned:
    topic: str
    partition: int
    offset: int
    event: RetentionEvent | FrameworksSeen | None  # None: a kind this consumer passes over


class RetentionEventProcessor:
    """Pure: one ``audit.retention.v1`` message to its event, or ``Rejected`` with the reason."""

    def process(self, message: Message) -> Positioned | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
            event = events.decode(headers.kind, message.value)
        except ValueError as exc:
            return Rejected(f"not a retention event: {exc}")
        if event is not None and event.org_id != headers.org_id:
            return Rejected(f"{headers.kind} names org {event.org_id} but its headers say {headers.org_id}")
        return Positioned(message.topic, message.partition, message.offset, event)


class FrameworksProcessor:
    """Pure: the ``FrameworksDeclared`` events of ``compliance.events.v1``; other kinds pass."""

    def process(self, message: Message) -> Positioned | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
        except ValueError as exc:
            return Rejected(f"not a compliance event: {exc}")
        if headers.kind != "FrameworksDeclared":
            return Positioned(message.topic, message.partition, message.offset, None)
        try:
            declared = compliance_pb.FrameworksDeclared.FromString(message.value)
        except DecodeError as exc:
            return Rejected(f"not a FrameworksDeclared: {exc}")
        if declared.org_id != headers.org_id:
            return Rejected(f"FrameworksDeclared names org {declared.org_id} but its headers say {headers.org_id}")
        at = declared.occurred_at.ToDatetime(tzinfo=UTC) if declared.HasField("occurred_at") else datetime.now(UTC)
        return Positioned(message.topic, message.partition, message.offset,
                          FrameworksSeen(declared.org_id, tuple(declared.frameworks), at))


class RetentionSink:
    """``consumer.runner.Sink``: applies the batch's events in log order, idempotently."""

    def __init__(self, db: Database, projection: str) -> None:
        self._db = db
        self._projection = projection
        self.applied = 0

    async def write(self, rows: Sequence[Positioned]) -> None:
        by_topic: dict[str, list[Positioned]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(row)
        async with self._db.transaction() as conn:
            for topic, found in sorted(by_topic.items()):
                positions = await pg.lock_positions(conn, topic, {r.partition for r in found}, self._projection)
                for row in sorted(found, key=lambda r: (r.partition, r.offset)):
                    if row.offset < positions[row.partition]:
                        continue
                    if isinstance(row.event, FrameworksSeen):
                        await store.set_frameworks(conn, row.event.org_id, row.event.frameworks,
                                                   row.event.declared_at)
                        self.applied += 1
                    elif row.event is not None:
                        await store.apply(conn, row.event)
                        self.applied += 1
                    positions[row.partition] = row.offset + 1
                await pg.save_positions(conn, topic, positions, self._projection)
