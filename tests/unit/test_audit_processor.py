"""The audit-index processor: one dpr.records.v1 message to one indexed row, or a reason.

Pure: no sockets (tests/unit/conftest.py blocks them), no clock, no database.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faramesh_cloud.audit_index.domain import IndexedRecord, SignatureKind
from faramesh_cloud.audit_index.pin_history import FixedTrust, PinChange, PinHistory
from faramesh_cloud.audit_index.processor import MAX_CREATED_NS, MIN_CREATED_NS, DprProcessor
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.signatures import SignatureStatus
from faramesh_cloud.dpr.timefmt import created_at_nanos
from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.log.port import Message
from faramesh_cloud.simulator.records import AgentWriter, rfc3339_nano

ORG, STACK = "org-acme", "stack-payments"
SEED = hashlib.sha256(b"audit-processor-test-seed").digest()
HMAC_KEY = b"audit-processor-test-hmac"
CREATED_NS = 1_779_025_338_123_456_789  # 2026-05-17T13:42:18.123456789Z
RECEIVED_NS = 1_779_025_339_000_000_001


def message(value: bytes, *, org: str = ORG, stack: str = STACK, offset: int = 7,
            headers: dict[str, bytes] | None = None, key: bytes | None = None) -> Message:
    origin = Origin(org, stack, "sync", 41, "buf-1", RECEIVED_NS)
    return Message(DPR_RECORDS, 3, offset, stack_key(org, stack) if key is None else key, value,
                   origin.headers() if headers is None else headers, 1_779_025_339_000)


def indexed(result: IndexedRecord | Rejected) -> IndexedRecord:
    assert isinstance(result, IndexedRecord), result
    return result


def rejected(result: IndexedRecord | Rejected) -> str:
    assert isinstance(result, Rejected), result
    return result.reason


def writer(signed_share: float) -> AgentWriter:
    return AgentWriter("payments-bot", random.Random(5), ed25519_seed=SEED, hmac_key=HMAC_KEY,
                       signed_share=signed_share)


def test_a_daemon_record_becomes_a_row_with_origin_from_headers_and_exact_time() -> None:
    record = writer(1.0).next(CREATED_NS)
    value = to_go_json(record)

    row = indexed(DprProcessor().process(message(value)))

    assert (row.org_id, row.stack_id, row.source, row.origin_seq, row.origin_buffer) == (
        ORG, STACK, "sync", 41, "buf-1")
    assert row.received_ns == 1_779_025_339_000_000_001
    assert (row.topic, row.partition, row.offset) == (DPR_RECORDS, 3, 7)
    assert row.raw.encode() == value  # byte for byte, for re-verification and export
    assert row.content_sha256 == hashlib.sha256(value).hexdigest()
    assert row.created_ns == CREATED_NS
    assert row.meta.created_at == "2026-05-17T13:42:18.123456789Z"
    assert (row.agent_id, row.record_id, row.record_hash) == (
        "payments-bot", record["record_id"], record["record_hash"])
    assert (row.session_id, row.tool_id, row.effect, row.matched_rule_id) == (
        record["session_id"], record["tool_id"], record["effect"], record["matched_rule_id"])
    assert row.hash_valid is True
    assert (row.signature_kind, row.signature_status) == (SignatureKind.ED25519, SignatureStatus.VALID)


def test_an_hmac_only_record_is_unsigned_for_cloud() -> None:
    record = writer(0.0).next(CREATED_NS)

    row = indexed(DprProcessor().process(message(to_go_json(record))))

    assert row.signature_kind is SignatureKind.HMAC
    assert row.signature_status is SignatureStatus.UNSIGNED


def test_processing_the_same_message_twice_gives_the_same_row() -> None:
    processor = DprProcessor()
    value = to_go_json(writer(0.5).next(CREATED_NS))

    assert processor.process(message(value)) == processor.process(message(value))


def test_a_signature_by_a_key_the_stack_never_pinned_is_untrusted() -> None:
    value = to_go_json(writer(1.0).next(CREATED_NS))
    public = orjson.loads(value)["signer_public_key"]

    pinned_other = DprProcessor(FixedTrust(PinHistory([PinChange(ORG, STACK, "a" * 64, "AAAA" + public[4:], True, 0)])))
    pinned_this = DprProcessor(FixedTrust(PinHistory([PinChange(ORG, STACK, "b" * 64, public, True, 0)])))

    assert indexed(pinned_other.process(message(value))).signature_status is SignatureStatus.UNTRUSTED
    assert indexed(pinned_this.process(message(value))).signature_status is SignatureStatus.VALID


def test_a_record_is_judged_under_the_pins_in_force_when_it_was_received() -> None:
    value = to_go_json(writer(1.0).next(CREATED_NS))
    public = orjson.loads(value)["signer_public_key"]
    other = "AAAA" + public[4:]
    # Pinned (someone else's key) one nanosecond after the record was received: not yet in force.
    later = DprProcessor(FixedTrust(PinHistory([PinChange(ORG, STACK, "a" * 64, other, True, RECEIVED_NS + 1)])))
    # Pinned at the receive time exactly: in force.
    then = DprProcessor(FixedTrust(PinHistory([PinChange(ORG, STACK, "a" * 64, other, True, RECEIVED_NS)])))
    # The record's own key, revoked before the record was received, another still pinned.
    revoked = DprProcessor(FixedTrust(PinHistory([
        PinChange(ORG, STACK, "b" * 64, public, True, 0), PinChange(ORG, STACK, "a" * 64, other, True, 0),
        PinChange(ORG, STACK, "b" * 64, "", False, RECEIVED_NS - 1)])))
    # Every pin revoked before: the stack has none, a valid signature is valid.
    none_left = DprProcessor(FixedTrust(PinHistory([
        PinChange(ORG, STACK, "a" * 64, other, True, 0), PinChange(ORG, STACK, "a" * 64, "", False, 5)])))

    assert indexed(later.process(message(value))).signature_status is SignatureStatus.VALID
    assert indexed(then.process(message(value))).signature_status is SignatureStatus.UNTRUSTED
    assert indexed(revoked.process(message(value))).signature_status is SignatureStatus.UNTRUSTED
    assert indexed(none_left.process(message(value))).signature_status is SignatureStatus.VALID


def _vector_cases(vectors_dir: Path) -> list[tuple[str, bytes, dict[str, Any]]]:
    expected = json.loads((vectors_dir / "expected.json").read_text())
    cases = []
    for name, outcome in expected["files"].items():
        if not name.startswith("dpr_chain_") or not name.endswith(".jsonl"):
            continue
        lines = (vectors_dir / name).read_bytes().splitlines()
        for entry in outcome["per_record"]:
            cases.append((name, lines[entry["index"]], entry))
    return cases


def test_hash_and_signature_status_match_the_daemon_vectors(vectors_dir: Path) -> None:
    cases = _vector_cases(vectors_dir)
    assert len(cases) >= 40
    processor = DprProcessor()
    for name, line, entry in cases:
        row = indexed(processor.process(message(line)))
        where = f"{name} line {entry['index']}"
        assert row.record_id == entry["record_id"], where
        assert row.hash_valid is entry["record_hash_valid"], where
        assert row.signature_status.value == entry["ed25519"], where
        assert row.raw.encode() == line, where


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"record_id": "r1", "agent_id": "a"}', "missing or empty required field"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_value_that_is_not_a_dpr_is_rejected_with_its_reason(value: bytes, reason: str) -> None:
    assert reason in rejected(DprProcessor().process(message(value)))


def _edited(**changes: Any) -> bytes:
    record = orjson.loads(to_go_json(writer(0.0).next(CREATED_NS)))
    record.update(changes)
    return orjson.dumps(record)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"created_at": "yesterday"}, "not an RFC 3339 timestamp"),
        ({"created_at": "0001-01-01T00:00:00Z"}, "outside 1900..2262"),
        ({"effect": 3}, "field 'effect' must be a JSON string"),
        ({"record_hash": ""}, "record_hash"),
        ({"lamport_seq": -1}, "lamport_seq -1"),
    ],
)
def test_a_record_with_an_unusable_field_is_rejected(changes: dict[str, Any], reason: str) -> None:
    assert reason in rejected(DprProcessor().process(message(_edited(**changes))))


def test_a_message_without_origin_headers_is_rejected() -> None:
    value = to_go_json(writer(0.0).next(CREATED_NS))

    reason = rejected(DprProcessor().process(message(value, headers={"org": ORG.encode()})))

    assert "origin headers" in reason


def test_a_message_keyed_for_another_stack_than_its_headers_is_rejected() -> None:
    value = to_go_json(writer(0.0).next(CREATED_NS))

    reason = rejected(DprProcessor().process(message(value, key=stack_key("org-other", STACK))))

    assert "does not match its origin headers" in reason


def test_a_tampered_record_is_indexed_not_rejected(vectors_dir: Path) -> None:
    line = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()[2]

    row = indexed(DprProcessor().process(message(line)))

    assert row.hash_valid is False
    assert row.effect == "PERMIT"  # what the record says now, flagged, never hidden


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=MIN_CREATED_NS, max_value=MAX_CREATED_NS), st.sampled_from(["", "+02:00", "-07:30"]))
def test_created_at_is_indexed_with_its_exact_nanoseconds(nanos: int, offset: str) -> None:
    text = rfc3339_nano(nanos)
    if offset:  # the same instant written with an offset (converted to UTC, as the daemon hashes it)
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        shift = (hours * 3600 + minutes * 60) * 1_000_000_000 * (1 if offset[0] == "+" else -1)
        if not MIN_CREATED_NS <= nanos + shift <= MAX_CREATED_NS:
            return
        text = rfc3339_nano(nanos + shift)[:-1] + offset
    value = _edited(created_at=text)

    row = indexed(DprProcessor().process(message(value)))

    assert row.created_ns == nanos == created_at_nanos(text)


_ONE_PROCESSOR = DprProcessor()  # memoises days and seconds across records, as in a runner


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=MIN_CREATED_NS, max_value=MAX_CREATED_NS), min_size=1, max_size=5),
       st.lists(st.integers(min_value=0, max_value=2_999_999_999), min_size=1, max_size=5))
def test_one_processor_indexes_every_nanosecond_exactly_across_records(bases: list[int], steps: list[int]) -> None:
    # Records in the same second, the next ones and other days, through one processor.
    for base in bases:
        for step in steps:
            nanos = min(base + step, MAX_CREATED_NS)
            text = rfc3339_nano(nanos)
            row = indexed(_ONE_PROCESSOR.process(message(_edited(created_at=text))))
            assert row.created_ns == nanos == created_at_nanos(text)


def test_a_nul_in_an_identity_field_is_rejected() -> None:
    assert "NUL character" in rejected(DprProcessor().process(message(_edited(record_id="r\x001"))))
