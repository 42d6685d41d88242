"""The ``GitProvider`` contract: one suite, every adapter (GitHub, GitHub Enterprise's base
path, GitLab, Bitbucket with an app password and with a bearer token, Azure DevOps), each
against a local fake of its provider's real API (``tests/fakes/git.py``) over HTTP through
``PinnedHttp`` (the SSRF guard, with private destinations allowed for 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.ssrf import UnsafeDestination
from faramesh_cloud.fleet.git_adapters import adapter
from faramesh_cloud.fleet.git_providers import (
    Credentials,
    GitAuthFailed,
    GitForbidden,
    GitNotFound,
    GitProvider,
    GitUnavailable,
    InvalidGitRequest,
    Provider,
    commit_url,
)
from tests.fakes.git import FakeGit

TOKEN = "tok-read-all"

CASES = {
    "github": ("github", {}, ""),
    "github-enterprise": ("github", {"prefix": "/api/v3"}, ""),
    "gitlab": ("gitlab", {}, ""),
    "bitbucket-app-password": ("bitbucket", {"username": "ops-bot"}, "ops-bot"),
    "bitbucket-bearer": ("bitbucket", {}, ""),
    "azure-devops": ("azure_devops", {}, ""),
}
REPOS = {"github": "acme/policies", "gitlab": "acme/platform/policies", "bitbucket": "acme/policies",
         "azure_devops": "Platform/policies"}


@dataclass
class World:
    fake: FakeGit
    http: PinnedHttp
    repo: str
    username: str

    def provider(self, token: str = TOKEN) -> GitProvider:
        return adapter(Provider(self.fake.provider), self.http, self.fake.base_url, Credentials(token, self.username))


@pytest.fixture(params=list(CASES))
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    kind, kwargs, username = CASES[request.param]
    fake = FakeGit(kind, **kwargs)
    fake.start()
    repo = REPOS[kind]
    fake.commit(repo, "main", {"governance.fms": "agent a {\n  default deny\n}\n", "deploy/prod/governance.fms": "x\n"})
    for name in ("dev", "feature/x", "release-1", "release-2"):
        fake.commit(repo, name, {"governance.fms": f"# {name}\n"})
    fake.commit("acme/other" if kind != "azure_devops" else "Platform/other", "main", {"governance.fms": "other\n"})
    fake.grant(TOKEN)
    http = PinnedHttp(allow_private=True)
    try:
        yield World(fake, http, repo, username)
    finally:
        await http.close()
        fake.stop()


async def test_every_branch_is_listed_across_pages(world: World) -> None:
    names = await world.provider().branches(world.repo)
    assert sorted(names) == ["dev", "feature/x", "main", "release-1", "release-2"]
    assert len(world.fake.requests) == 3  # page size 2: the adapter followed the provider's pagination


async def test_head_and_read_give_the_branch_tip_and_its_file(world: World) -> None:
    provider = world.provider()
    head = await provider.head(world.repo, "main")
    assert head == world.fake.repos[world.repo].branches["main"]
    assert await provider.read(world.repo, "governance.fms", head) == "agent a {\n  default deny\n}\n"
    assert await provider.read(world.repo, "deploy/prod/governance.fms", head) == "x\n"
    newer = world.fake.commit(world.repo, "main", {"governance.fms": "changed\n"})
    assert await provider.head(world.repo, "main") == newer
    assert await provider.read(world.repo, "governance.fms", head) == "agent a {\n  default deny\n}\n"
    assert await provider.read(world.repo, "governance.fms", newer) == "changed\n"


async def test_a_branch_name_with_a_slash_is_read(world: World) -> None:
    provider = world.provider()
    head = await provider.head(world.repo, "feature/x")
    assert await provider.read(world.repo, "governance.fms", head) == "# feature/x\n"


async def test_a_wrong_token_is_refused_as_an_authentication_failure(world: World) -> None:
    with pytest.raises(GitAuthFailed, match="refused the token"):
        await world.provider("wrong").head(world.repo, "main")


async def test_a_token_without_the_repository_is_not_found(world: World) -> None:
    world.fake.grant("tok-other-only", ["acme/other" if world.fake.provider != "azure_devops" else "Platform/other"])
    with pytest.raises(GitNotFound, match="HTTP 404"):
        await world.provider("tok-other-only").head(world.repo, "main")


async def test_a_token_without_read_on_contents_is_forbidden_with_the_providers_words(world: World) -> None:
    world.fake.grant("tok-metadata", forbidden=True)
    with pytest.raises(GitForbidden, match=r"HTTP 403: ['\"].+"):
        await world.provider("tok-metadata").head(world.repo, "main")


async def test_missing_branch_and_missing_file_are_not_found(world: World) -> None:
    provider = world.provider()
    with pytest.raises(GitNotFound):
        await provider.head(world.repo, "nope")
    head = await provider.head(world.repo, "main")
    with pytest.raises(GitNotFound, match=r"HTTP 404: ['\"].+"):
        await provider.read(world.repo, "missing.fms", head)


async def test_a_repository_not_in_the_providers_form_is_refused_before_sending(world: World) -> None:
    with pytest.raises(InvalidGitRequest, match="names a repository"):
        await world.provider().head("no-slash", "main")
    assert world.fake.requests == []


async def test_a_pagination_link_to_another_host_is_not_followed(world: World) -> None:
    if world.fake.provider in ("gitlab", "azure_devops"):
        pytest.skip("GitLab's X-Next-Page and Azure DevOps' continuation token are a page number / token, not a URL")
    world.fake.next_link_host = "http://127.0.0.2:9"
    with pytest.raises(InvalidGitRequest, match="Cloud sends the token only to the connected base URL"):
        await world.provider().branches(world.repo)
    assert len(world.fake.requests) == 1


async def test_an_unreachable_provider_is_unavailable(world: World) -> None:
    base = world.fake.base_url
    world.fake.stop()
    gone = adapter(Provider(world.fake.provider), world.http, base, Credentials(TOKEN, world.username))
    with pytest.raises(GitUnavailable, match="could not be reached"):
        await gone.head(world.repo, "main")
    world.fake.start()


async def test_the_ssrf_guard_refuses_a_private_base_url_unless_allowed(world: World) -> None:
    guarded = PinnedHttp(allow_private=False)
    try:
        provider = adapter(Provider(world.fake.provider), guarded, world.fake.base_url, Credentials(TOKEN, world.username))
        with pytest.raises(UnsafeDestination):
            await provider.head(world.repo, "main")
    finally:
        await guarded.close()
    assert world.fake.requests == []


def test_commit_links_point_at_each_providers_commit_page() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert commit_url(Provider.GITHUB, "https://api.github.com", "acme/p", sha) == f"https://github.com/acme/p/commit/{sha}"
    assert commit_url(Provider.GITHUB, "https://ghe.example.com/api/v3", "acme/p", sha) == (
        f"https://ghe.example.com/acme/p/commit/{sha}")
    assert commit_url(Provider.GITLAB, "https://gitlab.com", "acme/platform/p", sha) == (
        f"https://gitlab.com/acme/platform/p/-/commit/{sha}")
    assert commit_url(Provider.BITBUCKET, "https://api.bitbucket.org", "acme/p", sha) == (
        f"https://bitbucket.org/acme/p/commits/{sha}")
    assert commit_url(Provider.AZURE_DEVOPS, "https://dev.azure.com/acme", "Platform/p", sha) == (
        f"https://dev.azure.com/acme/Platform/_git/p/commit/{sha}")


async def test_a_file_over_the_limit_is_refused_without_reading_it_all(world: World) -> None:
    provider = world.provider()
    head = world.fake.commit(world.repo, "main", {"governance.fms": "# padding\n" * 200_000})  # ~2 MiB
    with pytest.raises(InvalidGitRequest, match=r"answer for governance\.fms .* is over 1048576 bytes"):
        await provider.read(world.repo, "governance.fms", head)
