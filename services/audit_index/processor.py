"""The audit-index processor: one ``dpr.records.v1`` message to one ``IndexedRecord``.

Pure (no I/O, no clock): the record is parsed, type-checked, its hash recomputed from the
canonical bytes and its Ed25519 signature checked, all with the DPR kernel. Tenancy comes
from the log headers. A message that is not a DPR (bad JSON, a missing chain field, an
impossible timestamp, no origin headers) is ``Rejected`` with a reason, and the consumer
runner parks it on the dead-letter topic. A DPR that fails verification is *not* rejected:
it is indexed with its verification status, and the chain projection records the finding.
"""

from __future__ import annotations

import hashlib
from typing import Final

import msgspec

from faramesh_cloud.audit_index.domain import IndexedRecord, SignatureKind
from faramesh_cloud.audit_index.pin_history import UNVERIFIED, TrustView
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.canonical import DprFormatError, canonical_bytes, hash_bytes, parse_record
from faramesh_cloud.dpr.meta import RecordMeta, to_meta
from faramesh_cloud.dpr.signatures import SignatureStatus, check_ed25519
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at, created_at_nanos
from faramesh_cloud.dpr.validate import validate_record
from faramesh_cloud.dpr.view import decode_record, decode_record_view
from faramesh_cloud.events.topics import Origin, stack_key
from faramesh_cloud.log.port import Message

# ClickHouse DateTime64(9) holds 1900-01-01 .. 2262-04-11 (signed 64-bit nanoseconds).
MIN_CREATED_NS: Final = -2_208_988_800_000_000_000
MAX_CREATED_NS: Final = 9_223_372_036_854_775_807
MAX_UINT64: Final = 2**64 - 1



class _Columns(msgspec.Struct, kw_only=True):
    """The fields the index has columns for besides the chain fields (null reads as "")."""

    session_id: str | None = None
    tool_id: str | None = None
    action_type: str | None = None
    effect: str | None = None
    matched_rule_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    intercept_adapter: str | None = None
    policy_version: str | None = None
    incident_severity: str | None = None
    schema_version: str | None = None


