"""The approval lifecycle (pure): states, transitions, and why a transition is refused.

A pending approval ends in exactly one of ``approved``, ``denied`` (a Cloud decision, applied by
the daemon), ``expired`` (the deadline passed: the daemon's default is 5 minutes) or
``withdrawn`` (the daemon resolved it itself, e.g. its CLI approved or denied it, or it dropped
it without a verdict because the agent's session ended).
The daemon is the authority: a resolution it pushes always wins over Cloud's view, while a
human decision in Cloud is only accepted on a ``pending`` approval whose deadline has not
passed. A second decision is refused with the state it already reached, like the daemon's
``DEFER_RESOLUTION_CONFLICT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Verdict(StrEnum):
    APPROVE = "approve"
    DENY = "deny"

    @property
    def state(self) -> State:
        return State.APPROVED if self is Verdict.APPROVE else State.DENIED


FINAL: Final = frozenset({State.APPROVED, State.DENIED, State.EXPIRED, State.WITHDRAWN})
MAX_REASON: Final = 2000


class DecisionRefused(ValueError):
    """A human decision that cannot be taken; the message says why (shown to the approver)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(DecisionRefused):
    """Someone (another approver, the daemon, the deadline) resolved it first."""


class CommandRefused(DecisionRefused):
    """The caller may not issue this command (role, unknown stack); it was logged."""


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DecisionRefused("reason_required", "a reason is required: say why, it is recorded with the decision")
    if len(text) > MAX_REASON:
        raise DecisionRefused("reason_too_long", f"the reason is {len(text)} characters; keep it under {MAX_REASON}")
    return text


def withdrawal(daemon_state: str, resolved_by: str, reason: str) -> str:
    """How the daemon withdrew an approval, for people: resolved on the daemon host (its
    outcome and who), or dropped without a verdict (why)."""
    if daemon_state in (State.APPROVED, State.DENIED):
        who = f" by {resolved_by}" if resolved_by else ""
        why = f" ({reason})" if reason else ""
        return f"it was {daemon_state} on the daemon host{who}{why}"
    return f"the daemon dropped it: {reason}" if reason else "the daemon dropped it without a verdict"


def refusal(state: State, deadline: datetime, now: datetime, resolved_by: str = "",
            withdrawn_how: str = "") -> DecisionRefused | None:
    """Why a human decision on an approval in ``state`` is refused at ``now`` (None: allowed).
    ``withdrawn_how`` is :func:`withdrawal`'s account, for a withdrawn one."""
    if state is State.PENDING:
        if now >= deadline:
            return Conflict("expired", "this approval expired before the decision (its deadline "
                            f"was {deadline.isoformat()}); the daemon has denied the call")
        return None
    who = f" by {resolved_by}" if resolved_by else ""
    if state is State.EXPIRED:
        return Conflict("expired", "this approval already expired; the daemon has denied the call")
    if state is State.WITHDRAWN:
        how = f": {withdrawn_how}" if withdrawn_how else ""
        return Conflict("withdrawn", f"the daemon withdrew this approval{how}; there is nothing to decide, "
                        "and the agent's call does not wait for Cloud any more")
    return Conflict("already_resolved", f"this approval was already {state.value}{who}; the first decision stands")


@dataclass(frozen=True, slots=True)
class Pattern:
    """What a bulk action is constrained to: one agent, one tool, one rule."""

    agent_id: str
    tool_id: str
    rule_id: str


MAX_BULK: Final = 200  # approvals one bulk decision may take (each is its own transaction)


def check_bulk_size(count: int) -> None:
    """:class:`DecisionRefused` (``too_many``) for a selection larger than :data:`MAX_BULK`."""
    if count > MAX_BULK:
        raise DecisionRefused("too_many", f"a bulk decision takes at most {MAX_BULK} approvals and {count} are "
                                          "selected; narrow the queue's filters (stack, agent, tool) and decide "
                                          "them in batches")


