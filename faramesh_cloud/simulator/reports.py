"""The periodic items a simulated daemon pushes besides DPRs: daemon health, stack status,
budget snapshots and credential expiry events. Pure builders of the v1 messages from plain
facts; the daemon decides when to send them."""

from __future__ import annotations

import hashlib
import platform as host_platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from faramesh_cloud_api.sync.v1 import agent_state_pb2, fleet_pb2, registry_pb2

from faramesh_cloud.fpl.snippets import runtime_block
from faramesh_cloud.simulator import policy
from faramesh_cloud.simulator.buffer import BufferStats

NS: Final = 1_000_000_000
_LAYERS: Final = (
    (fleet_pb2.ENFORCEMENT_LAYER_SECCOMP, fleet_pb2.ENFORCEMENT_LAYER_LANDLOCK),
    (fleet_pb2.ENFORCEMENT_LAYER_SECCOMP, fleet_pb2.ENFORCEMENT_LAYER_LANDLOCK, fleet_pb2.ENFORCEMENT_LAYER_EBPF),
    (fleet_pb2.ENFORCEMENT_LAYER_SECCOMP, fleet_pb2.ENFORCEMENT_LAYER_FIRECRACKER),
)
_FRAMEWORKS: Final = ("langgraph", "crewai", "openai-agents", "autogen")
_ARCH: Final = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}


@dataclass(frozen=True, slots=True)
class AgentFacts:
    agent_id: str
    killed: bool
    isolated: bool
    active_sessions: int


@dataclass(frozen=True, slots=True)
class StackFacts:
    """What a daemon knows about itself, for status reports."""

    label: str  # a stable local name of the stack (seeds its made-up config facts)
    daemon_version: str
    policy_version: str
    started_ns: int
    cloud_url: str = "https://cloud.faramesh.example"  # what its runtime block names


_FRAMEWORK_VERSION: Final = "1.0.0"
_DAILY_CEILING_USD: Final = 100  # the ceiling the simulated budget snapshots report
_RATE_LIMIT: Final = 60  # stripe/charge calls per minute, in governance.fms and the budget snapshots
_PROVIDER: Final = "faramesh/vault"
_PROVIDER_VERSION: Final = "1.0.0"


def _digest(label: str, what: str) -> str:
    return hashlib.sha256(f"{label}/{what}".encode()).hexdigest()


def governance_fms(facts: StackFacts, agents: Sequence[AgentFacts], framework: str) -> str:
    """A realistic governance.fms for the simulated stack, valid FPL as the daemon parses it
    (shared/interop/FPL.md): the runtime block the Cloud stack registration shows, a provider
    import and block, and one agent block per agent with the rules of
    :mod:`faramesh_cloud.simulator.policy`, a rate limit, a redaction and a daily budget.
    Several agents is what a real stack has and what the daemon does not enforce: only the
    first by name is (the others are findings Cloud reports; their calls are decided by the
    same rules, so the records agree whichever agent is first). No policy pack is imported:
    the registry's stripe pack brings agent ``payment-bot``, which sorts before
    ``payments-bot`` and would silently replace it. Stable for a stack's label and agents,
    so its SHA-256 is too."""
    blocks = [
        f"# governance.fms for {facts.label} (applied by CI from platform/{facts.label}-governance)",
        f'import "github.com/faramesh/faramesh-registry/providers/{_PROVIDER}@{_PROVIDER_VERSION}"',
        "",
        *runtime_block(facts.cloud_url, mode="enforce", wal_dir="/var/lib/faramesh/wal").splitlines(),
        "",
        'provider "vault" {',
        '  type  = "vault"',
        f'  addr  = "https://vault.{facts.label}.internal:8200"',
        '  token = env("VAULT_TOKEN")',
        "}",
    ]
    for agent in agents:
        blocks += [
            "",
            f'agent "{agent.agent_id}" {{',
            "  default deny",
            f'  framework "{framework}"',
            f'  version   "{_FRAMEWORK_VERSION}"',
            "",
            "  budget daily {",
            f"    daily     ${_DAILY_CEILING_USD}",
            "    warn_at   0.9",
            "    on_exceed deny",
            "  }",
            "",
            *policy.rules_block(),
            "",
            f"  rate_limit stripe/charge: {_RATE_LIMIT} per 1m",
            '  redact stripe/charge args: ["card.number", "card.cvv"]',
            "}",
        ]
    return "\n".join(blocks) + "\n"


