"""PostgreSQL side of the audit index (writes): chain tips, chain members, findings, alerts
(with their events, ``alert_state``), the per-organisation tail sequence and the consumed log
position.

Every function takes a connection that is inside the sink's one transaction; rows are
locked in a fixed order (positions, then chains, then organisations, each sorted) so two
sinks that overlap during a rebalance serialise instead of deadlocking. Batched statements
take arrays (``unnest``), one round trip per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.alert_state import raise_alerts
from faramesh_cloud.audit_index.chain import AgentState, ChainKey, ChainOutcome
from faramesh_cloud.audit_index.domain import PROJECTION, ChainFinding, Severity
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
COMPONENT = ("audit_index", "faramesh_cloud.audit_index")
_MAX_BIGINT = 2**63 - 1  # lamport_seq is a uint64 hint; PostgreSQL bigint is signed
# NOTIFY channel of the index's commits: payload = an org id whose tail sequence a committed
# batch moved (the gateway's live views LISTEN and read the new rows once per organisation).
TAIL_CHANNEL: Final = "faramesh_audit_tail"


async def share_pin_generation(conn: Conn) -> int:
    """The pin history's generation, held FOR SHARE until commit (the pin consumer changes the
    history holding it FOR UPDATE)."""
    row = await (await conn.execute("SELECT generation FROM audit_pin_generation FOR SHARE")).fetchone()
    return int(row[0]) if row else 0


async def lock_positions(conn: Conn, topic: str, partitions: Iterable[int],
                         projection: str = PROJECTION) -> dict[int, int]:
    """Next unapplied offset per partition (0 when never applied), locked until commit."""
    parts = sorted(set(partitions))
    await conn.execute(
        "INSERT INTO audit_index_positions (projection, topic, partition, next_offset) "
        "SELECT %s, %s, p, 0 FROM unnest(%s::int[]) AS p ON CONFLICT DO NOTHING",
        (projection, topic, parts),
    )
    cur = await conn.execute(
        "SELECT partition, next_offset FROM audit_index_positions "
        "WHERE projection = %s AND topic = %s AND partition = ANY(%s::int[]) "
        "ORDER BY partition FOR UPDATE",
        (projection, topic, parts),
    )
    return {int(p): int(o) for p, o in await cur.fetchall()}


async def mark_attempt(db: Database, topic: str, ends: Mapping[int, int],
                       projection: str = PROJECTION) -> dict[int, int]:
    """Record, durably and outside the batch's transaction, that offsets below ``ends`` (per
    partition) are about to be inserted into ClickHouse; returns the previous marks (0 when
    none). The caller holds the partitions' position locks, so no other sink races this."""
    parts = sorted(ends)
    async with db.connection() as conn:  # autocommit: durable before the insert starts
        cur = await conn.execute(
            "SELECT partition, end_offset FROM audit_index_attempts "
            "WHERE projection = %s AND topic = %s AND partition = ANY(%s::int[])",
            (projection, topic, parts),
        )
        previous = {int(p): int(o) for p, o in await cur.fetchall()}
        await conn.execute(
            "INSERT INTO audit_index_attempts (projection, topic, partition, end_offset) "
            "SELECT %s, %s, p, o FROM unnest(%s::int[], %s::bigint[]) AS v(p, o) "
            "ON CONFLICT (projection, topic, partition) DO UPDATE "
            "SET end_offset = GREATEST(audit_index_attempts.end_offset, EXCLUDED.end_offset)",
            (projection, topic, parts, [ends[p] for p in parts]),
        )
    return {p: previous.get(p, 0) for p in parts}


def _columns(keys: Iterable[ChainKey]) -> tuple[list[str], list[str], list[str]]:
    orgs: list[str] = []
    stacks: list[str] = []
    agents: list[str] = []
    for org, stack, agent in keys:
        orgs.append(org)
        stacks.append(stack)
        agents.append(agent)
    return orgs, stacks, agents


