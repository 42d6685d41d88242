"""What every publishing command writes besides its state, in the caller's ONE transaction:

1. its event on ``registry.events.v1`` through the registry's outbox (``registry_outbox``):
   key ``"<org>/-"`` of the publishing organisation, headers ``org``, ``stack`` (empty),
   ``kind`` (the event's past-tense name) and ``event-id``; the value is a protobuf
   ``google.protobuf.Struct`` of the event's fields (ids, names, versions, digests, reasons,
   who acted), so a consumer needs no registry code to read it;
2. its entry in the hash-chained registry log (``translog.append``), subject
   ``<kind>/<name>@<version>`` or ``namespace/<ns>``;
3. its platform-audit entry in the organisation concerned, when a person acted.

Nothing here commits: the command's transaction does, or rolls all of it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from google.protobuf.struct_pb2 import Struct
from psycopg import AsyncConnection

from faramesh_cloud.events.records import event_record
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog

TOPIC: Final = "registry.events.v1"
OUTBOX: Final = Outbox("registry_outbox")

Conn = AsyncConnection[Any]


class PublishAction(StrEnum):
    """Platform-audit (and registry-log) actions of publishing, ``scope:resource:action``."""

    NAMESPACE_CLAIMED = "registry:namespace:claim"
    NAMESPACE_CONFIRMED = "registry:namespace:confirm"
    NAMESPACE_REJECTED = "registry:namespace:reject"
    SUBMITTED = "registry:submission:submit"
    APPROVED = "registry:submission:approve"
    REJECTED = "registry:submission:reject"
    YANKED = "registry:version:yank"
    ISSUE_FILED = "registry:issue:file"
    ISSUE_REPLIED = "registry:issue:reply"


EVENT_KINDS: Final[Mapping[PublishAction, str]] = {
    PublishAction.NAMESPACE_CLAIMED: "NamespaceClaimed",
    PublishAction.NAMESPACE_CONFIRMED: "NamespaceConfirmed",
    PublishAction.NAMESPACE_REJECTED: "NamespaceRejected",
    PublishAction.SUBMITTED: "SubmissionQueued",
    PublishAction.APPROVED: "VersionPublished",
    PublishAction.REJECTED: "SubmissionRejected",
    PublishAction.YANKED: "VersionYanked",
    PublishAction.ISSUE_FILED: "IssueReportFiled",
    PublishAction.ISSUE_REPLIED: "IssueReportReplied",
}


class LogAppend(Protocol):
    """``translog.append``: one registry-log entry inside the caller's transaction."""

    def __call__(self, conn: Conn, *, action: str, subject: Mapping[str, Any], actor: Mapping[str, Any],
                 body: Mapping[str, Any]) -> Awaitable[Any]: ...


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def encode(kind: str, org_id: str, event_id: str, fields: Mapping[str, Any]) -> Any:
    message = Struct()
    message.update(_plain({**fields, "event_id": event_id, "org_id": org_id}))
    return event_record(org_id, "", kind, event_id, message.SerializeToString(deterministic=True))


def decode(value: bytes) -> dict[str, Any]:
    """An event's fields read back (tests, consumers without registry code)."""
    from google.protobuf.json_format import MessageToDict

    message = Struct.FromString(value)
    return dict(MessageToDict(message))


def _subject(subject: str) -> dict[str, str]:
    """``namespace/acme`` or ``policy/acme/x@1.0.0`` as the registry log's subject object."""
    head, _, rest = subject.partition("/")
    if head == "namespace":
        return {"namespace": rest}
    name, _, version = rest.rpartition("@")
    return {"kind": head, "name": name, "version": version}


class Recorder:
    """Writes the event, the registry-log entry and the audit entry of one command."""

    def __init__(self, audit: PlatformAuditLog, log_append: LogAppend,
                 clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._log = log_append
        self.clock = clock

    async def __call__(self, conn: Conn, action: PublishAction, *, org_id: str, subject: str, actor: Actor,
                       target: Target, fields: Mapping[str, Any], person: bool = True) -> str:
        event_id = str(uuid.uuid4())
        body = {**_plain(fields), "actor": actor.label, "actor_type": str(actor.type)}
        await OUTBOX.add(conn, TOPIC, [encode(EVENT_KINDS[action], org_id, event_id,
                                              {**body, "occurred_at": self.clock()})])
        await self._log(conn, action=str(action), subject=_subject(subject),
                        actor={"type": str(actor.type), "id": actor.id, "label": actor.label},
                        body={k: v for k, v in body.items() if k not in ("actor", "actor_type")})
        if person:
            await self._audit.append_in(conn, org_id, str(action), actor, target=target,
                                        details={k: v for k, v in body.items() if k not in ("actor", "actor_type")})
        return event_id
