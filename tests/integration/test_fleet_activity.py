"""Home's activity stream, the agent's last DPRs and chain-integrity items in the attention
panel, read from the real audit index (chDB + PostgreSQL) through the runtime's adapter
(``IndexFleetAudit``), as the gateway shows them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fleet_items import T0, message, record, status
from tests.integration.audit_support import fleet, publish, records
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


async def test_activity_agent_dprs_and_chain_findings(
        database: Database, postgres_log: PostgresLog, fleet_audit: FleetAuditIndex, vectors_dir: Path,
        people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod")
    tampered_stack, _ = await stacks.register_stack(org, "legacy")
    other, _ = await stacks.register_stack(beta.org.org_id, "beta-stack")
    recs = records(fleet("pay", 2, ["sess-a"], seed=5), 12)
    tampered = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    await publish(postgres_log, org, pay.stack_id, recs)
    await publish(postgres_log, org, tampered_stack.stack_id, tampered)
    await publish(postgres_log, beta.org.org_id, other.stack_id, records(fleet("beta", 1, ["s"], seed=9), 4))
    await fleet_audit.index(len(recs) + len(tampered) + 4)

    app = fleet_audit.app(audit_reader=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner:
        await sign_in(owner, acme.email, PASSWORD)
        activity = (await owner.get("/api/v1/orgs/acme/fleet/activity")).json()["records"]
        ids = {r["record_id"] for r in activity}
        assert {r["record_id"] for r in recs} <= ids  # A's records, none of B's
        assert {r["stack_id"] for r in activity} <= {pay.stack_id, tampered_stack.stack_id}
        assert activity[0]["org_seq"] > activity[-1]["org_seq"]  # newest first
        home = (await owner.get("/o/acme/")).text
        assert f'href="/o/acme/audit/records/{recs[-1]["record_id"]}"' in home

        agent = recs[0]["agent_id"]
        detail = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/agents/{agent}")).json()
        mine = [r for r in recs if r["agent_id"] == agent]
        assert [r["record_id"] for r in detail["records"]] == [r["record_id"] for r in reversed(mine)]

        # The Agents tab counts each agent's decisions by effect from the index.
        agents = tuple((a, False, False, 1) for a in sorted({r["agent_id"] for r in recs}))
        rec = record(org, pay.stack_id, 1, "stack_status", status(T0, agents=agents))
        await FleetSink(database).write([FleetProcessor().process(message(rec, 0))])  # type: ignore[list-item]
        tab = (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/agents")).text
        for effect, count in Counter(r["effect"] for r in mine).items():
            row = tab.split(agent, 1)[1].split("</tr>", 1)[0]
            assert f'data-effect="{effect}">{effect}</span> {count} ' in row, row

        items = (await owner.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        chain = [i for i in items if i["kind"] == "chain"]
        assert chain and all(i["href"].startswith("/o/acme/audit/records/") for i in chain)
        assert any(i["kind"] == "alert" and "legacy" in i["text"] for i in items)

        await sign_in(owner, beta.email, PASSWORD)
        beta_activity = (await owner.get("/api/v1/orgs/beta/fleet/activity")).json()["records"]
        assert {r["stack_id"] for r in beta_activity} == {other.stack_id}
        assert not [i for i in (await owner.get("/api/v1/orgs/beta/fleet/attention")).json()["items"]
                    if i["kind"] in ("chain", "alert")]
