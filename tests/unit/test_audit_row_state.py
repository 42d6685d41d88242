"""How a read names a row's findings and derives its state (issue 18, ``row_state``): pure."""

from __future__ import annotations

import dataclasses

from faramesh_cloud.audit_index.domain import ChainFinding, Severity, severity_of
from faramesh_cloud.audit_index.row_state import Named, behind, derive, position_on
from faramesh_cloud.audit_index.verification_state import Watermark
from faramesh_cloud.audit_index.views import RecordSummary
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.events.topics import DPR_RECORDS

TOPIC = DPR_RECORDS


def _row(offset: int, *, record_hash: str = "h1", signature_kind: str = "ed25519") -> RecordSummary:
    return RecordSummary(
        org_id="o", stack_id="s", agent_id="a", session_id="x", record_id="r1", created_at="t", created_ns=1,
        effect="PERMIT", action_type="tool_call", tool_id="t", matched_rule_id="", reason_code="", reason="",
        lamport_seq=1, record_hash=record_hash, hash_valid=False, signature_status="unsigned",
        signature_kind=signature_kind, link_status="unchecked", source="sync", log_partition=2, log_offset=offset,
        org_seq=0)


def _finding(kind: str, where: str, record_hash: str = "h1") -> ChainFinding:
    return ChainFinding("o", "s", "a", "r1", record_hash, kind, severity_of(kind), "m", 0, where, "t", 0)


def test_a_log_position_is_read_only_on_the_dpr_topic() -> None:
    assert position_on(TOPIC, f"{TOPIC}[3]@42") == (3, 42)
    assert position_on(TOPIC, "wal.problems.v1[0]@7") is None
    assert position_on(TOPIC, "not a position") is None


def test_verifying_until_the_watermark_passes_then_verified_or_failed() -> None:
    row = _row(10)
    none = Named.of(TOPIC, [])
    assert derive(row, Watermark({2: 10}), none).state == "verifying"
    assert behind(row, Watermark({2: 10})) == 1 and behind(row, Watermark({})) == 11
    checked = derive(row, Watermark({2: 11}), none)
    assert (checked.state, checked.hash_valid, checked.signature_status, checked.link_status) == (
        "verified", True, "valid", "linked")
    bad = derive(row, Watermark({2: 11}), Named.of(TOPIC, [_finding("record_hash_mismatch", f"{TOPIC}[2]@10")]))
    assert (bad.state, bad.hash_valid) == ("failed", False)
    warned = derive(row, Watermark({2: 11}), Named.of(TOPIC, [_finding("regenesis", f"{TOPIC}[2]@10")]))
    assert (warned.state, warned.link_status) == ("verified", "regenesis")  # a warning is not a failure


def test_a_finding_names_only_the_copy_at_its_position() -> None:
    """Two stored copies of one record id and hash (a duplicate with other bytes): the
    duplicate finding marks the second copy, not the original."""
    named = Named.of(TOPIC, [_finding(FindingKind.DUPLICATE.value, f"{TOPIC}[2]@20")])
    mark = Watermark({2: 100})
    assert derive(_row(10), mark, named).link_status == "linked"
    assert derive(_row(20), mark, named).link_status == "duplicate"
    elsewhere = Named.of(TOPIC, [_finding("record_hash_mismatch", f"{TOPIC}[2]@20")])
    assert derive(_row(10), mark, elsewhere).state == "verified"
    assert derive(_row(20), mark, elsewhere).state == "failed"


def test_a_finding_off_the_dpr_topic_names_the_record_by_id() -> None:
    wal = _finding("wal_corrupt", "wal.problems.v1[0]@7", record_hash="")
    assert wal.severity is Severity.CRITICAL
    assert derive(_row(10, signature_kind="hmac"), Watermark({2: 11}), Named.of(TOPIC, [wal])).state == "failed"


def test_a_summary_stays_unverified() -> None:
    summary = dataclasses.replace(_row(1), verification="unverified", link_status="unverified")
    derived = derive(summary, Watermark({2: 100}), Named.of(TOPIC, [_finding("gap", f"{TOPIC}[2]@1")]))
    assert (derived.state, derived.link_status) == ("unverified", "unverified")
