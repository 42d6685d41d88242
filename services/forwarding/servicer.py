"""The forwarding service's internal gRPC API (``faramesh_cloud_api.forwarding.v1``,
``ForwardingService``): what people do with observability forwarding, answered by
:class:`ForwardingApi`.

This module is the edge: requests become ``ForwardingApi`` calls, the values it returns
become messages; nothing else in the service imports generated code for this API. Refusals
keep their meaning on the wire: ``ForwardingConflict`` is FAILED_PRECONDITION,
``InvalidForwarding`` INVALID_ARGUMENT, ``LookupError`` NOT_FOUND. Served over mutual TLS;
only the ``gateway`` service may call it (the organisation and actor of a request are whoever
the gateway signed in and checked)."""

from __future__ import annotations

import json
from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.forwarding.v1 import forwarding_pb2 as pb
from faramesh_cloud_api.forwarding.v1 import forwarding_pb2_grpc

from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.domain import (
    DeliveryView,
    Destination,
    ForwardingConflict,
    InvalidForwarding,
)
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.servicing import Context
from faramesh_cloud.rpc.wire import timestamp

FORWARDING: Final = pb.DESCRIPTOR.services_by_name["ForwardingService"].full_name
CALLERS: Final = frozenset({"gateway"})


def destination_message(d: Destination) -> pb.Destination:
    return pb.Destination(destination_id=d.destination_id, org_id=d.org_id, name=d.name, kind=d.kind.value,
                          config_json=json.dumps(d.config, sort_keys=True), forward_dprs=d.forward_dprs,
                          forward_metrics=d.forward_metrics, created_at=timestamp(d.created_at),
                          created_by=d.created_by)


def delivery_message(d: DeliveryView) -> pb.Delivery:
    return pb.Delivery(destination_id=d.destination_id, destination_name=d.destination, at=timestamp(d.at),
                       items=d.items, outcome=d.outcome, attempts=d.attempts, http_status=d.http_status,
                       error=d.error)


EDGE: Final = servicing.Edge(InvalidForwarding, ((ForwardingConflict, grpc.StatusCode.FAILED_PRECONDITION),
                                                 (InvalidForwarding, grpc.StatusCode.INVALID_ARGUMENT)))


class ForwardingServicer(forwarding_pb2_grpc.ForwardingServiceServicer):
    def __init__(self, api: ForwardingApi) -> None:
        self._api = api

    async def ListDestinations(self, request: pb.ListDestinationsRequest,
                               context: Context) -> pb.ListDestinationsResponse:
        found = await EDGE.answer(context, lambda: self._api.destinations(EDGE.org(request.org_id)))
        return pb.ListDestinationsResponse(destinations=[destination_message(d) for d in found])

    async def GetDestination(self, request: pb.GetDestinationRequest, context: Context) -> pb.GetDestinationResponse:
        found = await EDGE.answer(context, lambda: self._api.destination(EDGE.org(request.org_id),
                                                                         request.destination_id))
        return pb.GetDestinationResponse(destination=destination_message(found))

    async def CreateDestination(self, request: pb.CreateDestinationRequest,
                                context: Context) -> pb.CreateDestinationResponse:
        made = await EDGE.answer(context, lambda: self._api.create_destination(
            EDGE.org(request.org_id), request.name, request.kind, dict(request.fields), EDGE.actor(request),
            forward_dprs=request.forward_dprs, forward_metrics=request.forward_metrics))
        return pb.CreateDestinationResponse(destination=destination_message(made))

    async def DeleteDestination(self, request: pb.DeleteDestinationRequest,
                                context: Context) -> pb.DeleteDestinationResponse:
        gone = await EDGE.answer(context, lambda: self._api.delete_destination(
            EDGE.org(request.org_id), request.destination_id, EDGE.actor(request)))
        return pb.DeleteDestinationResponse(destination=destination_message(gone))

    async def TestDestination(self, request: pb.TestDestinationRequest,
                              context: Context) -> pb.TestDestinationResponse:
        result = await EDGE.answer(context, lambda: self._api.test_destination(
            EDGE.org(request.org_id), request.destination_id, EDGE.actor(request)))
        return pb.TestDestinationResponse(result=result)

    async def GetBacklog(self, request: pb.GetBacklogRequest, context: Context) -> pb.GetBacklogResponse:
        waiting = await EDGE.answer(context, lambda: self._api.backlog(EDGE.org(request.org_id)))
        return pb.GetBacklogResponse(waiting=waiting)

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Context) -> pb.ListDeliveriesResponse:
        lines = await EDGE.answer(context, lambda: self._api.deliveries(EDGE.org(request.org_id),
                                                                        limit=request.limit or 50))
        return pb.ListDeliveriesResponse(deliveries=[delivery_message(d) for d in lines])


def internal_server(api: ForwardingApi, address: str, tls: ServiceCredentials) -> InternalServer:
    """The forwarding service's internal server on ``address`` (mutual TLS, ``gateway`` only)."""
    def register(server: grpc.aio.Server) -> None:
        forwarding_pb2_grpc.add_ForwardingServiceServicer_to_server(ForwardingServicer(api), server)

    return InternalServer(tls, address, {FORWARDING: CALLERS}, register)
