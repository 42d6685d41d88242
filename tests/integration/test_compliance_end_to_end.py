"""Compliance on a running Cloud (``up --demo``'s services in this process): the demo fleet's
daemons push signed DPRs and approvals through the sync API; a person declares frameworks and
the service evaluates posture on its own (not on a page load), with DPR evidence counted
through the audit index's port and a link that shows the same records on Audit search; a
report of the range is made in the background and lands in the evidence library, and the PDF
verifies offline (PAdES signature under the platform document certificate, the appendix
under the platform key, every record hash and link, the printed heads, the verification
hash) with the ``faramesh-cloud verify-report`` command an auditor would run."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.compliance.coverage import reparse
from faramesh_cloud.compliance.domain import to_ns
from faramesh_cloud.compliance.report.check import check_report
from faramesh_cloud.compliance.service import ComplianceService
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.signing.keys import load_or_create_signing_key, public_pem
from faramesh_cloud.simulator.daemon import DaemonOptions
from tests.fixtures.browser import SCREENSHOTS_ENV
from tests.simulator_support import eventually
from tests.system_support import Person, cloud_settings, drop_olap_database, running_cloud

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

FLEET = DaemonOptions(agents=2, rate_per_s=0.0, seed=14, approval_timeout_s=3600.0, status_interval_s=3600.0,
                      budget_interval_s=3600.0, credential_interval_s=3600.0)
OWNER = Actor(ActorType.USER, "owner", "owner@example.test", "127.0.0.1")


@pytest.fixture
def chdb_dir(chdb_data_dir: Path) -> Iterator[Path]:
    drop_olap_database(chdb_data_dir)
    yield chdb_data_dir
    drop_olap_database(chdb_data_dir)


async def _org_id(cloud: Any, slug: str) -> str:
    async with cloud.db.connection() as conn:
        row = await (await conn.execute("SELECT org_id::text FROM orgs WHERE slug = %s", (slug,))).fetchone()
    return str(row[0])


async def test_posture_and_a_report_of_the_demo_fleet_that_verifies_offline(
        pg_url: str, chdb_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "cloud"
    start = datetime.now(UTC) - timedelta(minutes=5)
    async with running_cloud(cloud_settings(data_dir, pg_url), chdb_dir, FLEET) as cloud, \
            Person(cloud.base_url) as person:
        org = await person.sign_in()
        org_id = await _org_id(cloud, org)
        assert cloud.demo is not None and cloud.demo._fleet is not None
        for daemon in cloud.demo._fleet.daemons:
            await daemon.write_decisions(30)
            daemon.flush.set()
        audit = cloud.service("audit-index").reader  # type: ignore[attr-defined]
        dprs = 0

        async def indexed() -> bool:
            nonlocal dprs
            dprs = await audit.count(org_id, {"verification": "verified"}, None, None)
            return dprs >= 90
        await eventually(indexed, "the demo fleet's DPRs indexed")

        compliance = cloud.service("compliance")
        assert isinstance(compliance, ComplianceService)
        api = compliance.api
        await api.declare(org_id, ["soc2", "hipaa"], OWNER)

        async def evaluated() -> bool:
            return {r.framework for r in await api.posture(org_id)} == {"soc2", "hipaa"}
        await eventually(evaluated, "posture evaluated by the sweep")
        rows = {(r.framework, r.control_id): r for r in await api.posture(org_id)}
        recorded = rows[("hipaa", "164.312(b)")]  # audit controls: decisions recorded, as DPRs
        evidence = {e["name"]: e for e in recorded.detail["evidence"]}
        line = evidence["dpr_decisions_recorded"]
        assert line["count"] >= 90 and line["holds"]
        assert recorded.status == "evidence"
        assert "verification=verified" in line["audit_query"] and "since=" in line["audit_query"]
        # the link shows the same records on Audit search (REST twin of the page)
        found = await person.get(f"/api/v1/orgs/{org}/audit/records?{line['audit_query']}&limit=500")
        assert len(found["records"]) == line["count"]
        days = await api.posture_days(org_id, "soc2")
        assert days and days[-1].evidence + days[-1].policy + days[-1].gap == len(
            [r for r in rows if r[0] == "soc2"])

        end = datetime.now(UTC) + timedelta(minutes=1)
        fleet = cloud.service("fleet").query  # type: ignore[attr-defined]
        stack_id = next(s.stack_id for s in await fleet.stacks(org_id) if s.config_text_sha256)
        covered = await api.coverage(org_id, stack_id, start, end)
        # coverage: every verified call of the stack is in it, once, against its enforced policy
        assert covered.applied and covered.agents
        on_stack = await audit.count(org_id, {"verification": "verified", "stack_id": stack_id}, to_ns(start),
                                     to_ns(end))
        assert sum(t.calls for a in covered.agents for t in a.tools) == on_stack
        assert {a.status for a in covered.agents} <= {"full", "partial", "gap"}
        for tool in (t for a in covered.agents for t in a.tools):  # a call the default decided is not coverage
            assert tool.status == ("covered" if not tool.default_calls else
                                   "gap" if tool.default_calls == tool.calls else "partial"), tool
        # the demo's file declares two agents: the daemon enforces the first by name only
        dropped = [f for f in covered.findings if f.kind == "agent_dropped"]
        assert dropped and "support-triage" in covered.lines[dropped[0].line - 1]
        agent = covered.agents[0]
        tool = agent.tools[0]
        gap = await api.coverage_gap(org_id, stack_id, agent.agent_id, tool.tool_id, start, end)
        assert gap.calls == tool.calls and 0 < len(gap.samples) <= gap.calls
        assert {r.tool_id for r in gap.samples} == {tool.tool_id}
        (rule,) = reparse(gap.snippet)
        assert rule.tool == tool.tool_id
        report = await api.request_report(org_id, "soc2", [], start, end, OWNER)

        async def made() -> bool:
            state = (await api.report(org_id, report.report_id)).state
            assert state != "failed", (await api.report(org_id, report.report_id)).error
            return state == "done"
        await eventually(made, "the report made", within_s=120)
        done = await api.report(org_id, report.report_id)
        artifact = await api.artifact(org_id, done.artifact_id)
        assert artifact.kind == "report" and artifact.media_type == "application/pdf"
        assert artifact.verification_hash and artifact.parameters["records"] == dprs
        made = await person.send("POST", f"/api/v1/orgs/{org}/compliance/certificates",
                                 {"stack_ids": [stack_id], "start": start.isoformat(), "end": end.isoformat()})
        assert made.status_code == 201, made.text
        certified = await api.artifact(org_id, made.json()["artifact_id"])
        assert certified.kind == "integrity-certificate" and certified.created_by == "owner@example.test"
        bundle = tmp_path / "certificate.json"
        with api.store.open(certified.sha256) as src, bundle.open("wb") as out:
            shutil.copyfileobj(src, out)
        facts = json.loads(bundle.read_bytes())
        assert facts["chain"]["records"] == on_stack and facts["chain"]["intact"]
        assert {e["stack_id"] for e in facts["entries"]} == {stack_id}
        pdf = tmp_path / "report.pdf"
        with api.store.open(artifact.sha256) as src, pdf.open("wb") as out:
            shutil.copyfileobj(src, out)

    platform_key = tmp_path / "platform.pub"
    platform_key.write_text(public_pem(load_or_create_signing_key(data_dir).public_key()))
    certificate = data_dir / "keys" / "platform-document-cert.pem"
    checked = await asyncio.to_thread(check_report, pdf,  # pyHanko runs its own event loop
                                      platform_key=load_or_create_signing_key(data_dir).public_key(),
                                      certificate=certificate)
    assert checked.ok, checked.first_failure
    cli = subprocess.run([sys.executable, "-m", "faramesh_cloud", "verify-report", str(pdf), "--platform-key",
                          str(platform_key), "--certificate", str(certificate)], capture_output=True, text=True,
                         timeout=120)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert artifact.verification_hash in cli.stdout
    checked_bundle = subprocess.run([sys.executable, "-m", "faramesh_cloud", "verify-bundle", str(bundle),
                                     "--public-key", str(platform_key)], capture_output=True, text=True, timeout=60)
    assert checked_bundle.returncode == 0 and "every chain intact" in checked_bundle.stdout, checked_bundle.stdout
    facts["entries"][0]["records"] += 1  # one digit changed: the signature no longer holds
    bundle.write_text(json.dumps(facts))
    tampered = subprocess.run([sys.executable, "-m", "faramesh_cloud", "verify-bundle", str(bundle),
                               "--public-key", str(platform_key)], capture_output=True, text=True, timeout=60)
    assert tampered.returncode == 1, tampered.stdout
    # every page renders (poppler), kept with the browser screenshots when asked for
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "pages")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("compliance-report-page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(folder / "compliance-report-page")], check=True,
                   timeout=120)
    pages = sorted(folder.glob("compliance-report-page-*.png"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    assert len(pages) == int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
