"""Notification routing, pure: destinations, rules with escalation steps, which rule applies
to an approval or a chain-integrity alert, and which escalation steps are due.

A rule routes one subject: ``approvals`` (approval requests, escalated while pending) or
``chain_integrity`` (the audit index's critical chain-integrity alerts: notified once, at
step 0; acknowledging one in Cloud resolves the PagerDuty incident).

Routing choice (documented in docs/notifications.md): an organisation has at most one rule per
scope, and the MOST SPECIFIC matching rule wins: stack + agent, then agent (any stack), then
stack (any agent), then the organisation-wide rule. Rules do not add up, so a stack can be
routed away from the organisation's default without anyone being paged twice.

A rule is a list of steps: step 0 notifies at once (``after_minutes`` = 0); step k notifies its
destinations once the approval has been pending ``after_minutes`` and is still pending before
its deadline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

MAX_STEPS: Final = 6
MAX_AFTER_MINUTES: Final = 7 * 24 * 60
MAX_DESTINATIONS_PER_STEP: Final = 10
_EMAIL: Final = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class Kind(StrEnum):
    SLACK_WEBHOOK = "slack_webhook"
    SLACK_API = "slack_api"
    PAGERDUTY = "pagerduty"
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK_APP = "slack_app"  # a workspace connected by OAuth v2: approvals carry Approve/Deny buttons

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: Final = {
    Kind.SLACK_WEBHOOK: "Slack (incoming webhook)", Kind.SLACK_API: "Slack (bot token, chat.postMessage)",
    Kind.PAGERDUTY: "PagerDuty (Events API v2)", Kind.EMAIL: "Email (SMTP)",
    Kind.WEBHOOK: "Webhook (Standard Webhooks signature)",
    Kind.SLACK_APP: "Slack app (OAuth; approve from Slack)",
}


class Subject(StrEnum):
    """What a routing rule routes."""

    APPROVALS = "approvals"
    CHAIN_INTEGRITY = "chain_integrity"
    EMERGENCY_COMMANDS = "emergency_commands"

    @property
    def label(self) -> str:
        return {Subject.APPROVALS: "Approvals", Subject.CHAIN_INTEGRITY: "Chain-integrity alerts",
                Subject.EMERGENCY_COMMANDS: "Emergency commands"}[self]


_ALERT_TOKEN = "alert-"


def alert_token(alert_id: int) -> str:
    """The ``defer_token`` of a chain-integrity alert's notices (part of their dedup key)."""
    return f"{_ALERT_TOKEN}{alert_id}"


def alert_id_of(token: str) -> str:
    return token.removeprefix(_ALERT_TOKEN)


class Event(StrEnum):
    REQUESTED = "approval.requested"
    ESCALATED = "approval.escalated"
    RESOLVED = "approval.resolved"
    CHAIN_ALERT = "chain_integrity.alert"
    CHAIN_ACKNOWLEDGED = "chain_integrity.acknowledged"
    COMMAND_ISSUED = "emergency.issued"  # a person issued a kill / isolate
    COMMAND_APPLIED = "emergency.applied"  # the daemon acknowledged it applied (or already in effect)
    COMMAND_FAILED = "emergency.failed"  # the daemon rejected it or failed to apply it
    TEST = "notification.test"

    @property
    def is_command(self) -> bool:
        return self in (Event.COMMAND_ISSUED, Event.COMMAND_APPLIED, Event.COMMAND_FAILED)

    @property
    def is_chain(self) -> bool:
        return self in (Event.CHAIN_ALERT, Event.CHAIN_ACKNOWLEDGED)

    @property
    def closes(self) -> bool:
        """The end of what an earlier notification opened (PagerDuty ``resolve``)."""
        return self in (Event.RESOLVED, Event.CHAIN_ACKNOWLEDGED, Event.COMMAND_APPLIED)


class InvalidRouting(ValueError):
    """Bad input from a person: the message says what to change."""

    code = "invalid"


class RoutingConflict(InvalidRouting):
    """A change that conflicts with the current state (a name in use, a destination still
    named by rules): the message says what to change first."""

    code = "conflict"


