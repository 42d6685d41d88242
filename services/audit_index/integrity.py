"""PostgreSQL side of the audit index (reads): chain integrity, findings, alerts, and the
live tail's horizon. Every function takes ``org_id`` and reads only that organisation.
Acknowledging an alert is a command of the index's API (``api.py``); other services learn
of alerts from ``audit.alerts.v1``, never from these tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.audit_index import row_state
from faramesh_cloud.audit_index.alert_events import AlreadyAcknowledged
from faramesh_cloud.audit_index.domain import VERIFIER_PROJECTION, ChainFinding, Severity
from faramesh_cloud.audit_index.retention import store as retention_store
from faramesh_cloud.audit_index.verification_state import Watermark
from faramesh_cloud.audit_index.views import AgentIntegrity, Alert, StackIntegrity
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
__all__ = ["AlreadyAcknowledged", "alert", "alert_in", "alerts", "chain_integrity", "chain_positions",
           "record_chain_facts", "tail_horizon"]

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
        cps = await retention_store.checkpoints(conn, org_id, stack_id)
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
            by_agent.get((stack, agent), []), cps.get((stack, agent)),
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


ChainKey = tuple[str, str, str, str]  # (stack_id, agent_id, record_id, record_hash)


async def record_chain_facts(
    db: Database, org_id: str, keys: Sequence[ChainKey]
) -> tuple[dict[ChainKey, int], list[ChainFinding]]:
    """Chain positions and findings of records, each named by (stack, agent, record_id,
    record_hash) as its search row has them. The positions are primary-key probes of the
    chain members: the members have no other index, because every index on them is paid by
    every record verified (migration 0011)."""
    keys = list(dict.fromkeys(keys))
    async with db.connection() as conn:
        positions = await (await conn.execute(
            "SELECT k.s, k.a, k.r, k.h, m.chain_index "
            "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS k(s, a, r, h) "
            "CROSS JOIN LATERAL (SELECT c.chain_index FROM audit_chain_records c WHERE c.org_id = %s "
            "AND c.stack_id = k.s AND c.agent_id = k.a AND c.record_hash = k.h AND c.record_id = k.r LIMIT 1) m",
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [k[3] for k in keys], org_id),
        )).fetchall()
        findings = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings "
            "WHERE org_id = %s AND record_id = ANY(%s::text[]) AND retracted_at IS NULL ORDER BY detected_ns, kind",
            (org_id, list(dict.fromkeys(k[2] for k in keys))),
        )).fetchall()
    return ({(s, a, r, h): int(i) for s, a, r, h, i in positions}, [_finding(row) for row in findings])


async def chain_positions(db: Database, org_id: str, stack_id: str, agent_id: str,
                          record_hashes: Sequence[str]) -> dict[str, int]:
    """Chain positions on one agent chain, by record hash (a hash not on it: absent)."""
    if not record_hashes:
        return {}
    async with db.connection() as conn:
        rows = await (await conn.execute(
            "SELECT record_hash, chain_index FROM audit_chain_records "
            "WHERE org_id = %s AND stack_id = %s AND agent_id = %s AND record_hash = ANY(%s::text[])",
            (org_id, stack_id, agent_id, list(record_hashes)),
        )).fetchall()
    return {str(h): int(i) for h, i in rows}


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
        return await alert_in(conn, org_id, alert_id)


async def alert_in(conn: Conn, org_id: str, alert_id: int, *, lock: bool = False) -> Alert | None:
    """One of ``org_id``'s alerts in ``conn``'s transaction (``lock``: its row locked until commit)."""
    row = await (await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM audit_alerts WHERE org_id = %s AND alert_id = %s"
        + (" FOR UPDATE" if lock else ""), (org_id, alert_id),
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


async def tail_horizon(db: Database, org_id: str) -> int:
    """Every tail sequence below this is searchable (0: nothing indexed yet)."""
    async with db.connection() as conn:
        row = await (await conn.execute(
            "SELECT next_seq FROM audit_org_sequences WHERE org_id = %s", (org_id,)
        )).fetchone()
    return int(row[0]) if row else 0


async def verifier_watermark(db: Database, topic: str) -> Watermark:
    """The chain verifier's committed positions on ``topic`` (issue 18): a row indexed from a
    message below them has been checked (``verification_state``). Not per organisation: a
    position is the log's, and it reveals no tenant's data."""
    return await row_state.watermark(db, topic, VERIFIER_PROJECTION)
