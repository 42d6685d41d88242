"""The index's consumer of ``stacks.signing_keys.v1`` (group ``<group>-pins``): pins and
revocations of stacks' DPR signing keys into the index's own history
(``audit_signing_key_pins``), its position in ``audit_index_positions`` (projection
``audit-index/pins``) in the same transaction.

Each change counts for records *received* from its effective time on (``pin_history.py``).
The index may learn of a change after it indexed records received after that time (the
event travels through the stacks outbox and the log): the sink re-judges those records'
signatures under the history that now holds, and corrects what changed: an
``untrusted_signer`` finding (and alert) added, or one retracted (its alert closed,
``AlertRetracted``). Nothing in ClickHouse changes (issue 18): a row's signature status is
derived at read from its findings (``row_state``), and the records judged again are those
the chain verifier has committed (below its watermark); the ones above it it judges itself,
under the history this batch installs. So the verdicts are those of the pins in
force at each record's receive time whichever of a record and a change the index read
first, and a replay from offset 0 gives the same ones.

It holds the history's generation row FOR UPDATE for the whole batch, so a DPR batch
(which reads it FOR SHARE first, ``sink.py``) is either written before (and re-checked here)
or judged under the new history; and it replaces the in-process snapshot before commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from faramesh_cloud_api.stacks.v1 import events_pb2 as pb
from google.protobuf.message import DecodeError

from faramesh_cloud.audit_index import alert_state, row_state
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.alert_events import AlertKey, AlertRetracted
from faramesh_cloud.audit_index.domain import CHECKED_BY, ChainFinding, severity_of
from faramesh_cloud.audit_index.pin_history import PinChange, PinHistory, trust_status
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.trust import TrustSnapshot, load
from faramesh_cloud.audit_index.verification_state import COVERED_SQL
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.dpr.signatures import SignatureStatus
from faramesh_cloud.events.records import event_headers
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.port import Message
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database

PROJECTION: Final = "audit-index/pins"
_UNTRUSTED: Final = FindingKind.UNTRUSTED_SIGNER.value
_BAD: Final = FindingKind.BAD_SIGNATURE.value
_UNTRUSTED_MESSAGE: Final = "Ed25519 signature is valid but by a key not pinned for this stack"


@dataclass(frozen=True, slots=True)
class PinEvent:
    topic: str
    partition: int
    offset: int
    event_id: str
    change: PinChange | None  # None: a kind this code does not know (skipped)
    actor: str


def _datetime(nanos: int) -> datetime:
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC) + timedelta(microseconds=nanos % 1_000_000_000 // 1000)


def _nanos(stamp: object) -> int:
    return int(stamp.seconds) * 1_000_000_000 + int(stamp.nanos)  # type: ignore[attr-defined]


class PinEventProcessor:
    """Pure: one ``stacks.signing_keys.v1`` message to a ``PinEvent``, or ``Rejected``."""

    def process(self, message: Message) -> PinEvent | Rejected:
        try:
            headers = event_headers(message.key, message.headers)
            uuid.UUID(headers.event_id)
            if headers.kind == "SigningKeyPinned":
                pinned = pb.SigningKeyPinned.FromString(message.value)
                change = PinChange(pinned.org_id, pinned.stack_id, pinned.key_id, pinned.public_key, True,
                                   _nanos(pinned.effective_at))
                actor = pinned.actor
            elif headers.kind == "SigningKeyUnpinned":
                unpinned = pb.SigningKeyUnpinned.FromString(message.value)
                change = PinChange(unpinned.org_id, unpinned.stack_id, unpinned.key_id, "", False,
                                   _nanos(unpinned.effective_at))
                actor = unpinned.actor
            else:
                return PinEvent(message.topic, message.partition, message.offset, headers.event_id, None, "")
        except (ValueError, DecodeError) as exc:
            return Rejected(f"not a signing-key event: {exc}")
        if (change.org_id, change.stack_id) != (headers.org_id, headers.stack_id):
            return Rejected(f"{headers.kind} names {change.org_id}/{change.stack_id} but its headers say "
                            f"{headers.org_id}/{headers.stack_id}")
        if len(change.key_id) != 64 or (change.pinned and len(change.public_key) != 44):
            return Rejected(f"{headers.kind} needs a key id (hex SHA-256) and, to pin, a base64 public key")
        return PinEvent(message.topic, message.partition, message.offset, headers.event_id, change, actor)


@dataclass(frozen=True, slots=True)
class _Stored:
    """A record the index holds whose signature verifies (valid or untrusted)."""

    agent_id: str
    record_id: str
    record_hash: str
    status: SignatureStatus
    signer: str
    received_ns: int
    log_position: str
    created_at: str


class PinSink:
    """``consumer.runner.Sink`` for ``PinEvent``: durable, idempotent (by event id)."""

    def __init__(self, db: Database, olap: Olap, tables: AuditTables, trust: TrustSnapshot, *,
                 verified_by: str = CHECKED_BY) -> None:
        self._verified_by = verified_by
        self._db = db
        self._olap = olap
        self._tables = tables
        self._trust = trust
        self.rejudged = 0

    async def write(self, rows: Sequence[PinEvent]) -> None:
        by_topic: dict[str, list[PinEvent]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(row)
        async with self._db.transaction() as conn:
            await conn.execute("SELECT generation FROM audit_pin_generation FOR UPDATE")
            new: list[tuple[str, PinChange]] = []
            for topic, found in sorted(by_topic.items()):
                positions = await pg.lock_positions(conn, topic, {r.partition for r in found}, PROJECTION)
                for row in sorted(found, key=lambda r: (r.partition, r.offset)):
                    if row.offset < positions[row.partition]:
                        continue
                    positions[row.partition] = row.offset + 1
                    if row.change is not None and await self._store(conn, row):
                        new.append((row.event_id, row.change))
                await pg.save_positions(conn, topic, positions, PROJECTION)
            if new:
                await conn.execute("UPDATE audit_pin_generation SET generation = generation + 1")
                generation, history = await load(conn)
                await self._rejudge(conn, history, new)
                self._trust.replace(generation, history)

    @staticmethod
    async def _store(conn: pg.Conn, row: PinEvent) -> bool:
        c = row.change
        assert c is not None
        cur = await conn.execute(
            "INSERT INTO audit_signing_key_pins (event_id, org_id, stack_id, key_id, public_key, pinned, effective_ns, "
            "actor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
            (row.event_id, c.org_id, c.stack_id, c.key_id, c.public_key, c.pinned, c.effective_ns, row.actor))
        return cur.rowcount == 1

    async def _rejudge(self, conn: pg.Conn, history: PinHistory, new: list[tuple[str, PinChange]]) -> None:
        """Records already indexed that were received at or after a new change: judged again."""
        since: dict[tuple[str, str], tuple[int, str]] = {}
        for event_id, change in new:
            stack = (change.org_id, change.stack_id)
            if stack not in since or change.effective_ns < since[stack][0]:
                since[stack] = (change.effective_ns, event_id)
        for (org, stack), (from_ns, event_id) in sorted(since.items()):
            stored = await self._stored(conn, org, stack, from_ns)
            changed = [(rec, status) for rec in stored
                       if (status := trust_status(rec.status, rec.signer, history.at(org, stack, rec.received_ns)))
                       is not rec.status]
            if changed:
                await self._correct(conn, org, stack, event_id, _datetime(from_ns), changed)
                self.rejudged += len(changed)

    async def _stored(self, conn: pg.Conn, org: str, stack: str, from_ns: int) -> list[_Stored]:
        """The stack's Ed25519-signed records received from ``from_ns`` that the verifier has
        checked, with the signature status their open findings give (valid or untrusted; a
        bad signature stays what it is whatever the pins)."""
        mark = await row_state.watermark_in(conn, DPR_RECORDS, self._verified_by)
        named = row_state.Named.of(DPR_RECORDS, await row_state.signature_findings_in(conn, org, stack))
        result = await asyncio.to_thread(
            self._olap.query,
            "SELECT agent_id, record_id, record_hash, JSONExtractString(raw, 'signer_public_key'), "
            "toUnixTimestamp64Nano(received_at), log_partition, log_offset, created_at_text "
            f"FROM {self._tables.dpr} "
            "WHERE org_id = {org:String} AND stack_id = {stack:String} AND signature_kind = 'ed25519' "
            f"AND received_at >= fromUnixTimestamp64Nano({{since:Int64}}, 'UTC') AND {COVERED_SQL}",
            {"org": org, "stack": stack, "since": from_ns, "verifier": row_state.verifier_param(mark)})
        out = []
        for a, r, h, signer, ns, p, o, c in result.rows:
            kinds = {f.kind for f in named.naming(stack, a, r, h, int(p), int(o))}
            if _BAD in kinds:
                continue
            status = SignatureStatus.UNTRUSTED if _UNTRUSTED in kinds else SignatureStatus.VALID
            out.append(_Stored(a, r, h, status, signer, int(ns), f"{DPR_RECORDS}[{p}]@{o}", c))
        return out

    async def _correct(self, conn: pg.Conn, org: str, stack: str, event_id: str, effective_at: datetime,
                       changed: list[tuple[_Stored, SignatureStatus]]) -> None:
        untrusted = [rec for rec, status in changed if status is SignatureStatus.UNTRUSTED]
        trusted = [rec for rec, status in changed if status is SignatureStatus.VALID]
        if untrusted:
            indexes = await self._chain_indexes(conn, org, stack, untrusted)
            await pg.save_findings(conn, [
                ChainFinding(org, stack, rec.agent_id, rec.record_id, rec.record_hash, _UNTRUSTED,
                             severity_of(_UNTRUSTED), _UNTRUSTED_MESSAGE, indexes.get(rec.record_hash, -1),
                             rec.log_position, rec.created_at, rec.received_ns)
                for rec in untrusted])
        if trusted:
            keys = [AlertKey(org, stack, rec.agent_id, rec.record_id, rec.record_hash, _UNTRUSTED) for rec in trusted]
            ids = await alert_state.alert_ids(conn, keys)
            note = ("Retracted automatically: the record's signer was pinned for this stack when Cloud received the "
                    "record; the index learnt of the pin after it had judged the record.")
            await alert_state.record(conn, [
                AlertRetracted(key=key, occurred_at=effective_at, alert_id=ids.get(key, 0),
                               actor_label="faramesh-cloud verifier", note=note, from_revision=0, to_revision=0,
                               cause=f"pin-{event_id}")
                for key in keys])

    @staticmethod
    async def _chain_indexes(conn: pg.Conn, org: str, stack: str, recs: list[_Stored]) -> dict[str, int]:
        rows = await (await conn.execute(
            "SELECT record_hash, chain_index FROM audit_chain_records WHERE org_id = %s AND stack_id = %s "
            "AND record_hash = ANY(%s::text[])", (org, stack, [r.record_hash for r in recs]))).fetchall()
        return {h: int(i) for h, i in rows}
