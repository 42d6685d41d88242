"""Issue 13, item 1's last sentence: replaying every topic from offset 0 into empty databases
rebuilds the same approvals, deliveries, commands, notifications and alerts, with the same
counts a user sees.

The run is ``up --demo`` in this process: the runtime's services over one platform (a fresh
PostgreSQL database holding the PostgreSQL log and every table, chDB), the demo's simulated
daemons (its three stacks, their keys pinned by the demo) pushing DPRs, pending approvals,
health, status and budgets through the sync API and applying what Cloud sends them, and a
fourth stack registered over REST whose "daemon" pushes a tampered chain signed by a key
other than the one a person pinned for it. A person, over the gateway's REST API: routes
approvals and chain-integrity alerts to a local webhook, pins a key, approves one approval,
denies another, loses a race for the first (409), approves a pattern in bulk, kills one agent
and isolates another, acknowledges an alert with a note. The daemons poll, apply and report
back. Then what the person reads over REST is written down, and Cloud is stopped.

The rebuild: a brand-new PostgreSQL database (the migrations, no rows) holding the same log
(its topics and records copied at the same offsets; not its consumer groups, so every group
is new and reads from offset 0), with the organisation, its people and the stack registry
copied over (they are not on the log), and an empty chDB; the same services start on it and
read every topic to its end. The person reads the same things, with the same ids; the
services' rows are the same; the webhook hears nothing more; the log gets nothing new (no
event, so nothing new for any daemon); no service dead-letters anything."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import re
import uuid
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import push_pb2
from nacl.signing import SigningKey

from faramesh_cloud.events.topics import DEAD_LETTERS
from faramesh_cloud.rpc.sync_client import SyncClient
from faramesh_cloud.simulator.daemon import DaemonOptions, SimulatedDaemon
from faramesh_cloud.simulator.registration import load_saved
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.postgres import fresh_database
from tests.notifications_support import HttpReceiver, http_receiver
from tests.simulator_support import eventually
from tests.system_support import (
    REGISTRY,
    Person,
    RunningCloud,
    cloud_settings,
    copy_log,
    copy_tables,
    differences,
    drop_olap_database,
    groups_behind,
    log_ends,
    running_cloud,
    settle,
    table_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

# The demo fleet, paced by the test: no decisions of its own (the test asks each daemon for
# them), no periodic reports during the run (the ones it sends as it starts are enough), and
# deadlines far away (the sweep expires nothing).
FLEET = DaemonOptions(agents=2, rate_per_s=0.0, seed=13, approval_timeout_s=3600.0, status_interval_s=3600.0,
                      budget_interval_s=3600.0, credential_interval_s=3600.0)
WAITING = re.compile(r"waiting [^,]+$")
SOMEONE_ELSE = base64.b64encode(bytes(SigningKey(bytes(32)).verify_key)).decode()  # nobody here signs with it


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        yield fake


@pytest.fixture
def chdb_dir(chdb_data_dir: Path) -> Iterator[Path]:
    """The run's chDB data dir without the audit index's database (``up`` names it)."""
    drop_olap_database(chdb_data_dir)
    yield chdb_data_dir
    drop_olap_database(chdb_data_dir)


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[Database]:
    async with Database(url, max_size=2) as db:
        yield db


def _stable(approval: dict[str, Any]) -> dict[str, Any]:
    """An approval as REST shows it, without what moves with the clock while it is pending."""
    return {k: v for k, v in approval.items() if k not in ("pending_seconds", "age_band")}


async def what_a_person_reads(person: Person, cloud: RunningCloud, org: str, org_id: str) -> dict[str, Any]:
    """Everything the person reads over REST (and each decision's delivery, as its detail page
    shows it, from the gateway's approvals port)."""
    api = f"/api/v1/orgs/{org}"
    queue = [_stable(a) for a in await person.get(f"{api}/approvals")]
    history = await person.get(f"{api}/approvals/history")
    ids = sorted(a["approval_id"] for a in queue + history)
    commands = await person.get(f"{api}/emergency-commands")
    stacks = await person.get(f"{api}/fleet/stacks")
    port = cloud.service("gateway").approvals  # type: ignore[attr-defined]
    seen: dict[str, Any] = {
        "queue": queue, "history": history,
        "approvals": [_stable(await person.get(f"{api}/approvals/{i}")) for i in ids],
        "commands": commands,
        "command": [await person.get(f"{api}/emergency-commands/{c['command_id']}") for c in commands],
        "alerts": await person.get(f"{api}/audit/alerts"),
        "open_alerts": await person.get(f"{api}/audit/alerts", include_acknowledged="false"),
        "integrity": await person.get(f"{api}/audit/integrity"),
        "counts": await person.get(f"{api}/audit/counts"),
        "records": await all_records(person, api),
        "fleet": stacks,
        "attention": await person.get(f"{api}/fleet/attention"),
        "activity": await person.get(f"{api}/fleet/activity"),
        "budget_burn": await person.get(f"{api}/fleet/budget-burn"),
        "stacks": {}, "agents": {},
        "destinations": await person.get(f"{api}/notifications/destinations"),
        "rules": await person.get(f"{api}/notifications/routing-rules"),
        "deliveries": await person.get(f"{api}/notifications/deliveries", limit=500),
        "signing_keys": {},
        "frameworks": await person.get(f"{api}/compliance/frameworks"),
        "reports": await person.get(f"{api}/compliance/reports"),
        "library": await person.get(f"{api}/compliance/library"),
    }
    for stack in stacks:
        sid = stack["stack_id"]
        seen["stacks"][sid] = {
            "stack": await person.get(f"{api}/fleet/stacks/{sid}"),
            "agents": await person.get(f"{api}/fleet/stacks/{sid}/agents"),
            "applies": await person.get(f"{api}/fleet/stacks/{sid}/applies"),
            "providers": await person.get(f"{api}/fleet/stacks/{sid}/providers"),
            "integrity": await person.get(f"{api}/audit/integrity/{sid}"),
            "counts": await person.get(f"{api}/audit/counts", stack=sid),
        }
        seen["signing_keys"][sid] = await person.get(f"{api}/stacks/{sid}/signing-keys")
        for agent in seen["stacks"][sid]["agents"]:
            name = agent["agent_id"]
            seen["agents"][f"{sid}/{name}"] = {
                "agent": await person.get(f"{api}/fleet/stacks/{sid}/agents/{name}"),
                "counts": await person.get(f"{api}/audit/counts", stack=sid, agent=name)}
    # The explain view (every copy, its chain position, neighbours and findings) of every
    # record id the legacy feed and the tampered chain share, and of a few others.
    explained = sorted({r["record_id"] for r in seen["records"] if r["record_id"].startswith("0b7e2c4a-")}
                       | {r["record_id"] for r in seen["records"][::40]})
    seen["explain"] = {i: _untailed_explain(await person.get(f"{api}/audit/records/{i}")) for i in explained}
    seen["delivery_of"] = {a["decision_id"]: await port.delivery(org_id, a["decision_id"])
                           for a in history if a["decision_id"]}
    return seen


async def all_records(person: Person, api: str) -> list[dict[str, Any]]:
    """Every DPR summary the search shows, page by page (newest first)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await person.get(f"{api}/audit/records", limit=1000, **({"cursor": cursor} if cursor else {}))
        found += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


class TamperedDaemon:
    """The daemon of the fourth stack as ingest sees it: one buffer, a chain with an edited
    record (the interop vector), pushed as DPRs."""

    def __init__(self, target: str, key: str, roots: bytes) -> None:
        self.client = SyncClient(target, key, root_certificates=roots)
        self.buffer = str(uuid.uuid4())

    async def push(self, lines: list[bytes]) -> None:
        await self.client.hello(self.buffer)
        items = [push_pb2.PushItem(sequence=i + 1, dpr_record=push_pb2.DprRecord(record_json=raw, frame_crc32=zlib.crc32(raw)))
                 for i, raw in enumerate(lines)]
        response = await self.client.push(self.buffer, items)
        assert not response.rejections, response


def _daemons(cloud: RunningCloud) -> list[SimulatedDaemon]:
    assert cloud.demo is not None and cloud.demo._fleet is not None
    return cloud.demo._fleet.daemons


def _pattern(a: dict[str, Any]) -> tuple[str, str, str]:
    return a["agent_id"], a["tool_id"], a["matched_rule_id"]


async def test_replaying_every_topic_into_empty_databases_rebuilds_what_people_see(
        embedded_postgres: EmbeddedPostgres, pg_template: str, pg_url: str, database: Database, chdb_dir: Path,
        receiver: HttpReceiver, vectors_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "cloud"
    first = cloud_settings(data_dir, pg_url)
    async with running_cloud(first, chdb_dir, FLEET) as cloud, Person(cloud.base_url) as person:
        org = await person.sign_in()
        org_id = await _org_id(cloud.db, org)
        api = f"/api/v1/orgs/{org}"
        # Routing: approval requests and chain-integrity alerts to a webhook.
        made = await person.send("POST", f"{api}/notifications/destinations",
                                 {"name": "oncall", "kind": "webhook", "url": receiver.url + "/hook"})
        assert made.status_code == 201, made.text
        hook = made.json()["destination_id"]
        for subject in ("approvals", "chain_integrity"):
            routed = await person.send("PUT", f"{api}/notifications/routing-rules",
                                       {"subject": subject, "steps": [{"after_minutes": 0, "destinations": [hook]}]})
            assert routed.status_code == 200, routed.text
        # A fourth stack, and a key pinned for it that its daemon does not sign with.
        registered = await person.send("POST", f"{api}/stacks", {"name": "tampered-prod", "environment": "demo"})
        assert registered.status_code == 201, registered.text
        tampered_stack, tampered_key = registered.json()["stack_id"], registered.json()["api_key"]
        pinned = await person.send("POST", f"{api}/stacks/{tampered_stack}/signing-keys",
                                   {"public_key": SOMEONE_ELSE, "label": "the vendor's key"})
        assert pinned.status_code == 201, pinned.text

        # The demo daemons decide calls until the queue has a pattern worth a bulk decision.
        daemons = _daemons(cloud)
        for _ in range(12):
            for daemon in daemons:
                await daemon.write_decisions(40)
                daemon.flush.set()
            await asyncio.sleep(0.5)
            queue = await person.get(f"{api}/approvals")
            patterns = Counter(_pattern(a) for a in queue)
            # A pattern of two or more for the bulk decision, and two others to decide singly.
            if len(queue) >= 6 and 2 <= patterns.most_common(1)[0][1] <= len(queue) - 2:
                break
        else:
            raise AssertionError(f"no pattern with two pending approvals and two others: {patterns}")
        bulk_pattern = patterns.most_common(1)[0][0]
        group = [a["approval_id"] for a in queue if _pattern(a) == bulk_pattern]
        single = [a for a in queue if _pattern(a) != bulk_pattern]
        approve, deny = single[0], single[1]

        # People decide: one approved, one denied, a second decider too late, a bulk approval.
        ok = await person.send("POST", f"{api}/approvals/{approve['approval_id']}/decision",
                               {"verdict": "approve", "reason": "verified by phone"})
        assert ok.status_code == 200, ok.text
        late = await person.send("POST", f"{api}/approvals/{approve['approval_id']}/decision",
                                 {"verdict": "deny", "reason": "changed my mind"})
        assert late.status_code == 409, late.text
        no = await person.send("POST", f"{api}/approvals/{deny['approval_id']}/decision",
                               {"verdict": "deny", "reason": "not on weekends"})
        assert no.status_code == 200, no.text
        bulk = await person.send("POST", f"{api}/approvals/bulk-decision",
                                 {"approval_ids": group, "verdict": "approve", "reason": "known refund run"})
        assert bulk.status_code == 200 and len(bulk.json()["decided"]) == len(group), bulk.text

        # Kill one agent, isolate another (different stacks).
        stacks = {s["name"]: s["stack_id"] for s in await person.get(f"{api}/stacks")}
        for stack, agent, kind, reason in (("payments-prod", "payments-bot", "kill", "runaway refunds"),
                                           ("support-staging", "support-triage", "isolate", "odd tool use")):
            issued = await person.send("POST", f"{api}/stacks/{stacks[stack]}/agents/{agent}/{kind}",
                                       {"reason": reason})
            assert issued.status_code == 201, issued.text

        # Unverified decision summaries through the legacy Horizon feed: on the fourth stack (the
        # DPRs of the same records arrive next and replace them) and on a demo stack (they stay).
        demo_keys = load_saved(data_dir / "demo" / "keys.json")
        assert demo_keys is not None
        horizon = (vectors_dir / "horizon_ingest_batch_example.json").read_bytes().replace(
            b'"org_id":"org_01HZX3EXAMPLE"', f'"org_id":"{org_id}"'.encode())
        for key in (tampered_key, demo_keys.stacks[-1].api_key):
            fed = await person.http.post("/v1/ingest/dpr", content=horizon, headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            assert fed.status_code == 200, fed.text

        # The tampered chain arrives; the index raises alerts; one is acknowledged with a note.
        roots = (data_dir / "tls" / "sync-cert.pem").read_bytes()
        tampered = TamperedDaemon(first.sync_address, tampered_key, roots)
        try:
            await tampered.push((vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines())
        finally:
            await tampered.client.close()

        async def alerts() -> list[dict[str, Any]]:
            return [a for a in await person.get(f"{api}/audit/alerts") if a["stack_id"] == tampered_stack]
        await eventually(lambda: _nonempty(alerts()), "alerts on the tampered stack", within_s=30)
        mismatch = next(a for a in await alerts() if a["kind"] == "record_hash_mismatch")
        acked = await person.send("POST", f"{api}/audit/alerts/{mismatch['alert_id']}/acknowledge",
                                  {"note": "the edit was our drill"})
        assert acked.status_code == 200, acked.text
        unpinned = await person.send("DELETE", f"{api}/stacks/{tampered_stack}/signing-keys/{pinned.json()['key_id']}")
        assert unpinned.status_code == 200, unpinned.text

        # Compliance: frameworks declared, a DPR search exported (filed in the evidence library),
        # shared with an auditor and the link revoked, a report made in the background.
        declared = await person.send("PUT", f"{api}/compliance/frameworks", {"frameworks": ["soc2", "gdpr"]})
        assert declared.status_code == 200, declared.text
        exported = await person.http.get(f"{api}/audit/export", params={"verification": "verified"})
        assert exported.status_code == 200, exported.text
        (export,) = await person.get(f"{api}/compliance/library")
        shared = await person.send("POST", f"{api}/compliance/artifacts/{export['artifact_id']}/shares",
                                   {"days": 7, "note": "Audit firm LLP"})
        assert shared.status_code == 201, shared.text
        revoked = await person.send("DELETE", f"{api}/compliance/shares/{shared.json()['link_id']}")
        assert revoked.status_code == 200, revoked.text
        asked = await person.send("POST", f"{api}/compliance/reports", {
            "framework": "gdpr", "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"})
        assert asked.status_code == 202, asked.text

        async def reported() -> bool:
            return (await person.get(f"{api}/compliance/reports/{asked.json()['report_id']}"))["state"] == "done"
        await eventually(reported, "the report made", within_s=120)

        # The daemons apply what Cloud sent and report back; then the fleet stops.
        decided = {approve["approval_id"], deny["approval_id"], *group}

        async def applied() -> bool:
            history = {a["approval_id"]: a for a in await person.get(f"{api}/approvals/history")}
            commands = await person.get(f"{api}/emergency-commands")
            return (all(i in history and history[i]["daemon_state"] == history[i]["state"] for i in decided)
                    and all(c["state"] == "acknowledged" for c in commands))
        await eventually(applied, "the daemons applied every decision and command", within_s=60)
        # A few more decisions after the kill and the isolation, and the daemon hosts resolve
        # half of what is still pending themselves (CLI verdicts, sessions ended): withdrawn.
        for daemon in daemons:
            daemon.options = dataclasses.replace(daemon.options, local_resolve_share=0.5, local_resolve_after_s=0.0)
            await daemon.write_decisions(10)
        assert cloud.demo is not None
        await cloud.demo.stop()
        await settle(cloud)
        before = await what_a_person_reads(person, cloud, org, org_id)
        rows = await table_rows(cloud.db)
        groups = set(await groups_behind(cloud.db))
        ends = await log_ends(cloud.db)
        heard = len(receiver.requests)

    # What the run left, as the person saw it.
    states = Counter(a["state"] for a in before["history"])
    assert states["approved"] == 1 + len(group) and states["denied"] == 1 and states["withdrawn"] and before["queue"]
    assert sorted(c["state"] for c in before["commands"]) == ["acknowledged", "acknowledged"]
    deliveries = list(before["delivery_of"].values())  # (handed out, acked at, outcome, DPR id)
    assert len(deliveries) == len(decided) and all(d[0] >= 1 and d[1] is not None and d[2] for d in deliveries)
    acknowledged = [a for a in before["alerts"] if a["acknowledged"]]
    assert [(a["alert_id"], a["acknowledged_note"]) for a in acknowledged] == [
        (mismatch["alert_id"], "the edit was our drill")]
    assert len(before["open_alerts"]) == len(before["alerts"]) - 1 >= 1
    assert len(before["records"]) == sum(before["counts"].values()) > 100
    unverified = [r for r in before["records"] if r["verification"] == "unverified"]
    assert unverified and {r["stack_id"] for r in unverified} == {demo_keys.stacks[-1].stack_id}
    assert not [t for t, _ in ends if t == DEAD_LETTERS]  # nothing dead-lettered (nor on the rebuild: same ends)
    assert heard and {r.path for r in receiver.requests} == {"/hook"}
    assert len(before["deliveries"]) == heard
    assert [f["framework"] for f in before["frameworks"]] == ["gdpr", "soc2"]
    assert sorted(a["kind"] for a in before["library"]) == ["dpr-export", "report"]
    assert [r["state"] for r in before["reports"]] == ["done"]
    assert any(link["revoked_at"] for a in before["library"] for link in a["share_links"])

    # The rebuild: a new database with the same log and the registry, an empty chDB, new groups.
    drop_olap_database(chdb_dir)
    with fresh_database(embedded_postgres, pg_template, prefix="rebuild") as url:
        async with opened(url) as fresh:
            await copy_log(database, fresh)
            await copy_tables(database, fresh, REGISTRY)
            assert await groups_behind(fresh) == {}
        async with running_cloud(cloud_settings(data_dir, url), chdb_dir) as again, \
                Person(again.base_url) as person:
            await settle(again, groups)
            assert await person.sign_in(org) == org
            after = await what_a_person_reads(person, again, org, org_id)
            rows_after = await table_rows(again.db)
            assert await log_ends(again.db) == ends  # nothing new on the log: no event, nothing for a daemon
        assert len(receiver.requests) == heard  # the webhook heard nothing more
    assert rows_after == rows, differences(rows, rows_after)  # every service's rows, ids and all
    # Home's activity lists the last 100 tail positions in the order the index took records in
    # (the live stream's tail sequence, `org_seq`, numbered as records are indexed; a summary a
    # DPR replaced leaves its position empty): a rebuild numbers them in the order it replays
    # them, so the list may hold other (older) records. Each is still one the search shows.
    shown = {_identity(r): r for r in map(_untailed, after["records"])}
    assert 0 < len(after["activity"]["records"]) <= 100
    assert all(shown[_identity(r)] == r for r in map(_untailed, after["activity"]["records"]))
    assert _comparable(after) == _comparable(before), differences(_comparable(before), _comparable(after))


def _untailed_explain(view: dict[str, Any]) -> dict[str, Any]:
    """An explain view without the tail sequence of its copies' summaries (see the test)."""
    return {**view, "copies": [{**c, "summary": _untailed(c["summary"])} for c in view["copies"]]}


def _identity(record: dict[str, Any]) -> tuple[str, str, str]:
    return record["stack_id"], record["record_id"], record["verification"]


def _untailed(record: dict[str, Any]) -> dict[str, Any]:
    """A record summary without its tail sequence (the index's own numbering, see above)."""
    return {k: v for k, v in record.items() if k != "org_seq"}


def _comparable(seen: dict[str, Any]) -> dict[str, Any]:
    """What the person read, but Home's activity and the tail sequence (see the test), and with
    how long each pending approval has waited (and each group's oldest age) taken out of Home's
    attention panel (the clock)."""
    out = {k: v for k, v in seen.items() if k != "activity"}
    out["records"] = [_untailed(r) for r in seen["records"]]
    out["agents"] = {k: {**v, "agent": {**v["agent"], "records": [_untailed(r) for r in v["agent"]["records"]]}}
                     for k, v in seen["agents"].items()}
    out["attention"] = {**seen["attention"], "items": [
        {**item, "text": WAITING.sub("waiting", item["text"])} for item in seen["attention"]["items"]],
        "groups": [_unaged(g) | {"stacks": [_unaged(t) for t in g["stacks"]]} for g in seen["attention"]["groups"]]}
    return out


def _unaged(tally: dict[str, Any]) -> dict[str, Any]:
    """A group of the attention panel without its oldest age (the clock), but saying whether it has one."""
    return {**tally, "oldest": bool(tally["oldest"])}


async def _org_id(db: Database, slug: str) -> str:
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT org_id::text FROM orgs WHERE slug = %s", (slug,))).fetchone()
    assert row is not None
    return str(row[0])


async def _nonempty(found: Any) -> bool:
    return bool(await found)