def bulk_pattern(patterns: Sequence[Pattern]) -> Pattern:
    """The one pattern every selected approval shares, or :class:`DecisionRefused` naming
    what differs (a bulk action is "the same agent / tool / rule pattern with one reason")."""
    if not patterns:
        raise DecisionRefused("empty_selection", "select at least one approval of this organisation")
    first = patterns[0]
    differs = []
    for label, values in (("agents", [p.agent_id for p in patterns]), ("tools", [p.tool_id for p in patterns]),
                          ("rules", [p.rule_id or "(none)" for p in patterns])):
        distinct = sorted(set(values))
        if len(distinct) > 1:
            shown = ", ".join(distinct[:5]) + (f" and {len(distinct) - 5} more" if len(distinct) > 5 else "")
            differs.append(f"{len(distinct)} {label} ({shown})")
    if differs:
        raise DecisionRefused(
            "mixed_pattern", "a bulk action covers one agent / tool / rule pattern, but the selection has "
            + "; ".join(differs) + ". Select approvals of one pattern (filter the queue by agent, tool and "
            "rule), or decide them one by one")
    return first


def after_daemon_event(current: State | None, reported: State, source: str = "") -> State:
    """Cloud's state after the daemon reports ``reported`` (resolved from ``source``: cloud,
    local, timeout, or '' when the daemon did not say). The daemon is the authority on
    resolutions; a late PENDING (a re-sent snapshot) never reopens a resolved approval.

    A verdict the daemon took itself (its CLI, socket or local UI) *withdraws* the approval
    from Cloud: Cloud's approvers no longer decide it, and a Cloud decision that was on its
    way did not take effect. Only a verdict applied from a Cloud decision (or an unlabelled
    one confirming the verdict Cloud already holds) keeps approved / denied."""
    if reported is State.PENDING:
        return current if current is not None else State.PENDING
    if reported in (State.APPROVED, State.DENIED):
        if source == "cloud" or (source == "" and current is reported):
            return reported
        return State.WITHDRAWN
    return reported


@dataclass(frozen=True, slots=True)
class Resolution:
    """How an approval ended, as people see it (``state`` pending: not yet), or one side's
    account of it: Cloud's (a decision, source ``cloud``; the expiry sweep, ``timeout``) or
    the daemon's last report (its source: ``cloud``, ``local``, ``timeout`` or '')."""

    state: State
    at: datetime | None = None
    by: str = ""
    by_label: str = ""
    reason: str = ""
    source: str = ""


PENDING: Final = Resolution(State.PENDING)


def resolution(cloud: Resolution | None, daemon: Resolution | None) -> Resolution:
    """What people see, from Cloud's own resolution and the daemon's last report, whatever
    order the two arrived in (a replay may bring the daemon's report first).

    Cloud can only resolve an approval the daemon still reports pending (its decision and
    its sweep require ``pending``), so the daemon's report always came second: its outcome
    is authoritative (:func:`after_daemon_event` from Cloud's state), and a Cloud decision
    the daemon applied (source ``cloud``) keeps the approver and reason Cloud recorded."""
    if daemon is None:
        return cloud if cloud is not None else PENDING
    before = cloud.state if cloud is not None else State.PENDING
    state = after_daemon_event(before, daemon.state, daemon.source)
    if cloud is not None and cloud.state in (State.APPROVED, State.DENIED) and daemon.source == "cloud":
        return replace(cloud, state=state)
    return Resolution(state, daemon.at, daemon.by, "", daemon.reason, daemon.source or "daemon")


def may_expire(state: State, deadline: datetime, now: datetime) -> bool:
    return state is State.PENDING and now >= deadline


class CommandType(StrEnum):
    KILL = "kill"
    ISOLATE = "isolate"


class CommandState(StrEnum):
    ISSUED = "issued"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Queue colour by how long an approval has been pending (green < 5 min, yellow 5-30,
    red > 30)."""

    name: str

    @classmethod
    def of(cls, pending_s: float) -> AgeBand:
        if pending_s < 5 * 60:
            return cls("green")
        if pending_s <= 30 * 60:
            return cls("yellow")
        return cls("red")


class UnknownApproval(LookupError):
    """No such approval (or command) in this organisation."""
