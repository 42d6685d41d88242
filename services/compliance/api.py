"""What people do with compliance (the gateway's ``CompliancePort``): declare frameworks,
read posture, ask for reports and retry failed ones, browse the evidence library, add signed
exports to it, hand out and revoke auditor share links, and open one (no account).

Each change is a command handler: in ONE tenant transaction holding the organisation's
compliance lock, it checks the request, builds the event, applies it with ``apply.record``
(the outbox row the relay puts on ``compliance.events.v1``) and appends the platform audit
entry. Refusals raise ``ComplianceError`` (400), unknown ids ``NotFound`` (404), a link past
its expiry or revoked ``LinkGone`` (410); a change while the service replays its own events
raises ``CatchingUp`` (503 with Retry-After)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final

from psycopg import AsyncConnection

from faramesh_cloud.compliance.apply import record
from faramesh_cloud.compliance.artifacts import CHUNK, ArtifactStore
from faramesh_cloud.compliance.certificates import Certifier
from faramesh_cloud.compliance.changes import (
    ArtifactRecorded,
    FrameworksDeclared,
    ReportRequested,
    ShareLinkCreated,
    ShareLinkRevoked,
)
from faramesh_cloud.compliance.coverage_reads import CoverageReads, GapDetail, StackCoverage
from faramesh_cloud.compliance.domain import (
    ARTIFACT_KINDS,
    MAX_ARTIFACT_BYTES,
    MAX_REPORT_RANGE_DAYS,
    SHARE_DEFAULT_DAYS,
    SHARE_MAX_DAYS,
    ArtifactView,
    ComplianceError,
    Declared,
    LinkGone,
    NotFound,
    PostureDay,
    PostureRow,
    ReportView,
    ShareLinkView,
    framework_names,
    utc,
)
from faramesh_cloud.consumer.catch_up import CatchUp
from faramesh_cloud.platform_audit.events import Actor, ActorType, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]
Clock = Callable[[], datetime]
RETRY_WHILE_REBUILDING_S: Final = 30
TOKEN_PREFIX: Final = "fmc_sh_"
TOO_LARGE: Final = "an artifact is at most 2 GiB"

# platform audit actions
FRAMEWORKS_DECLARED: Final = "compliance:frameworks:declared"
REPORT_REQUESTED: Final = "compliance:report:requested"
ARTIFACT_ADDED: Final = "compliance:artifact:added"
ARTIFACT_DOWNLOADED: Final = "compliance:artifact:downloaded"
SHARE_CREATED: Final = "compliance:share:created"
SHARE_REVOKED: Final = "compliance:share:revoked"
SHARE_ACCESSED: Final = "compliance:share:accessed"
SHARE_REFUSED: Final = "compliance:share:refused"


class CatchingUp(ServiceBusy):
    def __init__(self) -> None:
        super().__init__("compliance", "compliance is rebuilding its declarations, reports and share links from "
                         f"the log; try again in {RETRY_WHILE_REBUILDING_S} seconds", RETRY_WHILE_REBUILDING_S)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _event_id() -> str:
    return str(uuid.uuid4())


_utc = utc


REPORT_COLUMNS: Final = ("report_id, framework, stack_ids, range_start, range_end, requested_at, requested_by, state, "
                         "progress, stage, error, artifact_id, finished_at, retry_of")
ARTIFACT_COLUMNS: Final = ("artifact_id, kind, title, parameters, created_at, created_by, sha256, size, filename, "
                           "media_type, verification_hash, report_id")
LINK_COLUMNS: Final = "link_id, artifact_id, created_at, created_by, expires_at, note, revoked_at, revoked_by"


def report_row(r: Sequence[Any]) -> ReportView:
    return ReportView(str(r[0]), r[1], tuple(r[2]), r[3], r[4], r[5], r[6], r[7], float(r[8]), r[9], r[10],
                      str(r[11]) if r[11] else "", r[12], str(r[13]) if r[13] else "")


def artifact_row(r: Sequence[Any], links: Sequence[ShareLinkView] = ()) -> ArtifactView:
    return ArtifactView(str(r[0]), r[1], r[2], dict(r[3]), r[4], r[5], r[6], int(r[7]), r[8], r[9], r[10],
                        str(r[11]) if r[11] else "", tuple(links))


def link_row(r: Sequence[Any]) -> ShareLinkView:
    return ShareLinkView(str(r[0]), str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7])


@dataclass(frozen=True)
class Opened:
    """A share link opened by an auditor: what it opens and where its bytes are."""

    org_id: str
    org_name: str
    link: ShareLinkView
    artifact: ArtifactView


class ComplianceApi:
    def __init__(self, db: Database, audit: PlatformAuditLog, store: ArtifactStore, *, clock: Clock,
                 catch_up: CatchUp | None = None, wake: Callable[[], None] = lambda: None,
                 coverage: CoverageReads | None = None, certifier: Certifier | None = None) -> None:
        self._coverage = coverage
        self._certifier = certifier
        self._db = db
        self._audit = audit
        self.store = store
        self._clock = clock
        self._catch_up = catch_up
        self._wake = wake

    def _not_busy(self) -> None:
        if self._catch_up is not None and self._catch_up.behind:
            raise CatchingUp()

    @asynccontextmanager
    async def _command(self, org_id: str) -> AsyncIterator[Conn]:
        self._not_busy()
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"compliance/{org_id}",))
            yield conn

    # Frameworks ---------------------------------------------------------------------------
    async def frameworks(self) -> list[tuple[str, str]]:
        """(slug, name) of every framework an organisation may declare (from their data files)."""
        return list(framework_names().items())

    async def declared(self, org_id: str) -> list[Declared]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute("SELECT framework, declared_at, declared_by FROM compliance_frameworks "
                                     "WHERE org_id = %s ORDER BY framework", (org_id,))
            return [Declared(f, framework_names().get(f, f), at, by) for f, at, by in await cur.fetchall()]

    async def declare(self, org_id: str, frameworks: Sequence[str], actor: Actor) -> list[Declared]:
        wanted = sorted({f.strip() for f in frameworks if f.strip()})
        unknown = [f for f in wanted if f not in framework_names()]
        if unknown:
            raise ComplianceError(f"unknown framework {', '.join(map(repr, unknown))}: choose from "
                                  f"{', '.join(framework_names())}")
        async with self._command(org_id) as conn:
            await record(conn, FrameworksDeclared(_event_id(), self._clock(), org_id, actor, tuple(wanted)))
            await self._audit.append_in(conn, org_id, FRAMEWORKS_DECLARED, actor,
                                        target=Target("compliance", "frameworks"), details={"frameworks": wanted})
        self._wake()
        return await self.declared(org_id)

    # Posture (written by the posture sweep) -------------------------------------------------
    async def posture(self, org_id: str) -> list[PostureRow]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT p.framework, p.control_id, p.status, p.detail, p.since, p.evaluated_at "
                "FROM compliance_posture p JOIN compliance_frameworks f USING (org_id, framework) "
                "WHERE p.org_id = %s ORDER BY p.framework, p.control_id", (org_id,))
            return [PostureRow(*r) for r in await cur.fetchall()]

    async def posture_days(self, org_id: str, framework: str, days: int = 30) -> list[PostureDay]:
        if framework not in framework_names():
            raise ComplianceError(f"unknown framework {framework!r}: choose from {', '.join(framework_names())}")
        if not 1 <= days <= 366:
            raise ComplianceError("ask for 1 to 366 days of posture history")
        since = (self._clock() - timedelta(days=days - 1)).date()
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT day, count(*) FILTER (WHERE status = 'evidence'), count(*) FILTER (WHERE status = 'policy'), "
                "count(*) FILTER (WHERE status = 'gap'), "
                "coalesce(array_agg(control_id ORDER BY control_id) FILTER (WHERE status = 'gap'), '{}') "
                "FROM compliance_posture_days WHERE org_id = %s AND framework = %s AND day >= %s "
                "GROUP BY day ORDER BY day", (org_id, framework, since))
            return [PostureDay(framework, d.isoformat(), e, p, g, tuple(gaps))
                    for d, e, p, g, gaps in await cur.fetchall()]

    # Reports ------------------------------------------------------------------------------
    async def request_report(self, org_id: str, framework: str, stack_ids: Sequence[str], start: datetime,
                             end: datetime, actor: Actor, *, retry_of: str = "") -> ReportView:
        if framework not in framework_names():
            raise ComplianceError(f"unknown framework {framework!r}: choose from {', '.join(framework_names())}")
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ComplianceError("the range ends before it starts: give a start before the end")
        if end - start > timedelta(days=MAX_REPORT_RANGE_DAYS):
            raise ComplianceError(f"a report covers at most {MAX_REPORT_RANGE_DAYS} days; split the range")
        stacks = tuple(sorted({s.strip() for s in stack_ids if s.strip()}))
        report_id = str(uuid.uuid4())
        async with self._command(org_id) as conn:
            await _known_stacks(conn, org_id, stacks)
            await record(conn, ReportRequested(_event_id(), self._clock(), org_id, actor, report_id, framework,
                                               stacks, start, end, retry_of))
            await self._audit.append_in(conn, org_id, REPORT_REQUESTED, actor, target=Target("report", report_id),
                                        details={"framework": framework, "stacks": list(stacks),
                                                 "start": start.isoformat(), "end": end.isoformat(),
                                                 "retry_of": retry_of})
        self._wake()
        return await self.report(org_id, report_id)

    async def retry_report(self, org_id: str, report_id: str, actor: Actor) -> ReportView:
        failed = await self.report(org_id, report_id)
        if failed.state != "failed":
            raise ComplianceError(f"report {report_id} is {failed.state}; only a failed report is retried")
        return await self.request_report(org_id, failed.framework, failed.stack_ids, failed.range_start,
                                         failed.range_end, actor, retry_of=report_id)

    async def reports(self, org_id: str, limit: int = 100) -> list[ReportView]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {REPORT_COLUMNS} FROM compliance_reports WHERE org_id = %s "
                                     "ORDER BY requested_at DESC LIMIT %s", (org_id, limit))
            return [report_row(r) for r in await cur.fetchall()]

    async def report(self, org_id: str, report_id: str) -> ReportView:
        _check_uuid(report_id, "report")
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {REPORT_COLUMNS} FROM compliance_reports WHERE org_id = %s "
                                     "AND report_id = %s", (org_id, report_id))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no report {report_id} in this organisation")
        return report_row(row)

    # The evidence library -----------------------------------------------------------------
    async def library(self, org_id: str, limit: int = 200) -> list[ArtifactView]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {ARTIFACT_COLUMNS} FROM compliance_artifacts WHERE org_id = %s "
                                     "ORDER BY created_at DESC LIMIT %s", (org_id, limit))
            rows = await cur.fetchall()
            cur = await conn.execute(f"SELECT {LINK_COLUMNS} FROM compliance_share_links WHERE org_id = %s "
                                     "ORDER BY created_at DESC", (org_id,))
            links: dict[str, list[ShareLinkView]] = {}
            for r in await cur.fetchall():
                links.setdefault(str(r[1]), []).append(link_row(r))
        return [artifact_row(r, links.get(str(r[0]), ())) for r in rows]

    async def artifact(self, org_id: str, artifact_id: str) -> ArtifactView:
        _check_uuid(artifact_id, "artifact")
        async with tenant_transaction(self._db, org_id) as conn:
            return await _artifact(conn, org_id, artifact_id)

    async def download(self, org_id: str, artifact_id: str, actor: Actor) -> tuple[ArtifactView, BinaryIO]:
        """The artifact and its bytes (a download by a member: in the platform audit log)."""
        found = await self.artifact(org_id, artifact_id)
        stream = self.store.open(found.sha256)
        async with tenant_transaction(self._db, org_id) as conn:
            await self._audit.append_in(conn, org_id, ARTIFACT_DOWNLOADED, actor,
                                        target=Target("artifact", artifact_id),
                                        details={"sha256": found.sha256, "kind": found.kind})
        return found, stream

    async def stream(self, org_id: str, artifact_id: str,
                     actor: Actor | None = None) -> tuple[ArtifactView, AsyncIterator[bytes]]:
        """The artifact and its bytes in chunks of at most 1 MiB, read as they are sent (never
        the whole file in memory). With ``actor``: a member's download, in the platform audit
        log as ``download`` puts it; without: the bytes of an artifact a share link opened
        (``open_link`` recorded that use)."""
        if actor is not None:
            found, f = await self.download(org_id, artifact_id, actor)
        else:
            found = await self.artifact(org_id, artifact_id)
            f = self.store.open(found.sha256)
        return found, _chunks(f)

    async def add_artifact(self, org_id: str, kind: str, title: str, parameters: dict[str, Any], *,
                           actor: Actor, path: Path | None = None, data: bytes | None = None, filename: str,
                           media_type: str, verification_hash: str = "", report_id: str = "") -> ArtifactView:
        """Store bytes (a file copied in, or ``data``) and enter them in the library (nothing is
        stored while the service is rebuilding: the change is refused first)."""
        if kind not in ARTIFACT_KINDS:
            raise ComplianceError(f"unknown artifact kind {kind!r}: {', '.join(ARTIFACT_KINDS)}")
        if (path is None) == (data is None):
            raise ValueError("give the artifact's bytes as path or data, one of them")
        size = len(data) if data is not None else await asyncio.to_thread(os.path.getsize, path or "")
        if size > MAX_ARTIFACT_BYTES:
            raise ComplianceError(TOO_LARGE)
        self._not_busy()
        sha, size = self.store.put_file(path) if path is not None else self.store.put_bytes(data or b"")
        artifact_id = str(uuid.uuid4())
        async with self._command(org_id) as conn:
            await record(conn, ArtifactRecorded(_event_id(), self._clock(), org_id, actor, artifact_id, kind,
                                                title[:300], parameters, sha, size, filename, media_type,
                                                verification_hash, report_id))
            await self._audit.append_in(conn, org_id, ARTIFACT_ADDED, actor, target=Target("artifact", artifact_id),
                                        details={"kind": kind, "sha256": sha, "size": size, "report_id": report_id})
            return await _artifact(conn, org_id, artifact_id)

    # Coverage analysis --------------------------------------------------------------------
    def _reads(self) -> CoverageReads:
        if self._coverage is None:
            raise ComplianceError("coverage analysis is not available: this compliance service reads no audit index")
        return self._coverage

    async def coverage(self, org_id: str, stack_id: str, start: datetime, end: datetime) -> StackCoverage:
        """Each agent's coverage on ``stack_id`` over [start, end), with the enforced policy's
        declared-but-not-enforced findings."""
        _check_uuid(stack_id, "stack")
        return await self._reads().stack(org_id, stack_id, _utc(start), _utc(end))

    async def coverage_gap(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start: datetime,
                           end: datetime, effect: str | None = None) -> GapDetail:
        """One tool of one agent: its calls, sample records and a suggested FPL snippet."""
        _check_uuid(stack_id, "stack")
        return await self._reads().gap(org_id, stack_id, agent_id, tool_id, _utc(start), _utc(end), effect)

    # Standalone integrity certificates ------------------------------------------------------
    async def certify(self, org_id: str, stack_ids: Sequence[str], start: datetime, end: datetime,
                      actor: Actor) -> ArtifactView:
        """A signed chain-integrity certificate of ``stack_ids`` (empty: every stack) over
        [start, end), filed in the evidence library."""
        if self._certifier is None:
            raise ComplianceError("integrity certificates are not available: this compliance service reads no "
                                  "audit index")
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ComplianceError("the range ends before it starts: give a start before the end")
        stacks = tuple(sorted({s.strip() for s in stack_ids if s.strip()}))
        async with tenant_transaction(self._db, org_id) as conn:
            await _known_stacks(conn, org_id, stacks)
            cur = await conn.execute("SELECT slug, name FROM orgs WHERE org_id = %s", (org_id,))
            slug, name = await cur.fetchone() or ("", "")
        data = await self._certifier.certificate({"id": org_id, "slug": slug, "name": name}, stacks, start, end)
        return await self.add_artifact(
            org_id, "integrity-certificate", f"Chain-integrity certificate, {start:%Y-%m-%d} to {end:%Y-%m-%d}",
            {"stacks": list(stacks), "since": start.isoformat(), "until": end.isoformat()}, actor=actor, data=data,
            filename=f"faramesh-integrity-{start:%Y%m%d}-{end:%Y%m%d}.json", media_type="application/json")

    # Share links --------------------------------------------------------------------------
    async def share(self, org_id: str, artifact_id: str, actor: Actor, *, days: int = SHARE_DEFAULT_DAYS,
                    note: str = "") -> tuple[ShareLinkView, str]:
        """A new link and its token (shown once; only its SHA-256 is kept)."""
        if not 1 <= days <= SHARE_MAX_DAYS:
            raise ComplianceError(f"a share link lasts 1 to {SHARE_MAX_DAYS} days, not {days}")
        if len(note) > 200:
            raise ComplianceError("a note is at most 200 characters")
        _check_uuid(artifact_id, "artifact")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        link_id = str(uuid.uuid4())
        now = self._clock()
        async with self._command(org_id) as conn:
            await _artifact(conn, org_id, artifact_id)
            await record(conn, ShareLinkCreated(_event_id(), now, org_id, actor, link_id, artifact_id,
                                                token_hash(token), now + timedelta(days=days), note.strip()))
            await self._audit.append_in(conn, org_id, SHARE_CREATED, actor, target=Target("share_link", link_id),
                                        details={"artifact_id": artifact_id, "days": days, "note": note.strip()})
            link = await _link(conn, org_id, link_id)
        return link, token

    async def revoke(self, org_id: str, link_id: str, actor: Actor) -> ShareLinkView:
        _check_uuid(link_id, "share link")
        async with self._command(org_id) as conn:
            link = await _link(conn, org_id, link_id)
            if link.revoked_at is not None:
                return link
            await record(conn, ShareLinkRevoked(_event_id(), self._clock(), org_id, actor, link_id))
            await self._audit.append_in(conn, org_id, SHARE_REVOKED, actor, target=Target("share_link", link_id),
                                        details={"artifact_id": link.artifact_id})
            return await _link(conn, org_id, link_id)

    async def open_link(self, token: str, *, ip: str, user_agent: str) -> Opened:
        """What a share link opens, for anyone holding its token. Every use, refused ones
        included, goes into the owning organisation's platform audit log (time, address,
        user agent). Unknown token: ``NotFound``; expired or revoked: ``LinkGone``."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            raise NotFound("no such share link")
        async with self._db.transaction() as conn:  # no organisation yet: found by the token's hash
            cur = await conn.execute("SELECT org_id FROM compliance_share_links WHERE token_sha256 = %s",
                                     (token_hash(token),))
            row = await cur.fetchone()
        if row is None:
            raise NotFound("no such share link")
        org_id = str(row[0])
        now = self._clock()
        visitor = Actor(ActorType.ANONYMOUS, "share-link", user_agent[:300], ip)
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(f"SELECT {LINK_COLUMNS} FROM compliance_share_links WHERE token_sha256 = %s",
                                     (token_hash(token),))
            found = await cur.fetchone()
            if found is None:
                raise NotFound("no such share link")
            link = link_row(found)
            state = link.state(now)
            details = {"artifact_id": link.artifact_id, "state": state, "user_agent": user_agent[:300], "ip": ip}
            if state != "active":
                await self._audit.append_in(conn, org_id, SHARE_REFUSED, visitor,
                                            target=Target("share_link", link.link_id), details=details)
            else:
                await self._audit.append_in(conn, org_id, SHARE_ACCESSED, visitor,
                                            target=Target("share_link", link.link_id), details=details)
                artifact = await _artifact(conn, org_id, link.artifact_id)
                cur = await conn.execute("SELECT name FROM orgs WHERE org_id = %s", (org_id,))
                name = await cur.fetchone()
        if state == "revoked":
            raise LinkGone(f"this link was revoked on {link.revoked_at:%Y-%m-%d %H:%M} UTC", org_id, link.link_id)
        if state == "expired":
            raise LinkGone(f"this link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC", org_id, link.link_id)
        return Opened(org_id, str(name[0]) if name else "", link, artifact)


