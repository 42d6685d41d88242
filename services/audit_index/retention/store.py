"""PostgreSQL side of retention: policies, holds, declared frameworks, horizons, checkpoints,
sweeps. Every function takes ``org_id`` (or keys that start with it) and touches only that
organisation. ``apply`` makes each retention event state, idempotently: the command that
made it and the consumer of ``audit.retention.v1`` (a rebuild) apply it the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.retention.events import (
    Checkpoint,
    LegalHoldChanged,
    RetentionEvent,
    RetentionPolicySet,
    RetentionSwept,
)
from faramesh_cloud.audit_index.retention.plan import Policies

Conn = AsyncConnection[Any]
ChainKey = tuple[str, str, str]
_CHECKPOINT_COLUMNS = ("org_id, stack_id, agent_id, chain_index, record_hash, record_id, record_created_at, "
                       "removed_on, sweep_id::text, key_id, signature")


def _checkpoint(row: Sequence[Any]) -> Checkpoint:
    org, stack, agent, index, record_hash, record_id, created, removed_on, sweep_id, kid, signature = row
    return Checkpoint(org_id=org, stack_id=stack, agent_id=agent, chain_index=int(index), record_hash=record_hash,
                      record_id=record_id, record_created_at=created, removed_on=removed_on, sweep_id=sweep_id,
                      key_id=kid, signature=signature)


async def share_horizons(conn: Conn, orgs: Iterable[str]) -> dict[str, int]:
    """Per organisation, the horizon (records created before it were removed; absent: none),
    held FOR SHARE until commit: a sweep moves it holding the row FOR UPDATE."""
    rows = await (await conn.execute(
        "SELECT org_id, removed_before_ns FROM audit_retention_horizons WHERE org_id = ANY(%s::text[]) "
        "ORDER BY org_id FOR SHARE", (sorted(set(orgs)),),
    )).fetchall()
    return {str(o): int(n) for o, n in rows if int(n) > 0}


async def lock_horizon(conn: Conn, org_id: str) -> int:
    """The organisation's horizon, its row locked FOR UPDATE (the row must exist: ``ensure_horizon``)."""
    row = await (await conn.execute(
        "SELECT removed_before_ns FROM audit_retention_horizons WHERE org_id = %s FOR UPDATE", (org_id,),
    )).fetchone()
    return int(row[0]) if row else 0


async def ensure_horizon(conn: Conn, org_id: str) -> None:
    await conn.execute("INSERT INTO audit_retention_horizons (org_id) VALUES (%s) ON CONFLICT DO NOTHING",
                       (org_id,))


async def checkpoint_seeds(conn: Conn, keys: Iterable[ChainKey]) -> dict[ChainKey, Checkpoint]:
    """The checkpoints of these chains (absent: retention never removed any of their records)."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = await (await conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_chain_checkpoints c "
        "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(o, s, g) "
        "ON c.org_id = k.o AND c.stack_id = k.s AND c.agent_id = k.g",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
    )).fetchall()
    return {(cp.org_id, cp.stack_id, cp.agent_id): cp for cp in map(_checkpoint, rows)}


async def checkpoints(conn: Conn, org_id: str, stack_id: str | None = None) -> dict[tuple[str, str], Checkpoint]:
    """The organisation's chain checkpoints by (stack, agent)."""
    rows = await (await conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_chain_checkpoints WHERE org_id = %s "
        "AND (%s::text IS NULL OR stack_id = %s)", (org_id, stack_id, stack_id),
    )).fetchall()
    return {(cp.stack_id, cp.agent_id): cp for cp in map(_checkpoint, rows)}


async def policies(conn: Conn, org_id: str) -> Policies:
    rows = await (await conn.execute(
        "SELECT stack_id, days FROM audit_retention_policies WHERE org_id = %s", (org_id,))).fetchall()
    holds = await (await conn.execute(
        "SELECT stack_id, reason FROM audit_retention_holds WHERE org_id = %s", (org_id,))).fetchall()
    by_stack = {str(s): int(d) for s, d in rows}
    org_days = by_stack.pop("", None)
    return Policies(org_days, by_stack, {str(s): str(r) for s, r in holds})