async def lock_agents(conn: Conn, keys: Iterable[ChainKey]) -> dict[ChainKey, AgentState]:
    """Stored state of these chains, locked until commit (absent: never seen)."""
    cur = await conn.execute(
        "SELECT a.org_id, a.stack_id, a.agent_id, tip_hash, tip_record_id, chain_length, segments, "
        "last_lamport, first_created_at, last_created_at, last_verified_ns "
        "FROM audit_chain_agents a JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(o, s, g) "
        "ON a.org_id = k.o AND a.stack_id = k.s AND a.agent_id = k.g "
        "ORDER BY a.org_id, a.stack_id, a.agent_id FOR UPDATE OF a",
        _columns(sorted(set(keys))),
    )
    return {
        (o, s, g): AgentState(th, tr, int(n), int(seg), int(lam), fc, lc, int(v))
        for o, s, g, th, tr, n, seg, lam, fc, lc, v in await cur.fetchall()
    }


# ``load_seen``'s lookup: one primary-key probe of the members per wanted hash.
SEEN_SQL: Final = (
    "SELECT w.org_id, w.stack_id, w.agent_id, w.record_hash, r.chain_index FROM audit_wanted_hashes w "
    "CROSS JOIN LATERAL (SELECT m.chain_index FROM audit_chain_records m WHERE m.org_id = w.org_id "
    "AND m.stack_id = w.stack_id AND m.agent_id = w.agent_id AND m.record_hash = w.record_hash LIMIT 1) r"
)


async def load_seen(conn: Conn, wanted: Mapping[ChainKey, set[str]]) -> dict[ChainKey, dict[str, int]]:
    """Per chain, the stored chain index of each wanted hash that is a chain member.

    The wanted keys go in by binary COPY into a session temp table (tens of thousands of
    keys: array parameters would be formatted in Python, ~20x the CPU). Each key is then one
    probe of the members' primary key: the ``LIMIT 1`` under ``LATERAL`` keeps the planner
    from the hash join it otherwise picks (the temp table has no statistics, and a scan
    looks cheap next to thousands of probes), which read the whole of
    ``audit_chain_records`` on every batch: a cost that grew with every record ever
    verified (bench/RESULTS.md, "The members' lookup")."""
    if not any(wanted.values()):  # every record extends its chain's tip (``chain.lookup_hashes``)
        return {}
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS audit_wanted_hashes (org_id text, stack_id text, agent_id text, "
        "record_hash text) ON COMMIT DELETE ROWS"
    )
    async with conn.cursor() as cur:
        async with cur.copy("COPY audit_wanted_hashes FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text", "text", "text"])
            for (org, stack, agent), hashes in wanted.items():
                for value in hashes:
                    if "\x00" not in value:  # no stored hash has one (the processor rejects them)
                        await copy.write_row((org, stack, agent, value))
    cur = await conn.execute(SEEN_SQL)
    seen: dict[ChainKey, dict[str, int]] = {}
    for org, stack, agent, value, index in await cur.fetchall():
        seen.setdefault((org, stack, agent), {})[value] = int(index)
    return seen


async def lock_org_sequences(conn: Conn, orgs: Iterable[str]) -> dict[str, int]:
    """Next tail sequence per organisation, locked until commit."""
    names = sorted(set(orgs))
    await conn.execute(
        "INSERT INTO audit_org_sequences (org_id, next_seq) SELECT o, 0 FROM unnest(%s::text[]) AS o "
        "ON CONFLICT DO NOTHING",
        (names,),
    )
    cur = await conn.execute(
        "SELECT org_id, next_seq FROM audit_org_sequences WHERE org_id = ANY(%s::text[]) "
        "ORDER BY org_id FOR UPDATE",
        (names,),
    )
    return {org: int(seq) for org, seq in await cur.fetchall()}


async def save(
    conn: Conn,
    topic: str,
    outcome: ChainOutcome,
    sequences: Mapping[str, int],
    positions: Mapping[int, int],
) -> None:
    """Write everything one batch produced (same transaction as the locks above)."""
    await save_chain(conn, outcome)
    await save_sequences(conn, sequences)
    await save_positions(conn, topic, positions)


