"""Config drift and Home's live activity stream over the real audit index (chDB +
PostgreSQL) and the fleet projection: a daemon deciding under another policy than the one it
applied is flagged on its Config tab and in Home's attention panel; a stack behind a newer
apply of its branch is flagged on its Config tab; the activity stream pushes only the stacks
Home shows the member, resuming after the page's cursor."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fleet_items import message, record, status
from tests.integration.audit_support import fleet, publish, records
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


def events(text: str) -> list[str]:
    """The record ids of the ``dpr`` events of a server-sent event stream."""
    return re.findall(r'event: dpr\ndata: \{[^\n]*?"record_id": ?"([^"]+)"', text)  # JSON, any spacing


async def test_config_drift_and_the_live_activity_stream(
        database: Database, postgres_log: PostgresLog, fleet_audit: FleetAuditIndex, people: People,
        stacks: StackStore) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    org = acme.org.org_id
    eu, _ = await stacks.register_stack(org, "payments-eu", "production")
    us, _ = await stacks.register_stack(org, "payments-us", "production")
    other, _ = await stacks.register_stack(beta.org.org_id, "beta-stack", "production")
    now = datetime.now(UTC)
    sink, processor = FleetSink(database), FleetProcessor()
    reports = [(eu.stack_id, "a" * 40, now - timedelta(hours=2)), (us.stack_id, "b" * 40, now - timedelta(hours=1))]
    for i, (stack_id, commit, applied) in enumerate(reports):
        report = status(now, commit=commit, applied_at=applied)
        report.applied_config.git_branch = "main"
        await sink.write([processor.process(message(record(org, stack_id, 1, "stack_status", report), i))])  # type: ignore[list-item]
    # eu's daemon applied policy 0123456789abcdef, but decides under 3f2a9c1b7d4e5f60 (the
    # writers' version) since; us has not decided anything yet.
    recs = records(fleet("eu", 2, ["s"], seed=4), 6, start_ns=time.time_ns() - 10**9)
    foreign = records(fleet("beta", 1, ["s"], seed=8), 2, start_ns=time.time_ns())
    await publish(postgres_log, org, eu.stack_id, recs)
    await publish(postgres_log, beta.org.org_id, other.stack_id, foreign)
    await fleet_audit.index(len(recs) + len(foreign))

    app = fleet_audit.app()
    viewer = await people.member(acme, Role.VIEWER)
    await people.identity.members.set_stack_role(org, viewer.user.user_id, eu.stack_id, StackRole.NONE,
                                                 await people.principal(acme))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        config = (await web.get(f"/o/acme/fleet/stacks/{eu.stack_id}/config")).text
        drift = config.split('id="drift"', 1)[1].split("</ul>", 1)[0]
        assert 'data-kind="running_differs"' in drift and "applied policy 0123456789abcdef" in drift
        assert "policy 3f2a9c1b7d4e5f60 (6 record(s)" in drift
        assert 'data-kind="behind_branch"' in drift and "payments-us applied bbbbbbbbbbbb" in drift
        assert f'href="/o/acme/fleet/stacks/{us.stack_id}/config"' in drift
        assert f'<tr data-stack="{us.stack_id}"' in config.split('id="peers"', 1)[1]
        fine = (await web.get(f"/o/acme/fleet/stacks/{us.stack_id}/config")).text
        assert 'id="no-drift"' in fine and 'id="drift"' not in fine

        twin = (await web.get(f"/api/v1/orgs/acme/fleet/stacks/{eu.stack_id}/config")).json()
        assert [d["kind"] for d in twin["drift"]] == ["running_differs", "behind_branch"]
        assert twin["policy_version"] == "0123456789abcdef" and twin["branch"] == "main"
        assert [p["name"] for p in twin["environment_peers"]] == ["payments-us"]
        assert (await web.get(f"/api/v1/orgs/beta/fleet/stacks/{eu.stack_id}/config")).status_code == 404

        items = (await web.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        assert [i["href"] for i in items if i["kind"] == "drift"] == [f"/o/acme/fleet/stacks/{eu.stack_id}/config"]

        # The activity stream: the page names where its stream starts; the stream then sends
        # only what is indexed later, and only the stacks Home shows.
        home = (await web.get("/o/acme/")).text
        live = re.search(r'data-live="([^"]+)"', home)
        assert live is not None and f'data-record="{recs[-1]["record_id"]}"' in home
        source = live.group(1).replace("&amp;", "&")
        quiet = await web.get(source + "&max_seconds=0.2")
        assert quiet.headers["content-type"].startswith("text/event-stream") and events(quiet.text) == []
        fresh = records(fleet("eu", 2, ["s"], seed=5), 2, start_ns=time.time_ns())
        await publish(postgres_log, org, eu.stack_id, fresh, first_seq=100)
        await publish(postgres_log, beta.org.org_id, other.stack_id,
                      records(fleet("beta", 1, ["s"], seed=9), 1, start_ns=time.time_ns()), first_seq=100)
        await fleet_audit.index(3)
        pushed = await web.get(source + "&max_seconds=0.2")
        assert events(pushed.text) == [r["record_id"] for r in fresh]
        backlog = await web.get("/o/acme/activity/events", params={"max_seconds": 0.2})
        assert set(events(backlog.text)) == {r["record_id"] for r in [*recs, *fresh]}  # never beta's
        one = await web.get("/o/acme/activity/events", params={"max_seconds": 0.2, "stack": us.stack_id})
        assert events(one.text) == []
        bad = await web.get("/o/acme/activity/events", params={"after": "not-a-cursor"})
        assert bad.status_code == 400

        # A member whose override hides payments-eu gets none of its records.
        await sign_in(web, viewer.email, PASSWORD)
        hidden = await web.get("/o/acme/activity/events", params={"max_seconds": 0.2})
        assert hidden.status_code == 200 and events(hidden.text) == []
