"""The fleet sink: one batch of fleet updates into PostgreSQL, idempotently.

One transaction per batch: lock the consumed position of the batch's partitions, drop what
is below it (a redelivery), apply each update with "latest wins" by the update's own
(observed_ns, seq), and move the position, all before commit. Because every write compares
the stored pair, replaying the topic from offset 0 into empty tables rebuilds the same
state, and re-applying an old update never overwrites a newer one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.fleet.domain import (
    BudgetUpdate,
    CredentialUpdate,
    FleetUpdate,
    HealthUpdate,
    StatusUpdate,
)
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import lock_positions

Conn = AsyncConnection[Any]
COMPONENT: Final = ("fleet", "faramesh_cloud.fleet")

CONTACT_KEEP_DAYS: Final = 31  # fleet_contact kept per stack, counted back from its newest contact
_NEWER: Final = "(EXCLUDED.{a}, EXCLUDED.{b}) > ({t}.{a}, {t}.{b})"


async def _health(conn: Conn, u: HealthUpdate) -> None:
    at = u.at
    await conn.execute(
        "INSERT INTO fleet_stacks AS t (org_id, stack_id, health_ns, health_seq, health_ok, lifecycle, uptime_s, "
        "active_sessions, down_backends, sync_queued) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, stack_id) DO UPDATE SET health_ns = EXCLUDED.health_ns, "
        "health_seq = EXCLUDED.health_seq, health_ok = EXCLUDED.health_ok, lifecycle = EXCLUDED.lifecycle, "
        "uptime_s = EXCLUDED.uptime_s, active_sessions = EXCLUDED.active_sessions, "
        "down_backends = EXCLUDED.down_backends, sync_queued = EXCLUDED.sync_queued "
        "WHERE " + _NEWER.format(a="health_ns", b="health_seq", t="t"),
        (at.org_id, at.stack_id, at.observed_ns, at.sequence, u.ok, u.lifecycle, u.uptime_s, u.active_sessions,
         list(u.unavailable_backends), u.sync_queued))


async def _status(conn: Conn, u: StatusUpdate) -> None:
    at = u.at
    a = u.applied
    cur = await conn.execute(
        "INSERT INTO fleet_stacks AS t (org_id, stack_id, status_ns, status_seq, daemon_version, platform, "
        "framework, framework_version, runtime_mode, layers, applied_commit, applied_remote, applied_branch, "
        "applied_at, applied_operator, applied_summary, policy_version, started_at, governance_sha256, "
        "config_text_sha256, config_sha_mismatch) "
        "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, stack_id) DO UPDATE SET status_ns = EXCLUDED.status_ns, "
        "status_seq = EXCLUDED.status_seq, daemon_version = EXCLUDED.daemon_version, "
        "platform = EXCLUDED.platform, framework = EXCLUDED.framework, "
        "framework_version = EXCLUDED.framework_version, runtime_mode = EXCLUDED.runtime_mode, "
        "layers = EXCLUDED.layers, applied_commit = EXCLUDED.applied_commit, "
        "applied_remote = EXCLUDED.applied_remote, applied_branch = EXCLUDED.applied_branch, "
        "applied_at = EXCLUDED.applied_at, applied_operator = EXCLUDED.applied_operator, "
        "applied_summary = EXCLUDED.applied_summary, policy_version = EXCLUDED.policy_version, "
        "started_at = EXCLUDED.started_at, governance_sha256 = EXCLUDED.governance_sha256, "
        "config_text_sha256 = EXCLUDED.config_text_sha256, config_sha_mismatch = EXCLUDED.config_sha_mismatch "
        "WHERE " + _NEWER.format(a="status_ns", b="status_seq", t="t") + " RETURNING 1",
        (at.org_id, at.stack_id, at.observed_ns, at.sequence, u.daemon_version, json.dumps(u.platform),
         u.framework, u.framework_version, u.runtime_mode, list(u.layers),
         a.commit if a else "", a.remote_url if a else "", a.branch if a else "", a.applied_at if a else None,
         a.operator if a else "", a.summary if a else "", a.policy_version if a else "", u.started_at,
         a.governance_sha256 if a else "", a.text_sha256 if a else "", a.sha_mismatch if a else False))
    if a is not None:
        if a.text_sha256:  # each distinct text once per organisation
            await conn.execute(
                "INSERT INTO fleet_config_texts AS t (org_id, sha256, body, first_seen_ns) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (org_id, sha256) DO UPDATE SET first_seen_ns = LEAST(t.first_seen_ns, "
                "EXCLUDED.first_seen_ns) WHERE EXCLUDED.first_seen_ns < t.first_seen_ns",
                (at.org_id, a.text_sha256, a.governance_fms, at.observed_ns))
        applied_at = a.applied_at or datetime.fromtimestamp(at.observed_ns / 1e9, UTC)
        await conn.execute(
            "INSERT INTO fleet_applies AS t (org_id, stack_id, commit, applied_at, operator, summary, branch, "
            "remote_url, policy_version, first_seen_ns, text_sha256) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (org_id, stack_id, applied_at, commit) DO UPDATE SET "
            "first_seen_ns = LEAST(t.first_seen_ns, EXCLUDED.first_seen_ns), "
            "text_sha256 = CASE WHEN t.text_sha256 = '' THEN EXCLUDED.text_sha256 ELSE t.text_sha256 END",
            (at.org_id, at.stack_id, a.commit, applied_at, a.operator, a.summary, a.branch, a.remote_url,
             a.policy_version, at.observed_ns, a.text_sha256))
    if await cur.fetchone() is None:
        return  # an older report than the one stored: its agents and providers are stale too
    await _replace_agents(conn, u)
    await _replace_providers(conn, u)


async def _replace_agents(conn: Conn, u: StatusUpdate) -> None:
    at = u.at
    names = [ag.agent_id for ag in u.agents]
    await conn.execute(
        "UPDATE fleet_agents SET in_status = false WHERE org_id = %s AND stack_id = %s "
        "AND NOT (agent_id = ANY(%s::text[]))", (at.org_id, at.stack_id, names))
    if not names:
        return
    await conn.execute(
        "INSERT INTO fleet_agents AS t (org_id, stack_id, agent_id, status_ns, status_seq, killed, isolated, "
        "active_sessions, in_status) SELECT %s, %s, n, %s, %s, k, i, s, true "
        "FROM unnest(%s::text[], %s::bool[], %s::bool[], %s::int[]) AS v(n, k, i, s) "
        "ON CONFLICT (org_id, stack_id, agent_id) DO UPDATE SET status_ns = EXCLUDED.status_ns, "
        "status_seq = EXCLUDED.status_seq, killed = EXCLUDED.killed, isolated = EXCLUDED.isolated, "
        "active_sessions = EXCLUDED.active_sessions, in_status = true",
        (at.org_id, at.stack_id, at.observed_ns, at.sequence, names, [ag.killed for ag in u.agents],
         [ag.isolated for ag in u.agents], [ag.active_sessions for ag in u.agents]))


async def _replace_providers(conn: Conn, u: StatusUpdate) -> None:
    at = u.at
    await conn.execute("DELETE FROM fleet_providers WHERE org_id = %s AND stack_id = %s", (at.org_id, at.stack_id))
    for p in u.providers:
        await conn.execute(
            "INSERT INTO fleet_providers (org_id, stack_id, name, version, capabilities, health, health_message, "
            "last_success_at, identity_verified_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (at.org_id, at.stack_id, p.name, p.version, list(p.capabilities), p.health, p.health_message,
             p.last_success_at, p.identity_verified_at))


async def _budget(conn: Conn, u: BudgetUpdate) -> None:
    at = u.at
    await conn.execute(
        "INSERT INTO fleet_budgets AS t (org_id, stack_id, agent_id, scope, session_id, spent_usd, ceiling_usd, "
        "observed_ns, seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, stack_id, agent_id, scope, session_id) DO UPDATE SET "
        "spent_usd = EXCLUDED.spent_usd, ceiling_usd = EXCLUDED.ceiling_usd, observed_ns = EXCLUDED.observed_ns, "
        "seq = EXCLUDED.seq WHERE " + _NEWER.format(a="observed_ns", b="seq", t="t"),
        (at.org_id, at.stack_id, u.agent_id, u.scope, u.session_id, u.spent_usd, u.ceiling_usd,
         at.observed_ns, at.sequence))


async def _credential(conn: Conn, u: CredentialUpdate) -> None:
    at = u.at
    await conn.execute(
        "INSERT INTO fleet_credentials AS t (org_id, stack_id, agent_id, credential_key, source, scope, expires_at, "
        "event, observed_ns, seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, stack_id, agent_id, credential_key) DO UPDATE SET source = EXCLUDED.source, "
        "scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at, event = EXCLUDED.event, "
        "observed_ns = EXCLUDED.observed_ns, seq = EXCLUDED.seq "
        "WHERE " + _NEWER.format(a="observed_ns", b="seq", t="t"),
        (at.org_id, at.stack_id, u.agent_id, u.credential_key, u.source, u.scope, u.expires_at, u.event,
         at.observed_ns, at.sequence))


async def _contact(conn: Conn, fresh: Sequence[FleetUpdate]) -> None:
    """Count each item in its stack's minute of reception (``fleet_contact``): only the fresh
    ones, in the batch's transaction, so a redelivery or a replay counts nothing twice."""
    minutes: dict[tuple[str, str, int], int] = {}
    for u in fresh:
        if u.at.received_ns > 0:
            key = (u.at.org_id, u.at.stack_id, u.at.received_ns // 60_000_000_000 * 60)
            minutes[key] = minutes.get(key, 0) + 1
    if minutes:
        keys = sorted(minutes)
        await conn.execute(
            "INSERT INTO fleet_contact AS c (org_id, stack_id, minute, items) "
            "SELECT o, s, to_timestamp(m), n FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[]) "
            "AS v(o, s, m, n) ON CONFLICT (org_id, stack_id, minute) DO UPDATE SET items = c.items + EXCLUDED.items",
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [minutes[k] for k in keys]))
        # Keep CONTACT_KEEP_DAYS before each stack's newest contact (by the log's own times, so a
        # replay prunes the same rows): the strip reads 7 days.
        newest: dict[tuple[str, str], int] = {}
        for o, st, m in keys:
            newest[(o, st)] = max(newest.get((o, st), 0), m)
        pairs = sorted(newest)
        await conn.execute(
            "DELETE FROM fleet_contact AS c USING unnest(%s::text[], %s::text[], %s::bigint[]) AS v(o, s, m) "
            "WHERE c.org_id = v.o AND c.stack_id = v.s AND c.minute < to_timestamp(v.m) - make_interval(days => %s)",
            ([p[0] for p in pairs], [p[1] for p in pairs], [newest[p] for p in pairs], CONTACT_KEEP_DAYS))