async def save_chain(conn: Conn, outcome: ChainOutcome) -> None:
    """The chains' tips, new chain members, findings and alerts of one batch (the chain
    verifier's writes; ``save`` adds the search side's)."""
    await _save_agents(conn, outcome.agents)
    if outcome.links:
        # New chain members only (the projection never links a hash twice), so a plain
        # binary COPY: a conflict can only come from a racing writer, and then the
        # transaction fails and the batch is retried against the winner's state.
        async with conn.cursor() as cur:
            async with cur.copy(
                "COPY audit_chain_records (org_id, stack_id, agent_id, record_hash, record_id, chain_index) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "text", "text", "text", "int8"])
                for link in outcome.links:
                    await copy.write_row((*link.key, link.record_hash, link.record_id, link.chain_index))
    await _save_findings(conn, outcome)


async def save_sequences(conn: Conn, sequences: Mapping[str, int]) -> None:
    """The next tail sequence of each organisation (rows locked by ``lock_org_sequences``);
    and ``NOTIFY TAIL_CHANNEL, '<org_id>'`` for each, delivered when the batch commits (its rows
    are searchable from then on), in the same round trip."""
    await conn.execute(
        "WITH saved AS (UPDATE audit_org_sequences AS s SET next_seq = v.n "
        "FROM unnest(%s::text[], %s::bigint[]) AS v(o, n) WHERE s.org_id = v.o RETURNING s.org_id) "
        "SELECT pg_notify(%s, org_id) FROM saved",
        (list(sequences), list(sequences.values()), TAIL_CHANNEL),
    )


async def save_positions(conn: Conn, topic: str, positions: Mapping[int, int],
                         projection: str = PROJECTION) -> None:
    """The projection's next unapplied offset per partition (locked by ``lock_positions``)."""
    await conn.execute(
        "UPDATE audit_index_positions AS p SET next_offset = v.n, updated_at = now() "
        "FROM unnest(%s::int[], %s::bigint[]) AS v(part, n) "
        "WHERE p.projection = %s AND p.topic = %s AND p.partition = v.part",
        (list(positions), list(positions.values()), projection, topic),
    )


async def _save_agents(conn: Conn, agents: Mapping[ChainKey, AgentState]) -> None:
    if not agents:
        return
    states = list(agents.values())
    await conn.execute(
        "INSERT INTO audit_chain_agents (org_id, stack_id, agent_id, tip_hash, tip_record_id, chain_length, "
        "segments, last_lamport, first_created_at, last_created_at, last_verified_ns) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], "
        "%s::int[], %s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
        "ON CONFLICT (org_id, stack_id, agent_id) DO UPDATE SET tip_hash = EXCLUDED.tip_hash, "
        "tip_record_id = EXCLUDED.tip_record_id, chain_length = EXCLUDED.chain_length, "
        "segments = EXCLUDED.segments, last_lamport = EXCLUDED.last_lamport, "
        "first_created_at = EXCLUDED.first_created_at, last_created_at = EXCLUDED.last_created_at, "
        "last_verified_ns = EXCLUDED.last_verified_ns",
        (*_columns(agents), [s.tip_hash for s in states], [s.tip_record_id for s in states],
         [s.chain_length for s in states], [s.segments for s in states], [min(s.last_lamport, _MAX_BIGINT) for s in states],
         [s.first_created_at for s in states], [s.last_created_at for s in states],
         [s.last_verified_ns for s in states]),
    )


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; finding messages quote record fields that might."""
    return value.replace("\x00", "\\u0000")


async def _save_findings(conn: Conn, outcome: ChainOutcome) -> None:
    await save_findings(conn, outcome.findings)


async def save_findings(conn: Conn, findings: Sequence[ChainFinding]) -> None:
    """Findings, and an alert for each critical one (a replay adds neither twice), with its
    ``AlertRaised`` in the index's outbox (``alert_state.raise_alerts``)."""
    if not findings:
        return
    columns = (
        [f.org_id for f in findings], [f.stack_id for f in findings], [f.agent_id for f in findings],
        [f.record_id for f in findings], [f.record_hash for f in findings], [f.kind for f in findings],
        [f.severity.value for f in findings], [_text(f.message) for f in findings],
        [f.chain_index for f in findings], [f.log_position for f in findings],
        [f.record_created_at for f in findings], [f.detected_ns for f in findings],
    )
    await conn.execute(
        "INSERT INTO audit_chain_findings (org_id, stack_id, agent_id, record_id, record_hash, kind, "
        "severity, message, chain_index, log_position, record_created_at, detected_ns) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
        "ON CONFLICT DO NOTHING",
        columns,
    )
    await raise_alerts(conn, [f for f in findings if f.severity is Severity.CRITICAL])
