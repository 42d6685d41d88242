"""The edge between the service's events (``changes.py``) and the log: protobuf messages of
``faramesh_cloud_api.compliance.v1`` on ``compliance.events.v1``.

* :func:`encode`: a change as a log record (key ``"<org>/-"``; headers ``org``, ``stack``
  (empty), ``kind`` = the message name, ``event-id``).
* :class:`ChangeProcessor` (pure): a record read back as a change; it answers for every
  record (a kind this code does not know is passed over; one that cannot be read carries its
  reason, and the sink dead-letters it), so the stored position passes each one.
* :data:`OUTBOX`: the service's transactional outbox (``compliance_outbox``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Final

from faramesh_cloud_api.compliance.v1 import events_pb2 as pb
from google.protobuf.message import Message as ProtoMessage

from faramesh_cloud.compliance.changes import (
    ArtifactRecorded,
    Change,
    FrameworksDeclared,
    ReportFailed,
    ReportRequested,
    ShareLinkCreated,
    ShareLinkRevoked,
)
from faramesh_cloud.events import records
from faramesh_cloud.events.topics import (
    COMPLIANCE_EVENTS,
    H_EVENT_ID,
    H_KIND,
    H_ORG,
    H_STACK,
    org_key,
)
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.wire import instant, read_instant

TOPIC: Final = COMPLIANCE_EVENTS
OUTBOX_TABLE: Final = "compliance_outbox"
OUTBOX: Final = Outbox(OUTBOX_TABLE)


def _actor(actor: Actor) -> pb.Actor:
    return pb.Actor(type=actor.type.value, id=actor.id, label=actor.label)


def _actor_of(raw: pb.Actor) -> Actor:
    return Actor(ActorType(raw.type), raw.id, raw.label)


def _message(change: Change) -> ProtoMessage:
    common = {"event_id": change.event_id, "occurred_at": instant(change.occurred_at), "org_id": change.org_id}
    match change:
        case FrameworksDeclared():
            return pb.FrameworksDeclared(**common, actor=_actor(change.actor), frameworks=list(change.frameworks))
        case ReportRequested():
            return pb.ReportRequested(**common, actor=_actor(change.actor), report_id=change.report_id,
                                      framework=change.framework, stack_ids=list(change.stack_ids),
                                      range_start=instant(change.range_start), range_end=instant(change.range_end),
                                      retry_of=change.retry_of)
        case ReportFailed():
            return pb.ReportFailed(**common, report_id=change.report_id, error=change.error)
        case ArtifactRecorded():
            return pb.ArtifactRecorded(
                **common, actor=_actor(change.actor), artifact_id=change.artifact_id, kind=change.kind,
                title=change.title, parameters_json=json.dumps(change.parameters, sort_keys=True, separators=(",", ":")),
                sha256=change.sha256, size=change.size, filename=change.filename, media_type=change.media_type,
                verification_hash=change.verification_hash, report_id=change.report_id)
        case ShareLinkCreated():
            return pb.ShareLinkCreated(**common, actor=_actor(change.actor), link_id=change.link_id,
                                       artifact_id=change.artifact_id, token_sha256=change.token_sha256,
                                       expires_at=instant(change.expires_at), note=change.note)
        case ShareLinkRevoked():
            return pb.ShareLinkRevoked(**common, actor=_actor(change.actor), link_id=change.link_id)
    raise TypeError(f"not a compliance event: {change!r}")


def encode(change: Change) -> LogRecord:
    message = _message(change)
    headers = {H_ORG: change.org_id.encode(), H_STACK: b"", H_KIND: type(message).__name__.encode(),
               H_EVENT_ID: change.event_id.encode()}
    return LogRecord(org_key(change.org_id), message.SerializeToString(deterministic=True), headers)


def _id(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a UUID") from None


def _declared(m: pb.FrameworksDeclared, c: dict[str, Any]) -> Change:
    return FrameworksDeclared(**c, actor=_actor_of(m.actor), frameworks=tuple(m.frameworks))


def _requested(m: pb.ReportRequested, c: dict[str, Any]) -> Change:
    return ReportRequested(**c, actor=_actor_of(m.actor), report_id=_id(m.report_id, "report_id"),
                           framework=m.framework, stack_ids=tuple(m.stack_ids),
                           range_start=read_instant(m.range_start), range_end=read_instant(m.range_end),
                           retry_of=_id(m.retry_of, "retry_of") if m.retry_of else "")


def _failed(m: pb.ReportFailed, c: dict[str, Any]) -> Change:
    return ReportFailed(**c, report_id=_id(m.report_id, "report_id"), error=m.error)


def _artifact(m: pb.ArtifactRecorded, c: dict[str, Any]) -> Change:
    parameters = json.loads(m.parameters_json or "{}")
    if not isinstance(parameters, dict):
        raise ValueError("parameters_json is not a JSON object")
    return ArtifactRecorded(**c, actor=_actor_of(m.actor), artifact_id=_id(m.artifact_id, "artifact_id"),
                            kind=m.kind, title=m.title, parameters=parameters, sha256=m.sha256, size=m.size,
                            filename=m.filename, media_type=m.media_type, verification_hash=m.verification_hash,
                            report_id=_id(m.report_id, "report_id") if m.report_id else "")


def _shared(m: pb.ShareLinkCreated, c: dict[str, Any]) -> Change:
    return ShareLinkCreated(**c, actor=_actor_of(m.actor), link_id=_id(m.link_id, "link_id"),
                            artifact_id=_id(m.artifact_id, "artifact_id"), token_sha256=m.token_sha256,
                            expires_at=read_instant(m.expires_at), note=m.note)


def _revoked(m: pb.ShareLinkRevoked, c: dict[str, Any]) -> Change:
    return ShareLinkRevoked(**c, actor=_actor_of(m.actor), link_id=_id(m.link_id, "link_id"))


_DECODERS: Final[dict[str, tuple[type[Any], Callable[[Any, dict[str, Any]], Change]]]] = {
    "FrameworksDeclared": (pb.FrameworksDeclared, _declared),
    "ReportRequested": (pb.ReportRequested, _requested),
    "ReportFailed": (pb.ReportFailed, _failed),
    "ArtifactRecorded": (pb.ArtifactRecorded, _artifact),
    "ShareLinkCreated": (pb.ShareLinkCreated, _shared),
    "ShareLinkRevoked": (pb.ShareLinkRevoked, _revoked),
}


def decode(kind: str, value: bytes, org_header: str) -> Change | None:
    """The change in ``value``; None for a kind this code does not know. Raises ValueError
    (or DecodeError) for a record that cannot be read or whose body names another
    organisation than its ``org`` header."""
    found = _DECODERS.get(kind)
    if found is None:
        return None
    message_type, build = found
    message = message_type.FromString(value)
    org_id = _id(message.org_id, "org_id")
    if org_id != org_header:
        raise ValueError(f"the event names organisation {org_id} but its org header says {org_header!r}")
    if not message.HasField("occurred_at"):
        raise ValueError("the event has no occurred_at")
    common = {"event_id": _id(message.event_id, "event_id"), "occurred_at": read_instant(message.occurred_at),
              "org_id": org_id}
    return build(message, common)


Seen = records.Seen  # of this service's Change (a parameterised alias cannot build a frozen, slotted instance)


class ChangeProcessor(records.OwnEventProcessor[Change]):
    """This service's events read back (``decode``), each record answered (``records``)."""

    def __init__(self) -> None:
        super().__init__(decode)
