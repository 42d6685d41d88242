"""Yanking a published version: the registry's smallest whole yank command.

One transaction writes the state (``registry_versions.state = 'yanked'``, when, by whom, why),
the typed ``VersionYanked`` event on ``registry.events.v1`` (through ``registry_outbox``) and the
registry log's ``yanked`` entry; any failure rolls all three back. The daemon API answers 404
for the version from then on, and the pack alerts raise a CRITICAL alert for every stack that
imports it.

Who may yank is the caller's question (a publisher its own namespace, a platform reviewer any:
``Submissions.yank`` checks that and audits, then writes through :func:`yank_in` in its own
transaction);
here: the version must exist and be published, and a reason is mandatory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.domain import Kind, Version, parse_name
from faramesh_cloud.registry.events import OUTBOX, TOPIC, VersionYanked, encode, new_event_id
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.registry.translog_format import LogAction
from faramesh_cloud.sql.database import Database

MAX_REASON: Final = 2000
Conn = AsyncConnection[Any]


class YankRefused(ValueError):
    """The yank cannot be done; the message says why (nothing was written)."""


class NotInRegistry(YankRefused):
    """The version to yank is not in the registry."""


async def yank(db: Database, store: RegistryStore, *, kind: str, name: str, version: str, reason: str,
               actor: Actor, at: datetime) -> VersionYanked:
    """Yank ``kind`` ``name``@``version`` in its own transaction (:func:`yank_in`)."""
    async with db.transaction() as conn:
        return await yank_in(conn, store, kind=kind, name=name, version=version, reason=reason, actor=actor, at=at)


async def yank_in(conn: Conn, store: RegistryStore, *, kind: str, name: str, version: str, reason: str,
                  actor: Actor, at: datetime) -> VersionYanked:
    """Yank ``kind`` ``name``@``version`` inside the caller's transaction ``conn`` (the ONE writer
    of the yanked state, its ``VersionYanked`` event and its registry-log entry); the event
    written. :class:`YankRefused` for an unknown kind, name or version, one yanked already, or an
    empty reason; :class:`NotInRegistry` for one not in the registry. Nothing is written then."""
    try:
        k = Kind.parse(kind)
        namespace = parse_name(k, name).namespace
        Version.parse(version)
    except ValueError as exc:
        raise YankRefused(str(exc)) from None
    why = reason.strip()
    if not why:
        raise YankRefused("a yank needs a reason (people and the registry log are told why)")
    if len(why) > MAX_REASON:
        raise YankRefused(f"the reason is longer than {MAX_REASON} characters")
    if not await store.mark_yanked(conn, k, name, version, at, actor.label, why):
        row = await (await conn.execute(
            "SELECT state FROM registry_versions WHERE kind = %s AND name = %s AND version = %s",
            (k.value, name, version))).fetchone()
        if row is None:
            raise NotInRegistry(f"{k.value} {name}@{version} is not in the registry")
        raise YankRefused(f"{k.value} {name}@{version} is already yanked")
    event = VersionYanked(new_event_id(), at, actor, k.value, name, version, why,
                          await store.publisher_org(conn, namespace) or "")
    await OUTBOX.add(conn, TOPIC, [encode(event)])
    await translog.append(conn, action=LogAction.YANKED.value,
                          subject={"kind": k.value, "name": name, "version": version},
                          actor={"type": actor.type.value, "id": actor.id, "label": actor.label},
                          body={"reason": why, "event_id": event.event_id})
    return event
