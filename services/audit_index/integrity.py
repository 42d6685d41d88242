"""PostgreSQL side of the audit index (reads): chain integrity, findings, alerts, and the
live tail's horizon. Every function takes ``org_id`` and reads only that organisation, except
the two the notifications service reads the alert hand-off with (``alerts_from``,
``acknowledged_among``: every organisation, by alert id). Acknowledging an alert
(``acknowledge``) is the one write, in the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.domain import ChainFinding, Severity
from faramesh_cloud.audit_index.views import AgentIntegrity, Alert, StackIntegrity
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]

_FINDING_COLUMNS = (
    "org_id, stack_id, agent_id, record_id, record_hash, kind, severity, message, chain_index, "
    "log_position, record_created_at, detected_ns"
)


def _finding(row: Sequence[Any]) -> ChainFinding:
    org, stack, agent, record_id, record_hash, kind, severity, message, index, where, created, ns = row
    return ChainFinding(org, stack, agent, record_id, record_hash, kind, Severity(severity), message,
                        int(index), where, created, int(ns))


async def chain_integrity(db: Database, org_id: str, stack_id: str | None = None) -> list[StackIntegrity]:
    """Per stack of ``org_id`` (or just ``stack_id``): every agent chain and its findings."""
    stack_clause = "" if stack_id is None else " AND stack_id = %(stack)s"
    params = {"org": org_id, "stack": stack_id}
    async with db.connection() as conn:
        agents = await (await conn.execute(
            "SELECT stack_id, agent_id, chain_length, segments, tip_hash, tip_record_id, last_lamport, "
            "first_created_at, last_created_at, last_verified_ns FROM audit_chain_agents "
            f"WHERE org_id = %(org)s{stack_clause} ORDER BY stack_id, agent_id",
            params,
        )).fetchall()
        findings = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings WHERE org_id = %(org)s{stack_clause} "
            "AND retracted_at IS NULL "
            "ORDER BY stack_id, agent_id, chain_index, detected_ns, kind",
            params,
        )).fetchall()
        alerts = await (await conn.execute(
            "SELECT stack_id, count(*) FROM audit_alerts "
            f"WHERE org_id = %(org)s AND NOT acknowledged{stack_clause} GROUP BY stack_id",
            params,
        )).fetchall()
    by_agent: dict[tuple[str, str], list[ChainFinding]] = {}
    for row in findings:
        finding = _finding(row)
        by_agent.setdefault((finding.stack_id, finding.agent_id), []).append(finding)
    open_alerts = {stack: int(n) for stack, n in alerts}
    stacks: dict[str, list[AgentIntegrity]] = {}
    for stack, agent, length, segments, tip, tip_id, lamport, first, last, verified in agents:
        stacks.setdefault(stack, []).append(AgentIntegrity(
            stack, agent, int(length), int(segments), tip, tip_id, int(lamport), first, last, int(verified),
            by_agent.get((stack, agent), []),
        ))
    return [_stack(stack, members, open_alerts.get(stack, 0)) for stack, members in stacks.items()]


def _stack(stack_id: str, agents: list[AgentIntegrity], open_alerts: int) -> StackIntegrity:
    kinds: dict[str, int] = {}
    critical = 0
    for agent in agents:
        for finding in agent.findings:
            kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
            critical += finding.severity is Severity.CRITICAL
    return StackIntegrity(
        stack_id=stack_id,
        chain_length=sum(a.chain_length for a in agents),
        segments=sum(a.segments for a in agents),
        last_verified_ns=max((a.last_verified_ns for a in agents), default=0),
        findings_by_kind=kinds,
        critical_findings=critical,
        open_alerts=open_alerts,
        agents=agents,
    )


async def record_chain_facts(
    db: Database, org_id: str, record_ids: Sequence[str]
) -> tuple[dict[tuple[str, str, str, str], int], list[ChainFinding]]:
    """Chain positions (by stack, agent, record_id, record_hash) and findings of records."""
    async with db.connection() as conn:
        positions = await (await conn.execute(
            "SELECT stack_id, agent_id, record_id, record_hash, chain_index FROM audit_chain_records "
            "WHERE org_id = %s AND record_id = ANY(%s::text[])",
            (org_id, list(record_ids)),
        )).fetchall()
        findings = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings "
            "WHERE org_id = %s AND record_id = ANY(%s::text[]) AND retracted_at IS NULL ORDER BY detected_ns, kind",
            (org_id, list(record_ids)),
        )).fetchall()
    return ({(s, a, r, h): int(i) for s, a, r, h, i in positions}, [_finding(row) for row in findings])


_ALERT_COLUMNS = (
    "alert_id, org_id, stack_id, agent_id, record_id, record_hash, kind, severity, message, record_created_at, "
    "created_at, acknowledged, acknowledged_at, coalesce(acknowledged_by, ''), coalesce(acknowledged_note, '')"
)


def _alert(row: Sequence[Any]) -> Alert:
    (alert_id, org, stack, agent, record_id, record_hash, kind, severity, message, record_created_at, created_at,
     acknowledged, acknowledged_at, acknowledged_by, note) = row
    return Alert(alert_id=int(alert_id), org_id=org, stack_id=stack, agent_id=agent, record_id=record_id,
                 record_hash=record_hash, kind=kind, severity=severity, message=message,
                 record_created_at=record_created_at, created_at=created_at, acknowledged=bool(acknowledged),
                 acknowledged_at=acknowledged_at, acknowledged_by=acknowledged_by, acknowledged_note=note)


async def alert(db: Database, org_id: str, alert_id: int) -> Alert | None:
    async with db.connection() as conn:
        return await _alert_in(conn, org_id, alert_id)


async def _alert_in(conn: Conn, org_id: str, alert_id: int) -> Alert | None:
    row = await (await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM audit_alerts WHERE org_id = %s AND alert_id = %s", (org_id, alert_id),
    )).fetchone()
    return _alert(row) if row is not None else None


async def alerts(db: Database, org_id: str, *, include_acknowledged: bool = False,
                 limit: int = 100) -> list[Alert]:
    """The organisation's audit alerts, newest first."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM audit_alerts "
            "WHERE org_id = %s AND (%s OR NOT acknowledged) ORDER BY created_at DESC, alert_id DESC LIMIT %s",
            (org_id, include_acknowledged, limit),
        )).fetchall()
    return [_alert(row) for row in rows]


