"""The audit index's alert events and the rules of acknowledging (pure: no I/O, no clock).

An alert is named by its identity (``AlertKey``: org, stack, agent, record id, record hash,
finding kind), and its ``alert_id`` is derived from it (``AlertKey.alert_id``), so a rebuilt
index gives it the same id (alerts raised before issue 13 keep the sequential ids they had
until a rebuild). Every event names
the alert by that identity, so it applies to the same alert whatever id a rebuild gave it
and in whatever order a replay delivers it:

* ``AlertRaised``: the index found a critical problem (in the batch that found it);
* ``AlertAcknowledged``: a person acknowledged it with a note;
* ``AlertRetracted``: the index retracted the finding (a verifier fix, or a pin it learnt
  late); an open alert is closed by the system with the note.

Event ids are uuid5 of the identity (and, for a retraction, its cause), so raising the
same alert again (a rebuilt index) or retrying writes the same id, and consumers dedupe.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson

# Namespace of the audit index's event ids (uuid5 of "faramesh-cloud/audit-index/alerts").
NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "faramesh-cloud/audit-index/alerts")
MAX_NOTE: Final = 2000
SYSTEM_TYPE: Final = "system"


@dataclass(frozen=True, slots=True)
class AlertKey:
    """An alert's identity: one finding of one kind on one record of one agent's chain."""

    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str

    def as_tuple(self) -> tuple[str, str, str, str, str, str]:
        return (self.org_id, self.stack_id, self.agent_id, self.record_id, self.record_hash, self.kind)

    def event_id(self, what: str) -> str:
        name = orjson.dumps([what, *self.as_tuple()]).decode()
        return str(uuid.uuid5(NAMESPACE, name))

    def alert_id(self, attempt: int = 0) -> int:
        """The alert's id: 53 bits of SHA-256 of the identity (a JSON number every client reads
        exactly), so a rebuilt index gives the alert the same id and URLs. ``attempt`` > 0
        probes on in the astronomically rare case that another identity holds the id."""
        digest = hashlib.sha256(orjson.dumps([attempt, *self.as_tuple()])).digest()
        return (int.from_bytes(digest[:8], "big") >> 11) or 1


@dataclass(frozen=True, slots=True)
class AlertRaised:
    key: AlertKey
    occurred_at: datetime  # the offending record's receive time (the alert's created_at)
    alert_id: int
    severity: str
    message: str
    record_created_at: str

    @property
    def event_id(self) -> str:
        return self.key.event_id("raised")


@dataclass(frozen=True, slots=True)
class AlertAcknowledged:
    key: AlertKey
    occurred_at: datetime
    alert_id: int
    actor_type: str
    actor_id: str
    actor_label: str
    note: str

    @property
    def event_id(self) -> str:
        return self.key.event_id("acknowledged")


@dataclass(frozen=True, slots=True)
class AlertRetracted:
    key: AlertKey
    occurred_at: datetime
    alert_id: int
    actor_label: str
    note: str
    from_revision: int
    to_revision: int
    cause: str  # "verifier-revision-<n>" or "pin-<event id>"

    @property
    def event_id(self) -> str:
        return self.key.event_id(f"retracted:{self.cause}")


AlertEvent = AlertRaised | AlertAcknowledged | AlertRetracted


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the rules look at: the alert as the index holds it now."""

    key: AlertKey
    alert_id: int
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: str


class AlreadyAcknowledged(ValueError):
    code = "conflict"


def clean_note(note: str) -> str:
    """The note as stored; ``ValueError`` (a 400) when empty or too long."""
    note = note.strip()
    if not note:
        raise ValueError("say what you found or did in a note (required to acknowledge an alert)")
    if len(note) > MAX_NOTE:
        raise ValueError(f"a note is at most {MAX_NOTE} characters")
    return note


def decide_acknowledgement(state: AlertState, note: str, actor_type: str, actor_id: str, actor_label: str,
                           now: datetime) -> AlertAcknowledged:
    """A person acknowledges an alert: the event, or ``AlreadyAcknowledged`` naming who did
    (the caller holds the alert's row lock, so of two at once exactly one wins)."""
    if state.acknowledged:
        when = f" at {state.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC" if state.acknowledged_at else ""
        raise AlreadyAcknowledged(f"alert {state.alert_id} was acknowledged by {state.acknowledged_by}{when}")
    return AlertAcknowledged(key=state.key, occurred_at=now, alert_id=state.alert_id, actor_type=actor_type,
                             actor_id=actor_id, actor_label=actor_label, note=clean_note(note))
