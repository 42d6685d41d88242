"""One-pass decoding for verification.

Per canonicalisation mode, a msgspec Struct whose fields are the hashed subset in that
mode's order (omit-when-empty fields default to their zero value and ``omit_defaults`` drops
them) plus the unhashed fields the chain checks read. One C-level decode of the raw record
gives both what the checks read and, once a copy has those unhashed fields blanked, the
exact canonical bytes. Anything unusual (a missing always-present field, a null, a wrong
type, a lone surrogate, invalid UTF-8, a non-RFC 3339 created_at) returns None, and callers
take the mapping path in ``canonical.py``, which has Go's semantics and precise errors.
Duplicate keys resolve last-wins, as in Go and in ``parse_record``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from faramesh_cloud.dpr.fields import (
    CANONICAL_ORDER,
    FIELDS,
    HASHED_JCS,
    HASHED_LEGACY,
    JCS_ALGORITHM,
    Kind,
)
from faramesh_cloud.dpr.gojson import go_escape_fixup
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at, is_canonical_created_at

# Unhashed fields the checks read; blanked (to their defaults) before encoding.
EXTRAS: Final[tuple[tuple[str, type, Any], ...]] = (
    ("record_hash", str, ""),
    ("lamport_seq", int, 0),
    ("signature", str, ""),
    ("signature_algorithm", str, ""),
    ("signer_public_key", str, ""),
    ("hmac_signature", str, ""),
)
_BLANK: Final = {name: default for name, _, default in EXTRAS}


def _get(self: Any, key: str, default: Any = None) -> Any:
    return getattr(self, key, default)


def _view_struct(name: str, table: tuple[tuple[str, Kind, bool], ...]) -> type[msgspec.Struct]:
    pytypes: dict[Kind, Any] = {Kind.STR: str, Kind.INT: int, Kind.BOOL: bool, Kind.STR_LIST: list[str]}
    defaults: dict[Kind, Any] = {Kind.STR: "", Kind.INT: 0, Kind.BOOL: False}
    fields: list[Any] = []
    for key, kind, omit in table:
        if not omit:
            fields.append((key, pytypes[kind]))
        elif kind is Kind.STR_LIST:
            fields.append((key, pytypes[kind], msgspec.field(default_factory=list)))
        else:
            fields.append((key, pytypes[kind], defaults[kind]))
    fields.extend(EXTRAS)
    return msgspec.defstruct(name, fields, omit_defaults=True, kw_only=True, namespace={"get": _get})


JcsView: Final = _view_struct("JcsView", HASHED_JCS)
LegacyView: Final = _view_struct("LegacyView", HASHED_LEGACY)
_JCS_DECODER: Final = msgspec.json.Decoder(JcsView)
_LEGACY_DECODER: Final = msgspec.json.Decoder(LegacyView)
_ENCODER: Final = msgspec.json.Encoder()


def decode_view(raw: bytes) -> tuple[Any, bytes] | None:
    """(view, canonical bytes) of a raw record, or None when the mapping path must decide."""
    try:
        view: Any = _JCS_DECODER.decode(raw)
        if view.canonicalization_algorithm.strip() != JCS_ALGORITHM:
            view = _LEGACY_DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError):
        return None
    hashed = msgspec.structs.replace(view, **_BLANK)
    if not is_canonical_created_at(hashed.created_at):
        try:
            hashed.created_at = canonical_created_at(hashed.created_at)
        except TimestampError:
            return None
    return view, go_escape_fixup(_ENCODER.encode(hashed))


# The whole record in one decode (the audit index): every known field, typed as the
# daemon's Go struct types it (so the decode is also ``validate_record``'s type check). The
# hashed fields come first, in canonical order (legacy mode encodes the blanked struct as it
# is; JCS mode encodes it with its fields sorted), then the unhashed ones, which are blanked
# before encoding and so never appear in the canonical bytes. Hashed fields that are always present are required; every other field
# defaults to its zero value, and the unhashed ones are blanked before encoding. A view is
# kept per record for a whole batch, so it allocates as little as it can: unhashed lists and
# maps default to None (no empty container per record), unhashed objects stay raw JSON
# (checked to be an object), and the struct is not tracked by the cyclic GC (it cannot be
# part of a cycle).
_ZERO: Final[dict[Kind, Any]] = {Kind.STR: "", Kind.INT: 0, Kind.BOOL: False, Kind.OBJECT: msgspec.Raw()}
_FULL_TYPES: Final[dict[Kind, Any]] = {
    Kind.STR: str, Kind.INT: int, Kind.BOOL: bool, Kind.STR_LIST: list[str],
    Kind.STR_MAP: dict[str, str], Kind.OBJECT: msgspec.Raw,
}
_OBJECTS: Final = tuple(key for key, kind, _, _ in FIELDS if kind is Kind.OBJECT)


def _full_struct() -> type[msgspec.Struct]:
    fields: list[Any] = []
    by_name = {field[0]: field for field in FIELDS}
    order = [*CANONICAL_ORDER, *(name for name, _, hashed, _ in FIELDS if not hashed)]
    for key, kind, hashed, omit in (by_name[name] for name in order):
        if kind in (Kind.STR_LIST, Kind.STR_MAP):
            if hashed:  # omitted when empty: an empty list must compare equal to the default
                fields.append((key, _FULL_TYPES[kind], msgspec.field(default_factory=list)))
            else:
                fields.append((key, _FULL_TYPES[kind] | None, None))
        elif hashed and not omit:
            fields.append((key, _FULL_TYPES[kind]))
        else:
            fields.append((key, _FULL_TYPES[kind], _ZERO[kind]))
    return msgspec.defstruct("RecordView", fields, omit_defaults=True, kw_only=True, gc=False,
                             namespace={"get": _get})


RecordView: Final = _full_struct()
_FULL_DECODER: Final = msgspec.json.Decoder(RecordView)
_SORTED_ENCODER: Final = msgspec.json.Encoder(order="sorted")
_BLANK_UNHASHED: Final = {
    key: None if kind in (Kind.STR_LIST, Kind.STR_MAP) else _ZERO[kind]
    for key, kind, hashed, _ in FIELDS if not hashed
}


def decode_record(raw: bytes) -> tuple[Any, bytes] | None:
    """(view of every field, canonical bytes) of a raw record from one C-level decode, or
    None when the mapping path must decide (a null, a wrong type, a missing or empty
    required field, a lone surrogate, invalid UTF-8, a non-RFC 3339 created_at): callers
    then run ``validate_record`` / ``parse_record``, which have Go's semantics and name the
    field. The view has ``RecordMeta``'s attributes (and ``get``), so the chain, signature
    and cascade checks take it as it is; its ``created_at`` is as written (the canonical
    bytes carry the UTC form)."""
    view = decode_record_view(raw)
    if view is None:
        return None
    hashed = msgspec.structs.replace(view, **_BLANK_UNHASHED)
    if not is_canonical_created_at(hashed.created_at):
        hashed.created_at = canonical_created_at(hashed.created_at)  # cannot fail: checked
    encoder = _SORTED_ENCODER if view.canonicalization_algorithm.strip() == JCS_ALGORITHM else _ENCODER
    return view, go_escape_fixup(encoder.encode(hashed))


def decode_record_view(raw: bytes) -> Any | None:
    """The view of :func:`decode_record` without the canonical bytes, for a reader that
    hashes nothing (the audit index's search index): every check of ``decode_record``, so it
    is None exactly when ``decode_record`` is, at a third of the CPU (no blanked copy, no
    encode)."""
    try:
        view: Any = _FULL_DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError):
        return None
    if not (view.record_id and view.prev_record_hash and view.record_hash and view.agent_id and view.created_at):
        return None
    for key in _OBJECTS:  # a JSON object (or null, Go's zero value), as validate_record wants
        value = bytes(getattr(view, key))
        if value and not (value[:1] == b"{" or value == b"null"):
            return None
    if not is_canonical_created_at(view.created_at):
        try:
            canonical_created_at(view.created_at)
        except TimestampError:
            return None
    return view
