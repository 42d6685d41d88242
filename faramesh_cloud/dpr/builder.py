"""Build records the way a daemon writes them: hashed, chained, signed, serialised as the
Go-JSON of the ``Record`` struct (keys in declaration order, ``omitempty`` honoured, map keys
sorted). Used by the reference daemon simulator, benchmarks and tests; Cloud itself never
writes DPRs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faramesh_cloud.dpr.canonical import canonical_bytes, hash_bytes
from faramesh_cloud.dpr.fields import FIELDS, Kind
from faramesh_cloud.dpr.gojson import dumps
from faramesh_cloud.dpr.signatures import sign_ed25519, sign_hmac


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def to_go_json(record: Mapping[str, Any]) -> bytes:
    """``json.Marshal(dpr.Record)``: what the daemon puts in a WAL frame or a JSONL line."""
    out: dict[str, Any] = {}
    for key, kind, _hashed, omit in FIELDS:
        value = record.get(key)
        if value is None or (omit and not value):
            if omit:
                continue
            value = ""
        out[key] = _sorted(value) if kind in (Kind.OBJECT, Kind.STR_MAP) else value
    return dumps(out)


def seal(
    fields: Mapping[str, Any],
    prev_record_hash: str,
    *,
    ed25519_seed: bytes | None = None,
    hmac_key: bytes | None = None,
) -> dict[str, Any]:
    """Return a complete record: ``fields`` plus the chain link, hash and signatures."""
    record = dict(fields)
    record["prev_record_hash"] = prev_record_hash
    for key in ("record_hash", "signature", "signature_algorithm", "signer_public_key", "hmac_signature"):
        record.pop(key, None)
    canonical = canonical_bytes(record)
    record["record_hash"] = hash_bytes(canonical)
    if ed25519_seed is not None:
        signature, public = sign_ed25519(canonical, ed25519_seed)
        record.update(signature=signature, signature_algorithm="ed25519", signer_public_key=public)
    elif hmac_key is not None:
        record["hmac_signature"] = sign_hmac(record["record_id"], record["record_hash"], hmac_key)
    return record
