"""The compliance service's events, as plain values (pure; ``events.py`` puts them on the
wire as ``faramesh_cloud_api.compliance.v1`` messages on ``compliance.events.v1``).

What people change: the frameworks an organisation declares, the reports they ask for, the
share links they hand out and revoke. What the service produced: a report that failed, an
artifact that entered the evidence library (a finished report, a signed export, an
integrity certificate). ``apply.py`` turns each into state; the command handlers, the report
jobs and the consumer of the topic apply them the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud.platform_audit.events import Actor

NAMESPACE: Final = uuid.UUID("1b9a3c55-0f2d-5c8e-9e21-636f6d706c79")


def derived_id(what: str, *parts: str) -> str:
    """A deterministic id: the same fact always gets the same id (a rebuild keeps URLs)."""
    return str(uuid.uuid5(NAMESPACE, "/".join((what, *parts))))


@dataclass(frozen=True, slots=True)
class FrameworksDeclared:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    frameworks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportRequested:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    report_id: str
    framework: str
    stack_ids: tuple[str, ...]
    range_start: datetime
    range_end: datetime
    retry_of: str = ""


@dataclass(frozen=True, slots=True)
class ReportFailed:
    event_id: str
    occurred_at: datetime
    org_id: str
    report_id: str
    error: str


@dataclass(frozen=True, slots=True)
class ArtifactRecorded:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    artifact_id: str
    kind: str
    title: str
    parameters: dict[str, object]
    sha256: str
    size: int
    filename: str
    media_type: str
    verification_hash: str = ""
    report_id: str = ""


@dataclass(frozen=True, slots=True)
class ShareLinkCreated:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    link_id: str
    artifact_id: str
    token_sha256: bytes
    expires_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class ShareLinkRevoked:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    link_id: str


Change = (FrameworksDeclared | ReportRequested | ReportFailed | ArtifactRecorded | ShareLinkCreated
          | ShareLinkRevoked)
KINDS: Final = (FrameworksDeclared, ReportRequested, ReportFailed, ArtifactRecorded, ShareLinkCreated,
                ShareLinkRevoked)
