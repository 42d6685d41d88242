"""Pure Push processing: validate a request, turn its items into log records.

No I/O and no clock: the caller passes who is pushing (from the API key, never from the
message) and when it was received. Two outcomes for bad input, as docs/sync-api.md says:

* the request as a whole is malformed (no ``buffer_id``, sequence 0 or not increasing, too
  many items): :class:`InvalidRequest` naming the field, answered ``INVALID_ARGUMENT``;
* one item is bad (unparsable DPR, a required field missing, CRC mismatch, too large, an
  unknown payload kind): an ``ItemRejection`` for it, and the item itself goes to the
  dead-letter topic with the reason, so nothing vanishes and nothing blocks the buffer.

A DPR only has to be a DPR (``validate_record``): whether its hash, chain
link or signature verify is the audit projection's finding, never a rejection here.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from faramesh_cloud_api.sync.v1 import push_pb2, sync_pb2

from faramesh_cloud.dpr.canonical import DprFormatError
from faramesh_cloud.dpr.validate import validate_record
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DPR_RECORDS,
    H_KIND,
    H_SEQUENCE,
    SYNC_ITEMS,
    Origin,
    stack_key,
)
from faramesh_cloud.ingest.limits import GOVERNANCE_FMS_MAX_BYTES, IngestLimits
from faramesh_cloud.log.port import LogRecord, SharedHeaders

SOURCE: Final = "sync"
# Extra headers: where a DPR sits in the daemon's WAL (for auditors), and why an item was
# parked on the dead-letter topic (same name the consumer runner uses).
H_WAL_FILE: Final = "wal_file"
H_WAL_OFFSET: Final = "wal_offset"
H_WAL_FRAME: Final = "wal_frame"
H_DLQ_REASON: Final = "dlq-reason"

_MALFORMED: Final = push_pb2.REJECTION_REASON_MALFORMED
_INVALID_FIELD: Final = push_pb2.REJECTION_REASON_INVALID_FIELD
_TOO_LARGE: Final = push_pb2.REJECTION_REASON_TOO_LARGE
_CHECKSUM: Final = push_pb2.REJECTION_REASON_CHECKSUM_MISMATCH
_UNSUPPORTED: Final = push_pb2.REJECTION_REASON_UNSUPPORTED_PAYLOAD


class InvalidRequest(ValueError):
    """The request as a whole is malformed; ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


@dataclass(frozen=True, slots=True)
class Caller:
    """Who pushed (from the API key) and when Cloud received it."""

    org_id: str
    stack_id: str
    buffer_id: str
    received_ns: int


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: int
    field: str
    message: str


@dataclass(slots=True)
class PushPlan:
    """What to append, per topic in first-use order, and what to answer."""

    appends: dict[str, list[LogRecord]] = field(default_factory=dict)
    rejections: list[push_pb2.ItemRejection] = field(default_factory=list)
    through: int = 0  # highest sequence in the request (0 for an empty one)

    def add(self, topic: str, record: LogRecord) -> None:
        self.appends.setdefault(topic, []).append(record)


def canonical_buffer_id(value: str, field_path: str = "buffer_id") -> str:
    """The buffer id in canonical UUID form; InvalidRequest when missing or not a UUID."""
    if not value:
        raise InvalidRequest(field_path, "required: the UUID of the daemon's outbound buffer")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidRequest(
            field_path, f"{value[:64]!r} is not a UUID; create one (UUIDv4) with the buffer and keep it"
        ) from None


def validate_push(request: sync_pb2.PushRequest, limits: IngestLimits) -> str:
    """Check the request as a whole; returns the canonical buffer id."""
    buffer_id = canonical_buffer_id(request.buffer_id)
    if len(request.items) > limits.max_push_items:
        raise InvalidRequest(
            "items",
            f"{len(request.items)} items exceed max_push_items ({limits.max_push_items}); "
            "send at most that many per push (HelloResponse.max_push_items)",
        )
    previous = 0
    for index, item in enumerate(request.items):
        if item.sequence == 0:
            raise InvalidRequest(f"items[{index}].sequence", "must be 1 or more (0 is invalid)")
        if item.sequence <= previous:
            raise InvalidRequest(
                f"items[{index}].sequence",
                f"{item.sequence} does not follow {previous}; items must be in strictly "
                "increasing sequence order",
            )
        previous = item.sequence
    return buffer_id