@dataclass(frozen=True, slots=True)
class Destination:
    destination_id: str
    org_id: str
    name: str
    kind: Kind
    config: dict[str, Any]  # what may be shown (no secret)
    created_at: datetime | None = None
    created_by: str = ""

    def summary(self) -> str:
        c = self.config
        match self.kind:
            case Kind.SLACK_WEBHOOK:
                return f"incoming webhook on {c.get('host', '?')}"
            case Kind.SLACK_API:
                return f"channel {c.get('channel', '?')}"
            case Kind.PAGERDUTY:
                return f"routing key …{c.get('key_hint', '')}"
            case Kind.EMAIL:
                return f"{', '.join(c.get('to', []))} via {c.get('smtp_host', '?')}:{c.get('smtp_port', '?')}"
            case Kind.WEBHOOK:
                return str(c.get("url", ""))
            case Kind.SLACK_APP:
                return f"channel {c.get('channel', '?')} in workspace {c.get('team_name') or c.get('team_id', '?')}"
        return ""


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One notification to one destination and where its delivery stands (the history people read)."""

    notification_id: str
    destination_id: str
    destination_name: str
    event: str
    stack_id: str
    defer_token: str
    step: int
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Step:
    after_minutes: int
    destinations: tuple[str, ...]
    # Groups of members (identity's groups): each member is emailed through ``group_email``,
    # one of the organisation's email destinations (its SMTP server and sender), chosen on
    # the step. The members are resolved when the step is queued; the queued notice records
    # them (``extra["group_recipients"]``), so a rebuild sends to the same people.
    groups: tuple[str, ...] = ()
    group_email: str = ""

    def targets(self) -> tuple[str, ...]:
        """The destinations this step queues a notification to (the group email's too)."""
        return tuple(dict.fromkeys((*self.destinations, *((self.group_email,) if self.groups else ()))))


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    org_id: str
    stack_id: str  # "" = any stack
    agent_id: str  # "" = any agent
    steps: tuple[Step, ...]
    updated_at: datetime | None = None
    subject: Subject = Subject.APPROVALS

    @property
    def scope(self) -> str:
        if self.stack_id and self.agent_id:
            return "stack and agent"
        if self.agent_id:
            return "agent"
        if self.stack_id:
            return "stack"
        return "organisation"

    def destination_ids(self) -> set[str]:
        return {d for s in self.steps for d in s.targets()}

    def group_ids(self) -> set[str]:
        return {g for s in self.steps for g in s.groups}


def specificity(rule: Rule) -> int:
    return (2 if rule.agent_id else 0) + (1 if rule.stack_id else 0)


def matches(rule: Rule, stack_id: str, agent_id: str, subject: Subject = Subject.APPROVALS) -> bool:
    return rule.subject is subject and rule.stack_id in ("", stack_id) and rule.agent_id in ("", agent_id)


def route(rules: Iterable[Rule], stack_id: str, agent_id: str, subject: Subject = Subject.APPROVALS) -> Rule | None:
    """The rule of ``subject`` that applies to ``agent_id`` on ``stack_id`` (most specific)."""
    found = [r for r in rules if matches(r, stack_id, agent_id, subject)]
    return max(found, key=specificity) if found else None


def parse_subject(raw: str) -> Subject:
    try:
        return Subject(raw or Subject.APPROVALS.value)
    except ValueError:
        names = [s.value for s in Subject]
        raise InvalidRouting(f"a rule routes {', '.join(names[:-1])} or {names[-1]}, not {raw!r}") from None


def parse_steps(raw: Sequence[Any], known: Iterable[str], subject: Subject = Subject.APPROVALS, *,
                groups: Iterable[str] = (), emails: Iterable[str] = ()) -> tuple[Step, ...]:
    """Steps from user input (``[{"after_minutes": 0, "destinations": [ids], "groups": [ids],
    "group_email": id}, ...]``), checked: step 0 at 0 minutes, thresholds strictly increasing,
    only the organisation's destinations and groups (``groups``), a step with groups naming
    one of its email destinations (``emails``) to reach their members through.
    A chain-integrity rule has the one step (alerts are notified once, not escalated)."""
    known_ids = set(known)
    known_groups = set(groups)
    email_ids = set(emails)
    if not raw:
        raise InvalidRouting("a rule needs at least one step (who is notified at once)")
    if len(raw) > MAX_STEPS:
        raise InvalidRouting(f"a rule has at most {MAX_STEPS} steps")
    if subject is Subject.CHAIN_INTEGRITY and len(raw) > 1:
        raise InvalidRouting("a chain-integrity rule has one step: alerts are notified once, when detected "
                             "(they stay open on Home until acknowledged)")
    if subject is Subject.EMERGENCY_COMMANDS and len(raw) > 1:
        raise InvalidRouting("an emergency-command rule has one step: each command is notified when issued, "
                             "applied or failed, not escalated")
    steps: list[Step] = []
    for index, item in enumerate(raw):
        try:
            after = int(item["after_minutes"])
            ids = tuple(dict.fromkeys(str(d) for d in item["destinations"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidRouting(f"step {index + 1} needs after_minutes (a whole number) and destinations "
                                 "(a list of destination ids)") from None
        if index == 0 and after != 0:
            raise InvalidRouting("the first step notifies at once: its after_minutes must be 0")
        if index > 0 and after <= steps[-1].after_minutes:
            raise InvalidRouting(f"step {index + 1} must come later than step {index} "
                                 f"(after_minutes {after} <= {steps[-1].after_minutes})")
        if after > MAX_AFTER_MINUTES:
            raise InvalidRouting(f"after_minutes is at most {MAX_AFTER_MINUTES} (7 days)")
        try:
            group_ids = tuple(dict.fromkeys(str(g) for g in item.get("groups") or ()))
            via = str(item.get("group_email") or "") if group_ids else ""
        except (AttributeError, TypeError):
            raise InvalidRouting(f"step {index + 1}: groups is a list of group ids") from None
        if not ids and not group_ids:
            raise InvalidRouting(f"step {index + 1} names no destination or group")
        if len(ids) + len(group_ids) > MAX_DESTINATIONS_PER_STEP:
            raise InvalidRouting(f"a step notifies at most {MAX_DESTINATIONS_PER_STEP} destinations and groups")
        unknown = [d for d in ids if d not in known_ids]
        if unknown:
            raise InvalidRouting(f"no destination {unknown[0]!r} in this organisation; create it under "
                                 "Settings → Integrations first")
        strangers = [g for g in group_ids if g not in known_groups]
        if strangers:
            raise InvalidRouting(f"no group {strangers[0]!r} in this organisation; create it under "
                                 "Settings → Members → Groups first")
        if group_ids and via not in email_ids:
            raise InvalidRouting(f"step {index + 1} notifies groups: choose one of your email destinations "
                                 "(group_email) to send to their members through")
        steps.append(Step(after, ids, group_ids, via))
    return tuple(steps)


def steps_json(steps: Sequence[Step]) -> list[dict[str, Any]]:
    return [{"after_minutes": s.after_minutes, "destinations": list(s.destinations),
             **({"groups": list(s.groups), "group_email": s.group_email} if s.groups else {})} for s in steps]


def steps_from_json(raw: Sequence[Any]) -> tuple[Step, ...]:
    return tuple(Step(int(s["after_minutes"]), tuple(s["destinations"]), tuple(s.get("groups") or ()),
                      str(s.get("group_email") or "")) for s in raw)


def email_recipients(configured: Sequence[str], extra: dict[str, Any]) -> list[str]:
    """Who an email notification goes to: the destination's own list (unless the destination
    was on the step only to reach groups) and the members of the step's groups."""
    own = [] if extra.get("only_groups") else list(configured)
    return list(dict.fromkeys([*own, *(str(a) for a in extra.get("group_recipients") or ())]))


def due_steps(steps: Sequence[Step], steps_sent: int, opened_at: datetime, deadline: datetime,
              now: datetime) -> list[int]:
    """Indexes of the escalation steps to send now: those not sent yet whose threshold has
    passed, while the approval can still be decided (``now`` before its deadline)."""
    if now >= deadline:
        return []
    return [i for i in range(steps_sent, len(steps))
            if opened_at + timedelta(minutes=steps[i].after_minutes) <= now]


@dataclass(frozen=True, slots=True)
class Notice:
    """What a notification says, whatever the channel (stored with each outbox row)."""

    event: Event
    org_id: str
    org_slug: str
    stack_id: str
    stack_name: str
    defer_token: str
    agent_id: str
    tool_id: str
    reason: str
    priority: str
    matched_rule_id: str
    session_id: str
    created_at: str  # ISO 8601 UTC
    deadline: str
    link: str
    step: int = 0
    after_minutes: int = 0
    outcome: str = ""  # resolved: approved | denied | expired | withdrawn
    resolved_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Chain-integrity alerts (``defer_token`` is then ``alert-<alert_id>``):
    finding: str = ""  # the finding kind: record_hash_mismatch, broken_link, gap, ...
    record_id: str = ""  # the offending record
    message: str = ""  # what the verifier said
    integrity_link: str = ""  # the stack's chain-integrity page (``link`` is the record's Explain page)
    acknowledged_note: str = ""

    @property
    def dedup_key(self) -> str:
        """One incident per approval or alert (PagerDuty's dedup_key): trigger, escalate and
        resolve share it."""
        return f"faramesh/{self.org_id}/{self.stack_id}/{self.defer_token}"

    def title(self) -> str:
        where = self.stack_name or self.stack_id
        match self.event:
            case Event.CHAIN_ALERT:
                return f"Chain integrity: {self.finding} on {self.agent_id} ({where}, {self.org_slug})"
            case Event.CHAIN_ACKNOWLEDGED:
                return f"Chain-integrity alert acknowledged: {self.finding} on {self.agent_id} ({where})"
            case Event.REQUESTED:
                return f"Approval needed: {self.agent_id} wants {self.tool_id} on {where}"
            case Event.ESCALATED:
                return (f"Still pending after {self.after_minutes} min: {self.agent_id} wants {self.tool_id} "
                        f"on {where}")
            case Event.RESOLVED:
                return f"Approval {self.outcome or 'resolved'}: {self.agent_id} / {self.tool_id} on {where}"
            case Event.COMMAND_ISSUED:
                return (f"Emergency {self.extra.get('command', 'command')} issued for {self.agent_id} on {where}"
                        f" by {self.resolved_by or 'someone'}")
            case Event.COMMAND_APPLIED:
                return f"Emergency {self.extra.get('command', 'command')} applied to {self.agent_id} on {where}"
            case Event.COMMAND_FAILED:
                return (f"Emergency {self.extra.get('command', 'command')} {self.outcome or 'failed'} for "
                        f"{self.agent_id} on {where}")
            case Event.TEST:
                return "Test notification from Faramesh Cloud"
        return "Faramesh Cloud"

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Notice:
        values = dict(raw)
        values["event"] = Event(values["event"])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address)) and len(address) <= 254
