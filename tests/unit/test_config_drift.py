"""Config drift checks (pure): running policy vs applied, and stacks behind their branch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faramesh_cloud.gateway.web.config_drift import BEHIND, RUNNING, branch_drift, running_drift

T = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Stack:
    stack_id: str
    name: str
    commit: str = "a" * 40
    applied_remote: str = "https://git.example.com/acme/gov.git"
    applied_branch: str = "main"
    last_apply_at: datetime | None = T
    policy_version: str = "1111111111111111"
    environment: str = "production"


@dataclass(frozen=True)
class Use:
    policy_version: str
    last_at: datetime
    records: int = 3
    last_record_id: str = "rec-9"
    stack_id: str = "s1"


def test_running_policy_differs_only_after_the_apply() -> None:
    stack = Stack("s1", "payments")
    assert running_drift(stack, [Use("1111111111111111", T + timedelta(minutes=5))]) is None
    # Decisions under the old policy before the apply are history, not drift.
    assert running_drift(stack, [Use("0000000000000000", T - timedelta(minutes=1))]) is None
    found = running_drift(stack, [Use("1111111111111111", T + timedelta(minutes=5)),
                                  Use("2222222222222222", T + timedelta(minutes=7))])
    assert found is not None and found.kind == RUNNING and found.record_id == "rec-9"
    assert "applied policy 1111111111111111" in found.text and "policy 2222222222222222" in found.text
    assert "3 record(s)" in found.text
    uncounted = running_drift(stack, [Use("2222222222222222", T + timedelta(minutes=7))], counted=False)
    assert uncounted is not None and "record(s)" not in uncounted.text
    assert running_drift(Stack("s1", "new", policy_version="", last_apply_at=None), [Use("x", T)]) is None


def test_behind_a_newer_apply_of_the_same_remote_and_branch() -> None:
    old = Stack("s1", "payments-eu")
    newer = Stack("s2", "payments-us", commit="b" * 40, applied_remote="https://git.example.com/acme/gov",
                  last_apply_at=T + timedelta(hours=1))
    found = branch_drift(old, [old, newer])
    assert found is not None and found.kind == BEHIND and found.other_stack_id == "s2"
    assert "aaaaaaaaaaaa" in found.text and "bbbbbbbbbbbb" in found.text
    assert branch_drift(newer, [old, newer]) is None  # the newest apply is not behind
    other_branch = Stack("s3", "canary", commit="c" * 40, applied_branch="canary", last_apply_at=T + timedelta(hours=2))
    other_repo = Stack("s4", "search", commit="d" * 40, applied_remote="https://git.example.com/acme/search.git",
                       last_apply_at=T + timedelta(hours=2))
    assert branch_drift(old, [old, other_branch, other_repo]) is None
    assert branch_drift(Stack("s5", "local", commit=""), [newer]) is None  # applied from an uncommitted file
