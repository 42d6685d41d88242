"""The DPR kernel against the real daemon's interop vectors (tests/data/interop/vectors)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.dpr.canonical import canonical_bytes, genesis_prev_hash, parse_record
from faramesh_cloud.dpr.chain import ChainVerifier, FindingKind
from faramesh_cloud.dpr.gojson import dumps_reference
from faramesh_cloud.dpr.wal import StopKind, WalReader

CHAIN_FILES = [
    "dpr_chain_valid_jcs.jsonl",
    "dpr_chain_valid_legacy.jsonl",
    "dpr_chain_valid_multi_agent.jsonl",
    "dpr_chain_tampered_field.jsonl",
    "dpr_chain_unhashed_field_edit.jsonl",
    "dpr_chain_gap.jsonl",
    "dpr_chain_broken_prev_link.jsonl",
    "dpr_chain_bad_genesis.jsonl",
    "dpr_chain_duplicate_record.jsonl",
    "dpr_chain_bad_signature.jsonl",
]

# Upstream's replay reports only the first failure, as "broken_chain" for three different
# situations; Cloud names each (FARAMESH_FORMATS 1.14, "Recommended Cloud verifier").
CLOUD_KIND = {
    "dpr_chain_tampered_field.jsonl": FindingKind.RECORD_HASH_MISMATCH,
    "dpr_chain_gap.jsonl": FindingKind.GAP,
    "dpr_chain_broken_prev_link.jsonl": FindingKind.BROKEN_LINK,
    "dpr_chain_bad_genesis.jsonl": FindingKind.INVALID_GENESIS,
    "dpr_chain_duplicate_record.jsonl": FindingKind.DUPLICATE,
}
# In these two vectors the offending record was re-hashed after its edit, so its successor
# links to a hash that no longer exists in the file: a second, real finding.
FOLLOW_ON = {
    "dpr_chain_broken_prev_link.jsonl": [(FindingKind.GAP, 4)],
    "dpr_chain_bad_genesis.jsonl": [(FindingKind.GAP, 1)],
}
CHAIN_KINDS = {
    FindingKind.RECORD_HASH_MISMATCH,
    FindingKind.GAP,
    FindingKind.BROKEN_LINK,
    FindingKind.INVALID_GENESIS,
    FindingKind.REGENESIS,
    FindingKind.DUPLICATE,
}


@pytest.fixture(scope="module")
def expected(vectors_dir: Path) -> dict[str, Any]:
    return json.loads((vectors_dir / "expected.json").read_text())


def load(vectors_dir: Path, name: str) -> list[dict[str, Any]]:
    return [parse_record(line) for line in (vectors_dir / name).read_bytes().splitlines() if line.strip()]


def verify(records: list[dict[str, Any]], expected: dict[str, Any]) -> ChainVerifier:
    verifier = ChainVerifier(hmac_key=expected["keys"]["hmac_key_ascii"].encode())
    results = [verifier.add(rec, i) for i, rec in enumerate(records)]
    verifier.finish()
    verifier.results = results  # type: ignore[attr-defined]
    return verifier


def test_canonical_bytes_match_the_daemon_byte_for_byte(vectors_dir: Path) -> None:
    lines = [json.loads(line) for line in (vectors_dir / "dpr_canonical_bytes.jsonl").read_text().splitlines() if line]
    assert lines, "no canonical-bytes vectors"
    for case in lines:
        record = load(vectors_dir, case["file"])[case["index"]]
        want = base64.b64decode(case["canonical_b64"])
        got = canonical_bytes(record)
        assert got == want, f"{case['file']}[{case['index']}]"
        assert got.decode() == case["canonical"]
        assert hashlib.sha256(got).hexdigest() == case["sha256"]


def test_reference_encoder_agrees_with_fast_path(vectors_dir: Path) -> None:
    for case in (json.loads(line) for line in (vectors_dir / "dpr_canonical_bytes.jsonl").read_text().splitlines() if line):
        canonical = base64.b64decode(case["canonical_b64"])
        assert dumps_reference(json.loads(canonical)) == canonical


def test_genesis_hashes(expected: dict[str, Any]) -> None:
    for agent, want in expected["genesis_prev_hash"].items():
        assert genesis_prev_hash(agent) == want


@pytest.mark.parametrize("name", CHAIN_FILES)
def test_per_record_outcomes_match_expected(vectors_dir: Path, expected: dict[str, Any], name: str) -> None:
    exp = expected["files"][name]
    records = load(vectors_dir, name)
    assert len(records) == exp["records"]
    verifier = verify(records, expected)
    for want in exp["per_record"]:
        got = verifier.results[want["index"]]  # type: ignore[attr-defined]
        assert records[want["index"]]["record_id"] == want["record_id"]
        assert got.record_hash_valid is want["record_hash_valid"], want
        if got.duplicate:
            continue  # a repeat is not checked twice
        assert got.ed25519.value == want["ed25519"], want
        if "hmac" in want:
            assert got.hmac is not None and got.hmac.value == want["hmac"], want


@pytest.mark.parametrize("name", CHAIN_FILES)
def test_chain_outcome_matches_expected(vectors_dir: Path, expected: dict[str, Any], name: str) -> None:
    exp = expected["files"][name]["chain_check"]
    verifier = verify(load(vectors_dir, name), expected)
    chain_findings = [f for f in verifier.findings if f.kind in CHAIN_KINDS]
    if exp["valid"]:
        assert chain_findings == []
        return
    finding = chain_findings[0]
    assert finding.index == exp["first_failure_index"]
    assert finding.record_id == exp["record_id"]
    assert finding.kind is CLOUD_KIND[name]
    # Upstream stops at the first failure; Cloud goes on, and says what else it saw.
    assert [(f.kind, f.index) for f in chain_findings[1:]] == FOLLOW_ON.get(name, [])


@pytest.mark.parametrize("name", CHAIN_FILES)
def test_cascade_outcome_matches_expected(vectors_dir: Path, expected: dict[str, Any], name: str) -> None:
    exp = expected["files"][name]["cascade_check"]
    verifier = verify(load(vectors_dir, name), expected)
    cascade = [f.message for f in verifier.findings if f.kind is FindingKind.CASCADE]
    assert cascade == ([] if exp["valid"] else [exp["message"]])


def test_bad_signature_is_reported_while_the_chain_holds(vectors_dir: Path, expected: dict[str, Any]) -> None:
    verifier = verify(load(vectors_dir, "dpr_chain_bad_signature.jsonl"), expected)
    assert [(f.kind, f.index) for f in verifier.findings] == [(FindingKind.BAD_SIGNATURE, 0)]


def test_verifier_reports_every_finding_not_just_the_first(vectors_dir: Path, expected: dict[str, Any]) -> None:
    records = load(vectors_dir, "dpr_chain_valid_jcs.jsonl")
    tampered = dict(records[1], tool_id="stripe/payout")  # hash mismatch at 1
    broken = dict(records[4], prev_record_hash=records[2]["record_hash"])  # broken link at 4
    verifier = verify([records[0], tampered, records[2], records[3], broken, records[5], records[5]], expected)
    kinds = [(f.kind, f.index) for f in verifier.findings if f.kind in CHAIN_KINDS]
    assert kinds == [
        (FindingKind.RECORD_HASH_MISMATCH, 1),
        (FindingKind.RECORD_HASH_MISMATCH, 4),
        (FindingKind.BROKEN_LINK, 4),
        (FindingKind.DUPLICATE, 6),
    ]
    assert verifier.chains["payments-bot"].length == 6


def test_trusted_keys_mark_foreign_signers(vectors_dir: Path, expected: dict[str, Any]) -> None:
    records = load(vectors_dir, "dpr_chain_valid_multi_agent.jsonl")
    verifier = ChainVerifier(trusted_keys={"AAAA" * 11})
    for i, rec in enumerate(records):
        verifier.add(rec, i)
    assert {f.kind for f in verifier.finish()} == {FindingKind.UNTRUSTED_SIGNER}
    trusting = ChainVerifier(trusted_keys={expected["keys"]["ed25519_public_key_b64"]})
    for i, rec in enumerate(records):
        trusting.add(rec, i)
    assert trusting.finish() == []


def test_wal_frames_match_the_frame_table(vectors_dir: Path, expected: dict[str, Any]) -> None:
    table = expected["wal"]["dpr_chain_valid_jcs.wal"]
    data = (vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes()
    assert len(data) == table["size"]
    reader = WalReader(data)
    frames = list(reader)
    assert reader.stop is None
    assert [(f.offset, f.version, len(f.payload)) for f in frames] == [
        (row["offset"], row["version"], row["length"]) for row in table["frames"]
    ]
    dprs = [parse_record(f.payload) for f in frames if f.version == 1]
    jsonl = load(vectors_dir, "dpr_chain_valid_jcs.jsonl")
    assert dprs == jsonl
    assert verify(dprs, expected).findings == []


def test_torn_tail_is_cut_at_the_last_good_frame(vectors_dir: Path, expected: dict[str, Any]) -> None:
    info = expected["wal"]["dpr_wal_torn_tail.wal"]
    data = (vectors_dir / "dpr_wal_torn_tail.wal").read_bytes()
    assert len(data) == info["size"]
    reader = WalReader(data)
    frames = list(reader)
    assert len(frames) == len(expected["wal"]["dpr_chain_valid_jcs.wal"]["frames"])
    assert reader.good_bytes == info["good_prefix_bytes"]
    assert reader.stop is not None
    assert reader.stop.kind is StopKind.TORN_TAIL
    assert reader.stop.offset == info["good_prefix_bytes"]
    assert reader.stop.unread_bytes == info["size"] - info["good_prefix_bytes"]


@pytest.mark.parametrize("name", ["dpr_chain_valid_jcs.jsonl", "dpr_chain_valid_legacy.jsonl", "dpr_chain_valid_multi_agent.jsonl"])
def test_builder_reproduces_daemon_lines_byte_for_byte(vectors_dir: Path, expected: dict[str, Any], name: str) -> None:
    from faramesh_cloud.dpr.builder import seal, to_go_json

    seed = bytes.fromhex(expected["keys"]["ed25519_seed_hex"])
    hmac_key = expected["keys"]["hmac_key_ascii"].encode()
    lines = [raw for raw in (vectors_dir / name).read_bytes().splitlines() if raw.strip()]
    for line in lines:
        record = parse_record(line)
        assert to_go_json(record) == line
        resealed = seal(
            record,
            record["prev_record_hash"],
            ed25519_seed=seed if record.get("signature") else None,
            hmac_key=hmac_key if record.get("hmac_signature") else None,
        )
        assert to_go_json(resealed) == line
