"""The fleet service's internal gRPC API (``faramesh_cloud_api.fleet.v1``,
``FleetQueryService``): the gateway's reads of Home and Fleet, answered by :class:`FleetQuery`.

This module is the edge: requests become ``FleetQuery`` calls (Python values), the views it
returns become messages; nothing else in the service imports generated code. Served over
mutual TLS; only the ``gateway`` service may call it (the organisation in a request is
whatever the gateway's signed-in member belongs to, so no other caller may name one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from faramesh_cloud_api.fleet.v1 import query_pb2 as pb
from faramesh_cloud_api.fleet.v1 import query_pb2_grpc

from faramesh_cloud.fleet import git_servicer
from faramesh_cloud.fleet.domain import (
    AgentView,
    ApplyView,
    BudgetView,
    ConfigText,
    CredentialView,
    InvalidQuery,
    ProviderView,
    StackBurn,
    StackView,
)
from faramesh_cloud.fleet.git_api import GitIntegrations
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.wire import moment, span, timestamp

FLEET_QUERY: Final = pb.DESCRIPTOR.services_by_name["FleetQueryService"].full_name
CALLERS: Final = frozenset({"gateway"})  # the only service that reads the fleet for people
# compliance reads each stack's applied governance.fms (its enforced policy), the registry its
# imports (pack version alerts), nothing else
POLICY_CALLERS: Final = frozenset({"compliance", "registry"})
POLICY_METHODS: Final = ("ListStacks", "GetConfigText")

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")


def stack_message(v: StackView) -> pb.Stack:
    return pb.Stack(
        stack_id=v.stack_id, name=v.name, environment=v.environment, last_seen_at=timestamp(v.last_seen_at),
        sync_status=v.sync_status, health=v.health, daemon_version=v.daemon_version, platform=v.platform,
        framework=v.framework, runtime_mode=v.runtime_mode, enforcement_layers=v.enforcement_layers,
        last_apply_at=timestamp(v.last_apply_at), commit=v.commit, commit_url=v.commit_url,
        applied_operator=v.applied_operator, applied_summary=v.applied_summary, applied_branch=v.applied_branch,
        applied_remote=v.applied_remote, policy_version=v.policy_version, governance_sha256=v.governance_sha256,
        config_text_sha256=v.config_text_sha256, config_sha_mismatch=v.config_sha_mismatch, uptime_s=v.uptime_s,
        lifecycle=v.lifecycle, active_sessions=v.active_sessions, agent_count=v.agent_count,
        unavailable_backends=v.unavailable_backends, status_observed_at=timestamp(v.status_observed_at))


def budget_message(v: BudgetView) -> pb.Budget:
    return pb.Budget(stack_id=v.stack_id, agent_id=v.agent_id, scope=v.scope, session_id=v.session_id,
                     spent_usd=v.spent_usd, ceiling_usd=v.ceiling_usd, observed_at=timestamp(v.observed_at))


def credential_message(v: CredentialView) -> pb.Credential:
    return pb.Credential(stack_id=v.stack_id, agent_id=v.agent_id, credential_key=v.credential_key, source=v.source,
                         scope=v.scope, expires_at=timestamp(v.expires_at), event=v.event,
                         observed_at=timestamp(v.observed_at))


def agent_message(v: AgentView) -> pb.Agent:
    return pb.Agent(stack_id=v.stack_id, agent_id=v.agent_id, killed=v.killed, isolated=v.isolated,
                    active_sessions=v.active_sessions, in_latest_status=v.in_latest_status,
                    budgets=[budget_message(b) for b in v.budgets],
                    credentials=[credential_message(c) for c in v.credentials])


def apply_message(v: ApplyView) -> pb.Apply:
    return pb.Apply(stack_id=v.stack_id, commit=v.commit, applied_at=timestamp(v.applied_at), operator=v.operator,
                    summary=v.summary, branch=v.branch, policy_version=v.policy_version, commit_url=v.commit_url,
                    first_seen_at=timestamp(v.first_seen_at), text_sha256=v.text_sha256)


def config_text_message(v: ConfigText) -> pb.ConfigText:
    return pb.ConfigText(sha256=v.sha256, text=v.text, first_seen_at=timestamp(v.first_seen_at))


def provider_message(v: ProviderView) -> pb.Provider:
    return pb.Provider(stack_id=v.stack_id, name=v.name, version=v.version, capabilities=v.capabilities,
                       health=v.health, health_message=v.health_message,
                       last_success_at=timestamp(v.last_success_at),
                       identity_verified_at=timestamp(v.identity_verified_at))


def burn_message(v: StackBurn) -> pb.StackBurn:
    return pb.StackBurn(stack_id=v.stack_id, name=v.name, spent_usd=v.spent_usd, ceiling_usd=v.ceiling_usd)


async def _answer(context: Context, read: Callable[[], Awaitable[T]]) -> T:
    """``read()``, with a refused query answered INVALID_ARGUMENT and its reason."""
    try:
        return await read()
    except InvalidQuery as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        raise  # abort raises; this keeps type checkers informed


class FleetQueryServicer(query_pb2_grpc.FleetQueryServiceServicer):
    def __init__(self, query: FleetQuery) -> None:
        self._query = query

    async def ListStacks(self, request: pb.ListStacksRequest, context: Context) -> pb.ListStacksResponse:
        views = await _answer(context, lambda: self._query.stacks(request.org_id, moment(request, "now")))
        return pb.ListStacksResponse(stacks=[stack_message(v) for v in views])

    async def GetStack(self, request: pb.GetStackRequest, context: Context) -> pb.GetStackResponse:
        view = await _answer(context, lambda: self._query.stack(request.org_id, request.stack_id,
                                                                 moment(request, "now")))
        return pb.GetStackResponse(stack=stack_message(view) if view is not None else None)

    async def ListAgents(self, request: pb.ListAgentsRequest, context: Context) -> pb.ListAgentsResponse:
        views = await _answer(context, lambda: self._query.agents(request.org_id, request.stack_id))
        return pb.ListAgentsResponse(agents=[agent_message(v) for v in views])

    async def GetAgent(self, request: pb.GetAgentRequest, context: Context) -> pb.GetAgentResponse:
        view = await _answer(context, lambda: self._query.agent(request.org_id, request.stack_id, request.agent_id))
        return pb.GetAgentResponse(agent=agent_message(view) if view is not None else None)

    async def ListApplies(self, request: pb.ListAppliesRequest, context: Context) -> pb.ListAppliesResponse:
        views = await _answer(context, lambda: self._query.apply_history(request.org_id, request.stack_id))
        return pb.ListAppliesResponse(applies=[apply_message(v) for v in views])

    async def GetConfigText(self, request: pb.GetConfigTextRequest, context: Context) -> pb.GetConfigTextResponse:
        text = await _answer(context, lambda: self._query.config_text(request.org_id, request.stack_id,
                                                                       request.sha256))
        return pb.GetConfigTextResponse(text=config_text_message(text) if text is not None else None)

    async def ListProviders(self, request: pb.ListProvidersRequest, context: Context) -> pb.ListProvidersResponse:
        views = await _answer(context, lambda: self._query.providers(request.org_id, request.stack_id))
        return pb.ListProvidersResponse(providers=[provider_message(v) for v in views])

    async def ListBudgetsNearCeiling(self, request: pb.ListBudgetsNearCeilingRequest,
                                     context: Context) -> pb.ListBudgetsNearCeilingResponse:
        within = request.within if request.HasField("within") else None
        views = await _answer(context, lambda: self._query.budgets_near_ceiling(request.org_id, within)
                              if within is not None else self._query.budgets_near_ceiling(request.org_id))
        return pb.ListBudgetsNearCeilingResponse(budgets=[budget_message(v) for v in views])

    async def ListExpiringCredentials(self, request: pb.ListExpiringCredentialsRequest,
                                      context: Context) -> pb.ListExpiringCredentialsResponse:
        within = span(request, "within")
        now = moment(request, "now")
        views = await _answer(context, lambda: self._query.credentials_expiring(request.org_id, now, within)
                              if within is not None else self._query.credentials_expiring(request.org_id, now))
        return pb.ListExpiringCredentialsResponse(credentials=[credential_message(v) for v in views])

    async def ListBudgetBurn(self, request: pb.ListBudgetBurnRequest, context: Context) -> pb.ListBudgetBurnResponse:
        views = await _answer(context, lambda: self._query.budget_burn(request.org_id))
        return pb.ListBudgetBurnResponse(burns=[burn_message(v) for v in views])

    async def ListContact(self, request: pb.ListContactRequest, context: Context) -> pb.ListContactResponse:
        minutes = await _answer(context, lambda: self._query.contact(request.org_id, request.stack_id,
                                                                     request.start_ns, request.end_ns))
        return pb.ListContactResponse(minutes=[pb.ContactMinute(minute_ns=m.minute_ns, items=m.items)
                                               for m in minutes])


def internal_server(query: FleetQuery, address: str, tls: ServiceCredentials,
                    git: GitIntegrations | None = None) -> InternalServer:
    """The fleet service's internal server on ``address`` (mutual TLS, ``gateway`` only), with
    the git integrations' ``GitService`` beside the query API when ``git`` is given."""
    def register(server: grpc.aio.Server) -> None:
        query_pb2_grpc.add_FleetQueryServiceServicer_to_server(FleetQueryServicer(query), server)
        if git is not None:
            git_servicer.register(server, git)

    allowed = {FLEET_QUERY: CALLERS, **{f"{FLEET_QUERY}/{m}": POLICY_CALLERS for m in POLICY_METHODS}}
    if git is not None:
        allowed[git_servicer.GIT] = git_servicer.CALLERS
    return InternalServer(tls, address, allowed, register)
