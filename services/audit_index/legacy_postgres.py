"""PostgreSQL side of the unverified decision summaries (``audit_legacy_decisions``): the
deduplication state the legacy sink keeps, the hand-over when a DPR
replaces a summary (called by the DPR sink), and the receipts Explain shows.

Writers run inside their sink's transaction, after it has locked the batch's organisations'
tail sequences (``postgres.lock_org_sequences``). Both sinks take that lock before they look
at the other's rows, so a summary and the DPR with the same key, indexed at the same time,
serialise: whichever commits second sees the first, and exactly one row shows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.views import SummaryReceipt
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
Key = tuple[str, str, str]  # (org_id, stack_id, record_id)


class Dpr(Protocol):
    """What ``supersede`` reads of a DPR row (``IndexedRecord``, or the search index's ``SearchRow``)."""

    @property
    def org_id(self) -> str: ...
    @property
    def stack_id(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def received_ns(self) -> int: ...


@dataclass(slots=True)
class StoredSummary:
    """One ``audit_legacy_decisions`` row as the legacy sink reads and writes it."""

    first_source: str
    sources: list[str]
    deliveries: int
    first_position: str
    received_ns: int
    in_index: bool
    superseded_ns: int | None


def _key_columns(keys: Iterable[Key]) -> tuple[list[str], list[str], list[str]]:
    orgs: list[str] = []
    stacks: list[str] = []
    ids: list[str] = []
    for org, stack, record_id in sorted(set(keys)):
        orgs.append(org)
        stacks.append(stack)
        ids.append(record_id)
    return orgs, stacks, ids


async def lock_summaries(conn: Conn, keys: Collection[Key]) -> dict[Key, StoredSummary]:
    """The stored summaries of these keys, locked until commit (absent: never seen)."""
    if not keys:
        return {}
    cur = await conn.execute(
        "SELECT l.org_id, l.stack_id, l.record_id, first_source, sources, deliveries, first_position, "
        "received_ns, in_index, superseded_ns FROM audit_legacy_decisions l "
        "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(o, s, r) "
        "ON l.org_id = k.o AND l.stack_id = k.s AND l.record_id = k.r "
        "ORDER BY l.org_id, l.stack_id, l.record_id FOR UPDATE OF l",
        _key_columns(keys),
    )
    return {
        (o, s, r): StoredSummary(first, list(sources), int(n), position, int(received), bool(shown),
                                 None if superseded is None else int(superseded))
        for o, s, r, first, sources, n, position, received, shown, superseded in await cur.fetchall()
    }


async def save_summaries(conn: Conn, summaries: Mapping[Key, StoredSummary]) -> None:
    """Insert new keys and update the sources and delivery counts of known ones."""
    if not summaries:
        return
    keys = list(summaries)
    rows = [summaries[k] for k in keys]
    await conn.execute(
        "INSERT INTO audit_legacy_decisions (org_id, stack_id, record_id, first_source, sources, deliveries, "
        "first_position, received_ns, in_index, superseded_ns) "
        "SELECT o, s, r, f, string_to_array(src, ','), n, p, rn, i, sup FROM unnest(%s::text[], %s::text[], "
        "%s::text[], %s::text[], %s::text[], %s::int[], %s::text[], %s::bigint[], %s::bool[], %s::bigint[]) "
        "AS v(o, s, r, f, src, n, p, rn, i, sup) "
        "ON CONFLICT (org_id, stack_id, record_id) DO UPDATE SET sources = EXCLUDED.sources, "
        "deliveries = EXCLUDED.deliveries",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [r.first_source for r in rows],
         [",".join(r.sources) for r in rows], [r.deliveries for r in rows], [r.first_position for r in rows],
         [r.received_ns for r in rows], [r.in_index for r in rows], [r.superseded_ns for r in rows]),
    )


async def supersede(conn: Conn, records: Sequence[Dpr]) -> list[Key]:
    """For the DPR sink: mark the summaries still showing that these DPRs replace (same org,
    stack and record_id) and return their keys, which the sink then writes to ClickHouse's
    ``legacy_superseded``. An organisation without such summaries costs one index probe."""
    orgs = sorted({r.org_id for r in records})
    cur = await conn.execute(
        "SELECT o FROM unnest(%s::text[]) AS o WHERE EXISTS (SELECT 1 FROM audit_legacy_decisions l "
        "WHERE l.org_id = o AND l.superseded_ns IS NULL)",
        (orgs,),
    )
    showing = {org for (org,) in await cur.fetchall()}
    if not showing:
        return []
    first: dict[Key, int] = {}
    for rec in records:
        if rec.org_id in showing:
            first.setdefault((rec.org_id, rec.stack_id, rec.record_id), rec.received_ns)
    keys = list(first)
    cur = await conn.execute(
        "UPDATE audit_legacy_decisions l SET superseded_ns = v.n "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS v(o, s, r, n) "
        "WHERE l.org_id = v.o AND l.stack_id = v.s AND l.record_id = v.r AND l.superseded_ns IS NULL "
        "RETURNING l.org_id, l.stack_id, l.record_id, l.in_index",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [first[k] for k in keys]),
    )
    return sorted((o, s, r) for o, s, r, shown in await cur.fetchall() if shown)


async def receipts(db: Database, org_id: str, record_ids: Sequence[str]) -> list[SummaryReceipt]:
    """How the unverified summaries of these record ids (this organisation only) arrived."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            "SELECT stack_id, record_id, first_source, sources, deliveries, superseded_ns IS NOT NULL "
            "FROM audit_legacy_decisions WHERE org_id = %s AND record_id = ANY(%s::text[]) "
            "ORDER BY stack_id, record_id",
            (org_id, list(record_ids)),
        )).fetchall()
    return [SummaryReceipt(stack, rid, first, list(sources), int(n), bool(superseded))
            for stack, rid, first, sources, n, superseded in rows]
