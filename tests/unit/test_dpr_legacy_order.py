"""Legacy-mode canonical order (FARAMESH_FORMATS 1.4.2): the hashed object's own key order,
not the Go struct's. Records from a daemon run with FARAMESH_USE_JCS=false that carry
``degraded_mode`` together with the defer/approval/cascade fields must verify.

Vectors: tests/data/legacy_hashed_fields (generated independently of the kernel and checked
against upstream's Go code; see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faramesh_cloud.dpr.canonical import (
    _canonical_from_mapping,
    canonical_bytes,
    hash_bytes,
    parse_record,
)
from faramesh_cloud.dpr.chain import ChainVerifier
from faramesh_cloud.dpr.fields import CANONICAL_ORDER, FIELDS, JCS_ALGORITHM, LEGACY_ALGORITHM, Kind
from faramesh_cloud.dpr.view import decode_record, decode_view
from faramesh_cloud.sources import open_source

DATA = Path(__file__).resolve().parents[1] / "data" / "legacy_hashed_fields"
FILES = ("legacy_deferrer_chain.jsonl", "legacy_combinations.jsonl")

# FARAMESH_FORMATS.md 1.4.2, written out here from the spec text (not from fields.py).
SPEC_ORDER = """schema_version, fpl_version*, car_version*, canonicalization_algorithm*, record_id,
prev_record_hash, agent_id, session_id, tool_id, intercept_adapter, execution_timeout_ms*,
principal_id_hash*, effect, matched_rule_id, reason_code, denial_token*, incident_category*,
incident_severity*, policy_version, args_structural_sig, hardening_mode*, network_host_hash*,
network_port*, network_resolved_ip_hash*, network_audit_bypass*,
inference_model_rewrite_applied*, workflow_phase*, credential_brokered*, approval_envelope*,
defer_token*, parent_defer_token*, cascade_reason*, cascade_depth*, cascade_path*,
degraded_mode*, created_at"""
SPEC_KEYS = [k.strip().rstrip("*") for k in SPEC_ORDER.split(",")]
OPTIONAL = [k.strip().rstrip("*") for k in SPEC_ORDER.split(",") if k.strip().endswith("*")]


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((DATA / "expected.json").read_text())


def lines(name: str) -> list[bytes]:
    return [line for line in (DATA / name).read_bytes().splitlines() if line]


def every_path(raw: bytes) -> list[bytes]:
    """The canonical bytes by each of the kernel's three ways: the mapping path, the hashed-
    subset view (verify, sources) and the whole-record view (the audit index)."""
    view, record = decode_view(raw), decode_record(raw)
    assert view is not None and record is not None
    return [_canonical_from_mapping(parse_record(raw)), view[1], record[1]]


def test_the_kernel_table_is_the_spec_order() -> None:
    assert list(CANONICAL_ORDER) == SPEC_KEYS
    assert len(SPEC_KEYS) == 36
    struct_order = [name for name, _, hashed, _ in FIELDS if hashed]
    assert struct_order != SPEC_KEYS  # the trap: the struct declares degraded_mode earlier


@pytest.mark.parametrize("name", FILES)
def test_every_path_gives_upstreams_bytes(name: str, expected: dict[str, Any]) -> None:
    want = expected["files"][name]
    raws = lines(name)
    assert len(raws) == len(want)
    for raw, case in zip(raws, want, strict=True):
        for got in every_path(raw):
            assert got.decode() == case["canonical"], case["record_id"]
            assert hash_bytes(got) == case["record_hash"]
        assert canonical_bytes(parse_record(raw), raw) == case["canonical"].encode()


def _verify(items: list[tuple[bytes, int]]) -> ChainVerifier:
    verifier = ChainVerifier(hmac_key=b"faramesh-cloud-interop-vectors/hmac-key/v1",
                             trusted_keys={"ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY="})
    for raw, index in items:
        verifier.add(parse_record(raw), index, raw=raw)
    verifier.finish()
    return verifier


@pytest.mark.parametrize("name", FILES)
def test_legacy_chains_with_defer_fields_verify_without_findings(name: str) -> None:
    verifier = _verify([(raw, i) for i, raw in enumerate(lines(name))])
    assert verifier.findings == []
    signatures: dict[str, int] = {}
    for chain in verifier.chains.values():
        for status, count in chain.signatures.items():
            signatures[status] = signatures.get(status, 0) + count
    assert signatures.get("valid", 0) > 0 and set(signatures) <= {"valid", "unsigned"}


def test_the_legacy_wal_verifies_frame_by_frame(expected: dict[str, Any]) -> None:
    verifier = ChainVerifier(trusted_keys={"ACDEZudR0qY7S4Ee9VQVy8oTeyubiQLRVk1nnF8nhFY="})
    controls = 0
    with open_source(DATA / expected["wal"]["file"], lean=True) as source:
        for item in source:
            if item.control is not None:
                controls += 1
            else:
                verifier.add(item.record, item.index, item.where, item.raw, item.canonical)
        assert source.stop is None or source.stop.kind.value != "corrupt"
    assert verifier.finish() == []
    assert (verifier.records, controls) == (expected["wal"]["records"], expected["wal"]["control_frames"])


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_VALUES: dict[Kind, st.SearchStrategy[Any]] = {
    Kind.STR: _TEXT,
    Kind.INT: st.integers(min_value=-(2**40), max_value=2**40).filter(bool),
    Kind.BOOL: st.just(True),
    Kind.STR_LIST: st.lists(_TEXT, min_size=1, max_size=3),
}
_KINDS = {name: kind for name, kind, _, _ in FIELDS}


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    jcs = draw(st.booleans())
    chosen = draw(st.sets(st.sampled_from([k for k in OPTIONAL if k != "canonicalization_algorithm"])))
    record: dict[str, Any] = {
        "schema_version": "dpr/2.0", "record_id": draw(_TEXT), "prev_record_hash": "ab" * 32,
        "record_hash": "cd" * 32, "agent_id": draw(_TEXT), "session_id": draw(_TEXT), "tool_id": "t/x",
        "intercept_adapter": "sdk", "effect": "DEFER", "matched_rule_id": "", "reason_code": "R",
        "policy_version": "p", "args_structural_sig": "{}", "reason": draw(_TEXT), "lamport_seq": 3,
        "created_at": "2026-05-17T15:42:18.1234+02:00",
    }
    algorithm = JCS_ALGORITHM if jcs else draw(st.sampled_from([LEGACY_ALGORITHM, "", " legacy-json-v1 "]))
    if algorithm:
        record["canonicalization_algorithm"] = algorithm
    for key in chosen:
        record[key] = draw(_VALUES[_KINDS[key]])
    return record, jcs


@settings(max_examples=300, deadline=None)
@given(records())
def test_random_optional_fields_agree_on_every_path_in_spec_order(case: tuple[dict[str, Any], bool]) -> None:
    record, jcs = case
    raw = orjson.dumps(record)
    paths = every_path(raw)
    assert paths[0] == paths[1] == paths[2]
    keys = list(orjson.loads(paths[0]))
    present = [k for k in SPEC_KEYS if k in record or k not in OPTIONAL]
    assert keys == (sorted(present) if jcs else present)
