"""My artifacts (per publishing organisation) and issue reports.

For each artifact in a namespace the organisation owns: every version with its state,
downloads per day (``registry_downloads``), the stacks whose applied governance.fms imports it
(the organisation's own by id, which the gateway names; every other organisation's only as a
count: tenant isolation), the submissions with their review outcome and reason, and the issue
reports filed against its versions with the publisher's replies.

Issue reports: any organisation's member files one against a published version; the
reporter's organisation sees its own reports and the replies, the publisher sees all reports
against its artifacts and replies; no one else sees them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final, Protocol

from faramesh_cloud.fpl.preview import parse_imports
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.registry.alert_sweep import FleetTexts
from faramesh_cloud.registry.publish_domain import (
    MAX_BODY,
    MAX_TITLE,
    IssueReply,
    IssueReport,
    MyArtifact,
    NotAllowed,
    StackUse,
    Unknown,
    VersionStats,
    check_text,
)
from faramesh_cloud.registry.publish_events import Change, PublishAction, Recorder
from faramesh_cloud.registry.submissions import Submissions
from faramesh_cloud.sql.database import Database

DOWNLOAD_DAYS: Final = 30


def imports_of(text: str) -> set[tuple[str, str, str]]:
    """(kind, name, version) of every registry import of a governance.fms text the daemon
    would resolve (``fpl.preview.parse_imports``: its rules, whatever the host)."""
    return {(i.kind, i.name, i.version) for i in parse_imports(text) if i.ok and i.kind}


class AppliedTexts(Protocol):
    """Every stack's applied governance.fms text, across organisations."""

    async def applied(self) -> Sequence[tuple[str, str, str]]:
        """(org_id, stack_id, text) of each stack that has synced one."""
        ...


class FleetAppliedTexts:
    """:class:`AppliedTexts` read through the fleet's port, for every organisation: each
    registered stack's current applied text (``config_text_sha256``)."""

    def __init__(self, db: Database, fleet: FleetTexts) -> None:
        self._db = db
        self._fleet = fleet

    async def applied(self) -> Sequence[tuple[str, str, str]]:
        async with self._db.connection() as conn:
            orgs = [str(r[0]) for r in await (await conn.execute("SELECT org_id FROM orgs ORDER BY org_id")).fetchall()]
        out: list[tuple[str, str, str]] = []
        for org_id in orgs:
            for stack in await self._fleet.stacks(org_id):
                sha = getattr(stack, "config_text_sha256", "") or ""
                text = await self._fleet.config_text(org_id, stack.stack_id, sha) if sha else None
                if text is not None:
                    out.append((org_id, stack.stack_id, text.text))
        return out


