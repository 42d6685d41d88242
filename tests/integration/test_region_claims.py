"""A region claims in the global directory everything it makes (organisations, people,
stacks, stack keys) before making it, on the real stores and a real directory database;
a claim refused (a slug another region holds, the directory down) makes nothing here. A
single-region install (no region) never opens a directory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.directory.postgres import PostgresDirectory
from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.domain import IdentityError
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.runtime.platform import open_region
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.domain import StackError
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.postgres import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
async def directory(embedded_postgres: EmbeddedPostgres, pg_template: str) -> AsyncIterator[PostgresDirectory]:
    with fresh_database(embedded_postgres, pg_template, "dir") as url:
        store = PostgresDirectory(url, max_size=2)
        await store.start()
        try:
            yield store
        finally:
            await store.close()


def _identity(database: Database, region: Region | None) -> Identity:
    return Identity(database, PlatformAuditLog(database),
                    IdentityConfig(password_time_cost=1, password_memory_kib=1024), region=region)


async def test_everything_a_region_makes_is_claimed_in_the_directory(
        database: Database, directory: PostgresDirectory) -> None:
    region = Region("us-east", directory)
    people = People(_identity(database, region))
    founder = await people.org("acme")  # the first owner: organisation and person
    beta = await people.org("beta")  # another organisation, its owner invited and accepted
    member = await people.member(founder, Role.VIEWER)
    stacks = StackStore(database, region=region)
    org = await stacks.create_org("gamma", "Gamma")
    stack, first_key = await stacks.register_stack(org.org_id, "payments")
    second_key = await stacks.rotate_key(org.org_id, stack.stack_id, 0)

    for slug in ("acme", "beta", "gamma"):
        assert await directory.region_of_org(slug) == "us-east"
    for email in (founder.email, beta.email, member.email):
        assert await directory.home_of(email) == "us-east"
    assert await directory.region_of_stack(stack.stack_id) == "us-east"
    for key in (first_key, second_key):
        assert await directory.region_of_stack_key(key[7:23]) == "us-east"
    assert await region.key_elsewhere(first_key[7:23]) is None  # this region's own: not elsewhere


async def test_a_slug_another_region_holds_is_refused_and_nothing_is_made_here(
        database: Database, directory: PostgresDirectory) -> None:
    await directory.claim_org(str(uuid.uuid4()), "taken", "eu-central")
    region = Region("us-east", directory, gateway_urls={"eu-central": "https://eu.example.test"})
    identity = _identity(database, region)
    with pytest.raises(IdentityError, match="eu-central"):
        await identity.users.create_first_owner(email="ana@example.test", name="Ana", password=PASSWORD,
                                                org_slug="taken", org_name="Taken")
    with pytest.raises(StackError, match="eu-central"):
        await StackStore(database, region=region).create_org("taken", "Taken")
    user, _ = await identity.users.create_first_owner(email="ana@example.test", name="Ana", password=PASSWORD,
                                                      org_slug="mine", org_name="Mine")
    with pytest.raises(IdentityError, match="eu-central"):
        await identity.orgs.create("taken", "Taken", user)
    async with database.connection() as conn:
        assert await (await conn.execute("SELECT slug FROM orgs ORDER BY slug")).fetchall() == [("mine",)]
    elsewhere = await region.org_elsewhere("taken")
    assert elsewhere is not None and elsewhere.gateway_url == "https://eu.example.test"


async def test_with_the_directory_down_nothing_is_created_and_lookups_answer_unknown(database: Database) -> None:
    region = Region("us-east", PostgresDirectory("postgresql://nobody@127.0.0.1:1/none", timeout_s=0.5))
    stacks = StackStore(database)
    org = await stacks.create_org("acme", "Acme")  # made before: no directory needed to read it
    with pytest.raises(ServiceUnavailable, match="unreachable"):
        await StackStore(database, region=region).register_stack(org.org_id, "payments")
    with pytest.raises(ServiceUnavailable, match="global directory"):
        await _identity(database, region).users.create_first_owner(
            email="ana@example.test", name="Ana", password=PASSWORD, org_slug="mine", org_name="Mine")
    async with database.connection() as conn:
        assert await (await conn.execute("SELECT count(*) FROM users")).fetchone() == (0,)
    assert await stacks.list_stacks(org.org_id) == []
    assert await region.key_elsewhere("0123456789abcdef") is None
    assert await region.person_elsewhere("ana@example.test") is None


async def test_a_single_region_install_opens_no_directory() -> None:
    components: dict[str, str] = {}
    assert await open_region(Settings.load(env={}), components) == (None, None)
    assert components == {}


async def test_a_region_opens_and_migrates_its_directory(embedded_postgres: EmbeddedPostgres,
                                                         pg_template: str) -> None:
    with fresh_database(embedded_postgres, pg_template, "dir") as url:
        components: dict[str, str] = {}
        settings = Settings.load(env={}, region="eu-central", directory_postgres_url=url,
                                 region_urls="us-east=https://us.example.test")
        region, directory = await open_region(settings, components)
        assert region is not None and directory is not None
        try:
            assert region.name == "eu-central" and components["region"].startswith("eu-central")
            assert "unreachable" not in components["region"]
            await region.claim_user("bo@example.test")
            assert region.endpoints("us-east").gateway_url == "https://us.example.test"
        finally:
            await directory.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT home_region FROM directory_users").fetchall() == [("eu-central",)]


async def test_a_region_starts_while_its_directory_is_down_and_uses_it_once_it_is_back(
        embedded_postgres: EmbeddedPostgres, database: Database) -> None:
    name = f"dir_{uuid.uuid4().hex[:12]}"  # a database that does not exist yet: the directory is "down"
    components: dict[str, str] = {}
    settings = Settings.load(env={}, region="us-east", directory_postgres_url=embedded_postgres.url(name))
    region, directory = await open_region(settings, components)
    assert region is not None and "unreachable at start" in components["region"]
    stacks = StackStore(database, region=region)
    try:
        with pytest.raises(ServiceUnavailable, match="unreachable"):
            await stacks.create_org("acme", "Acme")
        assert await region.person_elsewhere("ana@example.test") is None
        with psycopg.connect(embedded_postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')  # the directory is back
        org = await stacks.create_org("acme", "Acme")  # connected and migrated on first use
        assert await region.directory.region_of_org("acme") == "us-east" and org.slug == "acme"
    finally:
        await directory.close()
        with psycopg.connect(embedded_postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
