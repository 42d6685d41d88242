"""Parse a DPR and compute its canonical bytes and record hash, byte for byte as the daemon.

Source of the rules: FARAMESH_FORMATS.md 1.4 (``Record.CanonicalBytes`` and ``JCSMarshal``
in faramesh-core). Algorithm choice: ``canonicalization_algorithm`` stripped of white space
equal to ``jcs-rfc8785-v1`` selects JCS mode (hashed keys sorted); any other value, empty
or unknown, selects legacy mode (declaration order). The untrimmed value is what is hashed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from faramesh_cloud.dpr.fields import (
    HASHED_LEGACY,
    JCS_ALGORITHM,
    KIND_OF,
    REQUIRED,
    Kind,
)
from faramesh_cloud.dpr.gojson import dumps, normalise_text
from faramesh_cloud.dpr.meta import RecordLike
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at
from faramesh_cloud.dpr.view import decode_view

Record = dict[str, Any]

_PYTYPE: Final[dict[Kind, type]] = {
    Kind.STR: str,
    Kind.INT: int,
    Kind.BOOL: bool,
    Kind.STR_LIST: list,
    Kind.STR_MAP: dict,
    Kind.OBJECT: dict,
}


class DprFormatError(ValueError):
    """The input is not a DPR (not JSON, not an object, a field of the wrong type...)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {normalise_text(k): _normalise(v) for k, v in value.items()}
    return value


def parse_record(raw: bytes | str) -> Record:
    """Decode one record's JSON. Invalid UTF-8 and lone surrogates become U+FFFD, as in Go."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            value = _normalise(json.loads(text))
        except ValueError as exc:
            raise DprFormatError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DprFormatError(f"a DPR is a JSON object, got {type(value).__name__}")
    return value


def check_record(record: Mapping[str, Any]) -> list[str]:
    """Check field presence and JSON types. Returns the unknown keys (the daemon does not
    hash them either); raises DprFormatError for anything that makes the record unusable."""
    for name in REQUIRED:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise DprFormatError(f"missing or empty required field {name!r}", name)
    unknown: list[str] = []
    for key, value in record.items():
        kind = KIND_OF.get(key)
        if kind is None:
            unknown.append(key)
            continue
        if value is None:
            continue
        expected = _PYTYPE[kind]
        if type(value) is not expected:
            raise DprFormatError(
                f"field {key!r} must be a JSON {kind.value}, got {type(value).__name__}", key
            )
        if kind is Kind.STR_LIST and isinstance(value, list) and any(type(v) is not str for v in value):
            raise DprFormatError(f"field {key!r} must be a list of strings", key)
    return unknown


def is_jcs(record: RecordLike) -> bool:
    algorithm = record.get("canonicalization_algorithm")
    return isinstance(algorithm, str) and algorithm.strip() == JCS_ALGORITHM


# Hot-path tables, plain Python types (Enum hashing costs more than the rest of the work).
_TYPES: Final[dict[str, type]] = {k: _PYTYPE[kind] for k, kind, _ in HASHED_LEGACY}
_ALWAYS: Final = frozenset(k for k, _, omit in HASHED_LEGACY if not omit)
_LEGACY_ORDER: Final = tuple(k for k, _, _ in HASHED_LEGACY)


def canonical_bytes(record: RecordLike, raw: bytes | None = None) -> bytes:
    """The exact bytes the daemon hashes and signs for this record.

    ``raw``, when given, must be the JSON text ``record`` was parsed from: the hashed subset is
    then decoded and re-encoded in C (``view.py``; several times faster). Anything unusual (a missing field, a
    null, a lone surrogate, invalid UTF-8) takes the mapping path, which has Go's semantics
    and precise errors. Duplicate keys resolve last-wins on both paths, as in Go.
    """
    if raw is not None:
        fast = decode_view(raw)
        if fast is not None:
            return fast[1]
    if not isinstance(record, Mapping):  # a lean view: the mapping path needs every field
        if raw is None:
            raise TypeError("canonical_bytes of a RecordMeta needs the raw JSON")
        record = parse_record(raw)
    return _canonical_from_mapping(record)


def _canonical_from_mapping(record: Mapping[str, Any]) -> bytes:
    """The exact bytes the daemon hashes and signs for this record.

    Written as comprehensions over the record's own keys: this is the verifier's hot loop.
    A falsy value of the wrong type in an omit-when-empty field is dropped like an empty
    one (the daemon could not have written it, and ``check_record`` rejects it at ingest).
    """
    out = {k: v for k, v in record.items() if k in _TYPES and (v or k in _ALWAYS)}
    for key, value in out.items():
        if type(value) is not _TYPES[key]:
            if value is None:  # JSON null decodes to Go's zero value
                out[key] = ""
                continue
            raise DprFormatError(
                f"field {key!r} must be a JSON {KIND_OF[key].value}, got {type(value).__name__}", key
            )
    if not _ALWAYS <= out.keys():
        for key in _ALWAYS - out.keys():
            out[key] = ""
    try:
        out["created_at"] = canonical_created_at(out["created_at"])
    except TimestampError as exc:
        raise DprFormatError(str(exc), "created_at") from None
    path = out.get("cascade_path")
    if path is not None and any(type(v) is not str for v in path):
        raise DprFormatError("field 'cascade_path' must be a list of strings", "cascade_path")
    if is_jcs(record):
        return dumps(dict(sorted(out.items())))
    return dumps({k: out[k] for k in _LEGACY_ORDER if k in out})


def hash_bytes(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def compute_record_hash(record: Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the canonical bytes (``Record.ComputeHash``)."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def genesis_prev_hash(agent_id: str) -> str:
    """``prev_record_hash`` of an agent's first record (``GenesisPrevHash``)."""
    return hashlib.sha256(b"faramesh/dpr/genesis/v1:" + agent_id.encode("utf-8")).hexdigest()