class MyArtifacts:
    def __init__(self, db: Database, record: Recorder, submissions: Submissions, texts: AppliedTexts) -> None:
        self._db = db
        self._record = record
        self._submissions = submissions
        self._texts = texts

    async def _uses(self, org_id: str) -> dict[tuple[str, str, str], StackUse]:
        own: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        others: dict[tuple[str, str, str], int] = defaultdict(int)
        for stack_org, stack_id, text in await self._texts.applied():
            for found in imports_of(text):
                if stack_org == org_id:
                    own[found].append(stack_id)
                else:
                    others[found] += 1
        return {k: StackUse(tuple(sorted(own.get(k, ()))), others.get(k, 0)) for k in {*own, *others}}

    async def list(self, org_id: str) -> list[MyArtifact]:
        async with self._db.connection() as conn:
            artifacts = await (await conn.execute(
                "SELECT a.kind, a.name, a.trust_tier FROM registry_artifacts a JOIN registry_publishers p "
                "ON p.namespace = a.namespace WHERE p.org_id = %s ORDER BY a.kind, a.name", (org_id,))).fetchall()
            versions = await (await conn.execute(
                "SELECT v.kind, v.name, v.version, v.state, v.published_at, v.yanked_at, coalesce(v.yank_reason, ''), "
                "v.major, v.minor, v.patch, v.prerelease FROM registry_versions v JOIN registry_artifacts a "
                "USING (kind, name) JOIN registry_publishers p ON p.namespace = a.namespace WHERE p.org_id = %s",
                (org_id,))).fetchall()
            downloads = await (await conn.execute(
                "SELECT d.kind, d.name, d.version, d.day, d.count FROM registry_downloads d JOIN registry_artifacts a "
                "USING (kind, name) JOIN registry_publishers p ON p.namespace = a.namespace WHERE p.org_id = %s "
                "ORDER BY d.day", (org_id,))).fetchall()
        by_day: dict[tuple[str, str, str], list[tuple[str, int]]] = defaultdict(list)
        for kind, name, version, day, count in downloads:
            by_day[(kind, name, version)].append((day.isoformat(), int(count)))
        uses = await self._uses(org_id)
        submissions = await self._submissions.of_org(org_id)
        issues = await self.issues_for_publisher(org_id)
        out: list[MyArtifact] = []
        for kind, name, tier in artifacts:
            rows = sorted((v for v in versions if v[0] == kind and v[1] == name),
                          key=lambda v: (v[7], v[8], v[9], v[10] == "", v[10]), reverse=True)
            stats = tuple(VersionStats(
                v[2], v[3], v[4], v[5], v[6], sum(c for _, c in by_day.get((kind, name, v[2]), [])),
                tuple(by_day.get((kind, name, v[2]), [])[-DOWNLOAD_DAYS:]),
                uses.get((kind, name, v[2]), StackUse((), 0))) for v in rows)
            out.append(MyArtifact(kind, name, tier, stats,
                                  tuple(s for s in submissions if s.kind == kind and s.name == name),
                                  tuple(i for i in issues if i.kind == kind and i.name == name)))
        return out

    # -- issue reports ---------------------------------------------------------------------
    async def file_issue(self, org_id: str, kind: str, name: str, version: str, title: str, body: str,
                         actor: Actor) -> IssueReport:
        title = check_text(title, "title", MAX_TITLE)
        body = check_text(body, "body", MAX_BODY)
        async with self._db.transaction() as conn:
            found = await (await conn.execute(
                "SELECT 1 FROM registry_versions WHERE kind = %s AND name = %s AND version = %s AND state = 'published'",
                (kind, name, version))).fetchone()
            if found is None:
                raise Unknown(f"{kind} {name}@{version} is not a published version")
            issue_id = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO registry_issue_reports (issue_id, kind, name, version, reporter_org, reporter, title, body, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (issue_id, kind, name, version, org_id, actor.label, title, body, self._record.clock()))
            await self._record(conn, Change(
                PublishAction.ISSUE_FILED, org_id, f"{kind}/{name}", {"kind": kind, "name": name, "version": version},
                Target("registry_issue", issue_id),
                {"issue_id": issue_id, "kind": kind, "name": name, "version": version, "title": title},
                {"issue_id": issue_id}), actor)
        return (await self._issues("i.issue_id = %s", (issue_id,), org_id))[0]

    async def reply(self, org_id: str, issue_id: str, body: str, actor: Actor) -> IssueReport:
        body = check_text(body, "reply", MAX_BODY)
        try:
            iid = str(uuid.UUID(issue_id))
        except ValueError:
            raise Unknown(f"no issue report {issue_id!r}") from None
        async with self._db.transaction() as conn:
            row = await (await conn.execute(
                "SELECT i.kind, i.name, i.version, p.org_id FROM registry_issue_reports i JOIN registry_artifacts a "
                "USING (kind, name) JOIN registry_publishers p ON p.namespace = a.namespace WHERE i.issue_id = %s",
                (iid,))).fetchone()
            if row is None or (str(row[3]) != org_id):
                raise Unknown(f"no issue report {issue_id!r} against your artifacts") if row is None or \
                    not await self._reporter(conn, iid, org_id) else \
                    NotAllowed("only the artifact's publisher replies to an issue report")
            reply_id = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO registry_issue_replies (reply_id, issue_id, org_id, author, body, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)", (reply_id, iid, org_id, actor.label, body, self._record.clock()))
            await self._record(conn, Change(
                PublishAction.ISSUE_REPLIED, org_id, f"{row[0]}/{row[1]}",
                {"kind": row[0], "name": row[1], "version": row[2]}, Target("registry_issue", iid),
                {"issue_id": iid, "reply_id": reply_id, "kind": row[0], "name": row[1], "version": row[2]},
                {"issue_id": iid, "reply_id": reply_id}), actor)
        return (await self._issues("i.issue_id = %s", (iid,), org_id))[0]

    @staticmethod
    async def _reporter(conn: Any, issue_id: str, org_id: str) -> bool:
        row = await (await conn.execute("SELECT 1 FROM registry_issue_reports WHERE issue_id = %s AND reporter_org = %s",
                                        (issue_id, org_id))).fetchone()
        return row is not None

    async def _issues(self, where: str, params: tuple[Any, ...], viewer_org: str = "") -> list[IssueReport]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT i.issue_id, i.kind, i.name, i.version, i.reporter_org, i.reporter, i.title, i.body, i.created_at "
                f"FROM registry_issue_reports i WHERE {where} ORDER BY i.created_at DESC", params)).fetchall()
            ids = [r[0] for r in rows]
            replies = await (await conn.execute(
                "SELECT issue_id, reply_id, author, body, created_at FROM registry_issue_replies "
                "WHERE issue_id = ANY(%s) ORDER BY created_at", (ids,))).fetchall() if ids else []
        by_issue: dict[str, list[IssueReply]] = defaultdict(list)
        for issue_id, reply_id, author, body, at in replies:
            by_issue[str(issue_id)].append(IssueReply(str(reply_id), author, body, at))
        # who reported is shown to their own organisation only: a publisher reads "another
        # organisation's member", never another tenant's addresses or its id
        return [IssueReport(str(r[0]), r[1], r[2], r[3], str(r[4]) if str(r[4]) == viewer_org else "",
                            r[5] if str(r[4]) == viewer_org else "a member of another organisation", r[6], r[7], r[8],
                            tuple(by_issue.get(str(r[0]), ()))) for r in rows]

    async def issues_for_publisher(self, org_id: str) -> list[IssueReport]:
        """Reports against the organisation's artifacts (every reporter's; the reporter's
        organisation is shown as an id only to the publisher's code, never named)."""
        return await self._issues(
            "EXISTS (SELECT 1 FROM registry_artifacts a JOIN registry_publishers p ON p.namespace = a.namespace "
            "WHERE a.kind = i.kind AND a.name = i.name AND p.org_id = %s)", (org_id,), org_id)

    async def issues_filed_by(self, org_id: str) -> list[IssueReport]:
        return await self._issues("i.reporter_org = %s", (org_id,), org_id)