class DprProcessor:
    """Pure: ``process(message)`` -> ``IndexedRecord`` or ``Rejected``."""

    def __init__(self, trust: TrustView | None = None) -> None:
        # The keys pinned for a stack when a record was received (None: none pinned, so a
        # valid signature counts as valid, not untrusted); a snapshot, no I/O.
        self._trust = trust
        self._day_nanos: dict[str, int] = {}  # memo: created_at's date -> ns at its midnight
        self._second_nanos: dict[str, int] = {}  # memo: created_at's second -> ns at its start

    def process(self, message: Message) -> IndexedRecord | Rejected:
        checked = self.check(message)
        if isinstance(checked, Rejected):
            return checked
        return self._indexed(message, *checked)

    def check(self, message: Message, *, canonical: bool = True,
              ) -> tuple[Origin, str, RecordMeta, _Columns, bytes, int] | Rejected:
        """The message decoded and checked as a DPR, before any hash or signature: (origin,
        raw text, meta, columns, canonical bytes, created_ns), or why it is not a DPR. The
        search index (``search_processor.py``) takes exactly this, so the two consumer groups
        reject the same messages with the same reasons. ``canonical=False`` (the search
        index, which hashes nothing) skips building the canonical bytes on the common path
        (``b""`` in their place) and checks exactly the same (``decode_record_view``)."""
        try:
            origin = Origin.from_headers(message.headers)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            return Rejected(
                f"message has no complete origin headers (org, stack, source, seq): {exc!r}; "
                "whatever appends to dpr.records.v1 must set them (faramesh_cloud.events.topics.Origin)"
            )
        if message.key != stack_key(origin.org_id, origin.stack_id):
            return Rejected(
                f"message key {message.key!r} does not match its origin headers "
                f"{origin.org_id}/{origin.stack_id}; the producer must key by stack_key(org, stack)"
            )
        value = message.value
        try:
            raw = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejected(f"not a DPR: the value is not UTF-8 ({exc}); a daemon's Go-JSON always is")
        try:
            meta, columns, hashed_bytes = self._decode(value, canonical)
            created_ns = self._nanos(meta.created_at)
        except (DprFormatError, TimestampError, msgspec.ValidationError) as exc:
            return Rejected(f"not a DPR: {exc}")
        if not MIN_CREATED_NS <= created_ns <= MAX_CREATED_NS:
            return Rejected(
                f"not a DPR: created_at {meta.created_at!r} is outside 1900..2262, which no daemon writes"
            )
        if "\x00" in "".join((origin.org_id, origin.stack_id, meta.agent_id, meta.record_id, meta.record_hash)):
            return Rejected(
                "not a DPR: a NUL character in org, stack, agent_id, record_id or record_hash, which no "
                "daemon writes (and PostgreSQL text cannot hold)"
            )
        if not 0 <= meta.lamport_seq <= MAX_UINT64:
            return Rejected(f"not a DPR: lamport_seq {meta.lamport_seq} is not a uint64")
        if not (0 <= origin.sequence <= MAX_UINT64 and 0 <= origin.received_ns <= MAX_CREATED_NS):
            return Rejected(
                f"origin header seq={origin.sequence} or received_ns={origin.received_ns} is out of "
                "range; the producer must set non-negative 64-bit values"
            )
        return origin, raw, meta, columns, hashed_bytes, created_ns

    def _decode(self, value: bytes, canonical: bool = True) -> tuple[RecordMeta, _Columns, bytes]:
        """(meta, columns, canonical bytes). The common case is one typed C-level decode
        (``decode_record``: the view is the meta and the columns, and type-checks every
        field as ``validate_record`` does; without ``canonical``, ``decode_record_view``, the
        same checks without the bytes); anything it declines takes ``validate_record`` and
        the Go-semantics mapping path, which raise ``DprFormatError`` naming the field (and
        build the canonical bytes either way, so both modes reject the same records)."""
        if not canonical:
            view = decode_record_view(value)
            if view is not None:
                return view, view, b""
        else:
            fast = decode_record(value)
            if fast is not None:
                view, canonical_ = fast
                return view, view, canonical_  # a RecordView has RecordMeta's and _Columns' attributes
        validate_record(value)
        record = parse_record(value)
        columns = msgspec.convert({k: v for k, v in record.items() if k in _Columns.__struct_fields__}, _Columns)
        return to_meta(record), columns, canonical_bytes(record)

    def _nanos(self, created_at: str) -> int:
        """``created_at_nanos``, with the second memoised (a batch's records share a few
        seconds; the day's strptime costs ~50 µs a call): the canonical form is
        ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``, already checked."""
        canonical = canonical_created_at(created_at)
        second = canonical[:19]
        base = self._second_nanos.get(second)
        if base is None:
            day = canonical[:10]
            midnight = self._day_nanos.get(day)
            if midnight is None:
                if len(self._day_nanos) >= 4096:
                    self._day_nanos.clear()
                midnight = self._day_nanos[day] = created_at_nanos(day + "T00:00:00Z")
            if len(self._second_nanos) >= 65536:
                self._second_nanos.clear()
            base = self._second_nanos[second] = midnight + (
                int(canonical[11:13]) * 3600 + int(canonical[14:16]) * 60 + int(canonical[17:19])) * 1_000_000_000
        fraction = canonical[20:-1]
        return base + (int((fraction + "000000000")[:9]) if fraction else 0)

    def _indexed(self, message: Message, origin: Origin, raw: str, meta: RecordMeta, columns: _Columns,
                 canonical: bytes, created_ns: int) -> IndexedRecord:
        computed = hash_bytes(canonical)
        received_ns = origin.received_ns or message.timestamp_ms * 1_000_000
        generation, trusted = UNVERIFIED, None
        if self._trust is not None:
            generation = self._trust.generation  # before the lookup: a stale generation only costs a re-check
            trusted = self._trust.get(origin.org_id, origin.stack_id, received_ns)
        signature = check_ed25519(meta, canonical, trusted)
        if meta.signature:
            kind = SignatureKind.ED25519
        elif meta.hmac_signature:
            kind = SignatureKind.HMAC
            signature = SignatureStatus.UNSIGNED  # only the daemon holds the HMAC key
        else:
            kind = SignatureKind.NONE
        return IndexedRecord(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            org_id=origin.org_id,
            stack_id=origin.stack_id,
            source=origin.source,
            origin_seq=origin.sequence,
            origin_buffer=origin.buffer,
            received_ns=received_ns,
            raw=raw,
            content_sha256=hashlib.sha256(message.value).hexdigest(),
            meta=meta,
            created_ns=created_ns,
            session_id=columns.session_id or "",
            tool_id=columns.tool_id or "",
            action_type=columns.action_type or "tool_call",
            effect=columns.effect or "",
            matched_rule_id=columns.matched_rule_id or "",
            reason_code=columns.reason_code or "",
            reason=columns.reason or "",
            intercept_adapter=columns.intercept_adapter or "",
            policy_version=columns.policy_version or "",
            incident_severity=columns.incident_severity or "",
            schema_version=columns.schema_version or "",
            computed_hash=computed,
            hash_valid=computed == meta.record_hash,
            signature_status=signature,
            signature_kind=kind,
            trust_generation=generation,
        )
