"""The four ``GitProvider`` adapters, each with the endpoints, auth header and pagination of
its provider's REST API (facts from the providers' public API documentation):

* GitHub (``Authorization: Bearer``, ``X-GitHub-Api-Version``): ``GET /repos/{owner}/{repo}/branches``
  (``per_page``, RFC 8288 ``Link: <…>; rel="next"``), ``…/branches/{branch}`` (``commit.sha``),
  ``…/contents/{path}?ref=`` with ``Accept: application/vnd.github.raw+json`` (the raw file).
  GitHub Enterprise Server: base ``https://HOST/api/v3``.
* GitLab (``PRIVATE-TOKEN``): ``GET /api/v4/projects/{url-encoded path}/repository/branches``
  (``per_page``/``page``, ``X-Next-Page`` empty on the last page), ``…/branches/{branch}``
  (``commit.id``), ``…/repository/files/{url-encoded path}/raw?ref=``.
* Bitbucket Cloud (HTTP basic username + app password, or ``Authorization: Bearer`` for an
  access token): ``GET /2.0/repositories/{workspace}/{repo}/refs/branches`` (``pagelen``; the
  page object's ``next`` URL), ``…/refs/branches/{branch}`` (``target.hash``),
  ``…/src/{commit}/{path}`` (the raw file).
* Azure DevOps (HTTP basic, empty user name and the PAT): ``GET {organization}/{project}/_apis/git/
  repositories/{repo}/refs?filter=heads/…&$top=&api-version=7.1`` (``value[].name``/``objectId``;
  more in the ``x-ms-continuationtoken`` header, sent back as ``continuationToken``),
  ``…/items?path=&versionDescriptor.version=&versionDescriptor.versionType=commit&$format=octetStream``.
"""

from __future__ import annotations

import base64
from typing import Any, Final
from urllib.parse import quote, urlencode

from faramesh_cloud.fleet.git_providers import (
    MAX_PAGES,
    Credentials,
    Getter,
    GitNotFound,
    GitProvider,
    InvalidGitRequest,
    Provider,
    fetch,
    same_origin,
    split_repository,
    text_of,
)

PAGE: Final = 100
AZURE_API: Final = "7.1"


def _next_link(link: str) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 Link header."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        raise InvalidGitRequest("the provider answered with something that is not JSON") from None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _too_many(provider: str) -> InvalidGitRequest:
    return InvalidGitRequest(f"{provider} listed more than {MAX_PAGES} pages of branches; Cloud stops there")


class GitHub:
    provider = Provider.GITHUB

    def __init__(self, http: Getter, base_url: str, credentials: Credentials) -> None:
        self._http = http
        self._base = (base_url or "https://api.github.com").rstrip("/")
        self._headers = {"authorization": f"Bearer {credentials.token}", "accept": "application/vnd.github+json",
                         "x-github-api-version": "2022-11-28"}

    def _repo(self, repository: str) -> str:
        owner, repo = split_repository(self.provider, repository)
        return f"{self._base}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"

    async def branches(self, repository: str) -> list[str]:
        url: str | None = f"{self._repo(repository)}/branches?per_page={PAGE}"
        names: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return names
            response = await fetch(self._http, self.provider, url, self._headers, f"the branches of {repository}")
            names += [str(b["name"]) for b in _json(response)]
            nxt = _next_link(response.headers.get("link", ""))
            url = same_origin(self._base, nxt) if nxt else None
        if url is None:
            return names
        raise _too_many("GitHub")

    async def head(self, repository: str, branch: str) -> str:
        response = await fetch(self._http, self.provider, f"{self._repo(repository)}/branches/{quote(branch, safe='')}",
                               self._headers, f"branch {branch} of {repository}")
        return str(_json(response)["commit"]["sha"])

    async def read(self, repository: str, path: str, commit: str) -> str:
        what = f"{path} at {commit[:12]} in {repository}"
        url = (f"{self._repo(repository)}/contents/{quote(path.strip('/'), safe='/')}?"
               f"{urlencode({'ref': commit})}")
        response = await fetch(self._http, self.provider, url,
                               {**self._headers, "accept": "application/vnd.github.raw+json"}, what)
        return text_of(self.provider, response, what)


class GitLab:
    provider = Provider.GITLAB

    def __init__(self, http: Getter, base_url: str, credentials: Credentials) -> None:
        self._http = http
        self._base = (base_url or "https://gitlab.com").rstrip("/")
        self._headers = {"private-token": credentials.token}

    def _project(self, repository: str) -> str:
        split_repository(self.provider, repository)
        return f"{self._base}/api/v4/projects/{quote(repository.strip().strip('/'), safe='')}"

    async def branches(self, repository: str) -> list[str]:
        names: list[str] = []
        page = "1"
        for _ in range(MAX_PAGES):
            url = f"{self._project(repository)}/repository/branches?{urlencode({'per_page': PAGE, 'page': page})}"
            response = await fetch(self._http, self.provider, url, self._headers, f"the branches of {repository}")
            names += [str(b["name"]) for b in _json(response)]
            page = response.headers.get("x-next-page", "").strip()
            if not page:
                return names
        raise _too_many("GitLab")

    async def head(self, repository: str, branch: str) -> str:
        url = f"{self._project(repository)}/repository/branches/{quote(branch, safe='')}"
        response = await fetch(self._http, self.provider, url, self._headers, f"branch {branch} of {repository}")
        return str(_json(response)["commit"]["id"])

    async def read(self, repository: str, path: str, commit: str) -> str:
        what = f"{path} at {commit[:12]} in {repository}"
        url = (f"{self._project(repository)}/repository/files/{quote(path.strip('/'), safe='')}/raw?"
               f"{urlencode({'ref': commit})}")
        response = await fetch(self._http, self.provider, url, self._headers, what)
        return text_of(self.provider, response, what)


