"""The admin commands a newcomer runs to connect a daemon, on a real embedded data dir:
``orgs``, ``stacks`` and ``import-wal`` (in-process through click, and once as a separate
process beside another process holding the same embedded PostgreSQL, as with ``up``)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.events.topics import DPR_RECORDS, Origin
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.domain import StackIdentity
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

KEY = re.compile(r"fmc_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One embedded data dir for the module (outside pytest's tmp dirs: see fixtures/postgres.py)."""
    path = Path(tempfile.mkdtemp(prefix="faramesh-test-cli-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(data_dir: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--data-dir", str(data_dir)], input=input, catch_exceptions=False)


def key_of(result: Result) -> str:
    found = KEY.findall(result.output)
    assert found, result.output
    return found[0]


def authenticate(data_dir: Path, key: str) -> StackIdentity | None:
    """What the data dir's StackStore says about ``key`` (the CLI has stopped PostgreSQL)."""

    async def check(url: str) -> StackIdentity | None:
        async with Database(url, max_size=1) as db:
            return await StackStore(db).authenticate(key)

    with EmbeddedPostgres(data_dir) as pg:
        return asyncio.run(check(pg.url()))


def test_first_use_creates_the_default_org_and_register_shows_the_key_once(data_dir: Path) -> None:
    result = run(data_dir, "stacks", "register", "payments-prod", "--environment", "production")
    assert result.exit_code == 0, result.output + result.stderr
    assert "created organisation 'default'" in result.stderr
    key = key_of(result)
    assert 'cloud_api_key = env("FARAMESH_CLOUD_API_KEY")' in result.output
    assert 'cloud_url     = "https://127.0.0.1:8443"' in result.output
    assert "faramesh auth login --token" in result.output and "--horizon-url http://127.0.0.1:8080" in result.output
    identity = authenticate(data_dir, key)
    assert identity is not None

    listed = run(data_dir, "stacks", "list")
    assert listed.exit_code == 0
    assert "payments-prod" in listed.output and identity.stack_id in listed.output
    assert key not in listed.output and key[: len("fmc_sk_") + 16] in listed.output  # prefix only
    assert "created organisation" not in listed.stderr  # only on first use

    again = run(data_dir, "stacks", "register", "payments-prod")
    assert again.exit_code == 1 and "already has a registered stack named 'payments-prod'" in again.output + again.stderr


def test_orgs_are_created_listed_and_their_slugs_unique(data_dir: Path) -> None:
    result = run(data_dir, "orgs", "create", "acme", "--name", "Acme Inc.")
    assert result.exit_code == 0 and "Created organisation 'acme'" in result.output
    duplicate = run(data_dir, "orgs", "create", "acme", "--name", "Other")
    assert duplicate.exit_code == 1 and "exists already" in duplicate.output + duplicate.stderr
    bad = run(data_dir, "orgs", "create", "Not A Slug", "--name", "x")
    assert bad.exit_code == 1 and "slug" in bad.output + bad.stderr
    listed = run(data_dir, "orgs", "list")
    assert "acme" in listed.output and "Acme Inc." in listed.output
    missing = run(data_dir, "stacks", "list", "--org", "nope")
    assert missing.exit_code == 1 and "orgs create nope" in missing.output + missing.stderr


