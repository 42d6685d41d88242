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
from collections.abc import Callable, Collection
from typing import Any, Final

import msgspec

from faramesh_cloud.audit_index.domain import IndexedRecord, SignatureKind
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.canonical import (
    DprFormatError,
    canonical_bytes,
    check_record,
    hash_bytes,
    parse_record,
)
from faramesh_cloud.dpr.meta import RecordMeta, to_meta
from faramesh_cloud.dpr.signatures import SignatureStatus, check_ed25519
from faramesh_cloud.dpr.timefmt import TimestampError, created_at_nanos
from faramesh_cloud.events.topics import Origin, stack_key
from faramesh_cloud.log.port import Message

# ClickHouse DateTime64(9) holds 1900-01-01 .. 2262-04-11 (signed 64-bit nanoseconds).
MIN_CREATED_NS: Final = -2_208_988_800_000_000_000
MAX_CREATED_NS: Final = 9_223_372_036_854_775_807
MAX_UINT64: Final = 2**64 - 1

# (org_id, stack_id) -> base64 Ed25519 public keys pinned for that stack, or None when the
# stack has none pinned (a valid signature then counts as valid, not untrusted).
TrustedKeys = Callable[[str, str], Collection[str] | None]


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


class DprProcessor:
    """Pure: ``process(message)`` -> ``IndexedRecord`` or ``Rejected``."""

    def __init__(self, trusted_keys: TrustedKeys | None = None) -> None:
        self._trusted_keys = trusted_keys

    def process(self, message: Message) -> IndexedRecord | Rejected:
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
        try:
            raw = message.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejected(f"not a DPR: the value is not UTF-8 ({exc}); a daemon's Go-JSON always is")
        try:
            record = parse_record(message.value)
            check_record(record)
            meta = to_meta(record)
            canonical = canonical_bytes(record, message.value)
            created_ns = created_at_nanos(meta.created_at)
        except (DprFormatError, TimestampError, msgspec.ValidationError) as exc:
            return Rejected(f"not a DPR: {exc}")
        if not MIN_CREATED_NS <= created_ns <= MAX_CREATED_NS:
            return Rejected(
                f"not a DPR: created_at {meta.created_at!r} is outside 1900..2262, which no daemon writes"
            )
        if not 0 <= meta.lamport_seq <= MAX_UINT64:
            return Rejected(f"not a DPR: lamport_seq {meta.lamport_seq} is not a uint64")
        if not (0 <= origin.sequence <= MAX_UINT64 and 0 <= origin.received_ns <= MAX_CREATED_NS):
            return Rejected(
                f"origin header seq={origin.sequence} or received_ns={origin.received_ns} is out of "
                "range; the producer must set non-negative 64-bit values"
            )
        return self._indexed(message, origin, raw, record, meta, canonical, created_ns)

    def _indexed(self, message: Message, origin: Origin, raw: str, record: dict[str, Any],
                 meta: RecordMeta, canonical: bytes, created_ns: int) -> IndexedRecord:
        trusted = self._trusted_keys(origin.org_id, origin.stack_id) if self._trusted_keys else None
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
            received_ns=origin.received_ns or message.timestamp_ms * 1_000_000,
            raw=raw,
            content_sha256=hashlib.sha256(message.value).hexdigest(),
            meta=meta,
            created_ns=created_ns,
            session_id=_text(record, "session_id"),
            tool_id=_text(record, "tool_id"),
            action_type=_text(record, "action_type") or "tool_call",
            effect=_text(record, "effect"),
            matched_rule_id=_text(record, "matched_rule_id"),
            reason_code=_text(record, "reason_code"),
            reason=_text(record, "reason"),
            intercept_adapter=_text(record, "intercept_adapter"),
            policy_version=_text(record, "policy_version"),
            incident_severity=_text(record, "incident_severity"),
            schema_version=_text(record, "schema_version"),
            hash_valid=hash_bytes(canonical) == meta.record_hash,
            signature_status=signature,
            signature_kind=kind,
        )
