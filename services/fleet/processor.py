"""The fleet processor: one ``sync.items.v1`` message to one typed fleet update.

Pure (no I/O, no clock). Tenancy comes from the log headers (``org``, ``stack``), never
from the payload. The header ``kind`` names the payload (the ``PushItem`` field name, as
ingest writes it); kinds this projection does not own (approval events, anything newer)
give ``None``. A payload that does not decode, or a message without its origin, is
``Rejected`` with the reason and goes to the dead-letter topic.

Ordering: each update carries (observed_at, daemon sequence). The sink keeps, per stack
and per agent, the update with the highest pair, so the projection does not depend on the
order the log delivers in, and a replay from offset 0 rebuilds the same state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud_api.sync.v1 import agent_state_pb2, fleet_pb2
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, Origin
from faramesh_cloud.fleet.domain import (
    BUDGET_SCOPES,
    CREDENTIAL_EVENTS,
    LIFECYCLE_NAMES,
    PROVIDER_HEALTH,
    RUNTIME_MODES,
    AgentState,
    AppliedConfig,
    BudgetUpdate,
    CredentialUpdate,
    FleetUpdate,
    HealthUpdate,
    Position,
    ProviderState,
    StatusUpdate,
    layer_name,
)
from faramesh_cloud.log.port import Message

KIND_HEALTH: Final = "daemon_health"
KIND_STATUS: Final = "stack_status"
KIND_BUDGET: Final = "budget_snapshot"
KIND_CREDENTIAL: Final = "credential_expiry"


def _time(ts: Timestamp) -> datetime | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)


def _ns(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


def _position(message: Message, origin: Origin, observed: Timestamp) -> Position:
    # An item without its own observation time is ordered by when Cloud received it.
    observed_ns = _ns(observed) or origin.received_ns
    return Position(origin.org_id, origin.stack_id, message.topic, message.partition, message.offset,
                    observed_ns, origin.sequence, origin.received_ns)


def _health(message: Message, origin: Origin) -> HealthUpdate:
    report = fleet_pb2.DaemonHealth.FromString(message.value)
    down = tuple(sorted(b.name for b in report.backends if b.status == fleet_pb2.BACKEND_STATUS_UNAVAILABLE))
    uptime = report.uptime.seconds + report.uptime.nanos / 1e9
    return HealthUpdate(_position(message, origin, report.observed_at), report.ok,
                        LIFECYCLE_NAMES.get(report.lifecycle_state, f"unknown ({report.lifecycle_state})"),
                        uptime, report.active_sessions, down, report.sync_buffer.queued_items)


def _applied(config: fleet_pb2.AppliedConfig) -> AppliedConfig | None:
    if not config.ByteSize():
        return None
    text = config.governance_fms
    text_sha = hashlib.sha256(text.encode()).hexdigest() if text else ""
    reported = config.governance_sha256.lower()
    return AppliedConfig(config.git_commit.lower(), config.git_remote_url, config.git_branch,
                         _time(config.applied_at), config.operator, config.summary,
                         reported, config.policy_version, text, text_sha,
                         sha_mismatch=bool(text_sha and reported and text_sha != reported))


def _status(message: Message, origin: Origin) -> StatusUpdate:
    status = fleet_pb2.StackStatus.FromString(message.value)
    platform = status.platform
    agents: dict[str, AgentState] = {}
    for agent in status.agents:
        if agent.agent_id:
            agents[agent.agent_id] = AgentState(agent.agent_id, agent.killed, agent.isolated, agent.active_sessions)
    providers: dict[str, ProviderState] = {}
    for p in status.providers:
        if p.name:
            providers[p.name] = ProviderState(
                p.name, p.version, tuple(p.capabilities), PROVIDER_HEALTH.get(p.health, "unknown"),
                p.health_message, _time(p.last_success_at), _time(p.identity_verified_at))
    return StatusUpdate(
        at=_position(message, origin, status.observed_at),
        daemon_version=status.daemon_version,
        platform={k: v for k, v in (("os", platform.os), ("arch", platform.arch),
                                    ("kernel", platform.kernel_version), ("os_release", platform.os_release),
                                    ("hostname", platform.hostname)) if v},
        framework=status.framework,
        framework_version=status.framework_version,
        runtime_mode=RUNTIME_MODES.get(status.runtime_mode, f"unknown ({status.runtime_mode})"),
        layers=tuple(dict.fromkeys(layer_name(v) for v in status.enforcement_layers if v)),
        applied=_applied(status.applied_config),
        started_at=_time(status.started_at),
        agents=tuple(agents.values()),
        providers=tuple(providers.values()),
    )


def _budget(message: Message, origin: Origin) -> BudgetUpdate | Rejected:
    snap = agent_state_pb2.BudgetSnapshot.FromString(message.value)
    if not snap.agent_id or snap.scope not in BUDGET_SCOPES:
        return Rejected("budget_snapshot: agent_id and a known scope are required")
    session = snap.session_id if snap.scope == agent_state_pb2.BUDGET_SCOPE_SESSION else ""
    return BudgetUpdate(_position(message, origin, snap.observed_at), snap.agent_id, BUDGET_SCOPES[snap.scope],
                        session, max(0.0, snap.spent_usd), max(0.0, snap.ceiling_usd))


def _credential(message: Message, origin: Origin) -> CredentialUpdate | Rejected:
    event = agent_state_pb2.CredentialExpiryEvent.FromString(message.value)
    if not event.agent_id or event.event_type not in CREDENTIAL_EVENTS:
        return Rejected("credential_expiry: agent_id and a known event_type are required")
    key = event.credential_id or f"{event.credential_source}|{event.credential_scope}"
    return CredentialUpdate(_position(message, origin, event.observed_at), event.agent_id, key,
                            event.credential_source, event.credential_scope, _time(event.expires_at),
                            CREDENTIAL_EVENTS[event.event_type])


_DECODERS: Final[Mapping[str, Callable[[Message, Origin], FleetUpdate | Rejected]]] = {
    KIND_HEALTH: _health,
    KIND_STATUS: _status,
    KIND_BUDGET: _budget,
    KIND_CREDENTIAL: _credential,
}


class FleetProcessor:
    """``consumer.runner.Processor`` for ``sync.items.v1``."""

    def process(self, message: Message) -> FleetUpdate | Rejected | None:
        kind = message.headers.get(H_KIND, b"").decode("utf-8", "replace")
        decode = _DECODERS.get(kind)
        if decode is None:
            return None
        try:
            origin = Origin.from_headers(message.headers)
        except (KeyError, ValueError) as exc:
            return Rejected(f"{kind}: no complete origin in headers ({exc})")
        if not origin.org_id or not origin.stack_id:
            return Rejected(f"{kind}: org and stack headers are required")
        try:
            return decode(message, origin)
        except DecodeError as exc:
            return Rejected(f"{kind}: payload is not a valid {kind} protobuf ({exc})")
