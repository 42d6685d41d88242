"""The forwarding service's internal gRPC client: the gateway's ``ForwardingPort`` over
``faramesh_cloud_api.forwarding.v1.ForwardingService``, over mutual TLS with the caller's own
certificate (the service admits only ``gateway``). It answers as
:class:`~faramesh_cloud.forwarding.api.ForwardingApi` does, with the same values and refusals
(``tests/contracts/test_forwarding_api_contract.py``): ``InvalidForwarding``
(INVALID_ARGUMENT), ``ForwardingConflict`` (FAILED_PRECONDITION), ``LookupError``
(NOT_FOUND); the service down, slow or refusing the caller:
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` (the gateway's 503)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import grpc
from faramesh_cloud_api.forwarding.v1 import forwarding_pb2 as pb
from faramesh_cloud_api.forwarding.v1 import forwarding_pb2_grpc

from faramesh_cloud.forwarding.domain import (
    LABELS,
    DeliveryView,
    Destination,
    ForwardingConflict,
    InvalidForwarding,
    Kind,
)
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "forwarding"
REFUSALS: Final = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidForwarding,
    grpc.StatusCode.FAILED_PRECONDITION: ForwardingConflict,
    grpc.StatusCode.NOT_FOUND: LookupError,
}


def destination(m: pb.Destination) -> Destination:
    created = moment(m, "created_at")
    if created is None:
        raise ValueError("the forwarding service sent a Destination without created_at")
    return Destination(m.destination_id, m.org_id, m.name, Kind(m.kind), json.loads(m.config_json or "{}"),
                       m.forward_dprs, m.forward_metrics, created, m.created_by)


def delivery(m: pb.Delivery) -> DeliveryView:
    at = moment(m, "at")
    if at is None:
        raise ValueError("the forwarding service sent a Delivery without its time")
    return DeliveryView(m.destination_id, m.destination_name, at, m.items, m.outcome, m.attempts,
                        m.http_status if m.HasField("http_status") else None, m.error)


def actor_message(actor: Actor) -> pb.RequestActor:
    return pb.RequestActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


class ForwardingClient:
    """``ForwardingPort`` (``gateway/web/forwarding_ports.py``) over the service's internal API."""

    kinds: Sequence[Kind] = tuple(Kind)
    labels = LABELS

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        refusals: Mapping[grpc.StatusCode, Any] = REFUSALS
        self._rpc = InternalClient(SERVER, address, tls, forwarding_pb2_grpc.ForwardingServiceStub, timeout_s,
                                   refusals)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def destinations(self, org_id: str) -> list[Destination]:
        response = await self._rpc.call("ListDestinations", pb.ListDestinationsRequest(org_id=org_id))
        return [destination(d) for d in response.destinations]

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        response = await self._rpc.call("GetDestination", pb.GetDestinationRequest(
            org_id=org_id, destination_id=destination_id))
        return destination(response.destination)

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any], actor: Actor, *,
                                 forward_dprs: bool = True, forward_metrics: bool = True) -> Destination:
        request = pb.CreateDestinationRequest(org_id=org_id, actor=actor_message(actor), name=name, kind=kind,
                                              fields={k: "" if v is None else str(v) for k, v in fields.items()},
                                              forward_dprs=forward_dprs, forward_metrics=forward_metrics)
        return destination((await self._rpc.call("CreateDestination", request)).destination)

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        response = await self._rpc.call("DeleteDestination", pb.DeleteDestinationRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id))
        return destination(response.destination)

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str:
        response = await self._rpc.call("TestDestination", pb.TestDestinationRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id), timeout_s=30.0)
        result: str = response.result
        return result

    async def backlog(self, org_id: str) -> dict[str, int]:
        response = await self._rpc.call("GetBacklog", pb.GetBacklogRequest(org_id=org_id))
        return {k: int(v) for k, v in response.waiting.items()}

    async def deliveries(self, org_id: str, *, limit: int = 50) -> list[DeliveryView]:
        response = await self._rpc.call("ListDeliveries", pb.ListDeliveriesRequest(org_id=org_id, limit=limit))
        return [delivery(d) for d in response.deliveries]
