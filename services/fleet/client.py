"""The fleet service's internal gRPC client: the gateway's ``FleetReads`` port over
``faramesh_cloud_api.fleet.v1.FleetQueryService``, over mutual TLS with the caller's own
service certificate (the fleet service admits only ``gateway``).

It answers exactly as :class:`~faramesh_cloud.fleet.query.FleetQuery` does, with the same
view values (``tests/contracts/test_fleet_query_contract.py`` holds both to one suite).
Failures: :class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` when the fleet service is
down, unreachable, slow (each call has a deadline) or refuses the caller, which the gateway
answers 503; :class:`~faramesh_cloud.rpc.errors.InvalidRequest` when it refuses the request
(an ``org_id`` that is not one), as ``FleetQuery`` raises its ``InvalidQuery``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from faramesh_cloud_api.fleet.v1 import query_pb2 as pb
from faramesh_cloud_api.fleet.v1 import query_pb2_grpc

from faramesh_cloud.fleet.domain import (
    AgentView,
    ApplyView,
    BudgetView,
    ConfigText,
    ContactMinute,
    CredentialView,
    ProviderView,
    StackBurn,
    StackView,
)
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import duration, moment, timestamp

SERVER: Final = "fleet"  # the identity the server's certificate must carry


def stack_view(m: pb.Stack) -> StackView:
    return StackView(
        stack_id=m.stack_id, name=m.name, environment=m.environment, last_seen_at=moment(m, "last_seen_at"),
        sync_status=m.sync_status, health=m.health, daemon_version=m.daemon_version, platform=dict(m.platform),
        framework=m.framework, runtime_mode=m.runtime_mode, enforcement_layers=list(m.enforcement_layers),
        last_apply_at=moment(m, "last_apply_at"), commit=m.commit, commit_url=m.commit_url,
        applied_operator=m.applied_operator, applied_summary=m.applied_summary, applied_branch=m.applied_branch,
        applied_remote=m.applied_remote, policy_version=m.policy_version, governance_sha256=m.governance_sha256,
        config_text_sha256=m.config_text_sha256, config_sha_mismatch=m.config_sha_mismatch,
        uptime_s=m.uptime_s if m.HasField("uptime_s") else None, lifecycle=m.lifecycle,
        active_sessions=m.active_sessions, agent_count=m.agent_count,
        unavailable_backends=list(m.unavailable_backends), status_observed_at=moment(m, "status_observed_at"))


def _observed(m: pb.Budget | pb.Credential) -> datetime:
    found = moment(m, "observed_at")
    if found is None:
        raise ValueError(f"the fleet service sent a {type(m).__name__} without observed_at")
    return found


def budget_view(m: pb.Budget) -> BudgetView:
    return BudgetView(m.stack_id, m.agent_id, m.scope, m.session_id, m.spent_usd, m.ceiling_usd, _observed(m))


def credential_view(m: pb.Credential) -> CredentialView:
    return CredentialView(m.stack_id, m.agent_id, m.credential_key, m.source, m.scope, moment(m, "expires_at"),
                          m.event, _observed(m))


def agent_view(m: pb.Agent) -> AgentView:
    return AgentView(m.stack_id, m.agent_id, m.killed if m.HasField("killed") else None,
                     m.isolated if m.HasField("isolated") else None, m.active_sessions, m.in_latest_status,
                     [budget_view(b) for b in m.budgets], [credential_view(c) for c in m.credentials])


def apply_view(m: pb.Apply) -> ApplyView:
    first_seen = moment(m, "first_seen_at")
    if first_seen is None:
        raise ValueError("the fleet service sent an Apply without first_seen_at")
    return ApplyView(m.stack_id, m.commit, moment(m, "applied_at"), m.operator, m.summary, m.branch,
                     m.policy_version, m.commit_url, first_seen, m.text_sha256)


def config_text(m: pb.ConfigText) -> ConfigText:
    first_seen = moment(m, "first_seen_at")
    if first_seen is None:
        raise ValueError("the fleet service sent a ConfigText without first_seen_at")
    return ConfigText(m.sha256, m.text, first_seen)


def provider_view(m: pb.Provider) -> ProviderView:
    return ProviderView(m.stack_id, m.name, m.version, list(m.capabilities), m.health, m.health_message,
                        moment(m, "last_success_at"), moment(m, "identity_verified_at"))


def burn(m: pb.StackBurn) -> StackBurn:
    return StackBurn(m.stack_id, m.name, m.spent_usd, m.ceiling_usd)


class FleetQueryClient:
    """``FleetReads`` (``gateway/web/fleet_ports.py``) over the fleet service's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._rpc = InternalClient(SERVER, address, tls, query_pb2_grpc.FleetQueryServiceStub, timeout_s)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def stacks(self, org_id: str, now: datetime | None = None) -> list[StackView]:
        response = await self._rpc.call("ListStacks", pb.ListStacksRequest(org_id=org_id, now=timestamp(now)))
        return [stack_view(s) for s in response.stacks]

    async def stack(self, org_id: str, stack_id: str, now: datetime | None = None) -> StackView | None:
        response = await self._rpc.call("GetStack", pb.GetStackRequest(org_id=org_id, stack_id=stack_id,
                                                                      now=timestamp(now)))
        return stack_view(response.stack) if response.HasField("stack") else None

    async def agents(self, org_id: str, stack_id: str) -> list[AgentView]:
        response = await self._rpc.call("ListAgents", pb.ListAgentsRequest(org_id=org_id, stack_id=stack_id))
        return [agent_view(a) for a in response.agents]

    async def agent(self, org_id: str, stack_id: str, agent_id: str) -> AgentView | None:
        response = await self._rpc.call("GetAgent", pb.GetAgentRequest(org_id=org_id, stack_id=stack_id,
                                                                       agent_id=agent_id))
        return agent_view(response.agent) if response.HasField("agent") else None

    async def apply_history(self, org_id: str, stack_id: str) -> list[ApplyView]:
        response = await self._rpc.call("ListApplies", pb.ListAppliesRequest(org_id=org_id, stack_id=stack_id))
        return [apply_view(a) for a in response.applies]

    async def config_text(self, org_id: str, stack_id: str, sha256: str) -> ConfigText | None:
        response = await self._rpc.call("GetConfigText", pb.GetConfigTextRequest(org_id=org_id, stack_id=stack_id,
                                                                                 sha256=sha256))
        return config_text(response.text) if response.HasField("text") else None

    async def providers(self, org_id: str, stack_id: str) -> list[ProviderView]:
        response = await self._rpc.call("ListProviders", pb.ListProvidersRequest(org_id=org_id, stack_id=stack_id))
        return [provider_view(p) for p in response.providers]

    async def budgets_near_ceiling(self, org_id: str, within: float = 0.10) -> list[BudgetView]:
        response = await self._rpc.call("ListBudgetsNearCeiling",
                                         pb.ListBudgetsNearCeilingRequest(org_id=org_id, within=within))
        return [budget_view(b) for b in response.budgets]

    async def credentials_expiring(self, org_id: str, now: datetime | None = None,
                                   within: timedelta = timedelta(hours=24)) -> list[CredentialView]:
        response = await self._rpc.call("ListExpiringCredentials", pb.ListExpiringCredentialsRequest(
            org_id=org_id, now=timestamp(now), within=duration(within)))
        return [credential_view(c) for c in response.credentials]

    async def budget_burn(self, org_id: str) -> list[StackBurn]:
        response = await self._rpc.call("ListBudgetBurn", pb.ListBudgetBurnRequest(org_id=org_id))
        return [burn(b) for b in response.burns]

    async def contact(self, org_id: str, stack_id: str, start_ns: int, end_ns: int) -> list[ContactMinute]:
        response = await self._rpc.call("ListContact", pb.ListContactRequest(
            org_id=org_id, stack_id=stack_id, start_ns=start_ns, end_ns=end_ns))
        return [ContactMinute(m.minute_ns, m.items) for m in response.minutes]
