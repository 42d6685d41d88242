"""Publishers: an organisation claims a namespace; a platform reviewer confirms or rejects it.

Each command is one transaction: the ``registry_publishers`` row, its event, its registry-log
entry and the platform-audit entry of the claiming organisation (a reviewer's decision is
recorded in the organisation it concerns: that is whose namespace changed).
"""

from __future__ import annotations

from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.registry.publish_domain import (
    NotAllowed,
    Publisher,
    PublisherState,
    PublishRefused,
    Unknown,
    check_namespace,
    check_reason,
    check_text,
)
from faramesh_cloud.registry.publish_events import Change, PublishAction, Recorder
from faramesh_cloud.sql.database import Database

_COLUMNS: Final = ("namespace, org_id, display_name, state, claimed_at, claimed_by, reviewed_at, reviewed_by, "
                   "reason")


def _publisher(row: tuple[Any, ...]) -> Publisher:
    return Publisher(row[0], str(row[1]) if row[1] else None, row[2], PublisherState(row[3]), row[4], row[5],
                     row[6], row[7] or "", row[8] or "")


async def namespace_of(conn: AsyncConnection[Any], namespace: str) -> Publisher | None:
    row = await (await conn.execute(f"SELECT {_COLUMNS} FROM registry_publishers WHERE namespace = %s",
                                    (namespace,))).fetchone()
    return None if row is None else _publisher(row)


class Publishers:
    def __init__(self, db: Database, record: Recorder) -> None:
        self._db = db
        self._record = record

    async def claim(self, org_id: str, namespace: str, display_name: str, actor: Actor) -> Publisher:
        namespace = check_namespace((namespace or "").strip())
        display = check_text(display_name or namespace, "display name", 100)
        async with self._db.transaction() as conn:
            found = await namespace_of(conn, namespace)
            if found is not None and found.state is not PublisherState.REJECTED:
                whose = "your organisation" if found.org_id == org_id else "another organisation"
                raise PublishRefused(f"namespace {namespace!r} is already claimed by {whose} ({found.state})")
            now = self._record.clock()
            await conn.execute(
                "INSERT INTO registry_publishers (namespace, org_id, display_name, state, claimed_at, claimed_by, "
                "reviewed_at, reviewed_by, reason) VALUES (%s, %s, %s, 'pending', %s, %s, NULL, '', '') "
                "ON CONFLICT (namespace) DO UPDATE SET org_id = EXCLUDED.org_id, display_name = EXCLUDED.display_name, "
                "state = 'pending', claimed_at = EXCLUDED.claimed_at, claimed_by = EXCLUDED.claimed_by, "
                "reviewed_at = NULL, reviewed_by = '', reason = ''",
                (namespace, org_id, display, now, actor.label))
            await self._record(conn, Change(
                PublishAction.NAMESPACE_CLAIMED, org_id, f"namespace/{namespace}", {"namespace": namespace},
                Target("registry_namespace", namespace), {"namespace": namespace, "display_name": display},
                {"org_id": org_id, "display_name": display}), actor)
            result = await namespace_of(conn, namespace)
        assert result is not None
        return result

    async def review(self, namespace: str, confirm: bool, reason: str, actor: Actor) -> Publisher:
        reason = check_reason(reason, "confirm a namespace" if confirm else "reject a namespace")
        async with self._db.transaction() as conn:
            row = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_publishers WHERE namespace = %s FOR UPDATE", (namespace,))).fetchone()
            if row is None:
                raise Unknown(f"no namespace {namespace!r} has been claimed")
            found = _publisher(row)
            if found.state is not PublisherState.PENDING or found.org_id is None:
                raise PublishRefused(f"namespace {namespace!r} is {found.state}, not waiting for review")
            state = PublisherState.CONFIRMED if confirm else PublisherState.REJECTED
            await conn.execute(
                "UPDATE registry_publishers SET state = %s, reviewed_at = %s, reviewed_by = %s, reason = %s "
                "WHERE namespace = %s", (str(state), self._record.clock(), actor.label, reason, namespace))
            action = PublishAction.NAMESPACE_CONFIRMED if confirm else PublishAction.NAMESPACE_REJECTED
            await self._record(conn, Change(
                action, found.org_id, f"namespace/{namespace}", {"namespace": namespace},
                Target("registry_namespace", namespace), {"namespace": namespace, "reason": reason},
                {"org_id": found.org_id, "reason": reason}), actor)
            result = await namespace_of(conn, namespace)
        assert result is not None
        return result

    async def of_org(self, org_id: str) -> list[Publisher]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_publishers WHERE org_id = %s ORDER BY namespace", (org_id,))).fetchall()
        return [_publisher(r) for r in rows]

    async def pending(self) -> list[Publisher]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_publishers WHERE state = 'pending' ORDER BY claimed_at")).fetchall()
        return [_publisher(r) for r in rows]


async def owned_confirmed(conn: AsyncConnection[Any], org_id: str, namespace: str) -> Publisher:
    """The namespace, if ``org_id`` owns it and it is confirmed; else the refusal saying why."""
    found = await namespace_of(conn, namespace)
    if found is None or found.org_id != org_id:
        raise NotAllowed(f"namespace {namespace!r} is not one your organisation has claimed; claim it under "
                         "Registry → Publish first") if found is None or found.org_id is None else \
            NotAllowed(f"namespace {namespace!r} belongs to another publisher")
    if found.state is not PublisherState.CONFIRMED:
        raise PublishRefused(f"namespace {namespace!r} is {found.state}: a platform reviewer must confirm it "
                             "before you can publish in it")
    return found