async def frameworks(conn: Conn, org_id: str) -> list[str]:
    row = await (await conn.execute(
        "SELECT frameworks FROM audit_retention_frameworks WHERE org_id = %s", (org_id,))).fetchone()
    return list(row[0]) if row else []


async def set_frameworks(conn: Conn, org_id: str, names: Sequence[str], declared_at: datetime) -> None:
    """The declared frameworks (the later declaration wins; a replay changes nothing)."""
    await conn.execute(
        "INSERT INTO audit_retention_frameworks (org_id, frameworks, declared_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (org_id) DO UPDATE SET frameworks = EXCLUDED.frameworks, declared_at = EXCLUDED.declared_at "
        "WHERE audit_retention_frameworks.declared_at <= EXCLUDED.declared_at",
        (org_id, list(names), declared_at))


async def organisations(conn: Conn) -> list[str]:
    """Organisations with a retention setting (only those can have anything to remove)."""
    rows = await (await conn.execute(
        "SELECT DISTINCT org_id FROM audit_retention_policies ORDER BY org_id")).fetchall()
    return [str(r[0]) for r in rows]


async def apply(conn: Conn, event: RetentionEvent) -> None:
    if isinstance(event, RetentionPolicySet):
        if event.days <= 0:
            await conn.execute("DELETE FROM audit_retention_policies WHERE org_id = %s AND stack_id = %s "
                               "AND set_at <= %s", (event.org_id, event.stack_id, event.occurred_at))
            return
        await conn.execute(
            "INSERT INTO audit_retention_policies (org_id, stack_id, days, set_at, set_by, event_id) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id) DO UPDATE SET days = EXCLUDED.days, "
            "set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by, event_id = EXCLUDED.event_id "
            "WHERE audit_retention_policies.set_at <= EXCLUDED.set_at",
            (event.org_id, event.stack_id, event.days, event.occurred_at, event.actor, event.event_id))
    elif isinstance(event, LegalHoldChanged):
        if not event.held:
            await conn.execute("DELETE FROM audit_retention_holds WHERE org_id = %s AND stack_id = %s "
                               "AND held_at <= %s", (event.org_id, event.stack_id, event.occurred_at))
            return
        await conn.execute(
            "INSERT INTO audit_retention_holds (org_id, stack_id, reason, held_at, held_by, event_id) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id) DO UPDATE SET reason = EXCLUDED.reason, "
            "held_at = EXCLUDED.held_at, held_by = EXCLUDED.held_by, event_id = EXCLUDED.event_id "
            "WHERE audit_retention_holds.held_at <= EXCLUDED.held_at",
            (event.org_id, event.stack_id, event.reason, event.occurred_at, event.actor, event.event_id))
    else:
        await save_sweep(conn, event)


async def save_sweep(conn: Conn, event: RetentionSwept) -> None:
    """A sweep's horizon, checkpoints (a later one of a chain replaces an earlier) and row."""
    await conn.execute(
        "INSERT INTO audit_retention_horizons (org_id, removed_before_ns, removed_on) VALUES (%s, %s, %s) "
        "ON CONFLICT (org_id) DO UPDATE SET removed_before_ns = EXCLUDED.removed_before_ns, "
        "removed_on = EXCLUDED.removed_on WHERE audit_retention_horizons.removed_before_ns < EXCLUDED.removed_before_ns",
        (event.org_id, event.horizon_ns, event.occurred_at))
    for cp in event.checkpoints:
        await conn.execute(
            "INSERT INTO audit_chain_checkpoints (org_id, stack_id, agent_id, chain_index, record_hash, record_id, "
            "record_created_at, removed_on, sweep_id, key_id, signature) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id, agent_id) DO UPDATE "
            "SET chain_index = EXCLUDED.chain_index, record_hash = EXCLUDED.record_hash, "
            "record_id = EXCLUDED.record_id, record_created_at = EXCLUDED.record_created_at, "
            "removed_on = EXCLUDED.removed_on, sweep_id = EXCLUDED.sweep_id, key_id = EXCLUDED.key_id, "
            "signature = EXCLUDED.signature WHERE audit_chain_checkpoints.chain_index < EXCLUDED.chain_index",
            (event.org_id, cp.stack_id, cp.agent_id, cp.chain_index, cp.record_hash, cp.record_id,
             cp.record_created_at, cp.removed_on, cp.sweep_id, cp.key_id, cp.signature))
    await conn.execute(
        "INSERT INTO audit_retention_sweeps (sweep_id, org_id, ran_at, horizon_ns, months, records, summaries, chains) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (event.sweep_id, event.org_id, event.occurred_at, event.horizon_ns, event.months, event.records,
         event.summaries, len(event.checkpoints)))


