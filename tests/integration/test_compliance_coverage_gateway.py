"""Coverage analysis through the gateway's HTTP server on a running Cloud (``up --demo``'s
services in this process): the demo fleet's daemons push signed DPRs and report the
governance.fms they applied; a person reads each agent's coverage on the Compliance →
Coverage page and its REST twin, opens a gap (calls, effects, sample records linked to the
Audit record page, a suggested FPL snippet re-suggested per effect, never pushed), and the
declared-but-not-enforced findings with their lines. Stack-scoped: another organisation's
stack is a 404, a stack role of none hides the stack, a Viewer is refused (403)."""

from __future__ import annotations

import html
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from faramesh_cloud.compliance.coverage import Snippet, reparse
from faramesh_cloud.compliance.domain import framework_names, to_ns
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import People
from tests.fixtures.identity import Person as Member
from tests.integration.audit_support import HMAC_KEY, SEED, publish
from tests.simulator_support import eventually
from tests.system_support import OWNER, Person, cloud_settings, drop_olap_database, running_cloud

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

FLEET = DaemonOptions(agents=2, rate_per_s=0.0, seed=14, approval_timeout_s=3600.0, status_interval_s=3600.0,
                      budget_interval_s=3600.0, credential_interval_s=3600.0)


@pytest.fixture
def chdb_dir(chdb_data_dir: Path) -> Iterator[Path]:
    drop_olap_database(chdb_data_dir)
    yield chdb_data_dir
    drop_olap_database(chdb_data_dir)


GAPS = [("fs/write_file", "", "DENY", "UNMATCHED_DENY")] * 4 + [("stripe/charge", "", "DENY", "UNMATCHED_DENY"),
                                                                ("stripe/charge", "rule-3", "PERMIT", "RULE_PERMIT")]


async def default_decided(cloud: Any, org_id: str, stack_id: str) -> None:
    """Calls of an agent ``ops-bot`` on the demo stack that matched no rule (only the default
    decided them): a tool no rule covers and one some of whose calls fell through. Signed
    DPRs appended to the log as the sync API's ingest does, indexed by the running index."""
    writer = AgentWriter("ops-bot", random.Random(7), ed25519_seed=SEED, hmac_key=HMAC_KEY, signed_share=1.0)
    now = time.time_ns()
    made = [writer.next(now + i * 1_000, tool_id=tool, matched_rule_id=rule, effect=effect, reason_code=code,
                        reason=f"{effect.lower()} by {rule or 'the default'}")
            for i, (tool, rule, effect, code) in enumerate(GAPS)]
    await publish(cloud.platform.log, org_id, stack_id, made, first_seq=900_000, received_ns=now)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _member(cloud: Any, org: OrgRef, role: Role, stack_id: str | None = None) -> httpx.AsyncClient:
    """A member of ``org`` with ``role`` (invited and accepted through the identity store),
    their stack role on ``stack_id`` none when given, signed in at the running gateway."""
    identity = Identity(cloud.db, PlatformAuditLog(cloud.db), IdentityConfig(password_time_cost=1,
                                                                             password_memory_kib=1024))
    owner_user = await identity.users.find_by_email(OWNER)
    assert owner_user is not None
    people = People(identity)
    owner = Member(owner_user, org, Role.OWNER)
    member = await people.member(owner, role)
    if stack_id is not None:
        await identity.members.set_stack_role(org.org_id, member.user.user_id, stack_id, StackRole.NONE,
                                              await people.principal(owner))
    client = httpx.AsyncClient(base_url=cloud.base_url, timeout=30)
    answer = await sign_in(client, member.email, member.password)
    assert answer.status_code == 303, answer.text[:300]
    return client