async def acknowledge(conn: Conn, org_id: str, alert_id: int, by: str, note: str,
                      now: datetime) -> tuple[Alert | None, bool]:
    """Acknowledge one of ``org_id``'s alerts inside ``conn``'s (tenant) transaction: (the
    alert, True) when this call acknowledged it, (the alert, False) when it was already,
    (None, False) when the organisation has no such alert."""
    row = await (await conn.execute(
        "UPDATE audit_alerts SET acknowledged = true, acknowledged_at = %s, acknowledged_by = %s, "
        f"acknowledged_note = %s WHERE org_id = %s AND alert_id = %s AND NOT acknowledged RETURNING {_ALERT_COLUMNS}",
        (now, by, note, org_id, alert_id),
    )).fetchone()
    if row is not None:
        return _alert(row), True
    return await _alert_in(conn, org_id, alert_id), False


MAX_NOTE = 2000


class AlreadyAcknowledged(ValueError):
    code = "conflict"


async def acknowledge_alert(db: Database, audit: PlatformAuditLog, org_id: str, alert_id: int, note: str,
                            actor: Actor, now: datetime) -> Alert:
    """A person acknowledges one of ``org_id``'s alerts with a note: written with its platform
    audit log entry in one tenant transaction. ``LookupError`` when the organisation has no
    such alert; ``AlreadyAcknowledged`` when someone did before; ``ValueError`` without a note."""
    note = note.strip()
    if not note:
        raise ValueError("say what you found or did in a note (required to acknowledge an alert)")
    if len(note) > MAX_NOTE:
        raise ValueError(f"a note is at most {MAX_NOTE} characters")
    async with tenant_transaction(db, org_id) as conn:
        found, changed = await acknowledge(conn, org_id, alert_id, actor.label, note, now)
        if found is None:
            raise LookupError(f"no audit alert {alert_id} in this organisation")
        if not changed:
            raise AlreadyAcknowledged(f"alert {alert_id} was acknowledged by {found.acknowledged_by} at "
                                      f"{found.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC")
        await audit.append_in(conn, org_id, AuditAction.ALERT_ACKNOWLEDGED, actor, target=Target("audit_alert", str(alert_id)),
                              details={"stack_id": found.stack_id, "agent_id": found.agent_id, "kind": found.kind,
                                       "record_id": found.record_id, "note": note})
    return found


async def alerts_from(conn: Conn, first_id: int, limit: int) -> list[Alert]:
    """Alerts of every organisation with ``alert_id >= first_id``, by id: the notifications
    service's read of the hand-off (``audit_alerts`` is written in the batch's transaction)."""
    rows = await (await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM audit_alerts WHERE alert_id >= %s ORDER BY alert_id LIMIT %s",
        (first_id, limit),
    )).fetchall()
    return [_alert(row) for row in rows]


async def newest_alert_id(conn: Conn) -> tuple[int, int]:
    """(``pg_snapshot_xmax`` of this statement's snapshot, the highest alert id it shows, 0 if
    none): every id below that one was taken by a transaction older than that xmax."""
    row = await (await conn.execute(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, "
        "coalesce((SELECT max(alert_id) FROM audit_alerts), 0)"
    )).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


AlertKey = tuple[str, str, str, str, str, str]  # org, stack, agent, record id, record hash, kind


def alert_key(alert: Alert) -> AlertKey:
    """An alert's identity, which a rebuild of the index keeps (its ``alert_id`` it does not)."""
    return (alert.org_id, alert.stack_id, alert.agent_id, alert.record_id, alert.record_hash, alert.kind)


async def acknowledged_among(conn: Conn, keys: Sequence[AlertKey]) -> list[Alert]:
    """Those of the alerts ``keys`` name (any organisation) that are acknowledged now."""
    if not keys:
        return []
    columns = [list(column) for column in zip(*keys, strict=True)]
    rows = await (await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM audit_alerts WHERE acknowledged AND "
        "(org_id, stack_id, agent_id, record_id, record_hash, kind) IN (SELECT * FROM unnest("
        "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])) ORDER BY alert_id", columns,
    )).fetchall()
    return [_alert(row) for row in rows]


async def tail_horizon(db: Database, org_id: str) -> int:
    """Every tail sequence below this is searchable (0: nothing indexed yet)."""
    async with db.connection() as conn:
        row = await (await conn.execute(
            "SELECT next_seq FROM audit_org_sequences WHERE org_id = %s", (org_id,)
        )).fetchone()
    return int(row[0]) if row else 0
