"""The gateway of a region (the real app over ASGI, identity on this test's database, the
directory's in-memory adapter): a person with no account here whose home is another region
is sent to that region's sign-in, before any password check; an SSO start for another
region's organisation goes to that region; people with an account here sign in as always."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from faramesh_cloud.directory.memory import InMemoryDirectory
from faramesh_cloud.directory.postgres import PostgresDirectory
from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, csrf_of, page_csrf, sign_in
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

EAST_URL = "https://us-east.example.test"


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def stacks(database: Database) -> StackStore:
    """Stacks claimed in a directory that does not answer (the global directory is down)."""
    down = PostgresDirectory("postgresql://nobody@127.0.0.1:1/none", timeout_s=0.5)
    return StackStore(database, region=Region("eu-central", down))


@pytest.fixture
def identity(database: Database, audit_log: PlatformAuditLog, directory: InMemoryDirectory) -> Identity:
    region = Region("eu-central", directory, gateway_urls={"us-east": EAST_URL, "eu-central": "https://eu.example.test"})
    return Identity(database, audit_log, IdentityConfig(max_failures=3, password_time_cost=1, password_memory_kib=1024),
                    region=region)


async def test_a_person_homed_in_another_region_is_sent_to_its_sign_in(
        people: People, client_factory: MakeClient, directory: InMemoryDirectory) -> None:
    local = await people.org("beta")
    await directory.claim_user("ana@us.example.test", "us-east")
    browser = client_factory()
    form = await browser.get("/login")
    for attempt in range(5):  # past the lockout threshold: never locked here, always sent home
        sent = await browser.post("/login", data={"email": " Ana@us.example.test", "password": f"x{attempt}",
                                                  "next": "/o/alpha/approvals", "csrf_token": csrf_of(form.text)})
        assert sent.status_code == 303, sent.text[:300]
    target = urlsplit(sent.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{EAST_URL}/login"
    assert parse_qs(target.query) == {"email": ["ana@us.example.test"], "next": ["/o/alpha/approvals"],
                                      "region": ["us-east"]}
    evil = await browser.post("/login", data={"email": "ana@us.example.test", "password": "x",
                                              "next": "//evil.example/", "csrf_token": csrf_of(form.text)})
    assert parse_qs(urlsplit(evil.headers["location"]).query)["next"] == ["/"]  # never an open redirect
    assert (await sign_in(client_factory(), local.email, PASSWORD)).status_code == 303  # a local person
    assert (await sign_in(client_factory(), "nobody@example.test", PASSWORD)).status_code == 401


async def test_someone_with_an_account_here_signs_in_here_whatever_their_home(
        people: People, client_factory: MakeClient, directory: InMemoryDirectory) -> None:
    founder = await people.org("beta")
    await directory.claim_user("bo@us.example.test", "us-east")  # first account made in us-east
    member = await people.member(founder, Role.VIEWER, email="bo@us.example.test")  # then invited here
    assert await directory.home_of(member.email) == "us-east"
    answer = await sign_in(client_factory(), member.email, PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_an_sso_start_for_another_regions_organisation_goes_there(
        people: People, client_factory: MakeClient, directory: InMemoryDirectory) -> None:
    await people.org("beta")
    await directory.claim_org(str(uuid.uuid4()), "alpha", "us-east")
    browser = client_factory()
    sent = await browser.get("/sso/start", params={"org": "Alpha"})
    assert sent.status_code == 303 and sent.headers["location"] == f"{EAST_URL}/sso/start?org=alpha"
    nowhere = await browser.get("/sso/start", params={"org": "gamma"})
    assert nowhere.status_code == 400 and "single sign-on is not set up" in nowhere.text


async def test_registering_a_stack_while_the_directory_is_down_is_503_and_makes_nothing(
        people: People, client_factory: MakeClient, stacks: StackStore) -> None:
    owner = await people.org("beta")
    browser = client_factory()
    assert (await sign_in(browser, owner.email, PASSWORD)).status_code == 303
    csrf = await page_csrf(browser, "/o/beta/approvals")
    answer = await browser.post("/api/v1/orgs/beta/stacks", json={"name": "payments", "environment": ""},
                                headers={"x-csrf-token": csrf})
    assert answer.status_code == 503 and "global directory" in answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert await stacks.list_stacks(owner.org.org_id) == []
