"""The simulated daemon's control state: kill switches, isolations, pending and resolved
approvals, and what it answered to each Cloud delivery and emergency command (so a
re-delivery gets the same answer and is applied at most once).

Plain values with a JSON form; the daemon stores that JSON in its sync buffer, in the same
transaction as the items a change produced. Pure.
"""

from __future__ import annotations

from typing import Final

import msgspec

# How many resolved approvals / answered deliveries / applied commands are remembered (the
# daemon keeps the last 4,096 resolved tokens).
REMEMBER: Final = 4096


class Pending(msgspec.Struct, kw_only=True):
    """A deferred call waiting for a decision."""

    token: str
    agent_id: str
    tool_id: str
    session_id: str
    rule_id: str
    reason_code: str
    reason: str
    args: dict[str, object]
    args_sig: str
    priority: str  # "critical" | "high" | "normal"
    created_ns: int
    deadline_ns: int
    record_id: str
    policy_version: str


class Resolution(msgspec.Struct, kw_only=True):
    status: str  # "approved" | "denied" | "expired"
    decision_id: str = ""
    dpr_record_id: str = ""
    resolved_ns: int = 0


class RegistryAlertSeen(msgspec.Struct, kw_only=True):
    """A registry pack alert Cloud delivered (what ``faramesh status`` lists): the artifact,
    the version imported, the latest, whether it was yanked."""

    name: str
    current: str
    latest: str
    yanked: bool
    severity: str
    summary: str
    received_ns: int


class Answer(msgspec.Struct, kw_only=True):
    """What the daemon acknowledged for one delivery or command."""

    outcome: int
    message: str = ""
    dpr_record_id: str = ""
    at_ns: int = 0


class DaemonState(msgspec.Struct, kw_only=True):
    killed: list[str] = msgspec.field(default_factory=list)
    isolated: list[str] = msgspec.field(default_factory=list)
    pending: dict[str, Pending] = msgspec.field(default_factory=dict)
    resolved: dict[str, Resolution] = msgspec.field(default_factory=dict)
    deliveries: dict[str, Answer] = msgspec.field(default_factory=dict)
    commands: dict[str, Answer] = msgspec.field(default_factory=dict)
    notification_revision: int = 0
    registry_alerts: dict[str, RegistryAlertSeen] = msgspec.field(default_factory=dict)

    def is_killed(self, agent_id: str) -> bool:
        return agent_id in self.killed

    def is_isolated(self, agent_id: str) -> bool:
        return agent_id in self.isolated

    def resolve(self, token: str, resolution: Resolution) -> Pending | None:
        pending = self.pending.pop(token, None)
        self.resolved[token] = resolution
        _trim(self.resolved)
        return pending

    def remember_delivery(self, delivery_id: str, answer: Answer) -> None:
        self.deliveries[delivery_id] = answer
        _trim(self.deliveries)

    def remember_command(self, command_id: str, answer: Answer) -> None:
        self.commands[command_id] = answer
        _trim(self.commands)

    def dumps(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def loads(cls, text: str | None) -> DaemonState:
        if not text:
            return cls()
        return msgspec.json.decode(text, type=cls)


def _trim(mapping: dict[str, object] | dict[str, Resolution] | dict[str, Answer]) -> None:
    while len(mapping) > REMEMBER:
        del mapping[next(iter(mapping))]