@dataclass(frozen=True, slots=True)
class RemovedTip:
    """Per chain, the removed record with the highest chain index."""

    chain_index: int
    record_hash: str
    record_id: str


async def forget_removed(conn: Conn, org_id: str, hashes: Mapping[tuple[str, str], Sequence[str]]
                         ) -> dict[tuple[str, str], RemovedTip]:
    """Delete the chain-member rows and findings of removed records (by (stack, agent) ->
    record hashes, all of ``org_id``); returns each chain's highest removed position."""
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS audit_removed_hashes (stack_id text, agent_id text, record_hash text) "
        "ON COMMIT DELETE ROWS")
    async with conn.cursor() as cur:
        async with cur.copy("COPY audit_removed_hashes FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text", "text"])
            for (stack, agent), values in hashes.items():
                for value in values:
                    if "\x00" not in value:
                        await copy.write_row((stack, agent, value))
    rows = await (await conn.execute(
        "DELETE FROM audit_chain_records r USING audit_removed_hashes h WHERE r.org_id = %s "
        "AND r.stack_id = h.stack_id AND r.agent_id = h.agent_id AND r.record_hash = h.record_hash "
        "RETURNING r.stack_id, r.agent_id, r.chain_index, r.record_hash, r.record_id", (org_id,),
    )).fetchall()
    await conn.execute(
        "DELETE FROM audit_chain_findings f USING audit_removed_hashes h WHERE f.org_id = %s "
        "AND f.stack_id = h.stack_id AND f.agent_id = h.agent_id AND f.record_hash = h.record_hash", (org_id,))
    await conn.execute("DELETE FROM audit_removed_hashes")
    tips: dict[tuple[str, str], RemovedTip] = {}
    for stack, agent, index, record_hash, record_id in rows:
        key = (str(stack), str(agent))
        if key not in tips or int(index) > tips[key].chain_index:
            tips[key] = RemovedTip(int(index), str(record_hash), str(record_id))
    return tips


async def record_job(conn: Conn, ran_at: datetime, orgs: int, dropped: int) -> None:
    await conn.execute(
        "INSERT INTO audit_retention_job (id, ran_at, orgs, dropped) VALUES (true, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET ran_at = EXCLUDED.ran_at, orgs = EXCLUDED.orgs, dropped = EXCLUDED.dropped",
        (ran_at, orgs, dropped))


@dataclass(frozen=True, slots=True)
class SweepRow:
    sweep_id: str
    ran_at: datetime
    horizon_ns: int
    months: list[int]
    records: int
    summaries: int
    chains: int


async def sweeps(conn: Conn, org_id: str, limit: int = 20) -> list[SweepRow]:
    rows = await (await conn.execute(
        "SELECT sweep_id::text, ran_at, horizon_ns, months, records, summaries, chains FROM audit_retention_sweeps "
        "WHERE org_id = %s ORDER BY ran_at DESC LIMIT %s", (org_id, limit))).fetchall()
    return [SweepRow(s, r, int(h), list(m), int(n), int(k), int(c)) for s, r, h, m, n, k, c in rows]


async def job_ran_at(conn: Conn) -> datetime | None:
    row = await (await conn.execute("SELECT ran_at FROM audit_retention_job")).fetchone()
    return row[0] if row else None
