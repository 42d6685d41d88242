"""The git integrations' events on ``fleet.events.v1`` (protobuf ``faramesh_cloud_api.fleet.v1``
``events.proto``), written through the fleet's transactional outbox (``fleet_outbox``) in the
transaction of the change each records (``git_api.py``), relayed in order by the fleet service.
Keyed ``"<org>/-"``; headers ``org``, ``stack`` (the stack, or empty), ``kind`` = the message
name, ``event-id``. No event carries a token. The only module of the git integrations besides
the gRPC edge that imports generated code."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Final

from faramesh_cloud_api.fleet.v1 import events_pb2 as pb
from faramesh_cloud_api.fleet.v1 import git_pb2
from google.protobuf.message import Message as ProtoMessage

from faramesh_cloud.events.topics import FLEET_EVENTS, H_EVENT_ID, H_KIND, H_ORG, H_STACK, org_key
from faramesh_cloud.fleet.git_drift import GitConnection
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.wire import instant

TOPIC: Final = FLEET_EVENTS
OUTBOX_TABLE: Final = "fleet_outbox"
OUTBOX: Final = Outbox(OUTBOX_TABLE)


def _actor(actor: Actor) -> git_pb2.GitActor:
    return git_pb2.GitActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


def _record(org_id: str, stack_id: str, message: ProtoMessage) -> LogRecord:
    event_id = getattr(message, "event_id")  # noqa: B009 (every event message has one)
    headers = {H_ORG: org_id.encode(), H_STACK: stack_id.encode(), H_KIND: type(message).__name__.encode(),
               H_EVENT_ID: str(event_id).encode()}
    return LogRecord(org_key(org_id), message.SerializeToString(deterministic=True), headers)


def _common(org_id: str, at: datetime) -> dict[str, object]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": instant(at), "org_id": org_id}


def connected(c: GitConnection, actor: Actor) -> LogRecord:
    return _record(c.org_id, "", pb.GitConnected(**_common(c.org_id, c.created_at), actor=_actor(actor),  # type: ignore[arg-type]
                                                 connection_id=c.connection_id, name=c.name,
                                                 provider=c.provider.value, base_url=c.base_url))


def disconnected(org_id: str, connection_id: str, actor: Actor, at: datetime) -> LogRecord:
    return _record(org_id, "", pb.GitDisconnected(**_common(org_id, at), actor=_actor(actor),  # type: ignore[arg-type]
                                                  connection_id=connection_id))


def mapped(org_id: str, stack_id: str, connection_id: str, repository: str, path: str, branch: str, actor: Actor,
           at: datetime) -> LogRecord:
    return _record(org_id, stack_id, pb.GitStackMapped(
        **_common(org_id, at), actor=_actor(actor), stack_id=stack_id, connection_id=connection_id,  # type: ignore[arg-type]
        repository=repository, path=path, branch=branch))


def unmapped(org_id: str, stack_id: str, actor: Actor, at: datetime) -> LogRecord:
    return _record(org_id, stack_id, pb.GitStackUnmapped(**_common(org_id, at), actor=_actor(actor),  # type: ignore[arg-type]
                                                         stack_id=stack_id))


def checked(org_id: str, stack_id: str, head: str, text: str | None, error: str, actor: Actor | None,
            at: datetime) -> LogRecord:
    message = pb.GitDriftChecked(**_common(org_id, at), stack_id=stack_id, head_commit=head if not error else "",  # type: ignore[arg-type]
                                 head_sha256=hashlib.sha256(text.encode()).hexdigest() if text is not None and
                                 not error else "", error=error)
    if actor is not None:
        message.actor.CopyFrom(_actor(actor))
    return _record(org_id, stack_id, message)