def test_keys_rotate_revoke_and_deregister_within_the_org(data_dir: Path) -> None:
    org = f"ops-{uuid.uuid4().hex[:8]}"
    assert run(data_dir, "orgs", "create", org, "--name", "Ops").exit_code == 0
    first = key_of(run(data_dir, "stacks", "register", "edge", "--org", org))
    rotated = run(data_dir, "stacks", "rotate-key", "edge", "--org", org, "--overlap", "0")
    assert rotated.exit_code == 0, rotated.output + rotated.stderr
    second = key_of(rotated)
    assert authenticate(data_dir, first) is None and authenticate(data_dir, second) is not None

    # Another organisation cannot see or touch the stack or its keys.
    key_id = second.split("_")[2]
    assert run(data_dir, "stacks", "revoke-key", key_id, "--org", "acme").exit_code == 1
    assert run(data_dir, "stacks", "rotate-key", "edge", "--org", "acme").exit_code == 1
    assert authenticate(data_dir, second) is not None

    revoked = run(data_dir, "stacks", "revoke-key", f"fmc_sk_{key_id}", "--org", org)
    assert revoked.exit_code == 0 and f"Revoked fmc_sk_{key_id}" in revoked.output
    assert authenticate(data_dir, second) is None

    third = key_of(run(data_dir, "stacks", "rotate-key", "edge", "--org", org, "--overlap", "24h"))
    secret = run(data_dir, "stacks", "webhook-secret", "edge", "--org", org)
    assert secret.exit_code == 0 and "/v1/webhooks/faramesh/" in secret.output and "fmc_whsec_" in secret.output
    gone = run(data_dir, "stacks", "deregister", "edge", "--org", org, "--yes")
    assert gone.exit_code == 0 and "Deregistered stack 'edge'" in gone.output
    assert authenticate(data_dir, third) is None
    assert "edge" not in run(data_dir, "stacks", "list", "--org", org).output
    assert "deregistered" in run(data_dir, "stacks", "list", "--org", org, "--all").output
    assert run(data_dir, "stacks", "deregister", "edge", "--org", org, "--yes").exit_code == 1


def test_import_wal_backfills_once_and_shows_progress(data_dir: Path, vectors_dir: Path) -> None:
    assert run(data_dir, "stacks", "register", "backfill").exit_code == 0
    wal = vectors_dir / "dpr_wal_torn_tail.wal"
    first = run(data_dir, "import-wal", str(wal), "--stack", "backfill")
    assert first.exit_code == 0, first.output + first.stderr
    assert "Importing dpr_wal_torn_tail.wal" in first.stderr and "100%" in first.stderr
    assert "Appended 6 records to stack 'backfill'" in first.output
    assert "1 control frame" in first.output
    assert "Torn tail at byte offset 6900" in first.output and "40 bytes not imported" in first.output

    second = run(data_dir, "import-wal", str(vectors_dir / "dpr_chain_valid_jcs.wal"), "--stack", "backfill")
    assert second.exit_code == 0
    assert "Nothing new" in second.output and "7 entries already on the log" in second.output

    missing = run(data_dir, "import-wal", str(vectors_dir / "no-such.wal"), "--stack", "backfill")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    unknown = run(data_dir, "import-wal", str(wal), "--stack", "nope")
    assert unknown.exit_code == 1 and "no registered stack named 'nope'" in unknown.output + unknown.stderr


def test_import_wal_runs_beside_another_process_on_the_same_data_dir(
    data_dir: Path, vectors_dir: Path
) -> None:
    """As with ``faramesh-cloud up`` running: this test process holds the embedded PostgreSQL
    while import-wal, another process, uses it too and leaves it running."""
    registered = run(data_dir, "stacks", "register", "beside")
    stack_id = re.search(r"stack id ([0-9a-f-]{36})", registered.output)
    assert stack_id is not None
    with EmbeddedPostgres(data_dir) as pg:
        done = subprocess.run(
            [sys.executable, "-m", "faramesh_cloud", "import-wal", str(vectors_dir / "dpr_chain_valid_jcs.wal"),
             "--stack", "beside", "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Appended 6 records to stack 'beside'" in done.stdout

        async def stored() -> list[bytes]:
            async with Database(pg.url(), max_size=2) as db:
                log = PostgresLog(db)
                await log.start()
                try:
                    messages = await read_topic(log, DPR_RECORDS)
                finally:
                    await log.close()
            return [m.value for m in messages if Origin.from_headers(m.headers).stack_id == stack_id.group(1)]

        # PostgreSQL still serves this process after the importer exited, with the records in it.
        assert len(asyncio.run(stored())) == 6