async def _chunks(f: BinaryIO) -> AsyncIterator[bytes]:
    """``f``'s bytes in chunks of at most ``CHUNK``, read off the event loop; closes it."""
    try:
        while data := await asyncio.to_thread(f.read, CHUNK):
            yield data
    finally:
        f.close()


async def _known_stacks(conn: Conn, org_id: str, stacks: Sequence[str]) -> None:
    if not stacks:
        return
    cur = await conn.execute("SELECT stack_id::text FROM stacks WHERE org_id = %s AND stack_id::text = ANY(%s)",
                             (org_id, list(stacks)))
    known = {r[0] for r in await cur.fetchall()}
    unknown = [s for s in stacks if s not in known]
    if unknown:
        raise ComplianceError(f"unknown stack {', '.join(map(repr, unknown))} in this organisation")


def _check_uuid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value!r} in this organisation") from None


async def _artifact(conn: Conn, org_id: str, artifact_id: str) -> ArtifactView:
    cur = await conn.execute(f"SELECT {ARTIFACT_COLUMNS} FROM compliance_artifacts WHERE org_id = %s "
                             "AND artifact_id = %s", (org_id, artifact_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no artifact {artifact_id} in this organisation")
    cur = await conn.execute(f"SELECT {LINK_COLUMNS} FROM compliance_share_links WHERE org_id = %s "
                             "AND artifact_id = %s ORDER BY created_at DESC", (org_id, artifact_id))
    return artifact_row(row, [link_row(r) for r in await cur.fetchall()])


async def _link(conn: Conn, org_id: str, link_id: str) -> ShareLinkView:
    cur = await conn.execute(f"SELECT {LINK_COLUMNS} FROM compliance_share_links WHERE org_id = %s "
                             "AND link_id = %s", (org_id, link_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no share link {link_id} in this organisation")
    return link_row(row)
