"""The compliance service's vocabulary: frameworks an organisation may declare, artifact
kinds, share-link limits, the errors its API raises, and the views it returns."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final


@functools.cache
def framework_names() -> dict[str, str]:
    """Slug -> name of every framework an organisation may declare (from their data files)."""
    from faramesh_cloud.compliance.frameworks import load_frameworks

    return {slug: f.name for slug, f in load_frameworks().items()}

ARTIFACT_KINDS: Final = ("report", "dpr-export", "platform-audit-export", "integrity-certificate")
SHARE_DEFAULT_DAYS: Final = 7
SHARE_MAX_DAYS: Final = 90
MAX_REPORT_RANGE_DAYS: Final = 3 * 366
MAX_ARTIFACT_BYTES: Final = 2 << 30


class ComplianceError(ValueError):
    """A request refused for what it asks (HTTP 400 / INVALID_ARGUMENT); the message says why."""


NS: Final = 1_000_000_000


def to_ns(moment: datetime) -> int:
    """An aware datetime as Unix nanoseconds (the audit index's ranges)."""
    if moment.tzinfo is None:
        raise ComplianceError(NAIVE_TIME)
    return int(moment.timestamp()) * NS + moment.microsecond * 1000


NAIVE_TIME: Final = "times must carry a time zone (e.g. 2026-01-01T00:00:00Z)"


def utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused (it names no instant)."""
    if moment.tzinfo is None:
        raise ComplianceError(NAIVE_TIME)
    return moment.astimezone(UTC)


class NotFound(LookupError):
    """No such report, artifact or link in this organisation (HTTP 404)."""


class LinkGone(Exception):
    """A share link past its expiry or revoked (HTTP 410); the message says which and when."""

    def __init__(self, message: str, org_id: str, link_id: str) -> None:
        super().__init__(message)
        self.org_id = org_id
        self.link_id = link_id


@dataclass(frozen=True)
class Declared:
    framework: str
    name: str
    declared_at: datetime
    declared_by: str


@dataclass(frozen=True)
class ReportView:
    report_id: str
    framework: str
    stack_ids: tuple[str, ...]
    range_start: datetime
    range_end: datetime
    requested_at: datetime
    requested_by: str
    state: str
    progress: float
    stage: str
    error: str
    artifact_id: str
    finished_at: datetime | None
    retry_of: str


@dataclass(frozen=True)
class ShareLinkView:
    link_id: str
    artifact_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    note: str
    revoked_at: datetime | None
    revoked_by: str

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


@dataclass(frozen=True)
class ArtifactView:
    artifact_id: str
    kind: str
    title: str
    parameters: dict[str, Any]
    created_at: datetime
    created_by: str
    sha256: str
    size: int
    filename: str
    media_type: str
    verification_hash: str
    report_id: str
    links: tuple[ShareLinkView, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PostureRow:
    framework: str
    control_id: str
    status: str
    detail: dict[str, Any]
    since: datetime
    evaluated_at: datetime


@dataclass(frozen=True)
class PostureDay:
    framework: str
    day: str
    evidence: int
    policy: int
    gap: int
    gaps: tuple[str, ...]