class Bitbucket:
    provider = Provider.BITBUCKET

    def __init__(self, http: Getter, base_url: str, credentials: Credentials) -> None:
        self._http = http
        self._base = (base_url or "https://api.bitbucket.org").rstrip("/")
        auth = (_basic(credentials.username, credentials.token) if credentials.username
                else f"Bearer {credentials.token}")
        self._headers = {"authorization": auth}

    def _repo(self, repository: str) -> str:
        workspace, slug = split_repository(self.provider, repository)
        return f"{self._base}/2.0/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"

    async def branches(self, repository: str) -> list[str]:
        url: str | None = f"{self._repo(repository)}/refs/branches?pagelen={PAGE}"
        names: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return names
            response = await fetch(self._http, self.provider, url, self._headers, f"the branches of {repository}")
            doc = _json(response)
            names += [str(b["name"]) for b in doc.get("values", [])]
            url = same_origin(self._base, str(doc["next"])) if doc.get("next") else None
        if url is None:
            return names
        raise _too_many("Bitbucket")

    async def head(self, repository: str, branch: str) -> str:
        url = f"{self._repo(repository)}/refs/branches/{quote(branch, safe='')}"
        response = await fetch(self._http, self.provider, url, self._headers, f"branch {branch} of {repository}")
        return str(_json(response)["target"]["hash"])

    async def read(self, repository: str, path: str, commit: str) -> str:
        what = f"{path} at {commit[:12]} in {repository}"
        url = f"{self._repo(repository)}/src/{quote(commit, safe='')}/{quote(path.strip('/'), safe='/')}"
        response = await fetch(self._http, self.provider, url, self._headers, what)
        return text_of(self.provider, response, what)


class AzureDevOps:
    provider = Provider.AZURE_DEVOPS

    def __init__(self, http: Getter, base_url: str, credentials: Credentials) -> None:
        if not base_url:
            raise InvalidGitRequest("Azure DevOps needs the organisation's URL, https://dev.azure.com/<organization>")
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"authorization": _basic("", credentials.token), "accept": "application/json"}

    def _repo(self, repository: str) -> str:
        project, repo = split_repository(self.provider, repository)
        return f"{self._base}/{quote(project, safe='')}/_apis/git/repositories/{quote(repo, safe='')}"

    async def _refs(self, repository: str, prefix: str, what: str) -> list[tuple[str, str]]:
        refs: list[tuple[str, str]] = []
        token = ""
        for _ in range(MAX_PAGES):
            query = {"filter": prefix, "$top": PAGE, "api-version": AZURE_API}
            if token:
                query["continuationToken"] = token
            response = await fetch(self._http, self.provider, f"{self._repo(repository)}/refs?{urlencode(query)}",
                                   self._headers, what)
            refs += [(str(r["name"]), str(r["objectId"])) for r in _json(response).get("value", [])]
            token = response.headers.get("x-ms-continuationtoken", "")
            if not token:
                return refs
        raise _too_many("Azure DevOps")

    async def branches(self, repository: str) -> list[str]:
        refs = await self._refs(repository, "heads/", f"the branches of {repository}")
        return [name.removeprefix("refs/heads/") for name, _ in refs]

    async def head(self, repository: str, branch: str) -> str:
        what = f"branch {branch} of {repository}"
        # The filter is a prefix ("heads/main" also lists "heads/main-old"): take the exact name.
        for name, commit in await self._refs(repository, f"heads/{branch}", what):
            if name == f"refs/heads/{branch}":
                return commit
        raise GitNotFound(f"Azure DevOps has no {what} this token can see (no ref refs/heads/{branch}); check the "
                          "branch name")

    async def read(self, repository: str, path: str, commit: str) -> str:
        what = f"{path} at {commit[:12]} in {repository}"
        query = {"path": "/" + path.strip("/"), "versionDescriptor.version": commit,
                 "versionDescriptor.versionType": "commit", "$format": "octetStream", "api-version": AZURE_API}
        response = await fetch(self._http, self.provider, f"{self._repo(repository)}/items?{urlencode(query)}",
                               self._headers, what)
        return text_of(self.provider, response, what)


ADAPTERS: Final = {Provider.GITHUB: GitHub, Provider.GITLAB: GitLab, Provider.BITBUCKET: Bitbucket,
                   Provider.AZURE_DEVOPS: AzureDevOps}


def adapter(provider: Provider, http: Getter, base_url: str, credentials: Credentials) -> GitProvider:
    made: GitProvider = ADAPTERS[provider](http, base_url, credentials)
    return made