def plan_push(
    request: sync_pb2.PushRequest, caller: Caller, acked_through: int, limits: IngestLimits,
    request_bytes: int | None = None,
) -> PushPlan:
    """Records to append for the items above ``acked_through`` (the ones at or below it are
    already durable or rejected, so a retried batch appends nothing twice). ``request_bytes``
    is the request's size when known: if it is within ``max_item_bytes``, no item can exceed
    that and items are not measured one by one."""
    plan = PushPlan(through=request.items[-1].sequence if request.items else 0)
    key = stack_key(caller.org_id, caller.stack_id)
    # Every record of the push shares its origin but the sequence: one headers object for all.
    origin = Origin(caller.org_id, caller.stack_id, SOURCE, 0, caller.buffer_id, caller.received_ns).headers()
    del origin[H_SEQUENCE]
    measure = request_bytes is None or request_bytes > limits.max_item_bytes
    for item in request.items:
        if item.sequence <= acked_through:
            continue
        sequence = str(item.sequence).encode()
        kind = item.WhichOneof("payload")
        outcome = _item(item, kind, limits, measure)
        if isinstance(outcome, Rejection):
            plan.rejections.append(
                push_pb2.ItemRejection(sequence=item.sequence, reason=outcome.reason,  # type: ignore[arg-type]
                                       field=outcome.field, message=outcome.message)
            )
            reason = f"{push_pb2.RejectionReason.Name(outcome.reason)}: {outcome.message}"
            own = {H_SEQUENCE: sequence, H_KIND: (kind or "unknown").encode(),
                   H_DLQ_REASON: reason.encode()[:4000]}
            plan.add(DEAD_LETTERS, LogRecord(key, item.SerializeToString(), SharedHeaders(origin, own)))
            continue
        topic, value, extra = outcome
        plan.add(topic, LogRecord(key, value, SharedHeaders(origin, {H_SEQUENCE: sequence, **extra})))
    return plan


_Accepted = tuple[str, bytes, dict[str, bytes]]


def _item(item: push_pb2.PushItem, kind: str | None, limits: IngestLimits, measure: bool) -> _Accepted | Rejection:
    if measure and (size := item.ByteSize()) > limits.max_item_bytes:
        return Rejection(_TOO_LARGE, "", f"item of {size} bytes exceeds max_item_bytes ({limits.max_item_bytes})")
    if kind is None:
        return Rejection(_UNSUPPORTED, "", "no payload set, or a payload kind this Cloud does not know")
    if kind == "dpr_record":
        return _dpr(item.dpr_record)
    problem = _REQUIRED[kind](item) if kind in _REQUIRED else None
    if problem is not None:
        return problem
    payload = getattr(item, kind)
    return SYNC_ITEMS, payload.SerializeToString(), {H_KIND: kind.encode()}


def _dpr(record: push_pb2.DprRecord) -> _Accepted | Rejection:
    raw = record.record_json
    if not raw:
        return Rejection(_INVALID_FIELD, "dpr_record.record_json", "required: the WAL frame payload bytes")
    if record.HasField("frame_crc32") and zlib.crc32(raw) != record.frame_crc32:
        return Rejection(
            _CHECKSUM, "dpr_record.frame_crc32",
            f"CRC-32 of record_json is {zlib.crc32(raw):08x}, the frame says {record.frame_crc32:08x}; "
            "re-read the frame from the WAL and enqueue it again",
        )
    try:
        validate_record(raw)
    except DprFormatError as exc:
        if exc.field:
            return Rejection(_INVALID_FIELD, f"dpr_record.record_json.{exc.field}", str(exc))
        return Rejection(_MALFORMED, "", f"dpr_record.record_json: {exc}")
    extra: dict[str, bytes] = {}
    if record.wal_file:
        extra = {
            H_WAL_FILE: record.wal_file.encode(),
            H_WAL_OFFSET: str(record.wal_offset).encode(),
            H_WAL_FRAME: str(record.wal_frame_index).encode(),
        }
    return DPR_RECORDS, bytes(raw), extra


def _missing(path: str, what: str) -> Rejection:
    return Rejection(_INVALID_FIELD, path, f"required: {what}")


def _approval(item: push_pb2.PushItem) -> Rejection | None:
    event = item.approval_event
    if event.state == 0:
        return _missing("approval_event.state", "the approval's state after this change")
    if not event.approval.defer_token:
        return _missing("approval_event.approval.defer_token", "the defer token")
    if not event.approval.agent_id:
        return _missing("approval_event.approval.agent_id", "the agent whose call is deferred")
    return None


def _credential(item: push_pb2.PushItem) -> Rejection | None:
    event = item.credential_expiry
    if not event.agent_id:
        return _missing("credential_expiry.agent_id", "the agent the credential is brokered for")
    if event.event_type == 0:
        return _missing("credential_expiry.event_type", "what happened to the credential")
    return None


def _budget(item: push_pb2.PushItem) -> Rejection | None:
    snapshot = item.budget_snapshot
    if not snapshot.agent_id:
        return _missing("budget_snapshot.agent_id", "the agent")
    if snapshot.scope == 0:
        return _missing("budget_snapshot.scope", "the budget scope (session or daily)")
    return None


def _status(item: push_pb2.PushItem) -> Rejection | None:
    text = item.stack_status.applied_config.governance_fms
    # A str of n code points is at least n UTF-8 bytes: encode only when it could be over.
    if len(text) * 4 > GOVERNANCE_FMS_MAX_BYTES and (size := len(text.encode())) > GOVERNANCE_FMS_MAX_BYTES:
        return Rejection(_INVALID_FIELD, "stack_status.applied_config.governance_fms",
                         f"governance.fms text of {size} bytes exceeds the {GOVERNANCE_FMS_MAX_BYTES}-byte cap: "
                         "leave the field empty when the file is larger")
    return None


# Required-field checks per payload kind; kinds without an entry have none.
_REQUIRED: Final[Mapping[str, Callable[[push_pb2.PushItem], Rejection | None]]] = MappingProxyType({
    "approval_event": _approval,
    "credential_expiry": _credential,
    "budget_snapshot": _budget,
    "stack_status": _status,
})

