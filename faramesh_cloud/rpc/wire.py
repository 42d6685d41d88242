"""Protobuf well-known types to and from Python values, for servicers and clients of the
internal APIs (pure modules take and return ``datetime`` / ``timedelta``, never protobuf).

A ``datetime`` becomes a ``Timestamp`` exactly (microseconds); one read back is aware, in UTC.
An unset message field is ``None``, never the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime | None) -> Timestamp | None:
    """``moment`` as a Timestamp; None stays None (leaves the field unset). A naive
    ``datetime`` is refused: the internal APIs carry instants, not wall-clock readings."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no instant; pass an aware one (e.g. datetime.now(UTC))")
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def instant(when: datetime) -> Timestamp:
    """An event's time as a Timestamp (the event codecs): converted to UTC first, so an aware
    value in any zone is the same instant (``astimezone``, as those codecs always did)."""
    stamp = Timestamp()
    stamp.FromDatetime(when.astimezone(UTC))
    return stamp


def read_instant(stamp: Timestamp) -> datetime:
    """A Timestamp read back as an aware UTC datetime (microseconds)."""
    found: datetime = stamp.ToDatetime(tzinfo=UTC)
    return found


def moment(message: Message, name: str) -> datetime | None:
    """The Timestamp field ``name`` of ``message`` as an aware UTC datetime; None when unset."""
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    found: datetime = stamp.ToDatetime(tzinfo=UTC)
    return found


def duration(span: timedelta | None) -> Duration | None:
    if span is None:
        return None
    value = Duration()
    value.FromTimedelta(span)
    return value


def span(message: Message, name: str) -> timedelta | None:
    """The Duration field ``name`` of ``message`` as a timedelta; None when unset."""
    if not message.HasField(name):
        return None
    value: Duration = getattr(message, name)
    found: timedelta = value.ToTimedelta()
    return found
