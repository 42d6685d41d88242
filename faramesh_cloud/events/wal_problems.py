"""``dpr.wal_problems.v1``: damage a WAL import met that the records alone cannot show (pure).

A daemon's WAL with a bad frame *before its end* (bad CRC, magic, version or length, and
intact data after it) is evidence of loss, not a torn tail: when the daemon next opens the
WAL it truncates it at that frame (upstream ``OpenWAL``, FARAMESH_FORMATS 1.8), and what
followed is gone from the WAL. ``faramesh-cloud import-wal`` appends one
:class:`WalCorruptionFound` per (file, offset) it meets, keyed by stack like every topic,
with the last good DPR before the damage. The audit index turns it into a ``wal_corrupt``
chain-integrity finding (critical: it raises an alert) on that record.
"""

from __future__ import annotations

import msgspec

from faramesh_cloud.events.topics import H_KIND, Origin, stack_key
from faramesh_cloud.log.port import LogRecord

KIND = "wal_corruption_found"


class WalCorruptionFound(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """A WAL damaged at ``offset`` of file ``file_name`` (identity ``file_identity``), after
    the DPR ``record_id`` / ``record_hash`` of ``agent_id`` (the last good one before it)."""

    file_name: str
    file_identity: str
    offset: int
    reason: str
    unread_bytes: int
    agent_id: str
    record_id: str
    record_hash: str
    record_created_at: str

    def describe(self) -> str:
        return (f"WAL {self.file_name} is corrupt at byte offset {self.offset}, after this record: {self.reason}; "
                f"the {self.unread_bytes} bytes after it could not be read and were not imported. The daemon "
                "truncates its WAL there when it next opens it, so records written after this one are gone "
                "from the WAL (its faramesh.db may still hold them: faramesh audit export)")


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(WalCorruptionFound)


def wal_problem_record(origin: Origin, event: WalCorruptionFound) -> LogRecord:
    """The record for ``dpr.wal_problems.v1``: the event as JSON, origin in headers."""
    headers = origin.headers()
    headers[H_KIND] = KIND.encode()
    return LogRecord(stack_key(origin.org_id, origin.stack_id), _ENCODER.encode(event), headers)


def decode_wal_problem(value: bytes) -> WalCorruptionFound:
    """Raises ``msgspec.DecodeError`` / ``msgspec.ValidationError`` for anything else."""
    return _DECODER.decode(value)
