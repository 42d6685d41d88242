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
    HASHED_JCS,
    HASHED_LEGACY,
    JCS_ALGORITHM,
    KIND_OF,
    REQUIRED,
    Kind,
)
from faramesh_cloud.dpr.gojson import dumps, normalise_text
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at

Record = dict[str, Any]

_PYTYPE: Final[dict[Kind, type]] = {
    Kind.STR: str,
    Kind.INT: int,
    Kind.BOOL: bool,
    Kind.STR_LIST: list,
    Kind.STR_MAP: dict,
    Kind.OBJECT: dict,
}
_KNOWN: Final = frozenset(KIND_OF)


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
        if kind is Kind.STR_LIST and any(type(v) is not str for v in value):
            raise DprFormatError(f"field {key!r} must be a list of strings", key)
    return unknown


def is_jcs(record: Mapping[str, Any]) -> bool:
    algorithm = record.get("canonicalization_algorithm")
    return isinstance(algorithm, str) and algorithm.strip() == JCS_ALGORITHM


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The exact bytes the daemon hashes and signs for this record."""
    table = HASHED_JCS if is_jcs(record) else HASHED_LEGACY
    out: dict[str, Any] = {}
    for key, kind, omit in table:
        value = record.get(key)
        if value is None:
            if omit:
                continue
            value = ""  # every always-present hashed field is a string
        elif type(value) is not _PYTYPE[kind]:
            raise DprFormatError(
                f"field {key!r} must be a JSON {kind.value}, got {type(value).__name__}", key
            )
        elif omit and not value:
            continue
        if key == "created_at":
            try:
                value = canonical_created_at(value)
            except TimestampError as exc:
                raise DprFormatError(str(exc), key) from None
        elif kind is Kind.STR_LIST and any(type(v) is not str for v in value):
            raise DprFormatError(f"field {key!r} must be a list of strings", key)
        out[key] = value
    return dumps(out)


def hash_bytes(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def compute_record_hash(record: Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the canonical bytes (``Record.ComputeHash``)."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def genesis_prev_hash(agent_id: str) -> str:
    """``prev_record_hash`` of an agent's first record (``GenesisPrevHash``)."""
    return hashlib.sha256(b"faramesh/dpr/genesis/v1:" + agent_id.encode("utf-8")).hexdigest()


def unknown_keys(record: Mapping[str, Any]) -> list[str]:
    return [k for k in record if k not in _KNOWN]
