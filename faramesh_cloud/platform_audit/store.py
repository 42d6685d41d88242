"""PlatformAuditLog: the per-organisation hash chain in PostgreSQL.

Appending takes the organisation's head row ``FOR UPDATE``, so appends to one organisation
are serialised and ``seq`` has no gaps; appends to different organisations do not wait for
each other. :meth:`PlatformAuditLog.append_in` writes inside the caller's transaction (which
must be a :func:`tenant_transaction` for the same organisation), so an action and its audit
entry commit together or not at all; :meth:`PlatformAuditLog.append` opens its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from faramesh_cloud.platform_audit.chain import (
    AuditEntry,
    ChainReport,
    genesis_hash,
    verify_entries,
)
from faramesh_cloud.platform_audit.events import NO_TARGET, Actor, ActorType, Target, check_action
from faramesh_cloud.signing.canonical import canonical_json
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.sql.tenant import tenant_transaction

COMPONENT: Final = ("platform_audit", "faramesh_cloud.platform_audit")

_COLUMNS: Final = ("org_id, seq, event_id, occurred_at, action, actor_type, actor_id, actor_label, "
                   "actor_ip, target_type, target_id, details, prev_hash, entry_hash")
MAX_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to list or export. All given conditions must hold."""

    action: str | None = None  # exact action, or a prefix ending in ':' ("identity:member:")
    actor: str | None = None  # matches actor id or label (case-insensitive substring)
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None  # paging: entries older than this one

    def as_query(self) -> dict[str, Any]:
        """The filter as it is written into an export bundle."""
        out: dict[str, Any] = {}
        for name in ("action", "actor", "target_id", "before_seq"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        return out


def _row(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        org_id=str(row[0]), seq=int(row[1]), event_id=str(row[2]), occurred_at=row[3], action=row[4],
        actor=Actor(ActorType(row[5]), row[6], row[7], row[8]), target=Target(row[9], row[10]),
        details=row[11], prev_hash=row[12], entry_hash=row[13],
    )


class PlatformAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        """Apply the ``platform_audit`` migrations (needs ``stacks`` for ``orgs``)."""
        await migrate(self._db, [COMPONENT])

    async def append(self, org_id: str, action: str, actor: Actor, *, target: Target = NO_TARGET,
                     details: Mapping[str, Any] | None = None) -> AuditEntry:
        async with tenant_transaction(self._db, org_id) as conn:
            return await self.append_in(conn, org_id, action, actor, target=target, details=details)

    async def append_in(self, conn: psycopg.AsyncConnection[Any], org_id: str, action: str,
                        actor: Actor, *, target: Target = NO_TARGET,
                        details: Mapping[str, Any] | None = None) -> AuditEntry:
        """Append inside ``conn``'s open transaction (a tenant transaction for ``org_id``)."""
        org = str(uuid.UUID(str(org_id)))
        body = dict(details or {})
        canonical_json(body)  # refuse what cannot be hashed before touching the chain
        await conn.execute(
            "INSERT INTO platform_audit_heads (org_id, seq, entry_hash) VALUES (%s, 0, %s) "
            "ON CONFLICT (org_id) DO NOTHING",
            (org, genesis_hash(org)),
        )
        head = await (await conn.execute(
            "SELECT seq, entry_hash, clock_timestamp() FROM platform_audit_heads "
            "WHERE org_id = %s FOR UPDATE", (org,),
        )).fetchone()
        assert head is not None
        entry = AuditEntry(
            org_id=org, seq=int(head[0]) + 1, event_id=str(uuid.uuid4()), occurred_at=head[2],
            action=check_action(action), actor=actor, target=target, details=body, prev_hash=head[1],
        ).sealed()
        await conn.execute(
            f"INSERT INTO platform_audit_log ({_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (org, entry.seq, entry.event_id, entry.occurred_at, entry.action, str(actor.type),
             actor.id, actor.label, actor.ip, target.type, target.id, Jsonb(body), entry.prev_hash,
             entry.entry_hash),
        )
        await conn.execute(
            "UPDATE platform_audit_heads SET seq = %s, entry_hash = %s WHERE org_id = %s",
            (entry.seq, entry.entry_hash, org),
        )
        return entry

    async def page(self, org_id: str, where: AuditFilter | None = None, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first, at most ``limit`` (capped at 500)."""
        return await self._select(org_id, where or AuditFilter(), limit=max(1, min(limit, MAX_PAGE)),
                                  newest_first=True)

    async def entries(self, org_id: str, where: AuditFilter | None = None) -> list[AuditEntry]:
        """Every matching entry, oldest first (exports and verification)."""
        return await self._select(org_id, where or AuditFilter(), limit=None, newest_first=False)

    async def head(self, org_id: str) -> tuple[int, str]:
        """(last seq, its hash); (0, genesis) for an organisation with no entries."""
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "SELECT seq, entry_hash FROM platform_audit_heads WHERE org_id = %s", (org_id,),
            )).fetchone()
        return (0, genesis_hash(str(org_id))) if row is None else (int(row[0]), str(row[1]))

    async def verify(self, org_id: str) -> ChainReport:
        """Re-check the organisation's whole chain, and that it ends at the stored head."""
        org = str(uuid.UUID(str(org_id)))
        report = verify_entries(org, await self.entries(org))
        seq, head_hash = await self.head(org)
        if (report.last_seq or 0) != seq or (report.head_hash or genesis_hash(org)) != head_hash:
            report.problems.append(f"the chain ends at entry {report.last_seq or 0} but its head says "
                                   f"entry {seq}: entries are missing at the end")
        if not report.complete:
            report.problems.append("entries are missing from the chain")
        return report

    async def count(self, org_id: str, where: AuditFilter | None = None) -> int:
        """How many entries match (compliance evidence counts them)."""
        clauses, params = self._where(org_id, where or AuditFilter())
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                f"SELECT count(*) FROM platform_audit_log WHERE {' AND '.join(clauses)}", params)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _where(org_id: str, where: AuditFilter) -> tuple[list[str], list[Any]]:
        clauses: list[str] = ["org_id = %s"]
        params: list[Any] = [org_id]
        if where.action:
            if where.action.endswith(":"):
                clauses.append("starts_with(action, %s)")
            else:
                clauses.append("action = %s")
            params.append(where.action)
        if where.actor:
            clauses.append("(actor_id ILIKE %s OR actor_label ILIKE %s)")
            pattern = "%" + where.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        if where.target_id:
            clauses.append("target_id = %s")
            params.append(where.target_id)
        if where.since is not None:
            clauses.append("occurred_at >= %s")
            params.append(where.since)
        if where.until is not None:
            clauses.append("occurred_at < %s")
            params.append(where.until)
        if where.before_seq is not None:
            clauses.append("seq < %s")
            params.append(where.before_seq)
        return clauses, params

    async def _select(self, org_id: str, where: AuditFilter, *, limit: int | None,
                      newest_first: bool) -> list[AuditEntry]:
        clauses, params = self._where(org_id, where)
        sql = (f"SELECT {_COLUMNS} FROM platform_audit_log WHERE {' AND '.join(clauses)} "
               f"ORDER BY seq {'DESC' if newest_first else 'ASC'}")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        async with tenant_transaction(self._db, org_id) as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        return [_row(r) for r in rows]
