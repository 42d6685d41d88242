"""Fleet sync items as ingest writes them on ``sync.items.v1`` (payload protobuf, header
``kind``, origin headers), for the fleet projection's tests."""

from __future__ import annotations

from datetime import UTC, datetime

from faramesh_cloud_api.sync.v1 import agent_state_pb2, fleet_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message as Proto
from google.protobuf.timestamp_pb2 import Timestamp

from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord, Message

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def record(org_id: str, stack_id: str, seq: int, kind: str, payload: Proto) -> LogRecord:
    headers = Origin(org_id, stack_id, "sync", seq, "buf-1", 1_700_000_000_000_000_000 + seq).headers()
    headers[H_KIND] = kind.encode()
    return LogRecord(stack_key(org_id, stack_id), payload.SerializeToString(), headers)


def message(rec: LogRecord, offset: int, partition: int = 0) -> Message:
    return Message(SYNC_ITEMS, partition, offset, rec.key, rec.value, rec.headers, 0)


def status(at: datetime, *, commit: str = "a1b2c3d4e5f6", summary: str = "2 rules changed",
           agents: tuple[tuple[str, bool, bool, int], ...] = (("payments-bot", False, False, 2),),
           version: str = "1.4.2", applied_at: datetime | None = None,
           provider_health: int = fleet_pb2.PROVIDER_HEALTH_HEALTHY) -> fleet_pb2.StackStatus:
    return fleet_pb2.StackStatus(
        observed_at=ts(at), daemon_version=version, framework="langgraph",
        platform=fleet_pb2.Platform(os="linux", arch="amd64", kernel_version="6.8.0", hostname="pay-01"),
        enforcement_layers=[fleet_pb2.ENFORCEMENT_LAYER_SECCOMP, fleet_pb2.ENFORCEMENT_LAYER_LANDLOCK],
        runtime_mode=fleet_pb2.RUNTIME_MODE_ENFORCE,
        applied_config=fleet_pb2.AppliedConfig(git_commit=commit, git_remote_url="https://github.com/acme/gov.git",
                                               applied_at=ts(applied_at or at), operator="ci@acme",
                                               summary=summary, policy_version="0123456789abcdef"),
        agents=[fleet_pb2.AgentSummary(agent_id=a, killed=k, isolated=i, active_sessions=s) for a, k, i, s in agents],
        providers=[fleet_pb2.ProviderStatus(name="faramesh/vault", version="0.3.1", capabilities=["SECRETS"],
                                            health=provider_health, last_success_at=ts(at))],
        started_at=ts(at.replace(hour=1)),
    )


def health(at: datetime, *, ok: bool = True, uptime_s: int = 3600) -> fleet_pb2.DaemonHealth:
    return fleet_pb2.DaemonHealth(ok=ok, policy_loaded=True, wal_open=True, pipeline_ready=True,
                                  observed_at=ts(at), uptime=Duration(seconds=uptime_s),
                                  lifecycle_state=fleet_pb2.LIFECYCLE_STATE_READY, active_sessions=3)


def budget(at: datetime, agent: str, spent: float, ceiling: float) -> agent_state_pb2.BudgetSnapshot:
    return agent_state_pb2.BudgetSnapshot(agent_id=agent, scope=agent_state_pb2.BUDGET_SCOPE_DAILY,
                                          spent_usd=spent, ceiling_usd=ceiling, observed_at=ts(at))


def credential(at: datetime, agent: str, expires: datetime, *,
               event: int = agent_state_pb2.CREDENTIAL_EVENT_TYPE_ISSUED) -> agent_state_pb2.CredentialExpiryEvent:
    return agent_state_pb2.CredentialExpiryEvent(agent_id=agent, credential_source="vault",
                                                 credential_scope="stripe:refund", expires_at=ts(expires),
                                                 event_type=event, observed_at=ts(at), credential_id="cred-1")
