"""The chain verifier's lookup of stored chain members (``postgres.load_seen``), on a real
PostgreSQL: it finds exactly the wanted members, and it probes the members' primary key per
wanted hash instead of reading the whole table (which made every batch cost more than the one
before: the table holds every record ever verified). The members keep that key as their only
index (every index on them is paid by every record verified), and the chain positions that
Explain and exports show are primary-key probes too (``integrity.record_chain_facts``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faramesh_cloud.audit_index import integrity
from faramesh_cloud.audit_index import postgres as pg
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ORG = "org-acme"
MEMBERS = 30_000  # enough that a scan of the table costs far more than the probes


def _hash(n: int) -> str:
    return f"{n:064x}"


async def _store_members(db: Database) -> None:
    async with db.transaction() as conn, conn.cursor() as cur:
        async with cur.copy("COPY audit_chain_records (org_id, stack_id, agent_id, record_hash, record_id, "
                            "chain_index) FROM STDIN") as copy:
            for n in range(MEMBERS):
                await copy.write_row((ORG, f"stack-{n % 3}", f"agent-{n % 7}", _hash(n), f"rec-{n}", n // 21))
    async with db.connection() as conn:
        await conn.execute("ANALYZE audit_chain_records")


def _wanted() -> dict[tuple[str, str, str], set[str]]:
    wanted: dict[tuple[str, str, str], set[str]] = {}
    for n in (0, 5, 20, 21, 29_999):  # members, each asked for under its own chain
        wanted.setdefault((ORG, f"stack-{n % 3}", f"agent-{n % 7}"), set()).add(_hash(n))
    wanted.setdefault((ORG, "stack-0", "agent-0"), set()).update({_hash(MEMBERS + 1), _hash(1)})  # none / other chain
    wanted[("org-other", "stack-0", "agent-0")] = {_hash(0)}  # the same hash in another organisation
    return wanted


async def test_load_seen_finds_exactly_the_wanted_members(database: Database) -> None:
    await migrate(database, [COMPONENT])
    await _store_members(database)
    async with database.transaction() as conn:
        seen = await pg.load_seen(conn, _wanted())
    assert seen == {
        (ORG, "stack-0", "agent-0"): {_hash(0): 0, _hash(21): 1},  # not hash 1 (stack-1), not the unknown one
        (ORG, "stack-2", "agent-5"): {_hash(5): 0},
        (ORG, "stack-2", "agent-6"): {_hash(20): 0},
        (ORG, "stack-2", "agent-4"): {_hash(29_999): 29_999 // 21},
    }  # and nothing for org-other


async def test_load_seen_probes_the_primary_key_instead_of_reading_every_member(database: Database) -> None:
    await migrate(database, [COMPONENT])
    await _store_members(database)
    async with database.transaction() as conn:
        # A batch's worth of wanted hashes (the service's batches hold up to 10,000 records),
        # no statistics on the temp table, as in the sink: a plain join scans every member.
        batch = {(ORG, "stack-0", "agent-0"): {_hash(MEMBERS + n) for n in range(5_000)}}
        await pg.load_seen(conn, batch)  # creates and fills the session's temp table
        row = await (await conn.execute("EXPLAIN (FORMAT JSON) " + pg.SEEN_SQL)).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    scans = list(_nodes(plan[0]["Plan"]))
    on_members = [node for node in scans if node.get("Relation Name") == "audit_chain_records"]
    assert on_members, scans
    assert all(node["Node Type"] in {"Index Scan", "Index Only Scan"} for node in on_members), on_members
    assert all(node.get("Index Name") == "audit_chain_records_pkey" for node in on_members), on_members


async def test_the_members_have_no_index_but_their_primary_key(database: Database) -> None:
    await migrate(database, [COMPONENT])
    async with database.connection() as conn:
        rows = await (await conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_chain_records'")).fetchall()
    assert [name for (name,) in rows] == ["audit_chain_records_pkey"]


async def test_chain_positions_of_shown_records_are_found_by_their_full_key_in_one_organisation(
        database: Database) -> None:
    await migrate(database, [COMPONENT])
    await _store_members(database)
    keys = [("stack-0", "agent-0", "rec-0", _hash(0)), ("stack-0", "agent-0", "rec-21", _hash(21)),
            ("stack-2", "agent-4", "rec-29999", _hash(29_999)),
            ("stack-1", "agent-0", "rec-0", _hash(0)),  # the right hash on another chain
            ("stack-0", "agent-0", "rec-x", _hash(21)),  # a repeat's id with a member's hash
            ("stack-0", "agent-0", "rec-42", _hash(42))]  # twice: asked once
    positions, _ = await integrity.record_chain_facts(database, ORG, [*keys, keys[-1]])
    assert positions == {keys[0]: 0, keys[1]: 1, keys[2]: 29_999 // 21, keys[5]: 2}
    assert (await integrity.record_chain_facts(database, "org-other", keys))[0] == {}


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
