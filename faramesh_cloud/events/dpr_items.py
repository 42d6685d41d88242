"""How raw DPR bytes become log records, shared by every way in (pure).

The sync channel (``faramesh_cloud.ingest.processor``) and the WAL import do the same two
things with a record a daemon wrote: check that it *is* a DPR (``parse_record`` +
``check_record``; whether its hash, chain link or signature verify is the audit
projection's finding, never a reason to refuse it) and put the exact bytes on
``dpr.records.v1`` keyed by stack, or park what is not a DPR on the dead-letter topic with
the reason, so nothing vanishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud.dpr.canonical import DprFormatError, check_record, parse_record
from faramesh_cloud.events.topics import H_KIND, Origin, stack_key
from faramesh_cloud.log.port import LogRecord

# Why a record was parked on the dead-letter topic (the consumer runner uses the same name).
H_DLQ_REASON: Final = "dlq-reason"
# Where a DPR sits in the daemon's WAL, for auditors: base file name, frame byte offset,
# zero-based frame ordinal (DPR and control frames both count).
H_WAL_FILE: Final = "wal_file"
H_WAL_OFFSET: Final = "wal_offset"
H_WAL_FRAME: Final = "wal_frame"
_MAX_REASON_BYTES: Final = 4000


@dataclass(frozen=True, slots=True)
class NotADpr:
    """Why bytes are not a usable DPR; ``field`` names the offending field when there is one."""

    message: str
    field: str | None = None


def dpr_problem(raw: bytes, parsed: Mapping[str, Any] | None = None) -> NotADpr | None:
    """None when ``raw`` is a DPR Cloud can store (it may still fail verification).
    ``parsed``: the record already decoded from ``raw``, to save decoding it again."""
    try:
        check_record(parse_record(raw) if parsed is None else parsed)
    except DprFormatError as exc:
        return NotADpr(str(exc), exc.field)
    return None


def dpr_log_record(origin: Origin, raw: bytes, extra: Mapping[str, bytes] | None = None) -> LogRecord:
    """The record for ``dpr.records.v1``: the daemon's bytes unchanged, origin in headers."""
    headers = origin.headers()
    if extra:
        headers.update(extra)
    return LogRecord(stack_key(origin.org_id, origin.stack_id), bytes(raw), headers)


def dead_letter_record(origin: Origin, value: bytes, kind: str, reason: str) -> LogRecord:
    """The record for the dead-letter topic: what arrived, unchanged, with why and what."""
    headers = origin.headers()
    headers[H_KIND] = kind.encode()
    headers[H_DLQ_REASON] = reason.encode("utf-8", "replace")[:_MAX_REASON_BYTES]
    return LogRecord(stack_key(origin.org_id, origin.stack_id), bytes(value), headers)
