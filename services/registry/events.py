"""The registry's events (pure dataclasses) and their edge to the log: protobuf messages of
``faramesh_cloud_api.registry.v1`` on ``registry.events.v1``, written through the service's
transactional outbox (``registry_outbox``) in the same transaction as the state they describe.

The catalog is global, so records are keyed by artifact (``"<kind>/<name>"``) or ``"keys"``,
not by organisation; headers ``org`` (the publisher's organisation, empty for the official
namespace and for keys), ``stack`` (empty), ``kind`` (the message name) and ``event-id``.
The publishing commands' messages (``VersionYanked``, ``Submission*``, ``Publisher*``,
``Issue*``) are built by ``publish_events`` and written with :func:`encode_message`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud_api.registry.v1 import events_pb2 as pb
from google.protobuf.message import Message as ProtoMessage

from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, REGISTRY_EVENTS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.wire import instant, read_instant

TOPIC: Final = REGISTRY_EVENTS
OUTBOX_TABLE: Final = "registry_outbox"
OUTBOX: Final = Outbox(OUTBOX_TABLE)
KEYS_KEY: Final = b"keys"


def new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class VersionPublished:
    event_id: str
    occurred_at: datetime
    actor: Actor
    kind: str
    name: str
    version: str
    source: str
    trust_tier: str
    key_id: str
    body_sha256: str = ""
    org_id: str = ""
    size_bytes: int = 0  # what the version stores (body and binaries); 0: not measured


@dataclass(frozen=True, slots=True)
class KeyAdded:
    event_id: str
    occurred_at: datetime
    actor: Actor
    key_id: str
    origin: str
    public_key_b64: str


@dataclass(frozen=True, slots=True)
class KeyRetired:
    event_id: str
    occurred_at: datetime
    actor: Actor
    key_id: str
    replaced_by: str = ""


@dataclass(frozen=True, slots=True)
class VersionYanked:
    event_id: str
    occurred_at: datetime
    actor: Actor
    kind: str
    name: str
    version: str
    reason: str
    org_id: str = ""


Event = VersionPublished | KeyAdded | KeyRetired | VersionYanked


def _actor(actor: Actor) -> pb.Actor:
    return pb.Actor(type=actor.type.value, id=actor.id, label=actor.label)


def _actor_of(raw: pb.Actor) -> Actor:
    return Actor(ActorType(raw.type), raw.id, raw.label)


def _message(event: Event) -> tuple[bytes, str, ProtoMessage]:
    common = {"event_id": event.event_id, "occurred_at": instant(event.occurred_at), "actor": _actor(event.actor)}
    match event:
        case VersionPublished():
            return (f"{event.kind}/{event.name}".encode(), event.org_id, pb.VersionPublished(
                **common, kind=event.kind, name=event.name, version=event.version, source=event.source,
                trust_tier=event.trust_tier, key_id=event.key_id, body_sha256=event.body_sha256,
                org_id=event.org_id, size_bytes=event.size_bytes))
        case VersionYanked():
            return (f"{event.kind}/{event.name}".encode(), event.org_id, pb.VersionYanked(
                **common, kind=event.kind, name=event.name, version=event.version, reason=event.reason,
                org_id=event.org_id))
        case KeyAdded():
            return KEYS_KEY, "", pb.KeyAdded(**common, key_id=event.key_id, origin=event.origin,
                                             public_key_b64=event.public_key_b64)
        case KeyRetired():
            return KEYS_KEY, "", pb.KeyRetired(**common, key_id=event.key_id, replaced_by=event.replaced_by)
    raise TypeError(f"not a registry event: {event!r}")


def encode(event: Event) -> LogRecord:
    key, org, message = _message(event)
    return encode_message(key, org, event.event_id, message)


def encode_message(key: bytes, org: str, event_id: str, message: ProtoMessage) -> LogRecord:
    """Any ``registry.v1`` message as its record (the publishing commands' messages too)."""
    headers = {H_ORG: org.encode(), H_STACK: b"", H_KIND: type(message).__name__.encode(),
               H_EVENT_ID: event_id.encode()}
    return LogRecord(key, message.SerializeToString(deterministic=True), headers)


def decode(kind: str, value: bytes) -> Event | None:
    """The event in ``value`` (None: a kind this code does not know); ValueError / DecodeError
    for one that cannot be read."""
    if kind == "VersionPublished":
        v = pb.VersionPublished.FromString(value)
        return VersionPublished(v.event_id, read_instant(v.occurred_at), _actor_of(v.actor), v.kind, v.name,
                                v.version, v.source, v.trust_tier, v.key_id, v.body_sha256, v.org_id, v.size_bytes)
    if kind == "VersionYanked":
        y = pb.VersionYanked.FromString(value)
        return VersionYanked(y.event_id, read_instant(y.occurred_at), _actor_of(y.actor), y.kind, y.name, y.version,
                             y.reason, y.org_id)
    if kind == "KeyAdded":
        a = pb.KeyAdded.FromString(value)
        return KeyAdded(a.event_id, read_instant(a.occurred_at), _actor_of(a.actor), a.key_id, a.origin,
                        a.public_key_b64)
    if kind == "KeyRetired":
        r = pb.KeyRetired.FromString(value)
        return KeyRetired(r.event_id, read_instant(r.occurred_at), _actor_of(r.actor), r.key_id, r.replaced_by)
    return None
