"""Fleet → agent detail, delegation topology: who delegated to the agent and whom it
delegated to, read from the DPRs' ``invoked_by_agent_id`` in the real audit index (chDB +
PostgreSQL), shown on the page and in its REST twin, scoped to one organisation and stack."""

from __future__ import annotations

import time

import httpx
import pytest

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_support import fleet, publish
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


async def test_delegation_topology_from_synced_dprs(
        postgres_log: PostgresLog, fleet_audit: FleetAuditIndex, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod")
    other, _ = await stacks.register_stack(beta.org.org_id, "beta-stack")
    boss, worker, helper = fleet("pay", 3, ["sess-a"], seed=11)
    now = time.time_ns()
    recs = []
    last_boss = boss.next(now)
    recs.append(last_boss)
    for i in range(4):  # the worker acts for the boss four times, once on its own
        recs.append(worker.next(now + (i + 1) * 1000, invoked_by_agent_id=boss.agent_id,
                                invoked_by_dpr_record_id=last_boss["record_id"]))
    recs.append(worker.next(now + 10_000))
    last = helper.next(now + 20_000, invoked_by_agent_id=worker.agent_id,
                       invoked_by_dpr_record_id=recs[-1]["record_id"])
    recs.append(last)
    # Another organisation's agent claims to act for the same boss: never part of acme's view.
    (intruder,) = fleet("beta", 1, ["s"], seed=3)
    foreign = [intruder.next(now + 30_000, invoked_by_agent_id=boss.agent_id)]
    await publish(postgres_log, org, pay.stack_id, recs)
    await publish(postgres_log, beta.org.org_id, other.stack_id, foreign)
    await fleet_audit.index(len(recs) + 1)

    audit = fleet_audit.audit
    edges = await audit.delegations(org, pay.stack_id, now - 10**12)
    assert {(e.parent, e.child, e.records) for e in edges} == {(boss.agent_id, worker.agent_id, 4),
                                                               (worker.agent_id, helper.agent_id, 1)}
    assert await audit.delegations(org, pay.stack_id, now + 10**12) == []  # outside the window

    app = fleet_audit.app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as owner:
        await sign_in(owner, acme.email, PASSWORD)
        base = f"/o/acme/fleet/stacks/{pay.stack_id}/agents"
        page = (await owner.get(f"{base}/{worker.agent_id}")).text
        by, to = page.split('id="delegated-by"', 1)[1].split('id="delegates-to"', 1)
        assert f'href="{base}/{boss.agent_id}"' in by and "4 records" in by
        assert f'href="{base}/{helper.agent_id}"' in to.split("</section>", 1)[0]
        assert f'/o/acme/audit/records/{last["record_id"]}' in to

        api = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/agents/{boss.agent_id}")).json()
        tree = api["delegation"]
        assert tree["delegated_by"] == []
        (child,) = tree["delegates_to"]
        assert child["agent_id"] == worker.agent_id and child["records"] == 4
        assert [n["agent_id"] for n in child["next"]] == [helper.agent_id]  # the whole tree, downwards

        # The sessions of its latest decisions, each linking to the session explorer.
        sessions = page.split('id="agent-sessions"', 1)[1].split("</table>", 1)[0]
        assert 'href="/o/acme/audit/sessions/sess-a"' in sessions and "<td>5</td>" in sessions
        assert dict(api["identity"]["fields"])["Intercepted by"] == "sdk"
        boss_sessions = api["sessions"]
        assert [(x["session_id"], x["records"]) for x in boss_sessions] == [("sess-a", 1)]

        # Identity, as the agent's latest DPR records it.
        identity = page.split('id="agent-identity"', 1)[1].split("</table>", 1)[0]
        assert "Intercepted by" in identity and "<code>sdk</code>" in identity
        assert "<code>3f2a9c1b7d4e5f60</code>" in identity
        latest = [r for r in recs if r["agent_id"] == worker.agent_id][-1]
        assert f'/o/acme/audit/records/{latest["record_id"]}">latest decision' in page

        lone = (await owner.get(f"{base}/{helper.agent_id}")).text
        assert 'id="delegated-by"' in lone and worker.agent_id in lone
        assert intruder.agent_id not in (await owner.get(f"{base}/{boss.agent_id}")).text

        await sign_in(owner, beta.email, PASSWORD)
        beta_api = (await owner.get(
            f"/api/v1/orgs/beta/fleet/stacks/{other.stack_id}/agents/{intruder.agent_id}")).json()
        (foreign_boss,) = beta_api["delegation"]["delegated_by"]
        assert foreign_boss["agent_id"] == boss.agent_id and not foreign_boss["on_stack"]
        assert beta_api["delegation"]["delegates_to"] == []
        assert (await owner.get(f"/api/v1/orgs/beta/fleet/stacks/{pay.stack_id}/agents/{boss.agent_id}")
                ).status_code == 404
