"""``approval_event`` items of ``sync.items.v1`` as every service reading them first sees
them (pure): the header ``kind`` picks them, the tenant comes from the ``org``/``stack``
headers (never the payload), the value is an ``ApprovalEvent``; timestamps left unset fall
back to a given time. The approvals and notifications processors build on these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from faramesh_cloud_api.sync.v1 import approvals_pb2
from google.protobuf.message import DecodeError

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, H_ORG, H_STACK
from faramesh_cloud.log.port import Message

KIND: Final = b"approval_event"
DEFAULT_DEADLINE: Final = timedelta(minutes=5)  # the daemon's DefaultTimeout


def approval_tenant(message: Message) -> tuple[str, str] | Rejected | None:
    """(org, stack) of an ``approval_event`` item; ``None`` for any other kind."""
    if message.headers.get(H_KIND) != KIND:
        return None
    try:
        return message.headers[H_ORG].decode(), message.headers[H_STACK].decode()
    except KeyError as exc:
        return Rejected(f"approval_event without tenant header {exc}")


def approval_event(message: Message) -> approvals_pb2.ApprovalEvent | Rejected:
    try:
        return approvals_pb2.ApprovalEvent.FromString(message.value)
    except DecodeError as exc:
        return Rejected(f"not an ApprovalEvent: {exc}")


def received_at(message: Message) -> datetime:
    """When the log took the item (the fallback for times the daemon left unset)."""
    return datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)


def stamp_time(stamp: object, fallback: datetime) -> datetime:
    """A protobuf ``Timestamp`` as an aware datetime; ``fallback`` when it is unset."""
    seconds, nanos = getattr(stamp, "seconds", 0), getattr(stamp, "nanos", 0)
    if not seconds and not nanos:
        return fallback
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
