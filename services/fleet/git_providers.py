"""The git provider port: what the fleet reads from a connected repository (a branch's head
commit, a file at a commit, the branches), its errors, and links to a provider's commit page.

Four adapters (``git_adapters.py``): GitHub (and GitHub Enterprise Server), GitLab (and
self-managed), Bitbucket Cloud and Azure DevOps Services. Each speaks the provider's REST API
through ``PinnedHttp`` (the SSRF guard checks every request's address: a base URL a person
types is a destination like any other), follows the provider's pagination only on the base
URL's own origin (a ``next`` link elsewhere would carry the token away: refused), reads at
most ``MAX_FILE_BYTES`` of a file and at most ``MAX_PAGES`` pages of a listing, and turns the
provider's error bodies into ``GitError`` subclasses whose message quotes the provider.

One contract suite (``tests/contracts/test_git_provider_contract.py``) runs every adapter
against a local fake of its provider (``tests/fakes/git.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol
from urllib.parse import quote, urljoin, urlsplit

import httpx

from faramesh_cloud.egress.http import BodyTooLarge

MAX_FILE_BYTES: Final = 1 << 20
MAX_PAGES: Final = 50


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"
    AZURE_DEVOPS = "azure_devops"


LABELS: Final = {Provider.GITHUB: "GitHub", Provider.GITLAB: "GitLab", Provider.BITBUCKET: "Bitbucket Cloud",
                 Provider.AZURE_DEVOPS: "Azure DevOps"}
# The API root each provider answers on when the person names none (Azure DevOps has none: the
# organisation is part of it, https://dev.azure.com/<organization>).
DEFAULT_BASES: Final = {Provider.GITHUB: "https://api.github.com", Provider.GITLAB: "https://gitlab.com",
                        Provider.BITBUCKET: "https://api.bitbucket.org", Provider.AZURE_DEVOPS: ""}
# How each names a repository (checked when a stack is mapped).
REPOSITORY_FORMS: Final = {Provider.GITHUB: "owner/repository", Provider.GITLAB: "group/project (subgroups allowed)",
                           Provider.BITBUCKET: "workspace/repository", Provider.AZURE_DEVOPS: "project/repository"}


class GitError(Exception):
    """A provider refused or could not answer; the message names the provider and quotes it."""

    status: int | None = None


class GitAuthFailed(GitError):
    """401 (or Azure DevOps' 203 sign-in page): the token is wrong, expired or revoked."""


class GitForbidden(GitError):
    """403: the token authenticates but may not read this."""


class GitNotFound(GitError):
    """404: no such repository, branch or file, or one the token may not see (providers answer
    404 rather than 403 for private repositories)."""


class GitUnavailable(GitError):
    """The network, a 5xx or a rate limit: try again later."""


class InvalidGitRequest(GitError):
    """What Cloud was asked cannot be sent (a repository not in the provider's form, a
    pagination link to another host, a file over the size limit)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """``token``: a personal/project access token, app password or PAT; ``username``: only for
    Bitbucket app passwords (HTTP basic), empty for bearer tokens."""

    token: str
    username: str = ""


class GitProvider(Protocol):
    provider: Provider

    async def branches(self, repository: str) -> list[str]:
        """Every branch name (all pages)."""
        ...

    async def head(self, repository: str, branch: str) -> str:
        """The commit id at the head of ``branch``."""
        ...

    async def read(self, repository: str, path: str, commit: str) -> str:
        """The text of ``path`` at ``commit`` (UTF-8)."""
        ...


class Getter(Protocol):
    async def get(self, url: str, headers: Mapping[str, str], *, max_bytes: int | None = None) -> httpx.Response: ...


def split_repository(provider: Provider, repository: str) -> tuple[str, str]:
    """(first, rest) of a repository name in the provider's form, or ``InvalidGitRequest``."""
    repo = repository.strip().strip("/")
    first, _, rest = repo.partition("/")
    if not first or not rest or any(c in repo for c in "?#%\\ ") or ".." in repo.split("/"):
        raise InvalidGitRequest(f"{LABELS[provider]} names a repository {REPOSITORY_FORMS[provider]}, "
                                f"not {repository!r}")
    if provider is not Provider.GITLAB and "/" in rest:
        raise InvalidGitRequest(f"{LABELS[provider]} names a repository {REPOSITORY_FORMS[provider]}, "
                                f"not {repository!r}")
    return first, rest


def web_base(provider: Provider, base_url: str) -> str:
    """The provider's web site for an API root (where people read commits)."""
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    match provider:
        case Provider.GITHUB:
            if parts.hostname == "api.github.com":
                return "https://github.com"
            return base[: -len("/api/v3")] if base.endswith("/api/v3") else base
        case Provider.BITBUCKET:
            return "https://bitbucket.org" if parts.hostname == "api.bitbucket.org" else base
        case _:
            return base


def commit_url(provider: Provider, base_url: str, repository: str, commit: str) -> str:
    """The provider's page of ``commit`` in ``repository``."""
    web = web_base(provider, base_url)
    sha = quote(commit.strip(), safe="")
    match provider:
        case Provider.GITHUB:
            return f"{web}/{repository}/commit/{sha}"
        case Provider.GITLAB:
            return f"{web}/{repository}/-/commit/{sha}"
        case Provider.BITBUCKET:
            return f"{web}/{repository}/commits/{sha}"
        case Provider.AZURE_DEVOPS:
            project, repo = split_repository(provider, repository)
            return f"{web}/{quote(project, safe='')}/_git/{quote(repo, safe='')}/commit/{sha}"


def same_origin(base: str, url: str) -> str:
    """``url`` (absolute or relative to ``base``) when it is on ``base``'s scheme, host and port;
    else ``InvalidGitRequest`` (a pagination link elsewhere would take the token with it)."""
    target = urljoin(base, url)
    a, b = urlsplit(base), urlsplit(target)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        raise InvalidGitRequest(f"the provider's next-page link points at {b.scheme}://{b.netloc}, not at "
                                f"{a.scheme}://{a.netloc}; Cloud sends the token only to the connected base URL")
    return target


def _quoted(body: bytes, provider: Provider) -> str:
    """What the provider said, from its error body's shape."""
    text = body[:2000].decode("utf-8", "replace").strip()
    try:
        doc: Any = json.loads(text)
    except ValueError:
        return text[:300] if text and not text.lstrip().startswith("<") else ""
    if isinstance(doc, dict):
        match provider:
            case Provider.BITBUCKET if isinstance(doc.get("error"), dict):
                return str(doc["error"].get("message") or "")
            case Provider.GITLAB if "error_description" in doc:
                return str(doc.get("error_description") or doc.get("error") or "")
            case _:
                message = doc.get("message") or doc.get("error") or ""
                return message if isinstance(message, str) else json.dumps(message)
    return text[:300]


def raise_for(provider: Provider, response: httpx.Response, what: str) -> None:
    """Nothing for a 2xx answer (but Azure DevOps' 203 sign-in page); else the ``GitError`` that fits."""
    code = response.status_code
    if 200 <= code < 300 and not (provider is Provider.AZURE_DEVOPS and code == 203):
        return
    said = _quoted(response.content, provider)
    label = LABELS[provider]
    quoted = f": {said!r}" if said else ""
    error: GitError
    if code in (401, 203):
        error = GitAuthFailed(f"{label} refused the token reading {what} (HTTP {code}{quoted}); check the token "
                              "is current and reconnect with a new one")
    elif code == 403:
        error = GitForbidden(f"{label} does not let this token read {what} (HTTP 403{quoted}); give it read access "
                             "to the repository's contents")
    elif code == 404:
        error = GitNotFound(f"{label} has no {what} this token can see (HTTP 404{quoted}); check the repository, "
                            "branch and path, and that the token can read the repository")
    elif code == 429 or code >= 500:
        error = GitUnavailable(f"{label} could not answer for {what} now (HTTP {code}{quoted}); try again later")
    else:
        error = GitError(f"{label} refused the request for {what} (HTTP {code}{quoted})")
    error.status = code
    raise error


async def fetch(http: Getter, provider: Provider, url: str, headers: Mapping[str, str], what: str) -> httpx.Response:
    try:
        response = await http.get(url, headers, max_bytes=MAX_FILE_BYTES)
    except BodyTooLarge:
        raise InvalidGitRequest(f"{LABELS[provider]}'s answer for {what} is over {MAX_FILE_BYTES} bytes; Cloud reads "
                                f"governance files (and listing pages) of at most {MAX_FILE_BYTES} bytes") from None
    except httpx.HTTPError as exc:
        raise GitUnavailable(f"{LABELS[provider]} could not be reached for {what} ({type(exc).__name__}: {exc}); "
                             "try again later") from None
    raise_for(provider, response, what)
    return response


def text_of(provider: Provider, response: httpx.Response, what: str) -> str:
    if len(response.content) > MAX_FILE_BYTES:
        raise InvalidGitRequest(f"{what} is {len(response.content)} bytes; Cloud reads governance files of at most "
                                f"{MAX_FILE_BYTES} bytes")
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidGitRequest(f"{what} from {LABELS[provider]} is not UTF-8 text") from None
