"""Generate the legacy-mode vectors in this folder (see README.md). Deterministic: running it
again rewrites the same bytes.

    python3 tests/data/legacy_hashed_fields/generate.py

The canonical bytes are built here independently of ``faramesh_cloud.dpr``: the key order is
written out from FARAMESH_FORMATS.md 1.4.2 (upstream ``canon`` in record.go), and the values
are kept to characters for which ``json.dumps`` and Go's ``json.Marshal`` agree (asserted).
Only the layout of a whole record (the Go struct order of 1.2, which the hash does not cover)
comes from the kernel's builder; upstream's decoder re-marshals every line byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from faramesh_cloud.dpr.builder import to_go_json

HERE = Path(__file__).resolve().parent

# FARAMESH_FORMATS.md 1.4.2, verbatim order.
SPEC_ORDER = (
    "schema_version fpl_version car_version canonicalization_algorithm record_id prev_record_hash agent_id "
    "session_id tool_id intercept_adapter execution_timeout_ms principal_id_hash effect matched_rule_id "
    "reason_code denial_token incident_category incident_severity policy_version args_structural_sig "
    "hardening_mode network_host_hash network_port network_resolved_ip_hash network_audit_bypass "
    "inference_model_rewrite_applied workflow_phase credential_brokered approval_envelope defer_token "
    "parent_defer_token cascade_reason cascade_depth cascade_path degraded_mode created_at"
).split()
ALWAYS = {"schema_version", "record_id", "prev_record_hash", "agent_id", "session_id", "tool_id",
          "intercept_adapter", "effect", "matched_rule_id", "reason_code", "policy_version",
          "args_structural_sig", "created_at"}

# The interop vectors' test-only keys (tests/data/interop/vectors/expected.json "keys").
SEED = hashlib.sha256(b"faramesh-cloud-interop-vectors/ed25519-seed/v1").digest()
HMAC_KEY = b"faramesh-cloud-interop-vectors/hmac-key/v1"
_SAFE = re.compile(r"^[^\x00-\x1f<>&\u2028\u2029\ud800-\udfff]*$")


def genesis(agent: str) -> str:
    return hashlib.sha256(b"faramesh/dpr/genesis/v1:" + agent.encode()).hexdigest()


def canonical(record: dict[str, Any]) -> bytes:
    out = {}
    for key in SPEC_ORDER:
        value = record.get(key)
        if key in ALWAYS:
            out[key] = "" if value is None else value
        elif value:  # omitted when "", 0, false or []
            out[key] = value
    for value in out.values():
        for text in value if isinstance(value, list) else [value]:
            assert not isinstance(text, str) or _SAFE.match(text), f"{text!r} needs Go-only escaping"
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


def seal(record: dict[str, Any], prev: str, sign: str) -> dict[str, Any]:
    record = {**record, "prev_record_hash": prev}
    body = canonical(record)
    record["record_hash"] = hashlib.sha256(body).hexdigest()
    if sign == "ed25519":
        key = SigningKey(SEED)
        record["signature"] = base64.b64encode(key.sign(body).signature).decode()
        record["signature_algorithm"] = "ed25519"
        record["signer_public_key"] = base64.b64encode(bytes(key.verify_key)).decode()
    elif sign == "hmac":
        message = (record["record_id"] + record["record_hash"]).encode()
        record["hmac_signature"] = hmac.new(HMAC_KEY, message, hashlib.sha256).hexdigest()
    return record


def envelope(token: str) -> str:
    """A resume record's approval envelope: a JSON document carried as a string (3.3)."""
    doc = {"approver": "ops@example.com", "decision": "approve", "defer_token": token,
           "reason": "ticket OPS-1182", "signed_at": "2026-05-17T13:50:00Z"}
    return json.dumps(doc, separators=(",", ":"))


_ids = itertools.count(1)


def base(agent: str, effect: str, created_at: str, **fields: Any) -> dict[str, Any]:
    n = next(_ids)
    return {
        "schema_version": "dpr/2.0", "canonicalization_algorithm": "legacy-json-v1",
        "record_id": f"1e6acd00-0000-4000-8000-{n:012x}", "agent_id": agent,
        "session_id": f"sess-{agent}", "tool_id": "payments/refund", "action_type": "tool_call",
        "lamport_seq": 0, "intercept_adapter": "sdk", "effect": effect,
        "matched_rule_id": "rule-refund", "reason_code": "RULE_" + effect, "reason": "as the policy says",
        "policy_version": "9c3e1f0a2b4d6e80", "args_structural_sig": "5d1e0c9b7a2f4e61",
        "degraded_mode": "FULL", "created_at": created_at, **fields,
    }


def chain(records: list[dict[str, Any]], signs: list[str]) -> list[dict[str, Any]]:
    out, tips, seq = [], {}, {}
    for record, sign in zip(records, signs, strict=True):
        agent = record["agent_id"]
        seq[agent] = seq.get(agent, 0) + 1
        record["lamport_seq"] = seq[agent]
        sealed = seal(record, tips.get(agent, genesis(agent)), sign)
        tips[agent] = sealed["record_hash"]
        out.append(sealed)
    return out


EVERY_OPTIONAL = {
    "fpl_version": "1.0", "car_version": "car/2.0", "execution_timeout_ms": 30000,
    "principal_id_hash": "a1b2c3d4e5f60718", "denial_token": "dnl_0f1e2d3c4b5a6978",
    "incident_category": "data_exfiltration", "incident_severity": "high", "hardening_mode": "enforce",
    "network_host_hash": "6f1d2c3b4a5e6f70", "network_port": 443, "network_resolved_ip_hash": "0a9b8c7d6e5f4a3b",
    "network_audit_bypass": True, "inference_model_rewrite_applied": True, "workflow_phase": "settlement",
    "credential_brokered": True,
}


