"""The fleet's git integrations over its internal gRPC API (``GitService``): the gateway's
``GitPort`` when the fleet runs in another process (``serve gateway``), over mutual TLS with
the gateway's certificate. It answers as :class:`~faramesh_cloud.fleet.git_api.GitIntegrations`
does, with the same values and refusals (``tests/contracts/test_git_api_contract.py``):
``InvalidGit`` (INVALID_ARGUMENT), ``GitConflict`` (FAILED_PRECONDITION), ``LookupError``
(NOT_FOUND); the fleet down or slow: ``ServiceUnavailable`` (the gateway's 503)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import grpc
from faramesh_cloud_api.fleet.v1 import git_pb2 as pb
from faramesh_cloud_api.fleet.v1 import git_pb2_grpc

from faramesh_cloud.fleet.git_api import GitConflict, InvalidGit
from faramesh_cloud.fleet.git_drift import Comparison, DriftState, GitConnection, GitMapping
from faramesh_cloud.fleet.git_providers import DEFAULT_BASES, LABELS, Provider
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "fleet"
REFUSALS: Final = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidGit,
    grpc.StatusCode.FAILED_PRECONDITION: GitConflict,
    grpc.StatusCode.NOT_FOUND: LookupError,
}
CHECK_TIMEOUT_S: Final = 30.0  # a map or a check waits on the provider (10 s per request, two requests)


def _at(m: Any, name: str) -> Any:
    at = moment(m, name)
    if at is None:
        raise ValueError(f"the fleet sent a {type(m).__name__} without {name}")
    return at


def connection(m: pb.GitConnection) -> GitConnection:
    return GitConnection(m.connection_id, m.org_id, m.name, Provider(m.provider), m.base_url, m.username,
                         m.token_hint, _at(m, "created_at"), m.created_by)


def mapping(m: pb.GitMapping) -> GitMapping:
    return GitMapping(m.stack_id, m.connection_id, m.connection, Provider(m.provider), m.base_url, m.repository,
                      m.path, m.branch, _at(m, "mapped_at"), m.mapped_by)


def drift(m: pb.GitDrift) -> DriftState:
    return DriftState(m.stack_id, Provider(m.provider), m.repository, m.path, m.branch, moment(m, "checked_at"),
                      m.head_commit, m.head_url, m.error, m.applied_commit, m.applied_sha256,
                      Comparison(m.status, tuple(m.diff), m.added, m.removed, m.diff_truncated))


def actor_message(actor: Actor) -> pb.GitActor:
    return pb.GitActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


class GitClient:
    """``GitPort`` (``gateway/web/git_ports.py``) over the fleet's internal API."""

    providers = tuple(Provider)
    labels = LABELS
    defaults = DEFAULT_BASES

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        refusals: Mapping[grpc.StatusCode, Any] = REFUSALS
        self._rpc = InternalClient(SERVER, address, tls, git_pb2_grpc.GitServiceStub, timeout_s, refusals)

    async def close(self) -> None:
        await self._rpc.close()

    async def connections(self, org_id: str) -> list[GitConnection]:
        response = await self._rpc.call("ListConnections", pb.ListConnectionsRequest(org_id=org_id))
        return [connection(c) for c in response.connections]

    async def connect(self, org_id: str, name: str, provider: str, base_url: str, token: str, actor: Actor, *,
                      username: str = "") -> GitConnection:
        response = await self._rpc.call("Connect", pb.ConnectRequest(
            org_id=org_id, actor=actor_message(actor), name=name, provider=provider, base_url=base_url, token=token,
            username=username))
        return connection(response.connection)

    async def disconnect(self, org_id: str, connection_id: str, actor: Actor) -> GitConnection:
        response = await self._rpc.call("Disconnect", pb.DisconnectRequest(
            org_id=org_id, actor=actor_message(actor), connection_id=connection_id))
        return connection(response.connection)

    async def mappings(self, org_id: str) -> list[GitMapping]:
        response = await self._rpc.call("ListMappings", pb.ListMappingsRequest(org_id=org_id))
        return [mapping(m) for m in response.mappings]

    async def mapping(self, org_id: str, stack_id: str) -> GitMapping | None:
        return next((m for m in await self.mappings(org_id) if m.stack_id == stack_id), None)

    async def map_stack(self, org_id: str, stack_id: str, connection_id: str, repository: str, path: str,
                        branch: str, actor: Actor) -> GitMapping:
        response = await self._rpc.call("MapStack", pb.MapStackRequest(
            org_id=org_id, actor=actor_message(actor), stack_id=stack_id, connection_id=connection_id,
            repository=repository, path=path, branch=branch), timeout_s=CHECK_TIMEOUT_S)
        return mapping(response.mapping)

    async def unmap(self, org_id: str, stack_id: str, actor: Actor) -> GitMapping:
        response = await self._rpc.call("Unmap", pb.UnmapRequest(org_id=org_id, actor=actor_message(actor),
                                                                 stack_id=stack_id))
        return mapping(response.mapping)

    async def check(self, org_id: str, stack_id: str, actor: Actor | None = None) -> DriftState:
        request = pb.CheckRequest(org_id=org_id, stack_id=stack_id)
        if actor is not None:
            request.actor.CopyFrom(actor_message(actor))
        response = await self._rpc.call("Check", request, timeout_s=CHECK_TIMEOUT_S)
        return drift(response.drift)

    async def drifts(self, org_id: str) -> list[DriftState]:
        response = await self._rpc.call("ListDrifts", pb.ListDriftsRequest(org_id=org_id))
        return [drift(d) for d in response.drifts]

    async def drift(self, org_id: str, stack_id: str) -> DriftState | None:
        return next((d for d in await self.drifts(org_id) if d.stack_id == stack_id), None)
