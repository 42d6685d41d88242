"""A lean, typed view of the fields chain verification reads, decoded in C by msgspec.

Verifying a large export does not need the whole record as a dict; decoding just these
fields is several times cheaper than a full JSON parse. ``RecordMeta.get`` mirrors
``dict.get`` so the verifier, signature and cascade checks accept either. Absent fields
read as their zero value, which the checks treat like a missing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import msgspec


class RecordMeta(msgspec.Struct, kw_only=True):
    agent_id: str = ""
    record_id: str = ""
    record_hash: str = ""
    prev_record_hash: str = ""
    canonicalization_algorithm: str = ""
    created_at: str = ""
    lamport_seq: int = 0
    signature: str = ""
    signature_algorithm: str = ""
    signer_public_key: str = ""
    hmac_signature: str = ""
    defer_token: str = ""
    parent_defer_token: str = ""
    cascade_depth: int = 0
    cascade_path: list[str] = msgspec.field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


# What the checks read from a record: a parsed dict, or the lean view.
RecordLike: TypeAlias = Mapping[str, Any] | RecordMeta

_DECODER: Final = msgspec.json.Decoder(RecordMeta)


def decode_meta(raw: bytes) -> RecordMeta | None:
    """The lean view, or None when the JSON needs the full parser (bad types, bad UTF-8,
    lone surrogates, not an object): callers then fall back to ``parse_record``."""
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError):
        return None


def to_meta(record: Any) -> RecordMeta:
    """A ``RecordMeta`` of a dict (or the view itself). JSON nulls read as zero values, as
    in Go. Raises ``msgspec.ValidationError`` naming the field for a wrongly typed one."""
    if isinstance(record, msgspec.Struct):  # RecordMeta, or a view from view.py: same attributes
        return record  # type: ignore[return-value]
    try:
        return msgspec.convert(record, RecordMeta)
    except msgspec.ValidationError:
        if any(v is None for v in record.values()):
            return msgspec.convert({k: v for k, v in record.items() if v is not None}, RecordMeta)
        raise
