"""A local fake of each git provider's REST API (GitHub, GitLab, Bitbucket Cloud, Azure DevOps):
the endpoints Cloud uses, at their real paths, with the provider's auth header, pagination and
error bodies (from the providers' public API documentation):

| provider | auth | branches (paginated) | head of a branch | a file at a ref |
|---|---|---|---|---|
| GitHub | ``Authorization: Bearer`` | ``/repos/{o}/{r}/branches`` ``per_page``/``page``, ``Link`` rel="next" | ``/branches/{b}`` ``commit.sha`` | ``/contents/{path}?ref=`` raw with ``Accept: application/vnd.github.raw+json``, else JSON base64 |
| GitLab | ``PRIVATE-TOKEN`` | ``/api/v4/projects/{id}/repository/branches`` ``page``/``per_page``, ``X-Next-Page`` | ``/branches/{b}`` ``commit.id`` | ``/repository/files/{enc path}/raw?ref=`` |
| Bitbucket | basic user + app password, or ``Bearer`` | ``/2.0/repositories/{w}/{r}/refs/branches`` ``pagelen``, body ``next`` | ``/refs/branches/{b}`` ``target.hash`` | ``/src/{commit}/{path}`` |
| Azure DevOps | basic, empty user + PAT | ``/{org}/{project}/_apis/git/repositories/{r}/refs?filter=&$top=`` ``x-ms-continuationtoken`` | the same, filtered | ``/items?path=&versionDescriptor.version=`` ``$format=octetStream`` |

Errors: GitHub ``{"message", "documentation_url", "status"}``; GitLab ``{"message": "404 ... Not
Found"}`` and ``{"error": "insufficient_scope", "error_description", "scope"}``; Bitbucket
``{"type": "error", "error": {"message"}}``; Azure DevOps ``{"$id", "innerException", "message":
"TF4010..", "typeName", "typeKey", "errorCode", "eventId"}`` and, without credentials, a 203 sign-in
page. A token may read every repository (``grant(token)``), some (``grant(token, repos)``: others
answer 404 as providers hide private repositories) or none of their contents
(``grant(token, forbidden=True)``: 403). ``page_size`` is small so every listing paginates."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Answer = tuple[int, bytes, dict[str, str]]


@dataclass
class Repo:
    branches: dict[str, str] = field(default_factory=dict)  # name -> head commit
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (commit, path) -> text


@dataclass
class Grant:
    repos: frozenset[str] | None  # None: every repository
    forbidden: bool = False


class FakeGit:
    """One provider's fake API. ``prefix``: a path before the API (GitHub Enterprise ``/api/v3``,
    Azure DevOps ``/<organization>``)."""

    def __init__(self, provider: str, *, prefix: str = "", page_size: int = 2, username: str = "") -> None:
        self.provider = provider
        self.prefix = prefix if provider != "azure_devops" else (prefix or "/acme")
        self.page_size = page_size
        self.username = username  # Bitbucket basic auth: the user the app password belongs to
        self.repos: dict[str, Repo] = {}
        self.grants: dict[str, Grant] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.next_link_host = ""  # set to send a pagination link to another origin
        self._server: ThreadingHTTPServer | None = None
        self._counter = 0

    # --- state ---------------------------------------------------------------------------
    def grant(self, token: str, repos: list[str] | None = None, *, forbidden: bool = False) -> None:
        self.grants[token] = Grant(None if repos is None else frozenset(repos), forbidden)

    def commit(self, repo: str, branch: str, files: dict[str, str]) -> str:
        """A new commit on ``branch`` (the branch's files, changed by ``files``); its id."""
        r = self.repos.setdefault(repo, Repo())
        parent = r.branches.get(branch, "")
        self._counter += 1
        sha = hashlib.sha1(f"{repo}/{branch}/{self._counter}/{sorted(files.items())}".encode()).hexdigest()
        for (commit, path), text in list(r.files.items()):
            if commit == parent and path not in files:
                r.files[(sha, path)] = text
        for path, text in files.items():
            r.files[(sha, path)] = text
        r.branches[branch] = sha
        return sha

    @property
    def base_url(self) -> str:
        """The API root a connection names (what Cloud's adapters take)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # --- server --------------------------------------------------------------------------
    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, body, headers = fake.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the API ---------------------------------------------------------------------------
    def answer(self, raw_path: str, headers: dict[str, str]) -> Answer:
        parts = urlsplit(raw_path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not path.startswith(self.prefix + "/"):
            return self._error(404, "Not Found", "path")
        path = path[len(self.prefix):]
        token = self._token(headers)
        if token is None:
            return self._unauthenticated(headers)
        grant = self.grants[token]
        handler = {"github": self._github, "gitlab": self._gitlab, "bitbucket": self._bitbucket,
                   "azure_devops": self._azure}[self.provider]
        return handler(path, query, headers, grant)

    def _token(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        candidate = ""
        if self.provider == "gitlab":
            candidate = headers.get("private-token", "")
        elif self.provider == "github" and auth.startswith(("Bearer ", "token ")):
            candidate = auth.split(" ", 1)[1]
        elif self.provider == "bitbucket" and auth.startswith("Bearer "):
            candidate = auth[7:]
        elif self.provider in ("bitbucket", "azure_devops") and auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return None
            if self.provider == "bitbucket" and user != self.username:
                return None
            candidate = password
        return candidate if candidate in self.grants else None

    def _unauthenticated(self, headers: dict[str, str]) -> Answer:
        if self.provider == "azure_devops":
            if "authorization" not in headers:  # anonymous: Azure DevOps answers with its sign-in page
                return 203, b"<html><head><title>Azure DevOps Services | Sign In</title></head></html>", {
                    "content-type": "text/html; charset=utf-8"}
            return 401, b"Access Denied: The Personal Access Token used has expired.", {"content-type": "text/plain"}
        return self._error(401, "Bad credentials", "auth")

    def _error(self, status: int, message: str, what: str) -> Answer:
        doc: dict[str, Any]
        match self.provider:
            case "github":
                doc = {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}
            case "gitlab":
                if status == 403:
                    doc = {"error": "insufficient_scope", "error_description": "The request requires higher "
                           "privileges than provided by the access token.", "scope": "read_repository"}
                else:
                    doc = {"message": f"{status} {message}"}
            case "bitbucket":
                doc = {"type": "error", "error": {"message": message}}
            case _:
                doc = {"$id": "1", "innerException": None, "message": message,
                       "typeName": f"Microsoft.TeamFoundation.Git.Server.{what}, Microsoft.TeamFoundation.SourceControl"
                       ".WebServer", "typeKey": what, "errorCode": 0, "eventId": 3000}
        return status, json.dumps(doc).encode(), {"content-type": "application/json; charset=utf-8"}

    def _repo(self, name: str, grant: Grant) -> Repo | Answer:
        if name not in self.repos or (grant.repos is not None and name not in grant.repos):
            match self.provider:
                case "gitlab":
                    return self._error(404, "Project Not Found", "project")
                case "bitbucket":
                    return self._error(404, "Repository not found", "repo")
                case "azure_devops":
                    return self._error(404, f"TF401019: The Git repository with name or identifier {name.split('/')[-1]}"
                                       " does not exist or you do not have permissions for the operation you are "
                                       "attempting.", "GitRepositoryNotFoundException")
                case _:
                    return self._error(404, "Not Found", "repo")
        return self.repos[name]

    def _forbidden(self) -> Answer:
        match self.provider:
            case "github":
                return self._error(403, "Resource not accessible by personal access token", "")
            case "bitbucket":
                return self._error(403, "Your credentials lack one or more required privilege scopes.", "")
            case "azure_devops":
                return self._error(403, "TF401027: You need the Git 'GenericRead' permission to perform this action.",
                                   "GitNeedsPermissionException")
            case _:
                return self._error(403, "Forbidden", "")

    def _page(self, items: list[Any], page: int, per: int) -> tuple[list[Any], int | None]:
        start = (page - 1) * per
        chunk = items[start:start + per]
        return chunk, (page + 1 if start + per < len(items) else None)

    def _here(self, headers: dict[str, str]) -> str:
        return self.next_link_host or f"http://{headers.get('host', '')}"

    def _file(self, repo: Repo, ref: str, path: str) -> str | None:
        commit = repo.branches.get(ref, ref)
        return repo.files.get((commit, path.strip("/")))

    # GitHub --------------------------------------------------------------------------------
    def _github(self, path: str, query: dict[str, str], headers: dict[str, str], grant: Grant) -> Answer:
        seg = path.split("/")  # '', 'repos', owner, repo, kind, rest...
        if len(seg) < 5 or seg[1] != "repos":
            return self._error(404, "Not Found", "")
        found = self._repo(f"{unquote(seg[2])}/{unquote(seg[3])}", grant)
        if not isinstance(found, Repo):
            return found
        if grant.forbidden:
            return self._forbidden()
        kind, rest = seg[4], "/".join(seg[5:])
        if kind == "branches" and not rest:
            per = min(100, int(query.get("per_page", "30")), self.page_size)
            page = int(query.get("page", "1"))
            names = sorted(found.branches)
            chunk, nxt = self._page(names, page, per)
            body = [{"name": n, "commit": {"sha": found.branches[n], "url": ""}, "protected": False} for n in chunk]
            extra = {}
            if nxt:
                extra["link"] = (f'<{self._here(headers)}{self.prefix}{path}?per_page={query.get("per_page", "30")}'
                                 f'&page={nxt}>; rel="next", <{self._here(headers)}{self.prefix}{path}?page=1>; rel="first"')
            return 200, json.dumps(body).encode(), {"content-type": "application/json", **extra}
        if kind == "branches":
            name = unquote(rest)
            if name not in found.branches:
                return self._error(404, "Branch not found", "")
            return 200, json.dumps({"name": name, "commit": {"sha": found.branches[name]}}).encode(), {
                "content-type": "application/json"}
        if kind == "contents":
            text = self._file(found, query.get("ref", "main"), unquote(rest))
            if text is None:
                return self._error(404, "Not Found", "")
            if "application/vnd.github.raw" in headers.get("accept", ""):
                return 200, text.encode(), {"content-type": "application/vnd.github.raw"}
            return 200, json.dumps({"type": "file", "encoding": "base64", "path": unquote(rest),
                                    "content": base64.b64encode(text.encode()).decode()}).encode(), {
                "content-type": "application/json"}
        return self._error(404, "Not Found", "")

    # GitLab --------------------------------------------------------------------------------
    def _gitlab(self, path: str, query: dict[str, str], headers: dict[str, str], grant: Grant) -> Answer:
        seg = path.split("/")  # '', 'api', 'v4', 'projects', id, 'repository', kind, rest
        if len(seg) < 7 or seg[1:4] != ["api", "v4", "projects"] or seg[5] != "repository":
            return self._error(404, "Not Found", "")
        found = self._repo(unquote(seg[4]), grant)
        if not isinstance(found, Repo):
            return found
        if grant.forbidden:
            return self._forbidden()
        kind, rest = seg[6], seg[7:]
        if kind == "branches" and not rest:
            per = min(100, int(query.get("per_page", "20")), self.page_size)
            page = int(query.get("page", "1"))
            names = sorted(found.branches)
            chunk, nxt = self._page(names, page, per)
            body = [{"name": n, "commit": {"id": found.branches[n], "short_id": found.branches[n][:8]}} for n in chunk]
            pages = max(1, -(-len(names) // per))
            return 200, json.dumps(body).encode(), {
                "content-type": "application/json", "x-page": str(page), "x-per-page": str(per),
                "x-next-page": str(nxt or ""), "x-prev-page": str(page - 1 if page > 1 else ""),
                "x-total": str(len(names)), "x-total-pages": str(pages)}
        if kind == "branches" and len(rest) == 1:
            name = unquote(rest[0])
            if name not in found.branches:
                return self._error(404, "Branch Not Found", "")
            return 200, json.dumps({"name": name, "commit": {"id": found.branches[name]}}).encode(), {
                "content-type": "application/json"}
        if kind == "files" and len(rest) == 2 and rest[1] == "raw":
            if "/" in rest[0]:  # the file path is ONE url-encoded segment in GitLab's API
                return self._error(404, "File Not Found", "")
            text = self._file(found, query.get("ref", "main"), unquote(rest[0]))
            if text is None:
                return self._error(404, "File Not Found", "")
            return 200, text.encode(), {"content-type": "text/plain; charset=utf-8"}
        return self._error(404, "Not Found", "")

    # Bitbucket -----------------------------------------------------------------------------
    def _bitbucket(self, path: str, query: dict[str, str], headers: dict[str, str], grant: Grant) -> Answer:
        seg = path.split("/")  # '', '2.0', 'repositories', ws, slug, kind, rest...
        if len(seg) < 6 or seg[1:3] != ["2.0", "repositories"]:
            return self._error(404, "Resource not found", "")
        found = self._repo(f"{unquote(seg[3])}/{unquote(seg[4])}", grant)
        if not isinstance(found, Repo):
            return found
        if grant.forbidden:
            return self._forbidden()
        kind, rest = seg[5], seg[6:]
        if kind == "refs" and rest[:1] == ["branches"] and len(rest) == 1:
            per = min(100, int(query.get("pagelen", "10")), self.page_size)
            page = int(query.get("page", "1"))
            names = sorted(found.branches)
            chunk, nxt = self._page(names, page, per)
            doc: dict[str, Any] = {"pagelen": per, "page": page, "size": len(names),
                                   "values": [{"type": "branch", "name": n,
                                               "target": {"type": "commit", "hash": found.branches[n]}} for n in chunk]}
            if nxt:
                doc["next"] = f"{self._here(headers)}{self.prefix}{path}?pagelen={per}&page={nxt}"
            return 200, json.dumps(doc).encode(), {"content-type": "application/json"}
        if kind == "refs" and rest[:1] == ["branches"] and len(rest) == 2:
            name = unquote(rest[1])
            if name not in found.branches:
                return self._error(404, f"Branch \"{name}\" not found", "")
            return 200, json.dumps({"type": "branch", "name": name,
                                    "target": {"type": "commit", "hash": found.branches[name]}}).encode(), {
                "content-type": "application/json"}
        if kind == "src" and len(rest) >= 2:
            text = self._file(found, unquote(rest[0]), unquote("/".join(rest[1:])))
            if text is None:
                return self._error(404, "No such file or directory: " + unquote("/".join(rest[1:])), "")
            return 200, text.encode(), {"content-type": "text/plain"}
        return self._error(404, "Resource not found", "")

    # Azure DevOps --------------------------------------------------------------------------
    def _azure(self, path: str, query: dict[str, str], headers: dict[str, str], grant: Grant) -> Answer:
        if "api-version" not in query:
            return self._error(400, "No api-version was supplied for the \"GET\" request. The version must be "
                               "supplied either as part of the Accept header (e.g. \"application/json; "
                               "api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\").",
                               "VssVersionNotSpecifiedException")
        seg = path.split("/")  # '', project, '_apis', 'git', 'repositories', repo, kind
        if len(seg) != 7 or seg[2:5] != ["_apis", "git", "repositories"]:
            return self._error(404, "The controller for path was not found.", "HttpException")
        found = self._repo(f"{unquote(seg[1])}/{unquote(seg[5])}", grant)
        if not isinstance(found, Repo):
            return found
        if grant.forbidden:
            return self._forbidden()
        if seg[6] == "refs":
            prefix = "refs/" + query.get("filter", "")
            refs = sorted(f"refs/heads/{n}" for n in found.branches if f"refs/heads/{n}".startswith(prefix))
            per = min(1000, int(query.get("$top", "1000")), self.page_size)
            start = int(base64.b64decode(query["continuationToken"]).decode()) if "continuationToken" in query else 0
            chunk = refs[start:start + per]
            extra = {}
            if start + per < len(refs):
                extra["x-ms-continuationtoken"] = base64.b64encode(str(start + per).encode()).decode()
            body = {"value": [{"name": n, "objectId": found.branches[n.removeprefix("refs/heads/")],
                               "url": ""} for n in chunk], "count": len(chunk)}
            return 200, json.dumps(body).encode(), {"content-type": "application/json", **extra}
        if seg[6] == "items":
            ref = query.get("versionDescriptor.version", "main")
            text = self._file(found, ref, query.get("path", ""))
            if text is None:
                return self._error(404, f"TF401174: The item '{query.get('path', '')}' could not be found in the "
                                   "repository at the specified version.", "GitItemNotFoundException")
            if query.get("$format") == "octetStream":
                return 200, text.encode(), {"content-type": "application/octet-stream"}
            return 200, json.dumps({"path": query.get("path"), "content": text}).encode(), {
                "content-type": "application/json"}
        return self._error(404, "The controller for path was not found.", "HttpException")


@contextlib.contextmanager
def running(provider: str, **kwargs: Any) -> Iterator[FakeGit]:
    fake = FakeGit(provider, **kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
