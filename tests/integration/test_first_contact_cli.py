"""A newcomer's first commands on a fresh embedded data dir: reads create nothing, a stack
registered without ``--org`` joins the first owner's organisation, stack names follow one
rule, and every refusal reads ``error: ...`` with exit code 2."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.runtime.platform import MIGRATIONS
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.domain import Org
from tests.fixtures.identity import PASSWORD
from tests.integration.test_admin_cli import run, with_identity

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def fresh_dir() -> Iterator[Path]:
    """A data dir of its own (outside pytest's tmp dirs: see fixtures/postgres.py)."""
    path = Path(tempfile.mkdtemp(prefix="faramesh-test-first-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def orgs_in(data_dir: Path) -> list[str]:
    async def work(identity: Identity) -> list[str]:
        async with identity.db.connection() as conn:
            return [str(r[0]) for r in await (await conn.execute("SELECT slug FROM orgs ORDER BY slug")).fetchall()]

    return with_identity(data_dir, work)


def refused(result: Result) -> str:
    """The one error line of a refusal (exit code 2, ``error: ...`` on stderr, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Error:" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def install(data_dir: Path) -> None:
    """A Cloud's database in ``data_dir``, as a first ``faramesh-cloud up`` leaves it: every
    migration applied, no organisation, no user."""

    async def work(identity: Identity) -> None:
        await migrate(identity.db, MIGRATIONS)
        await identity.start()

    with_identity(data_dir, work)


def test_read_only_commands_create_neither_a_cluster_nor_an_organisation(fresh_dir: Path) -> None:
    # No Cloud in the data dir at all: reads say so, and leave no database behind.
    for args in (("stacks", "list"), ("orgs", "list"), ("members", "list"), ("stacks", "keys", "payments-prod")):
        line = refused(run(fresh_dir, *args))
        assert f"there is no Cloud in {fresh_dir} yet" in line, args
    assert not (fresh_dir / "postgres").exists()

    # A Cloud that ran once and has no organisation yet: still nothing created.
    install(fresh_dir)
    listed = run(fresh_dir, "stacks", "list")
    assert listed.exit_code == 0, listed.output
    assert "no organisation yet" in listed.output and "created organisation" not in listed.stderr
    assert "no organisation yet" in refused(run(fresh_dir, "members", "list"))
    assert "no organisation yet" in refused(run(fresh_dir, "stacks", "keys", "payments-prod"))
    assert "no organisation yet" in refused(run(fresh_dir, "import-wal", __file__, "--stack", "payments-prod"))
    assert run(fresh_dir, "orgs", "list").output.startswith("No organisations yet")
    assert orgs_in(fresh_dir) == []

    # Registering a stack is what creates one, 'default', which the first-owner page offers to adopt.
    registered = run(fresh_dir, "stacks", "register", "payments-prod")
    assert registered.exit_code == 0 and "created organisation 'default'" in registered.stderr

    async def adopt(identity: Identity) -> Org | None:
        lone = await identity.users.lone_org()
        return None if lone is None else Org(lone.org_id, lone.slug, lone.name)

    lone = with_identity(fresh_dir, adopt)
    assert lone is not None and lone.slug == "default"


def test_a_stack_registered_without_org_joins_the_first_owners_organisation(fresh_dir: Path) -> None:
    async def first_owner(identity: Identity) -> None:
        await identity.users.create_first_owner(email="ada@example.test", name="Ada", password=PASSWORD,
                                                org_slug="acme", org_name="Acme Payments")

    install(fresh_dir)
    run(fresh_dir, "stacks", "list")  # a read first, as a newcomer might: creates nothing
    with_identity(fresh_dir, first_owner)
    registered = run(fresh_dir, "stacks", "register", "payments-prod")
    assert registered.exit_code == 0, registered.output + registered.stderr
    assert "Registered stack 'payments-prod' in organisation 'acme'" in registered.output
    assert orgs_in(fresh_dir) == ["acme"]
    assert "payments-prod" in run(fresh_dir, "stacks", "list").output

    # With a second organisation, a command without --org says which ones there are.
    assert run(fresh_dir, "orgs", "create", "globex", "--name", "Globex").exit_code == 0
    line = refused(run(fresh_dir, "stacks", "register", "ledger"))
    assert "2 organisations (acme, globex)" in line and "--org SLUG" in line
    assert run(fresh_dir, "stacks", "register", "ledger", "--org", "globex").exit_code == 0


@pytest.mark.parametrize("name", ["../etc", ".", "..", ".hidden", "a/b", "a\\b", "pay ments", "x" * 65, "-x", "é"])
def test_a_stack_name_outside_the_rule_is_refused_with_the_rule(fresh_dir: Path, name: str) -> None:
    line = refused(CliRunner().invoke(cli, ["stacks", "register", "--data-dir", str(fresh_dir), "--", name]))
    assert "is not a valid stack name" in line
    assert "1 to 64 letters, digits, '-', '_' and '.', starting with a letter or a digit" in line
    assert not (fresh_dir / "postgres").exists()  # refused before anything was opened or created


def test_every_refusal_reads_error_and_exits_2(fresh_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(fresh_dir, "stacks", "register", "edge").exit_code == 0
    assert "no organisation 'nope'" in refused(run(fresh_dir, "stacks", "list", "--org", "nope"))
    assert "no registered stack named 'nope'" in refused(run(fresh_dir, "stacks", "rotate-key", "nope"))
    assert "already has a registered stack named 'edge'" in refused(run(fresh_dir, "stacks", "register", "edge"))
    assert "is not a duration" in refused(run(fresh_dir, "stacks", "rotate-key", "edge", "--overlap", "soon"))
    assert "slug" in refused(run(fresh_dir, "orgs", "create", "Not A Slug", "--name", "x"))
    assert "no such file" in refused(run(fresh_dir, "import-wal", str(fresh_dir / "none.wal"), "--stack", "edge"))
    assert "Missing argument" in refused(CliRunner().invoke(cli, ["stacks", "register"]))
    assert "No such command" in refused(CliRunner().invoke(cli, ["stack"]))
    monkeypatch.setenv("FARAMESH_CLOUD_HTTP_PORT", "eighty")
    assert "FARAMESH_CLOUD_HTTP_PORT='eighty'" in refused(run(fresh_dir, "stacks", "list"))
