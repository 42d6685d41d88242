"""The notifications service's events, as plain values (pure; ``events.py`` puts them on the
wire as ``faramesh_cloud_api.notifications.v1`` messages).

Two families, one topic (``notifications.events.v1``, keyed by organisation, so one
organisation's events keep their commit order):

* **Configuration** people change: destinations (created, secret rotated, deleted; secrets
  only ever sealed) and routing rules (set, deleted).
* **What the service did**: an approval it routed (the rule it chose, when it opened the
  request), each notification it queued (what it says, to whom) and how each ended
  (delivered, or failed for good, with the attempts it took).

``apply.py`` turns each into state; the command handlers, the projections, the escalation
sweep and the sender apply them exactly as the consumer of the topic does.

Ids that a replay or a retry must reproduce are uuid5 of natural keys (a notification's id
of its destination, approval, event and step; the events about a notification of that id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.notifications.domain import Event, Kind, Notice, Step, Subject
from faramesh_cloud.platform_audit.events import Actor

NAMESPACE: Final = uuid.UUID("6f1f5c0e-4a53-5bd4-9a52-6e6f74696679")


def notification_id(org_id: str, destination_id: str, stack_id: str, defer_token: str, event: Event,
                    step: int) -> str:
    """The id of the one notification of (destination, approval or alert, event, step)."""
    return str(uuid.uuid5(NAMESPACE, f"notification/{org_id}/{destination_id}/{stack_id}/{defer_token}/"
                                     f"{event.value}/{step}"))


def derived_id(what: str, *parts: str) -> str:
    """A deterministic event id: the same fact always gets the same id."""
    return str(uuid.uuid5(NAMESPACE, "/".join((what, *parts))))


@dataclass(frozen=True, slots=True)
class DestinationCreated:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    destination_id: str
    name: str
    kind: Kind
    config: dict[str, Any]
    sealed_secret: bytes


@dataclass(frozen=True, slots=True)
class DestinationSecretRotated:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    destination_id: str
    sealed_secret: bytes
    overlap_s: int


@dataclass(frozen=True, slots=True)
class DestinationDeleted:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    destination_id: str
    name: str


@dataclass(frozen=True, slots=True)
class DestinationUpdated:
    """A destination's name and shown (non-secret) configuration changed; its secret did not."""

    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    destination_id: str
    name: str
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveriesPruned:
    """The organisation's ended deliveries queued before ``pruned_before`` were deleted (the
    retention sweep); ``rows`` how many there were."""

    event_id: str
    occurred_at: datetime
    org_id: str
    pruned_before: datetime
    rows: int


@dataclass(frozen=True, slots=True)
class RoutingRuleSet:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    rule_id: str
    subject: Subject
    stack_id: str
    agent_id: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class RoutingRuleDeleted:
    event_id: str
    occurred_at: datetime
    org_id: str
    actor: Actor
    rule_id: str
    subject: Subject
    stack_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class ApprovalRouted:
    """``occurred_at`` is when the request opened (escalation counts from it)."""

    event_id: str
    occurred_at: datetime
    org_id: str
    stack_id: str
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    reason: str
    priority: str
    matched_rule_id: str
    created_at: datetime
    deadline: datetime
    rule_id: str  # "" when no rule matched


@dataclass(frozen=True, slots=True)
class NotificationQueued:
    event_id: str
    occurred_at: datetime
    org_id: str
    notification_id: str
    destination_id: str
    notice: Notice  # its stack, defer token, event and step are the notification's

    @property
    def stack_id(self) -> str:
        return self.notice.stack_id


@dataclass(frozen=True, slots=True)
class NotificationDelivered:
    """``occurred_at`` is when it was delivered."""

    event_id: str
    occurred_at: datetime
    org_id: str
    notification_id: str
    destination_id: str
    stack_id: str
    attempts: int
    status: int | None


@dataclass(frozen=True, slots=True)
class NotificationFailed:
    event_id: str
    occurred_at: datetime
    org_id: str
    notification_id: str
    destination_id: str
    stack_id: str
    attempts: int
    status: int | None
    error: str


Config = (DestinationCreated | DestinationSecretRotated | DestinationDeleted | RoutingRuleSet | RoutingRuleDeleted
          | DestinationUpdated | DeliveriesPruned)
Change = Config | ApprovalRouted | NotificationQueued | NotificationDelivered | NotificationFailed
CONFIG_KINDS: Final = (DestinationCreated, DestinationSecretRotated, DestinationDeleted, RoutingRuleSet,
                       RoutingRuleDeleted, DestinationUpdated, DeliveriesPruned)
KINDS: Final = (*CONFIG_KINDS, ApprovalRouted, NotificationQueued, NotificationDelivered, NotificationFailed)


def stack_of(change: Change) -> str:
    """The stack an event concerns ('' for configuration and organisation-wide rules)."""
    if isinstance(change, RoutingRuleSet | RoutingRuleDeleted | ApprovalRouted | NotificationQueued |
                  NotificationDelivered | NotificationFailed):
        return change.stack_id
    return ""
