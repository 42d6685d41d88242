"""Drift against the main branch (pure): the governance.fms at the head of a stack's mapped
branch compared with the text the stack applied, and what the pages show of git connections
and mappings.

The texts are compared after normalising line endings (CRLF → LF; a checkout on Windows
commits the same policy with other bytes) and nothing else: a comment or blank line added on
the branch is drift, because ``faramesh apply`` would apply different bytes. The diff is a
unified diff (``difflib``), applied text first."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud.fleet.git_providers import Provider

MAX_DIFF_LINES: Final = 400

SAME: Final = "same"
DIFFERS: Final = "differs"
UNKNOWN_APPLIED: Final = "no_applied_text"  # the daemon synced no governance.fms text
UNKNOWN_HEAD: Final = "not_fetched"  # no successful fetch of the branch yet


@dataclass(frozen=True, slots=True)
class GitConnection:
    connection_id: str
    org_id: str
    name: str
    provider: Provider
    base_url: str
    username: str
    token_hint: str  # the token's last 4 characters; the token itself never comes back
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class GitMapping:
    stack_id: str
    connection_id: str
    connection: str  # its name
    provider: Provider
    base_url: str
    repository: str
    path: str
    branch: str
    mapped_at: datetime
    mapped_by: str


@dataclass(frozen=True, slots=True)
class Comparison:
    status: str  # SAME / DIFFERS / UNKNOWN_APPLIED / UNKNOWN_HEAD
    diff: tuple[str, ...] = ()  # unified diff lines (DIFFERS), at most MAX_DIFF_LINES
    added: int = 0
    removed: int = 0
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class DriftState:
    stack_id: str
    provider: Provider
    repository: str
    path: str
    branch: str
    checked_at: datetime | None
    head_commit: str
    head_url: str
    error: str  # the last check's failure ('' when it succeeded)
    applied_commit: str
    applied_sha256: str
    comparison: Comparison

    @property
    def differs(self) -> bool:
        return self.comparison.status == DIFFERS


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def compare(applied: str | None, head: str | None, *, applied_label: str = "applied",
            head_label: str = "branch head") -> Comparison:
    if head is None:
        return Comparison(UNKNOWN_HEAD)
    if applied is None:
        return Comparison(UNKNOWN_APPLIED)
    a, b = _lines(applied), _lines(head)
    if a == b:
        return Comparison(SAME)
    diff = list(difflib.unified_diff(a, b, fromfile=applied_label, tofile=head_label, lineterm=""))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    return Comparison(DIFFERS, tuple(diff[:MAX_DIFF_LINES]), added, removed, len(diff) > MAX_DIFF_LINES)