async def test_coverage_and_a_gap_through_http_with_the_stack_scoped_permissions(
        pg_url: str, chdb_dir: Path, tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    async with running_cloud(cloud_settings(tmp_path / "cloud", pg_url), chdb_dir, FLEET) as cloud, \
            Person(cloud.base_url) as person:
        org = await person.sign_in()
        assert cloud.demo is not None and cloud.demo._fleet is not None
        for daemon in cloud.demo._fleet.daemons:
            await daemon.write_decisions(30)
            daemon.flush.set()
        fleet = cloud.service("fleet").query  # type: ignore[attr-defined]
        audit = cloud.service("audit-index").reader  # type: ignore[attr-defined]
        async with cloud.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id::text, name FROM orgs WHERE slug = %s", (org,))).fetchone()
        org_id, org_ref = str(row[0]), OrgRef(str(row[0]), org, str(row[1]))
        stacks: list[Any] = []

        async def reported() -> bool:
            nonlocal stacks
            stacks = [s for s in await fleet.stacks(org_id) if s.config_text_sha256]
            return bool(stacks) and await audit.count(org_id, {"verification": "verified"}, None, None) >= 90
        await eventually(reported, "the demo fleet's applied texts reported and its DPRs indexed")

        async def with_gaps() -> bool:
            return await audit.count(org_id, {"verification": "verified", "agent_id": "ops-bot"}, None,
                                     None) == len(GAPS)
        stack_id = stacks[0].stack_id
        await default_decided(cloud, org_id, stack_id)
        await eventually(with_gaps, "the default-decided calls indexed")
        applied = (await fleet.config_text(org_id, stack_id, stacks[0].config_text_sha256)).text
        end = datetime.now(UTC) + timedelta(minutes=1)
        base = f"/api/v1/orgs/{org}/compliance"
        period = {"stack": stack_id, "since": _iso(start), "until": _iso(end)}

        # REST: every verified call of the stack once, per agent, against the enforced policy
        covered = await person.get(f"{base}/coverage", **period)
        on_stack = await audit.count(org_id, {"verification": "verified", "stack_id": stack_id}, to_ns(start),
                                     to_ns(end))
        assert covered["applied"] and covered["stack_id"] == stack_id
        assert sum(t["calls"] for a in covered["agents"] for t in a["tools"]) == on_stack > 0
        lines = applied.splitlines()
        findings = {f["kind"]: f for f in covered["findings"]}
        assert all(1 <= f["line"] <= len(lines) for f in covered["findings"])
        # the demo's file declares an agent per agent id: the daemon enforces the first by name only
        dropped = findings["agent_dropped"]
        assert lines[dropped["line"] - 1].lstrip().startswith("agent ")
        assert covered["primary_agent"] and covered["primary_agent"] not in lines[dropped["line"] - 1]
        assert all(covered["primary_agent"] in a["note"] for a in covered["agents"]
                   if a["agent_id"] != covered["primary_agent"])
        for agent in covered["agents"]:
            for tool in agent["tools"]:
                for rule in tool["rules"]:  # a pack's rule is at its import line
                    assert (rule["tool"] in lines[rule["line"] - 1]) or (
                        rule["source"] and lines[rule["line"] - 1].startswith("import "))
        tool = next((t for a in covered["agents"] for t in a["tools"] if t["status"] != "covered"),
                    covered["agents"][0]["tools"][0])
        agent = next(a for a in covered["agents"] if tool in a["tools"])

        gap = await person.get(f"{base}/coverage/gap", **period, agent=agent["agent_id"], tool=tool["tool_id"])
        assert gap["calls"] == tool["calls"] and gap["default_calls"] == tool["default_calls"]
        assert sum(gap["effects"].values()) == tool["calls"] and 0 < len(gap["samples"]) <= tool["calls"]
        assert {s["tool_id"] for s in gap["samples"]} == {tool["tool_id"]}
        for effect in ("permit", "defer", "deny", "deny!"):
            again = await person.get(f"{base}/coverage/gap", **period, agent=agent["agent_id"],
                                     tool=tool["tool_id"], effect=effect)
            (rule,) = reparse(Snippet(again["snippet"]["text"], None, ""))
            assert rule.tool == tool["tool_id"] and again["snippet"]["text"].startswith(effect + " ")
            assert again["snippet"]["where"]
        answers = {
            "bad effect": await person.http.get(f"{base}/coverage/gap", params={
                **period, "agent": agent["agent_id"], "tool": tool["tool_id"], "effect": "allow"}),
            "backwards": await person.http.get(f"{base}/coverage", params={**period, "since": _iso(end),
                                                                            "until": _iso(start)}),
            "naive": await person.http.get(f"{base}/coverage", params={**period, "since": "2026-05-01T00:00:00"}),
            "no such tool": await person.http.get(f"{base}/coverage/gap", params={
                **period, "agent": agent["agent_id"], "tool": "no/such-tool"}),
            "no stack": await person.http.get(f"{base}/coverage", params={"since": _iso(start)}),
            "not a stack": await person.http.get(f"{base}/coverage", params={**period, "stack": "not-a-uuid"}),
        }
        codes = {k: v.status_code for k, v in answers.items()}
        assert codes == {"bad effect": 400, "backwards": 400, "naive": 400, "no such tool": 404, "no stack": 422,
                         "not a stack": 404}, {k: v.text[:200] for k, v in answers.items()}
        assert "deny!" in answers["bad effect"].json()["detail"]

        # another organisation's stack is a 404, through both the REST twin and the page
        store = StackStore(cloud.db)
        globex = await store.create_org("globex", "Globex")
        theirs, _ = await store.register_stack(globex.org_id, "globex-prod", "prod")
        foreign = {**period, "stack": theirs.stack_id}
        assert (await person.http.get(f"{base}/coverage", params=foreign)).status_code == 404
        assert (await person.http.get(f"{base}/coverage/gap", params={
            **foreign, "agent": agent["agent_id"], "tool": tool["tool_id"]})).status_code == 404
        assert (await person.http.get(f"/o/{org}/compliance/coverage", params=foreign)).status_code == 404
        # a stack that never sent its applied text says so
        silent, _ = await store.register_stack(org_id, "staging-silent", "staging")
        quiet = await person.get(f"{base}/coverage", **{**period, "stack": silent.stack_id})
        assert quiet["applied"] is False and quiet["agents"] == [] and quiet["findings"] == []
        page = await person.http.get(f"/o/{org}/compliance/coverage", params={**period,
                                                                          "stack": silent.stack_id})
        assert page.status_code == 200 and 'id="not-applied"' in page.text and "never sent" in page.text

        # the page: agents, tools, rule links to their line, findings in words with escaped context
        page = await person.http.get(f"/o/{org}/compliance/coverage", params=period)
        assert page.status_code == 200, page.text[:300]
        text = page.text
        for a in covered["agents"]:
            assert f'data-agent="{a["agent_id"]}" data-status="{a["status"]}"' in text
        assert "the daemon enforces only agent" in text and "agent block dropped" in text
        gap_links = re.findall(r'class="gap-link" href="([^"]+)"', text)
        assert len(gap_links) == sum(t["status"] != "covered" for a in covered["agents"] for t in a["tools"]) >= 2
        linked = re.findall(r'class="rule-link" href="#L(\d+)"', text)
        expected = {str(r["line"]) for a in covered["agents"] for t in a["tools"] for r in t["rules"]}
        assert set(linked) == expected and all(f'<tr id="L{n}">' in text for n in linked)
        quoted = next(line for line in lines if '"' in line)
        assert html.escape(quoted, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;") in text
        assert quoted not in text  # untrusted text is escaped, never raw
        assert f'href="/o/{org}/compliance/coverage"' in (await person.http.get(
            f"/o/{org}/compliance")).text  # the tab
        # the gap page: calls, samples linked to the Audit record page, the snippet and the never-pushed note
        gap_page = await person.http.get(f"/o/{org}/compliance/coverage/gap", params={
            **period, "agent": agent["agent_id"], "tool": tool["tool_id"], "effect": "deny!"})
        assert gap_page.status_code == 200, gap_page.text[:300]
        snippet = html.unescape(gap_page.text.split('<code id="snippet">', 1)[1].split("</code>", 1)[0])
        assert snippet.startswith("deny! ") and reparse(Snippet(snippet, None, ""))[0].tool == tool["tool_id"]
        assert 'data-copy="snippet"' in gap_page.text and "Cloud never pushes this rule" in gap_page.text
        assert "faramesh apply" in gap_page.text and f'<b id="gap-calls">{tool["calls"]}</b>' in gap_page.text
        records = re.findall(rf'href="(/o/{org}/audit/records/[^"]+)"', gap_page.text)
        assert len(records) == len(gap["samples"])
        opened = await person.http.get(html.unescape(records[0]))
        assert opened.status_code == 200 and gap["samples"][0]["record_id"] in opened.text
        bad = await person.http.get(f"/o/{org}/compliance/coverage/gap", params={
            **period, "agent": agent["agent_id"], "tool": tool["tool_id"], "effect": "allow"})
        assert bad.status_code == 400 and "deny!" in bad.text

        # roles: an Auditor reads; a Viewer is refused; a stack role of none hides the stack
        auditor = await _member(cloud, org_ref, Role.AUDITOR)
        assert (await auditor.get(f"{base}/coverage", params=period)).status_code == 200
        viewer = await _member(cloud, org_ref, Role.VIEWER)
        assert (await viewer.get(f"{base}/coverage", params=period)).status_code == 403
        assert (await viewer.get(f"{base}/coverage/gap", params={
            **period, "agent": agent["agent_id"], "tool": tool["tool_id"]})).status_code == 403
        assert (await viewer.get(f"/o/{org}/compliance/coverage")).status_code == 403
        hidden = await _member(cloud, org_ref, Role.OPERATOR, stack_id=stack_id)
        assert (await hidden.get(f"{base}/coverage", params=period)).status_code == 404
        listing = await hidden.get(f"/o/{org}/compliance/coverage")
        assert listing.status_code == 200 and stack_id not in listing.text and silent.stack_id in listing.text
        assert (await hidden.get(f"/o/{org}/compliance/coverage", params=period)).status_code == 404
        for client in (auditor, viewer, hidden):
            await client.aclose()
        assert list(framework_names()) == [slug for slug, _ in await cloud.service(
            "compliance").api.frameworks()]  # type: ignore[attr-defined]
