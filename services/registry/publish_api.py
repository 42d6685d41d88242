"""``PublishApi``: what people do to publish (the gateway's ``RegistryPublishPort`` in process).

Who may do what is checked twice: by the gateway (permission ``registry:artifact:publish``
for an organisation's commands; the reviewer list for review) and here, where a review
command refuses an actor whose e-mail is not in :class:`Reviewers` (a signed-in person
only: an API key is nobody's verified address).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry.my_artifacts import AppliedTexts, MyArtifacts
from faramesh_cloud.registry.provider_upload import (
    DownloadUrl,
    ProviderInput,
    ProviderLimits,
    SmokeTest,
    submit_provider,
)
from faramesh_cloud.registry.publish_domain import (
    IssueReport,
    MyArtifact,
    NotAllowed,
    Publisher,
    Submission,
)
from faramesh_cloud.registry.publish_events import Recorder
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.publishers import Publishers
from faramesh_cloud.registry.submissions import PackInput, Submissions
from faramesh_cloud.sql.database import Database


def parse_reviewers(text: str) -> frozenset[str]:
    """``registry_reviewers``: e-mail addresses separated by commas or spaces."""
    return frozenset(e.strip().lower() for e in text.replace(",", " ").split() if "@" in e)


@dataclass(frozen=True)
class Reviewers:
    """Platform reviewers: the configured addresses (``registry_reviewers``), checked against
    the signed-in person's account address; under ``up --demo`` also the install's first owner
    (``first_owner``), so the demo's publish → review round trip is clickable."""

    emails: Collection[str]
    first_owner: Callable[[], Awaitable[str | None]] | None = None

    async def includes(self, actor: Actor) -> bool:
        if actor.type is not ActorType.USER:
            return False
        email = actor.label.strip().lower()
        if email in self.emails:
            return True
        return self.first_owner is not None and (await self.first_owner() or "").lower() == email

    async def check(self, actor: Actor) -> None:
        if not await self.includes(actor):
            raise NotAllowed("only a platform reviewer (registry_reviewers) may review the registry; "
                             f"{actor.label or 'this caller'} is not one")


def first_owner(db: Database) -> Callable[[], Awaitable[str | None]]:
    """The address of the install's first owner (the person who ran the setup page)."""
    async def read() -> str | None:
        async with db.connection() as conn:
            row = await (await conn.execute(
                "SELECT u.email FROM memberships m JOIN users u USING (user_id) WHERE m.role = 'owner' "
                "AND u.disabled_at IS NULL ORDER BY m.created_at, u.created_at LIMIT 1")).fetchone()
        return None if row is None else str(row[0])
    return read


class PublishApi:
    def __init__(self, db: Database, blobs: BlobStore, audit: PlatformAuditLog, *, signer: CloudSigner,
                 check_fpl: Callable[[str, str, str], Any], smoke_test: SmokeTest, download_url: DownloadUrl,
                 texts: AppliedTexts, reviewers: Reviewers, limits: ProviderLimits | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        record = Recorder(audit, lambda: signer, clock or (lambda: datetime.now(UTC)))
        self.reviewers = reviewers
        self.limits = limits or ProviderLimits()
        self._smoke = smoke_test
        self.publishers = Publishers(db, record)
        self.submissions = Submissions(db, blobs, record, signer, check_fpl, download_url)
        self.mine = MyArtifacts(db, record, self.submissions, texts)

    # -- namespaces ---------------------------------------------------------------------
    async def claim_namespace(self, org_id: str, namespace: str, display_name: str, actor: Actor) -> Publisher:
        return await self.publishers.claim(org_id, namespace, display_name, actor)

    async def review_namespace(self, namespace: str, confirm: bool, reason: str, actor: Actor) -> Publisher:
        await self.reviewers.check(actor)
        return await self.publishers.review(namespace, confirm, reason, actor)

    async def namespaces(self, org_id: str) -> list[Publisher]:
        return await self.publishers.of_org(org_id)

    async def pending_namespaces(self, actor: Actor) -> list[Publisher]:
        await self.reviewers.check(actor)
        return await self.publishers.pending()

    # -- submissions ----------------------------------------------------------------------
    async def submit_pack(self, org_id: str, given: PackInput, actor: Actor) -> Submission:
        return await self.submissions.submit_pack(org_id, given, actor)

    async def submit_provider(self, org_id: str, given: ProviderInput,
                              binaries: Mapping[str, AsyncIterable[bytes]], actor: Actor) -> Submission:
        return await submit_provider(self.submissions, self._smoke, self.limits, org_id, given, binaries, actor)

    async def submissions_of(self, org_id: str) -> list[Submission]:
        return await self.submissions.of_org(org_id)

    async def submission(self, submission_id: str, *, org_id: str | None, actor: Actor) -> Submission:
        """One submission: the organisation's own, or any for a reviewer (``org_id`` None)."""
        if org_id is None:
            await self.reviewers.check(actor)
        return await self.submissions.get(submission_id, org_id=org_id)

    async def is_reviewer(self, actor: Actor) -> bool:
        return await self.reviewers.includes(actor)

    async def submission_fpl(self, submission: Submission) -> str:
        return (await self.submissions.body(submission)).decode() if submission.body_sha256 else ""

    async def review_queue(self, actor: Actor) -> list[Submission]:
        await self.reviewers.check(actor)
        return await self.submissions.queue()

    async def approve(self, submission_id: str, note: str, actor: Actor) -> Submission:
        await self.reviewers.check(actor)
        return await self.submissions.approve(submission_id, note, actor)

    async def reject(self, submission_id: str, reason: str, actor: Actor) -> Submission:
        await self.reviewers.check(actor)
        return await self.submissions.reject(submission_id, reason, actor)

    async def yank(self, org_id: str | None, kind: str, name: str, version: str, reason: str, actor: Actor) -> None:
        """A publisher's yank (``org_id``) or a reviewer's (``org_id`` None)."""
        if org_id is None:
            await self.reviewers.check(actor)
        await self.submissions.yank(org_id, kind, name, version, reason, actor)

    # -- my artifacts and issue reports ------------------------------------------------------
    async def my_artifacts(self, org_id: str) -> list[MyArtifact]:
        return await self.mine.list(org_id)

    async def file_issue(self, org_id: str, kind: str, name: str, version: str, title: str, body: str,
                         actor: Actor) -> IssueReport:
        return await self.mine.file_issue(org_id, kind, name, version, title, body, actor)

    async def reply_issue(self, org_id: str, issue_id: str, body: str, actor: Actor) -> IssueReport:
        return await self.mine.reply(org_id, issue_id, body, actor)

    async def issues_filed(self, org_id: str) -> list[IssueReport]:
        return await self.mine.issues_filed_by(org_id)