def deferrer_chain() -> list[dict[str, Any]]:
    """What a daemon run with FARAMESH_USE_JCS=false writes for one agent: a permit, a defer,
    the approved resume, a cascaded re-defer, and a record with every optional hashed field."""
    a = "legacy-deferrer"
    records = [
        base(a, "PERMIT", "2026-05-17T13:42:18.123456789Z"),
        base(a, "DEFER", "2026-05-17T13:42:19.5Z", defer_token="4f2a9c1b", reason_code="APPROVAL_REQUIRED"),
        base(a, "PERMIT", "2026-05-17T13:50:01Z", approval_envelope=envelope("4f2a9c1b")),
        base(a, "DEFER", "2026-05-17T13:51:00.000000001Z", defer_token="7d3e0b2c", parent_defer_token="4f2a9c1b",
             cascade_reason="policy_changed", cascade_depth=1, cascade_path=["4f2a9c1b"]),
        base(a, "DENY", "2026-05-17T13:52:00.25Z", degraded_mode="STATELESS", approval_envelope=envelope("7d3e0b2c"),
             defer_token="9a8b7c6d", parent_defer_token="7d3e0b2c", cascade_reason="elevated_routing",
             cascade_depth=2, cascade_path=["4f2a9c1b", "7d3e0b2c"], **EVERY_OPTIONAL),
        {**base(a, "PERMIT", "2026-05-17T13:53:00Z", defer_token="", degraded_mode="EMERGENCY"),
         "schema_version": "dpr/1.0", "canonicalization_algorithm": ""},
    ]
    return chain(records, ["ed25519", "hmac", "ed25519", "none", "ed25519", "hmac"])


# Groups of optional hashed fields that a record carries together (the cascade fields only
# make sense as a group: a parent, its reason, the depth and the path). ``root`` is the
# agent's own root defer token, ``own`` the record's: defer tokens are unique in a file, as
# upstream's VerifyCascadeChain wants.
def groups(root: str, own: str) -> dict[str, dict[str, Any]]:
    return {
        **{name: {name: value} for name, value in EVERY_OPTIONAL.items()},
        "approval_envelope": {"approval_envelope": envelope(root)},
        "defer_token": {"defer_token": own},
        "cascade": {"parent_defer_token": root, "cascade_reason": "toctou_re_evaluation",
                    "cascade_depth": 1, "cascade_path": [root]},
    }


_NAMES = tuple(groups("", ""))
COMBINATIONS: list[tuple[str, ...]] = [
    *((g,) for g in _NAMES),
    ("approval_envelope", "defer_token"), ("defer_token", "cascade"), ("approval_envelope", "cascade"),
    ("approval_envelope", "defer_token", "cascade"), ("credential_brokered", "defer_token"),
    ("workflow_phase", "approval_envelope"), ("network_port", "cascade"), _NAMES,
]


def combination_chains() -> list[dict[str, Any]]:
    """One agent per combination, each with and without degraded_mode: a root defer (the
    cascade's parent), then the record carrying the combination."""
    records: list[dict[str, Any]] = []
    signs: list[str] = []
    for n, combo in enumerate(COMBINATIONS):
        for d, degraded in enumerate(("FULL", "")):
            agent = f"legacy-combo-{n:02d}{'-degraded' if degraded else '-plain'}"
            root, own = f"c0{n:02x}{d:02x}00", f"d0{n:02x}{d:02x}11"
            records.append(base(agent, "DEFER", f"2026-05-18T09:{n:02d}:00Z", defer_token=root,
                                degraded_mode=degraded))
            fields: dict[str, Any] = {"degraded_mode": degraded}
            for group in combo:
                fields.update(groups(root, own)[group])
            records.append(base(agent, "PERMIT", f"2026-05-18T09:{n:02d}:30.75Z", **fields))
            signs += ["hmac", "ed25519" if n % 2 else "none"]
    return chain(records, signs)


def wal(records: list[dict[str, Any]]) -> bytes:
    """A faramesh.wal: version-1 frames (FARAMESH_FORMATS.md 1.8), one control frame inside."""
    out = bytearray()
    for n, record in enumerate(records):
        payload = to_go_json(record)
        out += struct.pack("<IBII", 0x4657414C, 1, len(payload), zlib.crc32(payload)) + payload
        if n == 2:
            control = json.dumps({"frame_kind": "BUDGET_UPDATE", "agent_id": record["agent_id"], "scope": "daily",
                                  "spent_usd": 12.5, "ceiling_usd": 100, "written_at": record["created_at"]},
                                 separators=(",", ":")).encode()
            out += struct.pack("<IBII", 0x4657414C, 2, len(control), zlib.crc32(control)) + control
    return bytes(out)


def main() -> None:
    files = {"legacy_deferrer_chain.jsonl": deferrer_chain(), "legacy_combinations.jsonl": combination_chains()}
    expected: dict[str, Any] = {"spec_order": SPEC_ORDER, "files": {}}
    for name, records in files.items():
        (HERE / name).write_bytes(b"".join(to_go_json(r) + b"\n" for r in records))
        expected["files"][name] = [
            {"record_id": r["record_id"], "agent_id": r["agent_id"], "record_hash": r["record_hash"],
             "canonical": canonical(r).decode()} for r in records
        ]
    everything = files["legacy_deferrer_chain.jsonl"] + files["legacy_combinations.jsonl"]
    (HERE / "legacy_all.wal").write_bytes(wal(everything))
    expected["wal"] = {"file": "legacy_all.wal", "records": len(everything), "control_frames": 1}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
