"""The fleet's git integrations as an internal gRPC API (``faramesh_cloud_api.fleet.v1``,
``GitService``, on the fleet service's server beside ``FleetQueryService``), answered by
:class:`~faramesh_cloud.fleet.git_api.GitIntegrations`.

The edge: requests become ``GitIntegrations`` calls and its values become messages (nothing
else of the git integrations imports generated code). Refusals keep their meaning on the wire:
``GitConflict`` is FAILED_PRECONDITION, ``InvalidGit`` INVALID_ARGUMENT, ``LookupError``
NOT_FOUND. Only the ``gateway`` service may call it."""

from __future__ import annotations

from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.fleet.v1 import git_pb2 as pb
from faramesh_cloud_api.fleet.v1 import git_pb2_grpc

from faramesh_cloud.fleet.git_api import GitConflict, GitIntegrations, InvalidGit
from faramesh_cloud.fleet.git_drift import DriftState, GitConnection, GitMapping
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.servicing import Context
from faramesh_cloud.rpc.wire import timestamp

GIT: Final = pb.DESCRIPTOR.services_by_name["GitService"].full_name
CALLERS: Final = frozenset({"gateway"})
EDGE: Final = servicing.Edge(InvalidGit, ((GitConflict, grpc.StatusCode.FAILED_PRECONDITION),
                                          (InvalidGit, grpc.StatusCode.INVALID_ARGUMENT)))


def connection_message(c: GitConnection) -> pb.GitConnection:
    return pb.GitConnection(connection_id=c.connection_id, org_id=c.org_id, name=c.name, provider=c.provider.value,
                            base_url=c.base_url, username=c.username, token_hint=c.token_hint,
                            created_at=timestamp(c.created_at), created_by=c.created_by)


def mapping_message(m: GitMapping) -> pb.GitMapping:
    return pb.GitMapping(stack_id=m.stack_id, connection_id=m.connection_id, connection=m.connection,
                         provider=m.provider.value, base_url=m.base_url, repository=m.repository, path=m.path,
                         branch=m.branch, mapped_at=timestamp(m.mapped_at), mapped_by=m.mapped_by)


def drift_message(d: DriftState) -> pb.GitDrift:
    c = d.comparison
    message = pb.GitDrift(stack_id=d.stack_id, provider=d.provider.value, repository=d.repository, path=d.path,
                          branch=d.branch, head_commit=d.head_commit, head_url=d.head_url, error=d.error,
                          applied_commit=d.applied_commit, applied_sha256=d.applied_sha256, status=c.status,
                          diff=list(c.diff), diff_truncated=c.truncated, added=c.added, removed=c.removed)
    if d.checked_at is not None:
        message.checked_at.CopyFrom(timestamp(d.checked_at))
    return message


class GitServicer(git_pb2_grpc.GitServiceServicer):
    def __init__(self, api: GitIntegrations) -> None:
        self._api = api

    async def ListConnections(self, request: pb.ListConnectionsRequest, context: Context) -> pb.ListConnectionsResponse:
        found = await EDGE.answer(context, lambda: self._api.connections(EDGE.org(request.org_id)))
        return pb.ListConnectionsResponse(connections=[connection_message(c) for c in found])

    async def Connect(self, request: pb.ConnectRequest, context: Context) -> pb.ConnectResponse:
        made = await EDGE.answer(context, lambda: self._api.connect(
            EDGE.org(request.org_id), request.name, request.provider, request.base_url, request.token,
            EDGE.actor(request), username=request.username))
        return pb.ConnectResponse(connection=connection_message(made))

    async def Disconnect(self, request: pb.DisconnectRequest, context: Context) -> pb.DisconnectResponse:
        gone = await EDGE.answer(context, lambda: self._api.disconnect(
            EDGE.org(request.org_id), request.connection_id, EDGE.actor(request)))
        return pb.DisconnectResponse(connection=connection_message(gone))

    async def ListMappings(self, request: pb.ListMappingsRequest, context: Context) -> pb.ListMappingsResponse:
        found = await EDGE.answer(context, lambda: self._api.mappings(EDGE.org(request.org_id)))
        return pb.ListMappingsResponse(mappings=[mapping_message(m) for m in found])

    async def MapStack(self, request: pb.MapStackRequest, context: Context) -> pb.MapStackResponse:
        mapped = await EDGE.answer(context, lambda: self._api.map_stack(
            EDGE.org(request.org_id), request.stack_id, request.connection_id, request.repository, request.path,
            request.branch, EDGE.actor(request)))
        return pb.MapStackResponse(mapping=mapping_message(mapped))

    async def Unmap(self, request: pb.UnmapRequest, context: Context) -> pb.UnmapResponse:
        gone = await EDGE.answer(context, lambda: self._api.unmap(EDGE.org(request.org_id), request.stack_id,
                                                                  EDGE.actor(request)))
        return pb.UnmapResponse(mapping=mapping_message(gone))

    async def Check(self, request: pb.CheckRequest, context: Context) -> pb.CheckResponse:
        state = await EDGE.answer(context, lambda: self._api.check(EDGE.org(request.org_id), request.stack_id,
                                                                   EDGE.actor(request)))
        return pb.CheckResponse(drift=drift_message(state))

    async def ListDrifts(self, request: pb.ListDriftsRequest, context: Context) -> pb.ListDriftsResponse:
        found = await EDGE.answer(context, lambda: self._api.drifts(EDGE.org(request.org_id)))
        return pb.ListDriftsResponse(drifts=[drift_message(d) for d in found])


def register(server: grpc.aio.Server, api: GitIntegrations) -> None:
    git_pb2_grpc.add_GitServiceServicer_to_server(GitServicer(api), server)
