"""The retention events on ``audit.retention.v1`` (JSON, msgspec; header ``kind`` names the
event), written through the index's outbox in the transaction of the change, and read back by
the index's retention consumer (a rebuild from the log restores policies, holds, horizons and
checkpoints before the first DPR is read again)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from faramesh_cloud.events.records import event_record
from faramesh_cloud.log.port import LogRecord


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The last record retention removed from one agent chain, signed (``checkpoint.py``)."""

    org_id: str
    stack_id: str
    agent_id: str
    chain_index: int
    record_hash: str
    record_id: str
    record_created_at: str
    removed_on: datetime
    sweep_id: str
    key_id: str = ""
    signature: str = ""


class RetentionPolicySet(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """How long DPRs stay: the organisation's (``stack_id`` empty) or a stack's; ``days`` 0
    clears a stack's own setting (it follows the organisation's again)."""

    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    days: int
    actor: str


class LegalHoldChanged(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    held: bool
    reason: str
    actor: str


class RetentionSwept(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A sweep removed the organisation's records created before ``horizon_ns`` (the months in
    ``months``, YYYYMM), after storing ``checkpoints``."""

    event_id: str
    occurred_at: datetime
    org_id: str
    sweep_id: str
    horizon_ns: int
    months: list[int]
    records: int
    summaries: int
    checkpoints: list[Checkpoint]


RetentionEvent = RetentionPolicySet | LegalHoldChanged | RetentionSwept
KINDS: Final = ("RetentionPolicySet", "LegalHoldChanged", "RetentionSwept")
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(RetentionEvent)


def record(event: RetentionEvent) -> LogRecord:
    stack = getattr(event, "stack_id", "")
    return event_record(event.org_id, stack, type(event).__name__, event.event_id, _ENCODER.encode(event))


def decode(kind: str, value: bytes) -> RetentionEvent | None:
    """The event; None for a kind this code does not know. ``ValueError`` for bytes that are
    not the named event."""
    if kind not in KINDS:
        return None
    try:
        event = _DECODER.decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"not a {kind}: {exc}") from None
    if type(event).__name__ != kind:
        raise ValueError(f"header kind {kind} but the event is a {type(event).__name__}")
    return event
