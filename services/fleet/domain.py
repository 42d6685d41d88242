"""What the fleet processor produces (one sync item as a typed update) and what the query
API hands out. Plain immutable values; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

PROJECTION: Final = "fleet"

# Enforcement layer names as the spec writes them (fleet_pb2.EnforcementLayer values).
LAYER_NAMES: Final = {1: "seccomp", 2: "Landlock", 3: "eBPF", 4: "Firecracker"}
LIFECYCLE_NAMES: Final = {0: "", 1: "starting", 2: "initializing", 3: "ready", 4: "draining", 5: "halt"}
RUNTIME_MODES: Final = {0: "", 1: "enforce", 2: "shadow", 3: "audit"}
PROVIDER_HEALTH: Final = {0: "unknown", 1: "healthy", 2: "degraded", 3: "unhealthy"}
BUDGET_SCOPES: Final = {1: "session", 2: "daily"}
CREDENTIAL_EVENTS: Final = {1: "issued", 2: "renewed", 3: "expired", 4: "revoked"}


class InvalidQuery(ValueError):
    """A fleet query the query API refuses (an ``org_id`` that is not one); the message says why."""


def layer_name(value: int) -> str:
    return LAYER_NAMES.get(value, f"unknown ({value})")


@dataclass(frozen=True, slots=True)
class Position:
    """Where an item sits on the log, and its place in its stack's order: ``order`` is
    (observed_ns, daemon sequence), compared to decide which report is the latest."""

    org_id: str
    stack_id: str
    topic: str
    partition: int
    offset: int
    observed_ns: int
    sequence: int
    received_ns: int = 0  # when ingest received the item (0: unknown): the stack's contact time

    @property
    def order(self) -> tuple[int, int]:
        return (self.observed_ns, self.sequence)


@dataclass(frozen=True, slots=True)
class HealthUpdate:
    at: Position
    ok: bool
    lifecycle: str
    uptime_s: float
    active_sessions: int
    unavailable_backends: tuple[str, ...]
    sync_queued: int


@dataclass(frozen=True, slots=True)
class AgentState:
    agent_id: str
    killed: bool
    isolated: bool
    active_sessions: int


@dataclass(frozen=True, slots=True)
class ProviderState:
    name: str
    version: str
    capabilities: tuple[str, ...]
    health: str
    health_message: str
    last_success_at: datetime | None
    identity_verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class AppliedConfig:
    commit: str
    remote_url: str
    branch: str
    applied_at: datetime | None
    operator: str
    summary: str
    governance_sha256: str
    policy_version: str
    governance_fms: str = ""  # the applied file's text, when the daemon sent it
    text_sha256: str = ""  # SHA-256 of governance_fms as received (the text's key), "" without text
    sha_mismatch: bool = False  # text and governance_sha256 both present and they disagree


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    at: Position
    daemon_version: str
    platform: dict[str, str]
    framework: str
    framework_version: str
    runtime_mode: str
    layers: tuple[str, ...]
    applied: AppliedConfig | None
    started_at: datetime | None
    agents: tuple[AgentState, ...]
    providers: tuple[ProviderState, ...]


@dataclass(frozen=True, slots=True)
class BudgetUpdate:
    at: Position
    agent_id: str
    scope: str
    session_id: str
    spent_usd: float
    ceiling_usd: float


@dataclass(frozen=True, slots=True)
class CredentialUpdate:
    at: Position
    agent_id: str
    credential_key: str  # the credential id, or source + scope when the daemon sends none
    source: str
    scope: str
    expires_at: datetime | None
    event: str


FleetUpdate = HealthUpdate | StatusUpdate | BudgetUpdate | CredentialUpdate


# ---- what the query API returns -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StackView:
    """One stack as the fleet list and the stack overview show it."""

    stack_id: str
    name: str
    environment: str
    last_seen_at: datetime | None
    sync_status: str  # connected / disconnected / never connected
    health: str  # healthy / degraded / unhealthy / unknown
    daemon_version: str = ""
    platform: dict[str, str] = field(default_factory=dict)
    framework: str = ""
    runtime_mode: str = ""
    enforcement_layers: list[str] = field(default_factory=list)
    last_apply_at: datetime | None = None
    commit: str = ""
    commit_url: str = ""
    applied_operator: str = ""
    applied_summary: str = ""
    applied_branch: str = ""
    applied_remote: str = ""  # git remote of the applied commit (commit links, drift between stacks)
    policy_version: str = ""
    governance_sha256: str = ""  # as the daemon reported it
    config_text_sha256: str = ""  # key of the stored governance.fms text; "" when none was synced
    config_sha_mismatch: bool = False  # the synced text's SHA-256 differs from governance_sha256
    uptime_s: float | None = None
    lifecycle: str = ""
    active_sessions: int = 0
    agent_count: int = 0
    unavailable_backends: list[str] = field(default_factory=list)
    status_observed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BudgetView:
    stack_id: str
    agent_id: str
    scope: str
    session_id: str
    spent_usd: float
    ceiling_usd: float
    observed_at: datetime

    @property
    def used(self) -> float:
        return self.spent_usd / self.ceiling_usd if self.ceiling_usd > 0 else 0.0


@dataclass(frozen=True, slots=True)
class CredentialView:
    stack_id: str
    agent_id: str
    credential_key: str
    source: str
    scope: str
    expires_at: datetime | None
    event: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class AgentView:
    stack_id: str
    agent_id: str
    killed: bool | None  # None: no status report has named the agent
    isolated: bool | None
    active_sessions: int
    in_latest_status: bool
    budgets: list[BudgetView] = field(default_factory=list)
    credentials: list[CredentialView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ApplyView:
    stack_id: str
    commit: str
    applied_at: datetime | None
    operator: str
    summary: str
    branch: str
    policy_version: str
    commit_url: str
    first_seen_at: datetime
    text_sha256: str = ""  # key of this version's stored governance.fms text; "" when none was synced

    @property
    def rollback_command(self) -> str:
        if not self.commit:
            return ""
        return f"git checkout {self.commit} -- governance.fms && faramesh apply"


@dataclass(frozen=True, slots=True)
class ConfigText:
    """One stored governance.fms text, as a daemon synced it (untrusted: escape when shown)."""

    sha256: str
    text: str
    first_seen_at: datetime

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines() or [""]


@dataclass(frozen=True, slots=True)
class ProviderView:
    stack_id: str
    name: str
    version: str
    capabilities: list[str]
    health: str
    health_message: str
    last_success_at: datetime | None
    identity_verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class StackBurn:
    """Aggregate daily budget consumption of one stack (sum over its agents)."""

    stack_id: str
    name: str
    spent_usd: float
    ceiling_usd: float

    @property
    def used(self) -> float:
        return self.spent_usd / self.ceiling_usd if self.ceiling_usd > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ContactMinute:
    """A minute (its start, Unix nanoseconds, UTC) in which Cloud received ``items`` sync
    items from a stack's daemon."""

    minute_ns: int
    items: int
