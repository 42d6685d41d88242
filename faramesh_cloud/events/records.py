"""A service's own events on the log: the record shape every producer and consumer shares.

Key ``stack_key(org, stack)`` for a stack's events (one stack's events stay in order) or
``"<org>/-"`` for an organisation's; headers ``org``, ``stack`` (may be empty), ``kind`` (the
event's message name) and ``event-id`` (consumers dedupe by it). The value is the event's
protobuf bytes; codecs live with each service, at its edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import DecodeError

from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, stack_key
from faramesh_cloud.log.port import LogRecord, Message

C = TypeVar("C")


def event_record(org_id: str, stack_id: str, kind: str, event_id: str, value: bytes) -> LogRecord:
    key = stack_key(org_id, stack_id) if stack_id else f"{org_id}/-".encode()
    return LogRecord(key, value, {H_ORG: org_id.encode(), H_STACK: stack_id.encode(), H_KIND: kind.encode(),
                                  H_EVENT_ID: event_id.encode()})


@dataclass(frozen=True, slots=True)
class EventHeaders:
    org_id: str
    stack_id: str
    kind: str
    event_id: str


def event_headers(key: bytes, headers: Mapping[str, bytes]) -> EventHeaders:
    """The tenant, kind and id of an event record; ``ValueError`` naming what is missing or
    does not match the key."""
    try:
        org, stack = headers[H_ORG].decode(), headers.get(H_STACK, b"").decode()
        kind, event_id = headers[H_KIND].decode(), headers.get(H_EVENT_ID, b"").decode()
    except KeyError as exc:
        raise ValueError(f"event without the {exc.args[0]!r} header; producers set org, stack, kind, event-id") from None
    except UnicodeDecodeError:
        raise ValueError("event headers are not UTF-8") from None
    expected = stack_key(org, stack) if stack else f"{org}/-".encode()
    if not org or key != expected:
        raise ValueError(f"event key {key!r} does not match its org/stack headers ({org}/{stack})")
    return EventHeaders(org, stack, kind, event_id)


@dataclass(frozen=True, slots=True)
class Seen(Generic[C]):
    """One record of a service's own topic as its sink gets it: a change, nothing (a kind this
    code does not know: written by a newer version during a rolling restart), or the reason it
    cannot be read (then ``message`` is kept for the dead letter)."""

    topic: str
    partition: int
    offset: int
    change: C | None
    problem: str = ""
    message: Message | None = None


class OwnEventProcessor(Generic[C]):
    """A record read back as a change with ``decode(kind, value, org header)`` (pure). It
    answers for every record, so the consumer's stored position passes each one: a kind
    ``decode`` does not know (None) is passed over, one it cannot read carries the reason."""

    def __init__(self, decode: Callable[[str, bytes, str], C | None]) -> None:
        self._decode = decode

    def process(self, message: Message) -> Seen[C]:
        kind = message.headers.get(H_KIND, b"").decode("utf-8", "replace")
        org = message.headers.get(H_ORG, b"").decode("utf-8", "replace")
        try:
            change = self._decode(kind, message.value, org)
        except (ValueError, DecodeError, KeyError, TypeError) as exc:
            return Seen(message.topic, message.partition, message.offset, None,
                        f"{kind or 'a record without a kind'} cannot be read: {type(exc).__name__}: {exc}", message)
        return Seen(message.topic, message.partition, message.offset, change)
