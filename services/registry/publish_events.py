"""What every publishing command writes besides its state, in the caller's ONE transaction:

1. its typed event (``faramesh_cloud_api.registry.v1``: ``PublisherClaimed``,
   ``SubmissionQueued``, ``VersionYanked``, ...) on ``registry.events.v1`` through the
   registry's outbox, keyed ``<kind>/<name>`` (artifact events) or ``namespace/<namespace>``,
   header ``org`` the organisation concerned (``events.encode_message``); approval adds the
   core's ``VersionPublished``;
2. its entry in the hash-chained registry log (``translog.append``), then a checkpoint signed
   with Cloud's active registry key (``translog.checkpoint``);
3. its platform-audit entry in the organisation concerned, when a person acted.

Nothing here commits: the command's transaction does, or rolls all of it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from faramesh_cloud_api.registry.v1 import events_pb2 as pb
from psycopg import AsyncConnection

from faramesh_cloud.platform_audit.events import Actor, ActorType, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.events import OUTBOX, TOPIC, Event, encode, encode_message
from faramesh_cloud.registry.translog_format import LogAction
from faramesh_cloud.rpc.wire import instant

Conn = AsyncConnection[Any]


class PublishAction(StrEnum):
    """Platform-audit actions of publishing, ``scope:resource:action``."""

    NAMESPACE_CLAIMED = "registry:namespace:claim"
    NAMESPACE_CONFIRMED = "registry:namespace:confirm"
    NAMESPACE_REJECTED = "registry:namespace:reject"
    SUBMITTED = "registry:submission:submit"
    APPROVED = "registry:submission:approve"
    REJECTED = "registry:submission:reject"
    YANKED = "registry:version:yank"
    ISSUE_FILED = "registry:issue:file"
    ISSUE_REPLIED = "registry:issue:reply"


@dataclass(frozen=True, slots=True)
class _Kind:
    log: LogAction
    message: type[Any]


KINDS: Final[Mapping[PublishAction, _Kind]] = {
    PublishAction.NAMESPACE_CLAIMED: _Kind(LogAction.PUBLISHER_CLAIMED, pb.PublisherClaimed),
    PublishAction.NAMESPACE_CONFIRMED: _Kind(LogAction.PUBLISHER_CONFIRMED, pb.PublisherConfirmed),
    PublishAction.NAMESPACE_REJECTED: _Kind(LogAction.PUBLISHER_REJECTED, pb.PublisherRejected),
    PublishAction.SUBMITTED: _Kind(LogAction.SUBMITTED, pb.SubmissionQueued),
    PublishAction.APPROVED: _Kind(LogAction.APPROVED, pb.SubmissionApproved),
    PublishAction.REJECTED: _Kind(LogAction.REJECTED, pb.SubmissionRejected),
    PublishAction.ISSUE_FILED: _Kind(LogAction.ISSUE_REPORTED, pb.IssueReported),
    PublishAction.ISSUE_REPLIED: _Kind(LogAction.ISSUE_REPLIED, pb.IssueReplied),
}


def decode(kind: str, value: bytes) -> Any:
    """A publishing event read back as its protobuf message (``kind``: the ``kind`` header)."""
    return getattr(pb, kind).FromString(value)


def log_actor(actor: Actor) -> dict[str, str]:
    return {"type": str(actor.type), "id": actor.id, "label": actor.label}


@dataclass(frozen=True, slots=True)
class Change:
    """One command's record: what the event, the log entry and the audit entry say."""

    action: PublishAction
    org_id: str
    key: str  # the event's record key: "<kind>/<name>" or "namespace/<namespace>"
    subject: Mapping[str, str]  # the log's subject: {kind, name, version} or {namespace}
    target: Target
    fields: Mapping[str, Any]  # the event message's own fields (after event_id, occurred_at, actor)
    log_body: Mapping[str, Any]  # what the registry log keeps (no reporter's words, no addresses)


class Recorder:
    """Writes the event, the registry-log entries (then a checkpoint) and the audit entry of one
    command. ``log_signer`` is Cloud's active registry key as the log signs with it."""

    def __init__(self, audit: PlatformAuditLog, log_signer: Callable[[], translog.Signer],
                 clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._signer = log_signer
        self.clock = clock

    async def __call__(self, conn: Conn, change: Change, actor: Actor, *,
                       also: Sequence[tuple[LogAction, Mapping[str, Any], Mapping[str, Any], Event]] = ()) -> str:
        """``also``: further (log action, subject, body, core event) of the same command (the
        approval's ``published``/``VersionPublished``)."""
        event_id = str(uuid.uuid4())
        kind = KINDS[change.action]
        message = kind.message(event_id=event_id, occurred_at=instant(self.clock()), actor=_actor(actor),
                               org_id=change.org_id, **change.fields)
        records = [encode_message(change.key.encode(), change.org_id, event_id, message)]
        records += [encode(event) for *_, event in also]
        await OUTBOX.add(conn, TOPIC, records)
        await translog.append(conn, action=kind.log, subject=dict(change.subject), actor=log_actor(actor),
                              body=dict(change.log_body))
        for action, subject, body, _ in also:
            await translog.append(conn, action=action, subject=dict(subject), actor=log_actor(actor), body=dict(body))
        await self.attest(conn, change.org_id, change.action, change.target, change.fields, actor)
        return event_id

    async def attest(self, conn: Conn, org_id: str, action: PublishAction, target: Target,
                     fields: Mapping[str, Any], actor: Actor) -> None:
        """A checkpoint over what the command logged, then its audit entry (a person's). A yank
        wrote its own event and log entry (``yank.yank_in``) and comes here for these only."""
        await translog.checkpoint(conn, self._signer())
        if actor.type is not ActorType.SYSTEM:
            details = {k: v for k, v in fields.items() if not isinstance(v, Mapping)}
            await self._audit.append_in(conn, org_id, str(action), actor, target=target, details=details)


def _actor(actor: Actor) -> Any:
    return pb.Actor(type=actor.type.value, id=actor.id, label=actor.label)
