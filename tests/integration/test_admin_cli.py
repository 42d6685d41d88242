"""The admin commands a newcomer runs to connect a daemon, on a real embedded data dir:
``orgs``, ``stacks`` and ``import-wal`` (in-process through click, and once as a separate
process beside another process holding the same embedded PostgreSQL, as with ``up``).

The first-use test and the import beside this process run first, on a stopped server: each
command starts and stops the data dir's PostgreSQL itself. The tests after them run while
another process holds that server (``held_server``), as while ``faramesh-cloud up`` runs beside
the CLI: each command attaches to it instead of starting and stopping it (half the time of a
command)."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.dpr.wal import encode_frame
from faramesh_cloud.events.topics import DPR_RECORDS, Origin
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.chain import AuditEntry
from faramesh_cloud.platform_audit.events import ActorType, AuditAction
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.domain import StackIdentity
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

T = TypeVar("T")
KEY = re.compile(r"fmc_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One embedded data dir for the module (outside pytest's tmp dirs: see fixtures/postgres.py)."""
    path = Path(tempfile.mkdtemp(prefix="faramesh-test-cli-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


HOLD = """import sys
from faramesh_cloud.sql.embedded import EmbeddedPostgres
with EmbeddedPostgres(sys.argv[1]):
    print("ready", flush=True)
    sys.stdin.read()
"""


@pytest.fixture(scope="module")
def held_server(data_dir: Path) -> Iterator[None]:
    """Another process holds the data dir's embedded PostgreSQL until the module's last test."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "ready", f"the holder exited with {holder.wait()}"
        yield
    finally:
        holder.stdin.close()  # it lets go; the last user stops the server
        holder.wait(timeout=60)
        holder.stdout.close()


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
    assert again.exit_code == 2 and "already has a registered stack named 'payments-prod'" in again.output + again.stderr


def test_import_wal_runs_beside_another_process_on_the_same_data_dir(
    data_dir: Path, vectors_dir: Path
) -> None:
    """As with ``faramesh-cloud up`` running: this test process holds the embedded PostgreSQL
    while import-wal, another process, uses it too and leaves it running."""
    registered = run(data_dir, "stacks", "register", "beside", "--org", "default")
    stack_id = re.search(r"stack id ([0-9a-f-]{36})", registered.output)
    assert stack_id is not None
    with EmbeddedPostgres(data_dir) as pg:
        done = subprocess.run(
            [sys.executable, "-m", "faramesh_cloud", "import-wal", str(vectors_dir / "dpr_chain_valid_jcs.wal"),
             "--stack", "beside", "--org", "default", "--data-dir", str(data_dir)],
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


@pytest.mark.usefixtures("held_server")
def test_orgs_are_created_listed_and_their_slugs_unique(data_dir: Path) -> None:
    result = run(data_dir, "orgs", "create", "acme", "--name", "Acme Inc.")
    assert result.exit_code == 0 and "Created organisation 'acme'" in result.output
    duplicate = run(data_dir, "orgs", "create", "acme", "--name", "Other")
    assert duplicate.exit_code == 2 and "exists already" in duplicate.output + duplicate.stderr
    bad = run(data_dir, "orgs", "create", "Not A Slug", "--name", "x")
    assert bad.exit_code == 2 and "slug" in bad.output + bad.stderr
    listed = run(data_dir, "orgs", "list")
    assert "acme" in listed.output and "Acme Inc." in listed.output
    renamed = run(data_dir, "orgs", "rename", "acme", "--name", "Acme Corp.")
    assert renamed.exit_code == 0 and "'acme' is called 'Acme Corp.' now" in renamed.output
    assert "Acme Corp." in run(data_dir, "orgs", "list").output
    other = f"other-{uuid.uuid4().hex[:8]}"
    assert run(data_dir, "orgs", "create", other, "--name", "Other").exit_code == 0
    taken = run(data_dir, "orgs", "rename", "acme", "--slug", other)
    assert taken.exit_code == 2 and "taken by another organisation" in taken.output + taken.stderr
    assert run(data_dir, "orgs", "rename", "acme").exit_code == 2
    missing = run(data_dir, "stacks", "list", "--org", "nope")
    assert missing.exit_code == 2 and "orgs create nope" in missing.output + missing.stderr


@pytest.mark.usefixtures("held_server")
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
    assert run(data_dir, "stacks", "revoke-key", key_id, "--org", "acme").exit_code == 2
    assert run(data_dir, "stacks", "rotate-key", "edge", "--org", "acme").exit_code == 2
    assert authenticate(data_dir, second) is not None

    revoked = run(data_dir, "stacks", "revoke-key", f"fmc_sk_{key_id}", "--org", org)
    assert revoked.exit_code == 0 and f"Revoked fmc_sk_{key_id}" in revoked.output
    assert authenticate(data_dir, second) is None

    labelled = run(data_dir, "stacks", "set-environment", "edge", "staging", "--org", org)
    assert labelled.exit_code == 0 and "labelled staging now (was (none))" in labelled.output
    assert "staging" in run(data_dir, "stacks", "list", "--org", org).output
    assert run(data_dir, "stacks", "set-environment", "edge", "prod", "--org", "acme").exit_code == 2

    third = key_of(run(data_dir, "stacks", "rotate-key", "edge", "--org", org, "--overlap", "24h"))
    secret = run(data_dir, "stacks", "webhook-secret", "edge", "--org", org)
    assert secret.exit_code == 0 and "/v1/webhooks/faramesh/" in secret.output and "fmc_whsec_" in secret.output
    gone = run(data_dir, "stacks", "deregister", "edge", "--org", org, "--yes")
    assert gone.exit_code == 0 and "Deregistered stack 'edge'" in gone.output
    assert authenticate(data_dir, third) is None
    assert "edge" not in run(data_dir, "stacks", "list", "--org", org).output
    assert "deregistered" in run(data_dir, "stacks", "list", "--org", org, "--all").output
    assert run(data_dir, "stacks", "deregister", "edge", "--org", org, "--yes").exit_code == 2


@pytest.mark.usefixtures("held_server")
def test_import_wal_backfills_once_and_shows_progress(data_dir: Path, vectors_dir: Path) -> None:
    assert run(data_dir, "stacks", "register", "backfill", "--org", "default").exit_code == 0
    wal = vectors_dir / "dpr_wal_torn_tail.wal"
    first = run(data_dir, "import-wal", str(wal), "--stack", "backfill", "--org", "default")
    assert first.exit_code == 0, first.output + first.stderr
    assert "Importing dpr_wal_torn_tail.wal" in first.stderr and "100%" in first.stderr
    assert "Appended 6 records to stack 'backfill'" in first.output
    assert "1 control frame" in first.output
    assert "Torn tail at byte offset 6900" in first.output and "40 bytes not imported" in first.output

    second = run(data_dir, "import-wal", str(vectors_dir / "dpr_chain_valid_jcs.wal"), "--stack", "backfill",
                 "--org", "default")
    assert second.exit_code == 0
    assert "Nothing new" in second.output and "7 entries already on the log" in second.output

    missing = run(data_dir, "import-wal", str(vectors_dir / "no-such.wal"), "--stack", "backfill", "--org", "default")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    unknown = run(data_dir, "import-wal", str(wal), "--stack", "nope", "--org", "default")
    assert unknown.exit_code == 2 and "no registered stack named 'nope'" in unknown.output + unknown.stderr




@pytest.mark.usefixtures("held_server")
def test_import_wal_after_the_daemon_truncated_its_wal_says_so_and_imports_the_new_records(
    data_dir: Path, vectors_dir: Path, tmp_path: Path
) -> None:
    assert run(data_dir, "stacks", "register", "rewritten", "--org", "default").exit_code == 0
    data = (vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes()
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data)
    assert run(data_dir, "import-wal", str(wal), "--stack", "rewritten", "--org", "default").exit_code == 0
    # The daemon met a corrupt frame at byte 3415 on start, cut the WAL there and wrote on.
    new = (vectors_dir / "dpr_chain_valid_multi_agent.jsonl").read_bytes().splitlines()[:2]
    wal.write_bytes(data[:3415] + b"".join(encode_frame(r) for r in new))
    again = run(data_dir, "import-wal", str(wal), "--stack", "rewritten", "--org", "default")
    assert again.exit_code == 0, again.output + again.stderr
    assert "The WAL was truncated at byte offset 3415 and rewritten since the last import" in again.output
    assert "imported 2 new records by identity" in again.output and "Nothing new" not in again.output


@pytest.mark.usefixtures("held_server")
def test_import_wal_records_a_mid_file_crc_error_in_the_ledger_and_the_audit_log(
    data_dir: Path, vectors_dir: Path, tmp_path: Path
) -> None:
    assert run(data_dir, "stacks", "register", "damaged", "--org", "default").exit_code == 0
    data = (vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes()
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data[:3415 + 18] + bytes([data[3415 + 18] ^ 1]) + data[3415 + 19:])  # frame 4's CRC fails
    result = run(data_dir, "import-wal", str(wal), "--stack", "damaged", "--org", "default")
    assert result.exit_code == 1, result.output + result.stderr
    assert "CORRUPT WAL at byte offset 3415" in result.output and "Appended 3 records" in result.output
    assert "Recorded in the import ledger, the organisation's audit log and the stack's chain" in result.output
    assert run(data_dir, "import-wal", str(wal), "--stack", "damaged", "--org", "default").exit_code == 1

    async def recorded(identity: Identity) -> tuple[list[AuditEntry], list[tuple[int, int, str]]]:
        async with identity.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id FROM orgs WHERE slug = 'default'")).fetchone()
            assert row is not None
            problems = await (await conn.execute(
                "SELECT p.byte_offset, p.times_met, p.reason FROM wal_import_problems p JOIN stacks s "
                "USING (org_id, stack_id) WHERE s.name = 'damaged'")).fetchall()
        found = [e for e in await identity.audit.entries(str(row[0])) if e.action == AuditAction.WAL_CORRUPTION_FOUND]
        return found, [(int(o), int(t), r) for o, t, r in problems]

    entries, problems = with_identity(data_dir, recorded)
    [(offset, times, reason)] = problems
    assert (offset, times) == (3415, 2) and "CRC-32 mismatch" in reason
    [entry] = entries  # once, when first met
    assert entry.details["byte_offset"] == 3415 and "CRC-32 mismatch" in entry.details["reason"]
    assert entry.details["after_record_id"] == json.loads(data[2218 + 13:3249])["record_id"]
    assert entry.actor.type is ActorType.SYSTEM and entry.actor.id.startswith("cli:")


INVITE = re.compile(r"/invitations/(\S+)")


def with_identity(data_dir: Path, work: Callable[[Identity], Awaitable[T]]) -> T:
    """Run ``work`` on the data dir's identity stores (as the web UI would)."""

    async def main(url: str) -> T:
        async with Database(url, max_size=2) as db:
            return await work(Identity(db, PlatformAuditLog(db)))

    with EmbeddedPostgres(data_dir) as pg:
        return asyncio.run(main(pg.url()))


def accept(data_dir: Path, result: Result) -> None:
    """Accept the invitation link the CLI printed, as the invited person does in the browser."""
    assert result.exit_code == 0, result.output + result.stderr
    found = INVITE.search(result.output)
    assert found is not None, result.output

    async def work(identity: Identity) -> None:
        await identity.invitations.accept(found.group(1), name="Person", password="correct horse battery staple")

    with_identity(data_dir, work)


@pytest.mark.usefixtures("held_server")
def test_members_invite_roles_overrides_and_removal_with_the_last_owner_kept(data_dir: Path) -> None:
    org = f"people-{uuid.uuid4().hex[:8]}"
    assert run(data_dir, "orgs", "create", org, "--name", "People").exit_code == 0
    empty = run(data_dir, "members", "list", "--org", org)
    assert empty.exit_code == 0 and "no members yet" in empty.output

    invited = run(data_dir, "members", "invite", "Ada@Example.test", "--role", "owner", "--org", org)
    assert "Invited ada@example.test as Owner" in invited.output and "http://127.0.0.1:8080/invitations/" in invited.output
    pending = run(data_dir, "members", "list", "--org", org)
    assert "invited: ada@example.test as Owner" in pending.output
    accept(data_dir, invited)
    listed = run(data_dir, "members", "list", "--org", org)
    assert "ada@example.test" in listed.output and "Owner" in listed.output and "invited:" not in listed.output

    # The last owner can be neither demoted nor removed, by the CLI either.
    demote = run(data_dir, "members", "change-role", "ada@example.test", "viewer", "--org", org)
    assert demote.exit_code == 2 and "at least one owner" in demote.output + demote.stderr
    removed = run(data_dir, "members", "remove", "ada@example.test", "--org", org, "--yes")
    assert removed.exit_code == 2 and "at least one owner" in removed.output + removed.stderr

    accept(data_dir, run(data_dir, "members", "invite", "bob@example.test", "--role", "operator", "--org", org))
    promoted = run(data_dir, "members", "change-role", "bob@example.test", "owner", "--org", org)
    assert promoted.exit_code == 0 and "bob@example.test is now Owner (was Operator)" in promoted.output
    demoted = run(data_dir, "members", "change-role", "ADA@example.test", "admin", "--org", org)
    assert demoted.exit_code == 0 and "ada@example.test is now Admin (was Owner)" in demoted.output

    # Per-stack overrides, by stack name; "inherit" removes the override.
    assert run(data_dir, "stacks", "register", "ledger", "--org", org).exit_code == 0
    isolated = run(data_dir, "members", "stack-role", "ada@example.test", "ledger", "none", "--org", org)
    assert isolated.exit_code == 0 and "no access to stack 'ledger'" in isolated.output
    assert "ledger=none" in run(data_dir, "members", "list", "--org", org).output
    cleared = run(data_dir, "members", "stack-role", "ada@example.test", "ledger", "inherit", "--org", org)
    assert cleared.exit_code == 0 and "ledger=none" not in run(data_dir, "members", "list", "--org", org).output

    # Clear errors: unknown member or stack, a role that does not exist, another org's member.
    nobody = run(data_dir, "members", "remove", "nobody@example.test", "--org", org, "--yes")
    assert nobody.exit_code == 2 and "is not a member of organisation" in nobody.output + nobody.stderr
    no_stack = run(data_dir, "members", "stack-role", "ada@example.test", "nope", "viewer", "--org", org)
    assert no_stack.exit_code == 2 and "no registered stack named 'nope'" in no_stack.output + no_stack.stderr
    bad_role = run(data_dir, "members", "change-role", "ada@example.test", "superuser", "--org", org)
    assert bad_role.exit_code == 2 and "superuser" in bad_role.output + bad_role.stderr
    assert run(data_dir, "members", "remove", "ada@example.test", "--org", "acme", "--yes").exit_code == 2
    bad_email = run(data_dir, "members", "invite", "not-an-email", "--role", "viewer", "--org", org)
    assert bad_email.exit_code == 2 and "not an email address" in bad_email.output + bad_email.stderr

    assert run(data_dir, "members", "invite", "cy@example.test", "--role", "viewer", "--org", org).exit_code == 0
    revoked = run(data_dir, "members", "revoke-invitation", "cy@example.test", "--org", org)
    assert revoked.exit_code == 0 and "Revoked the invitation of cy@example.test" in revoked.output
    gone = run(data_dir, "members", "remove", "ada@example.test", "--org", org, "--yes")
    assert gone.exit_code == 0 and "Removed ada@example.test (Admin)" in gone.output

    # Every change is in the org's platform audit log, by the CLI's system principal, on an
    # intact chain.
    async def entries(identity: Identity) -> tuple[list[AuditEntry], bool]:
        async with identity.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (org,))).fetchone()
        assert row is not None
        org_id = str(row[0])
        return await identity.audit.entries(org_id), (await identity.audit.verify(org_id)).ok

    log, intact = with_identity(data_dir, entries)
    assert intact
    by_cli = [e for e in log if e.actor.type == ActorType.SYSTEM]
    assert {e.actor.id for e in by_cli} == {f"cli:{getpass.getuser()}"}
    assert all(e.actor.label.startswith("faramesh-cloud CLI (") for e in by_cli)
    actions = [e.action for e in by_cli]
    for wanted in ("org:org:create", "identity:invitation:create", "identity:member:role_change",
                   "fleet:stack:register", "identity:stack_override:set", "identity:stack_override:remove",
                   "identity:invitation:revoke", "identity:member:remove"):
        assert wanted in actions, (wanted, actions)
    # Refused attempts change nothing and so record nothing.
    assert actions.count("identity:member:role_change") == 2 and actions.count("identity:member:remove") == 1