def stack_status(facts: StackFacts, agents: Sequence[AgentFacts], now_ns: int) -> fleet_pb2.StackStatus:
    pick = int(_digest(facts.label, "pick"), 16)
    framework = _FRAMEWORKS[pick % len(_FRAMEWORKS)]
    text = governance_fms(facts, agents, framework)
    status = fleet_pb2.StackStatus(
        daemon_version=facts.daemon_version,
        platform=fleet_pb2.Platform(
            os="linux", arch=_ARCH.get(host_platform.machine().lower(), "amd64"),
            kernel_version=host_platform.release(), os_release="Debian GNU/Linux 12 (bookworm)",
            hostname=f"{facts.label}-host",
        ),
        enforcement_layers=_LAYERS[pick % len(_LAYERS)],
        runtime_mode=fleet_pb2.RUNTIME_MODE_ENFORCE,
        applied_config=fleet_pb2.AppliedConfig(
            git_commit=_digest(facts.label, "commit")[:40], git_branch="main",
            git_remote_url=f"https://git.example.com/platform/{facts.label}-governance",
            operator="ci@example.com", summary="2 rules changed, 1 agent added",
            governance_fms=text, governance_sha256=hashlib.sha256(text.encode()).hexdigest(),
            policy_version=facts.policy_version, fpl_version="1.0",
        ),
        framework=framework, framework_version=_FRAMEWORK_VERSION,
        agents=[fleet_pb2.AgentSummary(agent_id=a.agent_id, killed=a.killed, isolated=a.isolated,
                                       active_sessions=a.active_sessions) for a in agents],
        providers=[fleet_pb2.ProviderStatus(name=_PROVIDER, version=_PROVIDER_VERSION,
                                            capabilities=["SECRETS"], health=fleet_pb2.PROVIDER_HEALTH_HEALTHY)],
        registry_imports=[registry_pb2.RegistryArtifact(
            kind=registry_pb2.REGISTRY_ARTIFACT_KIND_PROVIDER, name=_PROVIDER, version=_PROVIDER_VERSION,
            import_path=f"github.com/faramesh/faramesh-registry/providers/{_PROVIDER}@{_PROVIDER_VERSION}")],
    )
    status.observed_at.FromNanoseconds(now_ns)
    status.started_at.FromNanoseconds(facts.started_ns)
    status.applied_config.applied_at.FromNanoseconds(facts.started_ns)
    status.providers[0].last_success_at.FromNanoseconds(now_ns)
    return status


def daemon_health(facts: StackFacts, agents: Sequence[AgentFacts], buffer: BufferStats,
                  wal_size: int, now_ns: int) -> fleet_pb2.DaemonHealth:
    health = fleet_pb2.DaemonHealth(
        ok=True, policy_loaded=True, wal_open=True, pipeline_ready=True,
        backends=[fleet_pb2.BackendHealth(name="sqlite_dpr", status=fleet_pb2.BACKEND_STATUS_OK)],
        wal_size_bytes=wal_size,
        sync_buffer=fleet_pb2.SyncBufferStats(
            queued_items=buffer.queued_items, queued_bytes=buffer.queued_bytes,
            last_assigned_sequence=buffer.last_assigned_sequence,
            acked_through_sequence=buffer.acked_through_sequence,
        ),
        lifecycle_state=fleet_pb2.LIFECYCLE_STATE_READY,
        active_sessions=sum(a.active_sessions for a in agents),
    )
    health.observed_at.FromNanoseconds(now_ns)
    health.uptime.FromNanoseconds(max(0, now_ns - facts.started_ns))
    if buffer.oldest_enqueued_ns is not None:
        health.sync_buffer.oldest_item_age.FromNanoseconds(max(0, now_ns - buffer.oldest_enqueued_ns))
    return health


def budget_snapshot(agent_id: str, spent_usd: float, ceiling_usd: float, calls: int,
                    now_ns: int) -> agent_state_pb2.BudgetSnapshot:
    snapshot = agent_state_pb2.BudgetSnapshot(
        agent_id=agent_id, scope=agent_state_pb2.BUDGET_SCOPE_DAILY, spent_usd=round(spent_usd, 4),
        ceiling_usd=ceiling_usd,
        rate_counters=[agent_state_pb2.RateCounter(tool_id="stripe/charge", count=calls % _RATE_LIMIT,
                                                   limit=_RATE_LIMIT)],
    )
    snapshot.rate_counters[0].window.FromSeconds(60)
    snapshot.observed_at.FromNanoseconds(now_ns)
    return snapshot


def credential_event(agent_id: str, lease: str, event_type: int, expires_ns: int,
                     now_ns: int) -> agent_state_pb2.CredentialExpiryEvent:
    event = agent_state_pb2.CredentialExpiryEvent(
        agent_id=agent_id, credential_source="vault", credential_scope="stripe:charges:write",
        event_type=event_type, credential_id=hashlib.sha256(lease.encode()).hexdigest()[:16],  # type: ignore[arg-type]
    )
    event.expires_at.FromNanoseconds(expires_ns)
    event.observed_at.FromNanoseconds(now_ns)
    return event
