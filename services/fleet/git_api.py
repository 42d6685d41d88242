"""Git connections, stack mappings and drift against the main branch (the gateway's ``GitPort``).

* **Connect**: a provider, its API base URL (a default per provider; GitHub Enterprise /
  self-managed GitLab override it; the SSRF guard checks it at save and at every request) and
  a token (app password for Bitbucket with its user name), sealed with the ``git_key``
  (AES-256-GCM bound to the organisation and the connection: ``egress.sealing``) and never
  shown again (the last 4 characters are kept as a hint).
* **Map** a stack to a repository + path + main branch of a connection. The token must read
  that path at the branch's head: the check runs before anything is stored and a refusal
  quotes the provider (nothing half-applied). The check's result is the stack's first drift
  check.
* **Drift**: ``check`` fetches governance.fms at the head of the mapped branch and stores it
  (``fleet_git_drift``); ``check_all`` does it for every mapping (the schedule,
  ``Settings.git_poll_interval_s``); ``drift`` compares the stored head text with the stack's
  applied text (``git_drift.compare``).

Each change runs in ONE tenant transaction with its platform audit entry
(``org:git:connect|disconnect|map|unmap``; an on-demand check is ``org:git:check``). Refusals
raise ``InvalidGit`` (``code`` ``invalid`` 400, ``conflict`` 409); unknown ids raise
``LookupError``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import psycopg

from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.egress.ssrf import UnsafeDestination, check_url
from faramesh_cloud.fleet import git_events
from faramesh_cloud.fleet.git_adapters import adapter
from faramesh_cloud.fleet.git_drift import DriftState, GitConnection, GitMapping, compare
from faramesh_cloud.fleet.git_providers import (
    DEFAULT_BASES,
    LABELS,
    Credentials,
    Getter,
    GitError,
    Provider,
    commit_url,
    split_repository,
)
from faramesh_cloud.fleet.query import StackLister
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]
CONNECTED: Final = "org:git:connect"
DISCONNECTED: Final = "org:git:disconnect"
MAPPED: Final = "org:git:map"
UNMAPPED: Final = "org:git:unmap"
CHECKED: Final = "org:git:check"
MAX_CONNECTIONS: Final = 20
_CONNECTION_COLS: Final = "connection_id::text, org_id::text, name, provider, base_url, username, token_hint, " \
                          "created_at, created_by"


class InvalidGit(ValueError):
    code = "invalid"


class GitConflict(InvalidGit):
    code = "conflict"


def _org(org_id: str) -> str:
    try:
        return str(uuid.UUID(str(org_id)))
    except ValueError:
        raise InvalidGit(f"org_id {org_id!r} is not an organisation id (a UUID)") from None


def _id(connection_id: str) -> str:
    try:
        return str(uuid.UUID(str(connection_id)))
    except ValueError:
        raise LookupError(f"no git connection {connection_id!r}") from None


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidGit(f"{what} is required")
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise InvalidGit(f"{what} is at most {limit} characters, on one line")
    return value


def _connection(row: tuple[Any, ...]) -> GitConnection:
    cid, org, name, provider, base, user, hint, at, by = row
    return GitConnection(cid, org, name, Provider(provider), base, user, hint, at, by)


class GitIntegrations:
    providers = tuple(Provider)
    labels = LABELS
    defaults = DEFAULT_BASES

    def __init__(self, db: Database, box: SecretBox, audit: PlatformAuditLog, stacks: StackLister, http: Getter, *,
                 allow_private: bool, clock: Clock) -> None:
        self._db = db
        self._box = box
        self._audit = audit
        self._stacks = stacks
        self._http = http
        self._allow_private = allow_private
        self._clock = clock

    # --- connections ----------------------------------------------------------------------
    async def connections(self, org_id: str) -> list[GitConnection]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"SELECT {_CONNECTION_COLS} FROM fleet_git_connections WHERE org_id = %s "
                                     "ORDER BY name", (org,))
            return [_connection(r) for r in await cur.fetchall()]

    async def connect(self, org_id: str, name: str, provider: str, base_url: str, token: str, actor: Actor, *,
                      username: str = "") -> GitConnection:
        org = _org(org_id)
        name = _text(name, "a connection's name", 100)
        try:
            kind = Provider(provider)
        except ValueError:
            raise InvalidGit(f"unknown git provider {provider!r}; use one of {', '.join(Provider)}") from None
        base = _text(base_url, "the base URL", 500, required=False).rstrip("/") or DEFAULT_BASES[kind]
        if not base:
            raise InvalidGit(f"{LABELS[kind]} needs its base URL (https://dev.azure.com/<organization>)")
        secret = _text(token, "the token", 1000)
        user = _text(username, "the user name", 200, required=False)
        if user and kind is not Provider.BITBUCKET:
            raise InvalidGit("a user name goes only with a Bitbucket app password; other providers take the token "
                             "alone")
        try:
            check_url(base, allow_private=self._allow_private)
        except UnsafeDestination as exc:
            raise InvalidGit(f"the base URL: {exc}") from None
        cid = str(uuid.uuid4())
        hint = secret[-4:] if len(secret) >= 16 else ""  # the last 4 of a short token would give too much away
        sealed = self._box.seal(org, cid, {"token": secret})
        now = self._clock()
        try:
            async with tenant_transaction(self._db, org) as conn:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"fleet-git/{org}",))
                cur = await conn.execute("SELECT count(*) FROM fleet_git_connections WHERE org_id = %s", (org,))
                row = await cur.fetchone()
                if row is not None and int(row[0]) >= MAX_CONNECTIONS:
                    raise InvalidGit(f"an organisation has at most {MAX_CONNECTIONS} git connections")
                await conn.execute(
                    "INSERT INTO fleet_git_connections (connection_id, org_id, name, provider, base_url, username, "
                    "token_hint, secret, created_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (cid, org, name, kind.value, base, user, hint, sealed, now, actor.label))
                made = GitConnection(cid, org, name, kind, base, user, hint, now, actor.label)
                await self._audit.append_in(conn, org, CONNECTED, actor, target=Target("git_connection", cid),
                                            details={"name": name, "provider": kind.value, "base_url": base})
                await git_events.OUTBOX.add(conn, git_events.TOPIC, [git_events.connected(made, actor)])
        except psycopg.errors.UniqueViolation:
            raise GitConflict(f"a git connection named {name!r} exists already") from None
        return made

    async def disconnect(self, org_id: str, connection_id: str, actor: Actor) -> GitConnection:
        """Delete the connection (its sealed token) and its mappings and their drift checks."""
        org, cid = _org(org_id), _id(connection_id)
        async with tenant_transaction(self._db, org) as conn:
            await conn.execute("DELETE FROM fleet_git_drift d USING fleet_git_mappings m WHERE d.org_id = %s "
                               "AND m.org_id = d.org_id AND m.stack_id = d.stack_id AND m.connection_id = %s",
                               (org, cid))
            cur = await conn.execute(f"DELETE FROM fleet_git_connections WHERE org_id = %s AND connection_id = %s "
                                     f"RETURNING {_CONNECTION_COLS}", (org, cid))
            row = await cur.fetchone()
            if row is None:
                raise LookupError(f"no git connection {connection_id!r} in this organisation")
            gone = _connection(row)
            await self._audit.append_in(conn, org, DISCONNECTED, actor, target=Target("git_connection", cid),
                                        details={"name": gone.name, "provider": gone.provider.value})
            await git_events.OUTBOX.add(conn, git_events.TOPIC,
                                        [git_events.disconnected(org, cid, actor, self._clock())])
        return gone

    async def _opened(self, org: str, cid: str) -> tuple[GitConnection, Credentials]:
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(f"SELECT {_CONNECTION_COLS}, secret FROM fleet_git_connections "
                                     "WHERE org_id = %s AND connection_id = %s", (org, cid))
            row = await cur.fetchone()
        if row is None:
            raise LookupError(f"no git connection {cid!r} in this organisation")
        connection = _connection(row[:9])
        return connection, Credentials(self._box.open(org, cid, bytes(row[9]))["token"], connection.username)

    # --- mappings ---------------------------------------------------------------------------
    async def mappings(self, org_id: str) -> list[GitMapping]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(
                "SELECT m.stack_id, m.connection_id::text, c.name, c.provider, c.base_url, m.repository, m.path, "
                "m.branch, m.mapped_at, m.mapped_by FROM fleet_git_mappings m JOIN fleet_git_connections c "
                "USING (connection_id) WHERE m.org_id = %s ORDER BY m.stack_id", (org,))
            return [GitMapping(r[0], r[1], r[2], Provider(r[3]), r[4], r[5], r[6], r[7], r[8], r[9])
                    for r in await cur.fetchall()]

    async def mapping(self, org_id: str, stack_id: str) -> GitMapping | None:
        return next((m for m in await self.mappings(org_id) if m.stack_id == stack_id), None)

    async def _stack_name(self, org: str, stack_id: str) -> str:
        for stack in await self._stacks.list_stacks(org):
            if stack.stack_id == stack_id and stack.registered:
                return str(stack.name)
        raise LookupError(f"no stack {stack_id!r} in this organisation")

    async def map_stack(self, org_id: str, stack_id: str, connection_id: str, repository: str, path: str,
                        branch: str, actor: Actor) -> GitMapping:
        org, cid = _org(org_id), _id(connection_id)
        stack_name = await self._stack_name(org, stack_id)
        connection, credentials = await self._opened(org, cid)
        repository = _text(repository, "the repository", 300)
        path = _text(path, "the path of governance.fms", 500).strip("/")
        branch = _text(branch, "the main branch", 250)
        if ".." in path.split("/") or not path:
            raise InvalidGit(f"{path!r} is not a path inside the repository")
        try:
            split_repository(connection.provider, repository)
            provider = adapter(connection.provider, self._http, connection.base_url, credentials)
            head = await provider.head(repository, branch)
            text = await provider.read(repository, path, head)
        except (GitError, UnsafeDestination) as exc:
            raise InvalidGit(f"the token of {connection.name!r} cannot read {path} on {branch} of {repository}, so "
                             f"the stack was not mapped: {exc}") from None
        now = self._clock()
        async with tenant_transaction(self._db, org) as conn:
            await conn.execute(
                "INSERT INTO fleet_git_mappings (org_id, stack_id, connection_id, repository, path, branch, mapped_at, "
                "mapped_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id) DO UPDATE SET "
                "connection_id = EXCLUDED.connection_id, repository = EXCLUDED.repository, path = EXCLUDED.path, "
                "branch = EXCLUDED.branch, mapped_at = EXCLUDED.mapped_at, mapped_by = EXCLUDED.mapped_by",
                (org, stack_id, cid, repository, path, branch, now, actor.label))
            await self._store_check(conn, org, stack_id, now, head, text, "")
            await self._audit.append_in(conn, org, MAPPED, actor, target=Target("stack", stack_id),
                                        details={"stack": stack_name, "connection": connection.name,
                                                 "repository": repository, "path": path, "branch": branch,
                                                 "head_commit": head})
            await git_events.OUTBOX.add(conn, git_events.TOPIC, [
                git_events.mapped(org, stack_id, cid, repository, path, branch, actor, now),
                git_events.checked(org, stack_id, head, text, "", actor, now)])
        return GitMapping(stack_id, cid, connection.name, connection.provider, connection.base_url, repository, path,
                          branch, now, actor.label)

    async def unmap(self, org_id: str, stack_id: str, actor: Actor) -> GitMapping:
        org = _org(org_id)
        gone = await self.mapping(org, stack_id)
        if gone is None:
            raise LookupError(f"stack {stack_id!r} is not mapped to a repository")
        async with tenant_transaction(self._db, org) as conn:
            await conn.execute("DELETE FROM fleet_git_mappings WHERE org_id = %s AND stack_id = %s", (org, stack_id))
            await conn.execute("DELETE FROM fleet_git_drift WHERE org_id = %s AND stack_id = %s", (org, stack_id))
            await self._audit.append_in(conn, org, UNMAPPED, actor, target=Target("stack", stack_id),
                                        details={"repository": gone.repository, "path": gone.path,
                                                 "branch": gone.branch})
            await git_events.OUTBOX.add(conn, git_events.TOPIC,
                                        [git_events.unmapped(org, stack_id, actor, self._clock())])
        return gone

    # --- drift ------------------------------------------------------------------------------
    @staticmethod
    async def _store_check(conn: psycopg.AsyncConnection[Any], org: str, stack_id: str, at: datetime, head: str,
                           text: str | None, error: str) -> None:
        await conn.execute(
            "INSERT INTO fleet_git_drift (org_id, stack_id, checked_at, head_commit, head_text, error) VALUES "
            "(%s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, "
            "head_commit = CASE WHEN EXCLUDED.error = '' THEN EXCLUDED.head_commit ELSE fleet_git_drift.head_commit END, "
            "head_text = CASE WHEN EXCLUDED.error = '' THEN EXCLUDED.head_text ELSE fleet_git_drift.head_text END, "
            "error = EXCLUDED.error", (org, stack_id, at, head, text, error))

    async def check(self, org_id: str, stack_id: str, actor: Actor | None = None) -> DriftState:
        """Fetch governance.fms at the head of the stack's mapped branch now and store it; a
        provider's refusal is stored as the check's error (the last good head text is kept)."""
        org = _org(org_id)
        mapping = await self.mapping(org, stack_id)
        if mapping is None:
            raise LookupError(f"stack {stack_id!r} is not mapped to a repository; map it in Settings → "
                              "Integrations → Git")
        head, text, error = "", None, ""
        try:
            connection, credentials = await self._opened(org, mapping.connection_id)
            provider = adapter(connection.provider, self._http, connection.base_url, credentials)
            head = await provider.head(mapping.repository, mapping.branch)
            text = await provider.read(mapping.repository, mapping.path, head)
        except (GitError, UnsafeDestination) as exc:
            error = str(exc)
        now = self._clock()
        async with tenant_transaction(self._db, org) as conn:
            await self._store_check(conn, org, stack_id, now, head, text, error)
            await git_events.OUTBOX.add(conn, git_events.TOPIC,
                                        [git_events.checked(org, stack_id, head, text, error, actor, now)])
            if actor is not None:
                await self._audit.append_in(conn, org, CHECKED, actor, target=Target("stack", stack_id),
                                            details={"head_commit": head, "error": error})
        state = await self.drift(org, stack_id)
        assert state is not None
        return state

    async def check_all(self) -> int:
        """Check every mapped stack of every organisation (the schedule); how many were checked."""
        async with self._db.connection() as conn:
            cur = await conn.execute("SELECT org_id::text, stack_id FROM fleet_git_mappings ORDER BY org_id, stack_id")
            mapped = list(await cur.fetchall())
        for org, stack_id in mapped:
            try:
                await self.check(org, stack_id)
            except LookupError:
                continue  # unmapped meanwhile
        return len(mapped)

    async def drifts(self, org_id: str) -> list[DriftState]:
        org = _org(org_id)
        async with tenant_transaction(self._db, org) as conn:
            cur = await conn.execute(
                "SELECT m.stack_id, c.provider, c.base_url, m.repository, m.path, m.branch, d.checked_at, "
                "d.head_commit, d.head_text, d.error FROM fleet_git_mappings m JOIN fleet_git_connections c "
                "USING (connection_id) LEFT JOIN fleet_git_drift d ON d.org_id = m.org_id AND d.stack_id = m.stack_id "
                "WHERE m.org_id = %s ORDER BY m.stack_id", (org,))
            rows = list(await cur.fetchall())
        async with self._db.connection() as conn:  # the fleet projection's own tables (no row-level security)
            cur = await conn.execute(
                "SELECT s.stack_id, s.applied_commit, s.config_text_sha256, t.body FROM fleet_stacks s LEFT JOIN "
                "fleet_config_texts t ON t.org_id = s.org_id AND t.sha256 = s.config_text_sha256 "
                "WHERE s.org_id = %s", (org,))
            applied = {r[0]: r[1:] for r in await cur.fetchall()}
        out = []
        for stack_id, provider, base, repo, path, branch, at, head, text, error in rows:
            commit, sha, body = applied.get(stack_id, ("", "", None))
            kind = Provider(provider)
            out.append(DriftState(
                stack_id=stack_id, provider=kind, repository=repo, path=path, branch=branch, checked_at=at,
                head_commit=head or "", head_url=commit_url(kind, base, repo, head) if head else "",
                error=error or "", applied_commit=commit or "", applied_sha256=sha or "",
                comparison=compare(body, text, applied_label=f"applied {commit[:12] or sha[:12]}",
                                   head_label=f"{branch} {str(head or '')[:12]}")))
        return out

    async def drift(self, org_id: str, stack_id: str) -> DriftState | None:
        return next((d for d in await self.drifts(org_id) if d.stack_id == stack_id), None)

    async def commit_links(self, org_id: str) -> dict[str, tuple[Provider, str, str]]:
        """Per mapped stack: (provider, base URL, repository), to link commits to the provider."""
        return {m.stack_id: (m.provider, m.base_url, m.repository) for m in await self.mappings(org_id)}
