"""``faramesh-cloud reports generate | list | share | revoke`` against a live gateway (real
uvicorn on loopback, real PostgreSQL, the compliance service's API and report jobs) with
role-scoped platform API keys: generate waits with a progress bar, prints the artifact id
and downloads the PDF; a failed report is exit 1 with its reason; a refused request exit 2
with the server's reason; an Auditor key shares and revokes but cannot generate."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.compliance.domain import ReportView
from faramesh_cloud.compliance.jobs import MadeReport, Progress, ReportJobs
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.sql.database import Database
from tests.fixtures.identity import People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
PDF = b"%PDF-1.7\n% a report made by the test's report maker\n%%EOF\n"


class Maker:
    """Makes a small file in steps (the PDF pipeline is the report module's; here the jobs,
    progress and library filing around it are under test). ``fail``: the reason it fails."""

    def __init__(self) -> None:
        self.fail = ""

    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
        for step, stage in ((0.25, "exporting the range"), (0.6, "rendering"), (0.9, "signing")):
            await progress(step, stage)
            await asyncio.sleep(0.2)
        if self.fail:
            raise RuntimeError(self.fail)
        path = scratch / "report.pdf"
        path.write_bytes(PDF)
        return MadeReport(path, f"{report.framework} report", "report.pdf", "ab" * 32, {"framework": report.framework})


@contextlib.asynccontextmanager
async def jobs_running(database: Database, port: CompliancePort, maker: Maker) -> AsyncIterator[None]:
    stopping = asyncio.Event()
    task = asyncio.create_task(ReportJobs(database, port, maker, idle_s=0.1).run(stopping))  # type: ignore[arg-type]
    try:
        yield
    finally:
        stopping.set()
        await task


async def run(*args: str, key: str = "", **env: str) -> Result:
    """The CLI in a worker thread (the gateway answers it from this loop)."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key, **env})


async def test_reports_generate_list_share_and_revoke_over_the_rest_api(
        served: str, people: People, database: Database, compliance_port: CompliancePort, tmp_path: Path) -> None:
    owner = await people.org("acme")
    principal = await people.principal(owner)
    _, ops = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.OPERATOR, principal)
    _, audit = await people.identity.api_keys.create(owner.org.org_id, "auditor", Role.AUDITOR, principal)
    maker = Maker()
    out = tmp_path / "soc2.pdf"
    async with jobs_running(database, compliance_port, maker):
        made = await run("reports", "generate", "--url", served, "--framework", "soc2", "--from", "2026-05-01",
                         "--to", "2026-06-01", "--out", str(out), key=ops)
        assert made.exit_code == 0, made.output
        assert "signing" in made.output or "done" in made.output  # the progress bar's stages
        artifact_id = made.output.split("artifact ", 1)[1].split()[0]
        assert out.read_bytes() == PDF

        maker.fail = "the audit index did not answer"
        failed = await run("reports", "generate", "--url", served, "--framework", "soc2", "--from", "2026-05-01",
                           "--to", "2026-06-01", key=ops)
        assert failed.exit_code == 1 and "error: report" in failed.output
        assert "the audit index did not answer" in failed.output

    refused = await run("reports", "generate", "--url", served, "--framework", "nist", "--from", "2026-05-01",
                        "--to", "2026-06-01", key=ops)
    assert refused.exit_code == 2 and "error: unknown framework 'nist'" in refused.output
    forbidden = await run("reports", "generate", "--url", served, "--framework", "soc2", "--from", "2026-05-01",
                          "--to", "2026-06-01", key=audit)
    assert forbidden.exit_code == 1 and "403" in forbidden.output
    nokey = await run("reports", "list", "--url", served)
    assert nokey.exit_code == 2 and "FARAMESH_CLOUD_API_KEY" in nokey.output
    badkey = await run("reports", "list", "--url", served, key="fmc_pk_nope")
    assert badkey.exit_code == 1 and "was not accepted" in badkey.output

    listed = await run("reports", "list", "--url", served, key=audit)
    assert listed.exit_code == 0 and listed.output.count("soc2") == 2
    assert "failed" in listed.output and artifact_id in listed.output
    library = await run("reports", "list", "--library", "--url", served, key=audit)
    assert artifact_id in library.output and hashlib.sha256(PDF).hexdigest()[:16] in library.output

    shared = await run("reports", "share", artifact_id, "--days", "3", "--note", "Audit firm", "--url", served,
                       key=audit)
    assert shared.exit_code == 0, shared.output
    url = shared.stdout.strip().splitlines()[-1]
    async with httpx.AsyncClient() as visitor:
        assert (await visitor.get(url)).status_code == 200
        link_id = shared.output.split("Share link ", 1)[1].split()[0]
        revoked = await run("reports", "revoke", link_id, "--url", served, key=audit)
        assert revoked.exit_code == 0 and "revoked" in revoked.output
        assert (await visitor.get(url)).status_code == 410
    unknown = await run("reports", "revoke", "8d4e6b7a-0000-4000-8000-000000000000", "--url", served, key=audit)
    assert unknown.exit_code == 2 and "error: no share link" in unknown.output
    too_long = await run("reports", "share", artifact_id, "--days", "91", "--url", served, key=audit)
    assert too_long.exit_code == 2
