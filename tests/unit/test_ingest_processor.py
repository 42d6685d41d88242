"""The pure Push processor: request validation and item -> log record mapping."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, push_pb2, sync_pb2

from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.ingest.limits import KIB, IngestLimits
from faramesh_cloud.ingest.processor import (
    Caller,
    InvalidRequest,
    canonical_buffer_id,
    plan_push,
    validate_push,
)
from faramesh_cloud.rpc.sync_client import push_item
from tests.sync_items import dpr_item, jsonl_records, other_payloads, synthetic_records

LIMITS = IngestLimits()
BUFFER = str(uuid.uuid4())
CALLER = Caller(org_id=str(uuid.uuid4()), stack_id=str(uuid.uuid4()), buffer_id=BUFFER,
                received_ns=1_764_000_000_000_000_000)


def request(*items: push_pb2.PushItem, buffer_id: str = BUFFER) -> sync_pb2.PushRequest:
    return sync_pb2.PushRequest(buffer_id=buffer_id, items=items)


def rejection(item: push_pb2.PushItem, limits: IngestLimits = LIMITS) -> push_pb2.ItemRejection:
    plan = plan_push(request(item), CALLER, 0, limits)
    assert len(plan.rejections) == 1, plan.rejections
    return plan.rejections[0]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (request(buffer_id=""), "buffer_id"),
        (request(buffer_id="not-a-uuid"), "buffer_id"),
        (request(push_pb2.PushItem(sequence=0)), "items[0].sequence"),
        (request(push_pb2.PushItem(sequence=2), push_pb2.PushItem(sequence=2)), "items[1].sequence"),
        (request(push_pb2.PushItem(sequence=5), push_pb2.PushItem(sequence=4)), "items[1].sequence"),
        (request(*(push_pb2.PushItem(sequence=i) for i in range(1, 1002))), "items"),
    ],
)
def test_malformed_requests_name_the_field(bad: sync_pb2.PushRequest, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_push(bad, LIMITS)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_valid_request_gives_the_canonical_buffer_id() -> None:
    upper = BUFFER.upper()
    assert validate_push(request(push_pb2.PushItem(sequence=3), buffer_id=upper), LIMITS) == BUFFER
    assert canonical_buffer_id(upper) == BUFFER


def test_dprs_become_their_exact_bytes_with_origin_headers(vectors_dir: Path) -> None:
    raws = jsonl_records(vectors_dir, "dpr_chain_valid_jcs.jsonl") + synthetic_records(3)
    plan = plan_push(request(*(dpr_item(i, r) for i, r in enumerate(raws, start=10))), CALLER, 0, LIMITS)
    assert plan.rejections == [] and plan.through == 9 + len(raws)
    assert list(plan.appends) == [DPR_RECORDS]
    records = plan.appends[DPR_RECORDS]
    assert [r.value for r in records] == raws
    assert {r.key for r in records} == {stack_key(CALLER.org_id, CALLER.stack_id)}
    assert Origin.from_headers(records[0].headers) == Origin(
        CALLER.org_id, CALLER.stack_id, "sync", 10, BUFFER, CALLER.received_ns)


def test_unverifiable_chains_are_not_the_processors_business(vectors_dir: Path) -> None:
    raws = jsonl_records(vectors_dir, "dpr_chain_tampered_field.jsonl")
    plan = plan_push(request(*(dpr_item(i, r) for i, r in enumerate(raws, start=1))), CALLER, 0, LIMITS)
    assert plan.rejections == []
    assert [r.value for r in plan.appends[DPR_RECORDS]] == raws


def test_other_kinds_go_to_sync_items_as_their_protobuf_with_their_kind() -> None:
    payloads = other_payloads()
    plan = plan_push(request(*(push_item(i, p) for i, p in enumerate(payloads.values(), start=1))),
                     CALLER, 0, LIMITS)
    records = plan.appends[SYNC_ITEMS]
    assert [r.headers["kind"].decode() for r in records] == list(payloads)
    assert [r.value for r in records] == [p.SerializeToString() for p in payloads.values()]


def test_items_at_or_below_the_acked_sequence_are_not_appended_again() -> None:
    raws = synthetic_records(5)
    plan = plan_push(request(*(dpr_item(i, r) for i, r in enumerate(raws, start=1))), CALLER, 3, LIMITS)
    assert [Origin.from_headers(r.headers).sequence for r in plan.appends[DPR_RECORDS]] == [4, 5]
    assert plan.through == 5
    nothing_new = plan_push(request(dpr_item(2, raws[1])), CALLER, 3, LIMITS)
    assert nothing_new.appends == {} and nothing_new.through == 2


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b"", push_pb2.REJECTION_REASON_INVALID_FIELD, "dpr_record.record_json"),
        (b"{oops", push_pb2.REJECTION_REASON_MALFORMED, ""),
        (b"[1, 2]", push_pb2.REJECTION_REASON_MALFORMED, ""),
        (b'{"record_id": "r1"}', push_pb2.REJECTION_REASON_INVALID_FIELD,
         "dpr_record.record_json.prev_record_hash"),
    ],
)
def test_unusable_dprs_are_rejected_with_reason_and_field(raw: bytes, reason: int, field: str) -> None:
    rejected = rejection(dpr_item(7, raw, with_crc=False))
    assert (rejected.sequence, rejected.reason, rejected.field) == (7, reason, field)
    assert rejected.message


def test_a_dpr_field_of_the_wrong_type_is_named() -> None:
    raw = synthetic_records(1)[0].replace(b'"lamport_seq":1', b'"lamport_seq":"one"')
    assert rejection(dpr_item(1, raw)).field == "dpr_record.record_json.lamport_seq"


def test_a_crc_mismatch_is_rejected() -> None:
    item = push_pb2.PushItem(sequence=1, dpr_record=push_pb2.DprRecord(
        record_json=synthetic_records(1)[0], frame_crc32=12345))
    assert rejection(item).reason == push_pb2.REJECTION_REASON_CHECKSUM_MISMATCH


def test_missing_payload_and_unknown_kinds_are_unsupported() -> None:
    # A payload field this Cloud does not know (a newer daemon): field 99, length-delimited.
    unknown = push_pb2.PushItem.FromString(push_pb2.PushItem(sequence=2).SerializeToString()
                                           + b"\x9a\x06\x02\x08\x01")
    for item in (push_pb2.PushItem(sequence=2), unknown):
        assert rejection(item).reason == push_pb2.REJECTION_REASON_UNSUPPORTED_PAYLOAD


def test_an_item_over_max_item_bytes_is_too_large() -> None:
    limits = IngestLimits(max_item_bytes=1 * KIB, max_push_bytes=80 * KIB)
    big = dpr_item(1, synthetic_records(1)[0] + b" " * 2048)
    assert rejection(big, limits).reason == push_pb2.REJECTION_REASON_TOO_LARGE
    # Also when the caller passes the request's size (items are then measured only if the
    # whole request could hold one too large).
    small = dpr_item(2, synthetic_records(1)[0])
    whole = request(small, big)
    plan = plan_push(whole, CALLER, 0, limits, whole.ByteSize())
    assert [(r.sequence, r.reason) for r in plan.rejections] == [(1, push_pb2.REJECTION_REASON_TOO_LARGE)]
    assert len(plan.appends[DPR_RECORDS]) == 1


def test_records_of_a_push_share_their_origin_headers_but_not_their_sequence() -> None:
    raws = synthetic_records(3)
    plan = plan_push(request(*(dpr_item(i, r) for i, r in enumerate(raws, start=4))), CALLER, 0, LIMITS)
    origins = [Origin.from_headers(r.headers) for r in plan.appends[DPR_RECORDS]]
    assert [o.sequence for o in origins] == [4, 5, 6]
    assert {(o.org_id, o.stack_id, o.source, o.buffer, o.received_ns) for o in origins} == {
        (CALLER.org_id, CALLER.stack_id, "sync", BUFFER, CALLER.received_ns)}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (approvals_pb2.ApprovalEvent(approval=approvals_pb2.PendingApproval(defer_token="a", agent_id="b")),
         "approval_event.state"),
        (approvals_pb2.ApprovalEvent(state=1, approval=approvals_pb2.PendingApproval(agent_id="b")),
         "approval_event.approval.defer_token"),
        (approvals_pb2.ApprovalEvent(state=1, approval=approvals_pb2.PendingApproval(defer_token="a")),
         "approval_event.approval.agent_id"),
    ],
)
def test_other_kinds_missing_a_required_field_name_it(payload: approvals_pb2.ApprovalEvent, field: str) -> None:
    rejected = rejection(push_item(4, payload))
    assert (rejected.reason, rejected.field) == (push_pb2.REJECTION_REASON_INVALID_FIELD, field)


def test_rejected_items_are_parked_on_the_dead_letter_topic_with_the_reason() -> None:
    good, bad = dpr_item(1, synthetic_records(1)[0]), dpr_item(2, b"{oops")
    plan = plan_push(request(good, bad), CALLER, 0, LIMITS)
    assert list(plan.appends) == [DPR_RECORDS, DEAD_LETTERS]
    [parked] = plan.appends[DEAD_LETTERS]
    assert push_pb2.PushItem.FromString(parked.value) == bad
    assert parked.headers["kind"] == b"dpr_record"
    assert parked.headers["dlq-reason"].startswith(b"REJECTION_REASON_MALFORMED: ")
    assert Origin.from_headers(parked.headers).sequence == 2


def test_a_governance_fms_text_over_the_cap_is_rejected_naming_the_field() -> None:
    from faramesh_cloud_api.sync.v1 import fleet_pb2

    from faramesh_cloud.ingest.limits import GOVERNANCE_FMS_MAX_BYTES

    def status(text: str) -> push_pb2.PushItem:
        return push_item(4, fleet_pb2.StackStatus(
            daemon_version="1.2.0", applied_config=fleet_pb2.AppliedConfig(governance_fms=text)))

    at_cap = "a" * (GOVERNANCE_FMS_MAX_BYTES - 2) + "é"  # 2 UTF-8 bytes: exactly the cap
    plan = plan_push(request(status(at_cap)), CALLER, 0, LIMITS)
    assert not plan.rejections and len(plan.appends[SYNC_ITEMS]) == 1
    rejected = rejection(status("a" * (GOVERNANCE_FMS_MAX_BYTES - 1) + "é"))  # one byte over, in UTF-8
    assert (rejected.reason, rejected.field) == (push_pb2.REJECTION_REASON_INVALID_FIELD,
                                                 "stack_status.applied_config.governance_fms")
    assert str(GOVERNANCE_FMS_MAX_BYTES + 1) in rejected.message