async def apply(conn: Conn, update: FleetUpdate) -> None:
    if isinstance(update, HealthUpdate):
        await _health(conn, update)
    elif isinstance(update, StatusUpdate):
        await _status(conn, update)
    elif isinstance(update, BudgetUpdate):
        await _budget(conn, update)
    else:
        await _credential(conn, update)


class FleetSink:
    """``consumer.runner.Sink`` for fleet updates: durable and idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.applied = 0
        self.skipped = 0  # below the stored position (redelivery)

    async def write(self, rows: Sequence[FleetUpdate]) -> None:
        if not rows:
            return
        topics = {r.at.topic for r in rows}
        if len(topics) != 1:
            raise ValueError(f"one sink batch must come from one topic, got {sorted(topics)}")
        topic = rows[0].at.topic
        ordered = sorted(rows, key=lambda r: (r.at.partition, r.at.offset))
        async with self._db.transaction() as conn:
            positions = await lock_positions(conn, "fleet_positions", topic, {r.at.partition for r in ordered})
            fresh = [r for r in ordered if r.at.offset >= positions[r.at.partition]]
            for update in fresh:
                await apply(conn, update)
                positions[update.at.partition] = max(positions[update.at.partition], update.at.offset + 1)
            await _contact(conn, fresh)
            await conn.execute(
                "UPDATE fleet_positions AS p SET next_offset = v.n, updated_at = now() "
                "FROM unnest(%s::int[], %s::bigint[]) AS v(part, n) WHERE p.topic = %s AND p.partition = v.part",
                (list(positions), list(positions.values()), topic))
        self.applied += len(fresh)
        self.skipped += len(ordered) - len(fresh)
