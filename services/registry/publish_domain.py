"""Publishing's words (pure): namespaces, submissions, issue reports, refusals.

* A **namespace** is one DNS label (RFC 1123: lower-case letters, digits and ``-``, 1-63
  characters, neither starting nor ending with ``-``). Names that would let a publisher pass
  for the platform or for upstream (``faramesh``, ``official``, ``registry``, …) are reserved.
* A **submission** is a version an organisation asked to publish: a policy pack or framework
  profile (FPL text) or a provider (a manifest and its binaries). It waits in the review queue
  (``pending``) until a platform reviewer approves it (then it is a published, signed version)
  or rejects it with a reason the publisher reads.
* An **issue report** is filed by any organisation's member against one published version;
  the publisher replies. The reporter's organisation and the publisher's see it; no one else.

Refusals are :class:`PublishRefused` (a ``ValueError``: HTTP 400, the message names the
problem), :class:`NotAllowed` (403) and :class:`Unknown` (a ``LookupError``: 404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

NAMESPACE_PATTERN: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_NAMESPACES: Final = frozenset({
    "faramesh", "faramesh-cloud", "faramesh-registry", "official", "registry", "cloud", "admin", "root",
    "system", "platform", "security", "support", "community", "api", "www", "verified", "trusted",
})
MAX_REASON: Final = 2000
MAX_TITLE: Final = 200
MAX_BODY: Final = 20_000
MAX_FPL_BYTES: Final = 512 * 1024
MAX_README_BYTES: Final = 256 * 1024


class PublishRefused(ValueError):
    """Refused input; the message names the problem and what to do."""


class NotAllowed(PermissionError):
    """The caller may not do this (not a reviewer, not the publisher)."""


class Unknown(LookupError):
    """No such namespace, submission, version or issue (for this organisation)."""


class PublisherState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class SubmissionState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def check_namespace(text: str) -> str:
    if not NAMESPACE_PATTERN.match(text or ""):
        raise PublishRefused(f"namespace {text!r} is not a DNS label: use 1-63 lower-case letters, digits and '-', "
                             "not starting or ending with '-' (e.g. acme)")
    if text in RESERVED_NAMESPACES or text.startswith("faramesh"):
        raise PublishRefused(f"namespace {text!r} is reserved; choose your organisation's own name")
    return text


def check_reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise PublishRefused(f"a reason is required to {what}; the publisher reads it")
    if len(text) > MAX_REASON:
        raise PublishRefused(f"the reason is longer than {MAX_REASON} characters")
    return text


def check_text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise PublishRefused(f"{what} is required")
    if len(text) > limit:
        raise PublishRefused(f"{what} is longer than {limit} characters")
    return text


@dataclass(frozen=True, slots=True)
class Publisher:
    namespace: str
    org_id: str | None
    display_name: str
    state: PublisherState
    claimed_at: datetime | None
    claimed_by: str
    reviewed_at: datetime | None
    reviewed_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class Submission:
    submission_id: str
    org_id: str
    kind: str
    name: str
    version: str
    state: SubmissionState
    submitted_at: datetime
    submitted_by: str
    description: str
    changelog: str
    category: str
    domains: tuple[str, ...]
    meta: dict[str, Any]
    body_sha256: str | None
    readme_sha256: str | None
    manifest: dict[str, Any] | None
    binaries: dict[str, dict[str, Any]]  # platform -> {sha256, size, smoke}
    reviewed_at: datetime | None
    reviewed_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class IssueReply:
    reply_id: str
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssueReport:
    issue_id: str
    kind: str
    name: str
    version: str
    reporter_org_id: str
    reporter: str
    title: str
    body: str
    created_at: datetime
    replies: tuple[IssueReply, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class StackUse:
    """Stacks whose applied governance.fms imports one version: the asking organisation's own
    by id (the gateway names them), every other organisation's only as a count."""

    own_stack_ids: tuple[str, ...]
    other_orgs_stacks: int


@dataclass(frozen=True, slots=True)
class VersionStats:
    version: str
    state: str
    published_at: datetime | None
    yanked_at: datetime | None
    yank_reason: str
    downloads_total: int
    downloads_by_day: tuple[tuple[str, int], ...]  # (ISO day, count), oldest first
    used_by: StackUse


@dataclass(frozen=True, slots=True)
class MyArtifact:
    kind: str
    name: str
    trust_tier: str
    versions: tuple[VersionStats, ...]
    submissions: tuple[Submission, ...]
    issues: tuple[IssueReport, ...]
