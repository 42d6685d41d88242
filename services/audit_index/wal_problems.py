"""Damage WAL imports met, as chain-integrity findings: the audit index's consumer of
``dpr.wal_problems.v1`` (group ``<index group>-wal-problems``).

``faramesh-cloud import-wal`` appends a ``WalCorruptionFound`` when a daemon's WAL has a
corrupt frame before its end (``faramesh_cloud.events.wal_problems``). The finding it becomes
is a ``wal_corrupt`` on the last good record before the damage, critical (so an alert, and
the notifications that follow from one), keyed like every finding by (record, kind): a
repeated event changes nothing. Its ``chain_index`` is -1 ("not a chain position": the
damage sits between that record and what the WAL lost), so a rebuild gives the same row
whichever of this topic and ``dpr.records.v1`` it reads first. The processor is pure; the
sink writes the findings and this projection's position (``audit_index_positions``, its own
projection name) in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.domain import ChainFinding, severity_of
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.events.topics import Origin, stack_key
from faramesh_cloud.events.wal_problems import WalCorruptionFound, decode_wal_problem
from faramesh_cloud.log.port import Message
from faramesh_cloud.sql.database import Database

PROJECTION: Final = "audit-index/wal-problems"
NOT_ON_CHAIN: Final = -1


class WalProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One event, placed on the log, with its tenant from the headers."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    detected_ns: int
    event: WalCorruptionFound

    def finding(self) -> ChainFinding:
        e = self.event
        kind = FindingKind.WAL_CORRUPT.value
        return ChainFinding(
            org_id=self.org_id, stack_id=self.stack_id, agent_id=e.agent_id, record_id=e.record_id,
            record_hash=e.record_hash, kind=kind, severity=severity_of(kind), message=e.describe(),
            chain_index=NOT_ON_CHAIN, log_position=f"{self.topic}[{self.partition}]@{self.offset}",
            record_created_at=e.record_created_at, detected_ns=self.detected_ns,
        )


class WalProblemProcessor:
    """Pure: ``process(message)`` -> ``WalProblem`` or ``Rejected``."""

    def process(self, message: Message) -> WalProblem | Rejected:
        try:
            origin = Origin.from_headers(message.headers)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            return Rejected(f"WAL problem without complete origin headers (org, stack, source, seq): {exc!r}")
        if message.key != stack_key(origin.org_id, origin.stack_id):
            return Rejected(f"message key {message.key!r} does not match its origin headers "
                            f"{origin.org_id}/{origin.stack_id}")
        try:
            event = decode_wal_problem(message.value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return Rejected(f"not a WalCorruptionFound event: {exc}")
        if not (event.agent_id and event.record_id and event.record_hash):
            return Rejected("a WAL problem must name the last good record before it (agent, record id, hash)")
        return WalProblem(topic=message.topic, partition=message.partition, offset=message.offset,
                          org_id=origin.org_id, stack_id=origin.stack_id, detected_ns=origin.received_ns,
                          event=event)


class WalProblemSink:
    """``consumer.runner.Sink`` for ``WalProblem``: durable and idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[WalProblem]) -> None:
        by_topic: dict[str, list[WalProblem]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(row)
        async with self._db.transaction() as conn:
            for topic, found in sorted(by_topic.items()):
                positions = await pg.lock_positions(conn, topic, {r.partition for r in found}, PROJECTION)
                fresh = [r for r in found if r.offset >= positions[r.partition]]
                await pg.save_findings(conn, [r.finding() for r in fresh])
                for row in fresh:
                    positions[row.partition] = max(positions[row.partition], row.offset + 1)
                await pg.save_positions(conn, topic, positions, PROJECTION)
