"""Issue 13, rolling restarts: a log written by this code's predecessor is read by today's
services without error. The stored log (``tests/data/stored_logs/``, README there) was written
by ``up --demo`` at the commit before the events work, with people acting in it; it is put on
a fresh database's log at the same partitions and offsets, with the run's organisation, stacks
and pins (not on the log), and today's services (``up``'s, over an empty chDB) read it to the
end. Nothing they understand is dead-lettered, and people see what that version showed them,
but for what it never put on the log (Cloud's own decisions, commands and acknowledgements were
table updates then; routing lived only in its tables) and for the time since: the approvals
still pending then are past their deadlines now, and today's Cloud expires them (once it has
read the log: the approvals service's catch-up), as the daemons do on their side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.events.topics import (
    APPROVAL_EVENTS,
    AUDIT_ALERTS,
    DEAD_LETTERS,
    EMERGENCY_COMMANDS,
    H_KIND,
    NOTIFICATION_ALERTS,
    NOTIFICATION_EVENTS,
    SIGNING_KEYS,
)
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import read_topic
from tests.simulator_support import eventually
from tests.stored_log import STORED_LOGS, StoredLog, put_log, put_registry
from tests.system_support import (
    Person,
    cloud_settings,
    differences,
    drop_olap_database,
    log_ends,
    running_cloud,
    settle,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

PREDECESSOR = "8d28210"


@pytest.fixture
def chdb_dir(chdb_data_dir: Path) -> Iterator[Path]:
    drop_olap_database(chdb_data_dir)
    yield chdb_data_dir
    drop_olap_database(chdb_data_dir)


async def what_a_person_reads(person: Person, org: str) -> dict[str, Any]:
    api = f"/api/v1/orgs/{org}"
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await person.get(f"{api}/audit/records", limit=1000, **({"cursor": cursor} if cursor else {}))
        records += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    stacks = await person.get(f"{api}/fleet/stacks")
    return {
        "queue": await person.get(f"{api}/approvals"), "history": await person.get(f"{api}/approvals/history"),
        "commands": await person.get(f"{api}/emergency-commands"),
        "alerts": await person.get(f"{api}/audit/alerts"), "integrity": await person.get(f"{api}/audit/integrity"),
        "counts": await person.get(f"{api}/audit/counts"), "records": records, "fleet": stacks,
        "agents": {s["stack_id"]: await person.get(f"{api}/fleet/stacks/{s['stack_id']}/agents") for s in stacks},
        "budget_burn": await person.get(f"{api}/fleet/budget-burn"),
        "destinations": await person.get(f"{api}/notifications/destinations"),
        "rules": await person.get(f"{api}/notifications/routing-rules"),
        "deliveries": await person.get(f"{api}/notifications/deliveries", limit=500),
        "signing_keys": {s["stack_id"]: await person.get(f"{api}/stacks/{s['stack_id']}/signing-keys")
                         for s in stacks},
    }


async def test_todays_services_rebuild_from_a_log_their_predecessor_wrote(
        database: Database, pg_url: str, chdb_dir: Path, tmp_path: Path) -> None:
    stored = StoredLog.read(STORED_LOGS / f"{PREDECESSOR}.jsonl.gz")
    assert stored.header["commit"] == PREDECESSOR
    await put_registry(database, stored)
    log = PostgresLog(database)
    await log.start()
    try:
        await put_log(log, stored)
    finally:
        await log.close()
    ends = await log_ends(database)
    old = stored.shown
    started = datetime.now(UTC)
    late = [a["defer_token"] for a in old["queue"] if datetime.fromisoformat(a["deadline"]) > started]
    assert not late, f"run this test once the stored log's pending approvals are past their deadlines: {late}"
    async with running_cloud(cloud_settings(tmp_path / "cloud", pg_url), chdb_dir) as cloud, \
            Person(cloud.base_url) as person:
        await settle(cloud)
        org = await person.sign_in()

        async def expired_by_the_sweep() -> bool:  # it runs every few seconds once caught up
            history = await person.get(f"/api/v1/orgs/{org}/approvals/history")
            return len(history) == len(old["history"]) + len(old["queue"])
        await eventually(expired_by_the_sweep, "the overdue approvals expired", within_s=60)
        await settle(cloud)  # their events relayed and read
        seen = await what_a_person_reads(person, org)
        after = await log_ends(cloud.db)
    assert org == stored.header["org_slug"]

    # Nothing dead-lettered; what today's services added to the log is their own account of
    # what they found (the earlier pins announced, the alerts raised, what notifications did,
    # the deadlines that passed), never a decision, a delivery or a command: nothing is queued
    # for any daemon.
    added = {t for (t, _), end in after.items() if end != ends.get((t, _), 0)}
    assert added <= {SIGNING_KEYS, AUDIT_ALERTS, NOTIFICATION_EVENTS, NOTIFICATION_ALERTS, APPROVAL_EVENTS}, added
    assert not {DEAD_LETTERS, EMERGENCY_COMMANDS} & {t for t, _ in after}
    log = PostgresLog(database)
    await log.start()
    try:
        kinds = Counter(m.headers[H_KIND] for m in await read_topic(log, APPROVAL_EVENTS))
    finally:
        await log.close()
    assert kinds == {b"ApprovalExpired": len(old["queue"])}, kinds

    # The DPRs, their verdicts (under the pins in force when each was received), the legacy
    # feed's summaries, the counts, chain integrity, the fleet and the pins are what it showed.
    assert [_as_shown_then(r, o) for r, o in zip(seen["records"], old["records"], strict=True)] \
        == [_untailed(r) for r in old["records"]]
    # What today adds to each record (issue 18): its verification state, checked by the chain
    # verifier once caught up, failed exactly where a verdict says so (a legacy summary: unverified).
    assert [r["state"] for r in seen["records"]] == [
        "unverified" if r["verification"] == "unverified" else "failed" if _fails(r) else "verified"
        for r in seen["records"]]
    assert seen["counts"] == old["counts"]
    # A stack's sync status is the clock's reading of its last contact: its daemons stopped
    # when the log was recorded, so today they read disconnected; everything else is as shown.
    assert old["fleet"] and {s["sync_status"] for s in seen["fleet"]} == {"disconnected"}
    seen["fleet"] = [{**s, "sync_status": o["sync_status"]} for s, o in zip(seen["fleet"], old["fleet"], strict=True)]
    for key in ("fleet", "agents", "budget_burn", "signing_keys"):
        assert seen[key] == old[key], (key, differences(old[key], seen[key]))
    assert sorted(map(_alert, seen["alerts"])) == sorted(map(_alert, old["alerts"]))
    # Acknowledging an alert was a table update then: the acknowledgement is not on the log.
    acknowledged = [a for a in old["alerts"] if a["acknowledged"]]
    assert acknowledged and not [a for a in seen["alerts"] if a["acknowledged"]]
    reopened = Counter(a["stack_id"] for a in acknowledged)
    # Retention (issue 17) added each chain's checkpoint to the view; nothing was removed then.
    for stack in seen["integrity"]:
        for agent in stack["agents"]:
            assert (agent.pop("checkpoint"), agent.pop("verified_from")) == (None, "verified from genesis")
    assert seen["integrity"] == [{**s, "open_alerts": s["open_alerts"] + reopened[s["stack_id"]]}
                                 for s in old["integrity"]], differences(old["integrity"], seen["integrity"])

    # Approvals as the daemons reported them: every one, in the same state. Cloud's side of a
    # decision (its id, when and by whom it was taken, the DPR of its delivery's ack) and the
    # emergency commands were table updates then, so the daemon's account stands in for them;
    # ids are today's (uuid5 of organisation, stack and defer token) where they were random.
    # The approvals pending then have expired since, at their deadlines, by Cloud's sweep.
    assert old["queue"] and seen["queue"] == []
    expired = set(_approvals(old["queue"], PENDING_MOVES))
    assert _approvals([a for a in seen["history"] if (a["stack_id"], a["defer_token"]) in expired],
                      PENDING_MOVES) == {key: _expired(a) for key, a in _approvals(old["queue"], PENDING_MOVES).items()}
    assert _approvals([a for a in seen["history"] if (a["stack_id"], a["defer_token"]) not in expired],
                      CLOUD_SIDE) == _approvals(old["history"], CLOUD_SIDE)
    decided = {a["defer_token"] for a in old["history"] if a["decision_id"]}
    assert decided and all(a["decision_id"] is None for a in seen["history"])
    assert old["commands"] and seen["commands"] == []
    # Routing was configuration in the notifications tables then: nothing to route or send by.
    assert old["deliveries"] and (seen["destinations"], seen["rules"], seen["deliveries"]) == ([], [], [])


PENDING_MOVES = frozenset({"approval_id", "pending_seconds", "age_band"})  # and the clock moves a pending one
CLOUD_SIDE = frozenset({"approval_id", "decision_id", "resolution_record_id", "resolved_at", "resolved_by",
                        "pending_seconds"})


def _approvals(items: list[dict[str, Any]], leave_out: frozenset[str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["stack_id"], a["defer_token"]): {k: v for k, v in a.items() if k not in leave_out} for a in items}


def _expired(pending: dict[str, Any]) -> dict[str, Any]:
    """A pending approval as Cloud's expiry sweep leaves it: expired at its deadline."""
    return {**pending, "state": "expired", "resolved_at": pending["deadline"], "resolution_reason": "expired",
            "resolution_source": "timeout"}


def _as_shown_then(record: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """Today's record summary with only the fields the stored log's version showed."""
    return {k: v for k, v in _untailed(record).items() if k in then}


def _fails(record: dict[str, Any]) -> bool:
    return (not record["hash_valid"] or record["link_status"] in ("gap", "broken_link", "invalid_genesis")
            or record["signature_status"] in ("invalid", "untrusted"))


def _untailed(record: dict[str, Any]) -> dict[str, Any]:
    """A record summary without its tail sequence (the index numbers records as it takes them)."""
    return {k: v for k, v in record.items() if k != "org_seq"}


def _alert(a: dict[str, Any]) -> tuple[Any, ...]:
    """An alert by what it is about (its id is today's: derived from this identity)."""
    return a["stack_id"], a["agent_id"], a["record_id"], a["record_hash"], a["kind"], a["severity"], a["message"], \
        a["record_created_at"]
