"""The Directory contract: ``InMemoryDirectory`` and ``PostgresDirectory`` (real PostgreSQL,
its own migrations) pass these same tests. First claim wins; a region's own claim repeated
changes nothing; another region's claim is ``Taken`` (organisations, stacks, keys) or answers
the existing home (people)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from faramesh_cloud.directory.memory import InMemoryDirectory
from faramesh_cloud.directory.port import Directory, DirectoryUnavailable, Taken
from faramesh_cloud.directory.postgres import PostgresDirectory


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def directory(request: pytest.FixtureRequest) -> AsyncIterator[Directory]:
    if request.param == "memory":
        yield InMemoryDirectory()
        return
    url: str = request.getfixturevalue("pg_url")
    store = PostgresDirectory(url, max_size=2)
    try:
        await store.start()
        await store.start()  # migrations applied once, a second start changes nothing
        yield store
    finally:
        await store.close()


async def test_an_organisation_slug_is_held_by_the_first_region_to_claim_it(directory: Directory) -> None:
    org = str(uuid.uuid4())
    await directory.claim_org(org, "acme", "us-east")
    await directory.claim_org(org, "acme", "us-east")  # a retry of the same claim
    with pytest.raises(Taken) as taken:
        await directory.claim_org(str(uuid.uuid4()), "acme", "eu-central")
    assert taken.value.region == "us-east" and "acme" in str(taken.value)
    with pytest.raises(Taken):
        await directory.claim_org(str(uuid.uuid4()), "acme", "us-east")  # another org, same slug
    assert await directory.region_of_org("acme") == "us-east"
    assert await directory.region_of_org("other") is None


async def test_a_person_keeps_the_home_region_of_their_first_account(directory: Directory) -> None:
    assert await directory.claim_user("Ana@Example.test", "eu-central") == "eu-central"
    assert await directory.claim_user("ana@example.test", "us-east") == "eu-central"
    assert await directory.home_of("ANA@example.test ") == "eu-central"
    assert await directory.home_of("bo@example.test") is None


async def test_stacks_and_stack_keys_belong_to_the_region_that_issued_them(directory: Directory) -> None:
    stack, key = str(uuid.uuid4()), "0123456789abcdef"
    await directory.claim_stack(stack, "us-east")
    await directory.claim_stack_key(key, "us-east")
    await directory.claim_stack_key(key, "us-east")
    with pytest.raises(Taken) as taken:
        await directory.claim_stack_key(key, "eu-central")
    assert taken.value.region == "us-east"
    with pytest.raises(Taken):
        await directory.claim_stack(stack, "eu-central")
    assert await directory.region_of_stack(stack) == "us-east"
    assert await directory.region_of_stack_key(key) == "us-east"
    assert await directory.region_of_stack_key("fedcba9876543210") is None
    assert await directory.region_of_stack(str(uuid.uuid4())) is None
    assert await directory.region_of_stack("not-a-uuid") is None


@pytest.mark.postgres
async def test_an_unreachable_directory_database_is_directory_unavailable_naming_the_setting() -> None:
    store = PostgresDirectory("postgresql://nobody:secret@127.0.0.1:1/none", timeout_s=0.5)
    with pytest.raises(DirectoryUnavailable) as failed:
        await store.start()
    with pytest.raises(DirectoryUnavailable) as failed:
        await store.region_of_stack_key("0123456789abcdef")
    assert "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL" in str(failed.value)
    assert "secret" not in str(failed.value)
