"""The notifications service's internal gRPC client: the gateway's ``NotificationsPort`` over
``faramesh_cloud_api.notifications.v1.RoutingService``, over mutual TLS with the caller's own
service certificate (the notifications service admits only ``gateway``).

It answers exactly as :class:`~faramesh_cloud.notifications.api.NotificationsApi` does, with
the same values (``Destination``, ``Rule``, ``DeliveryView``) and the same refusals
(``tests/contracts/test_notifications_routing_contract.py`` holds both to one suite):
``InvalidRouting`` (INVALID_ARGUMENT), ``RoutingConflict`` (FAILED_PRECONDITION),
``LookupError`` (NOT_FOUND) and, while the service rebuilds from the log,
:class:`~faramesh_cloud.rpc.errors.ServiceBusy` with its Retry-After. When the service is
down, unreachable, slow (each call has a deadline) or refuses the caller:
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable`, which the gateway answers 503.

Secrets a person types travel in the create request only; nothing returned carries one but
a webhook's signing secret, shown once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import grpc
from faramesh_cloud_api.notifications.v1 import routing_pb2 as pb
from faramesh_cloud_api.notifications.v1 import routing_pb2_grpc

from faramesh_cloud.notifications.domain import (
    DeliveryView,
    Destination,
    InvalidRouting,
    Kind,
    RoutingConflict,
    Rule,
    Step,
    Subject,
)
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.wire import moment

SERVER: Final = "notifications"  # the identity the server's certificate must carry
REFUSALS: Final = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRouting,
    grpc.StatusCode.FAILED_PRECONDITION: RoutingConflict,
    grpc.StatusCode.NOT_FOUND: LookupError,
}


def destination(m: pb.Destination) -> Destination:
    return Destination(m.destination_id, m.org_id, m.name, Kind(m.kind), json.loads(m.config_json or "{}"),
                       moment(m, "created_at"), m.created_by)


def rule(m: pb.RoutingRule) -> Rule:
    return Rule(m.rule_id, m.org_id, m.stack_id, m.agent_id,
                tuple(Step(s.after_minutes, tuple(s.destination_ids), tuple(s.group_ids), s.group_email_destination_id)
                      for s in m.steps), moment(m, "updated_at"),
                Subject(m.subject))


def delivery(m: pb.Delivery) -> DeliveryView:
    created = moment(m, "created_at")
    if created is None:
        raise ValueError("the notifications service sent a Delivery without created_at")
    return DeliveryView(m.notification_id, m.destination_id, m.destination_name, m.event, m.stack_id,
                        m.defer_token, m.step, m.state, m.attempts,
                        m.last_status if m.HasField("last_status") else None, m.last_error, created,
                        moment(m, "delivered_at"))


def actor_message(actor: Actor) -> pb.RequestActor:
    return pb.RequestActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


def field_value(name: str, value: Any) -> pb.FieldValue:
    """What a person typed, in its type (text from forms; number, yes/no, list from the API)."""
    if isinstance(value, bool):
        return pb.FieldValue(flag=value)
    if isinstance(value, int):
        return pb.FieldValue(number=value)
    if isinstance(value, str):
        return pb.FieldValue(text=value)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return pb.FieldValue(texts=pb.TextList(items=list(value)))
    if value is None:
        return pb.FieldValue(text="")
    raise InvalidRouting(f"the field {name} takes text, a whole number, yes/no or a list of texts")


def step_input(index: int, raw: Any) -> pb.StepInput:
    """A step as the person gave it; the service checks it (the same words as in process)."""
    try:
        after, ids = raw["after_minutes"], raw["destinations"]
        return pb.StepInput(after_minutes=str(after), destination_ids=[str(d) for d in ids],
                            group_ids=[str(g) for g in raw.get("groups") or ()],
                            group_email_destination_id=str(raw.get("group_email") or ""))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidRouting(f"step {index + 1} needs after_minutes (a whole number) and destinations "
                             "(a list of destination ids)") from None


class NotificationsClient:
    """``NotificationsPort`` (``gateway/web/notifications_ports.py``) over the notifications
    service's internal API."""

    kinds: Sequence[Kind] = tuple(Kind)
    subjects: Sequence[Subject] = tuple(Subject)

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        refusals: Mapping[grpc.StatusCode, Any] = REFUSALS
        self._rpc = InternalClient(SERVER, address, tls, routing_pb2_grpc.RoutingServiceStub, timeout_s, refusals)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    # Destinations -------------------------------------------------------------------------
    async def destinations(self, org_id: str) -> list[Destination]:
        response = await self._rpc.call("ListDestinations", pb.ListDestinationsRequest(org_id=org_id))
        return [destination(d) for d in response.destinations]

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        response = await self._rpc.call("GetDestination", pb.GetDestinationRequest(
            org_id=org_id, destination_id=destination_id))
        return destination(response.destination)

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any],
                                 actor: Actor) -> tuple[Destination, dict[str, str]]:
        request = pb.CreateDestinationRequest(org_id=org_id, actor=actor_message(actor), name=name, kind=kind,
                                              fields={k: field_value(k, v) for k, v in fields.items()})
        response = await self._rpc.call("CreateDestination", request)
        return destination(response.destination), dict(response.shown_once)

    async def update_destination(self, org_id: str, destination_id: str, name: str, fields: dict[str, Any],
                                 actor: Actor) -> Destination:
        response = await self._rpc.call("UpdateDestination", pb.UpdateDestinationRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id, name=name,
            fields={k: field_value(k, v) for k, v in fields.items()}))
        return destination(response.destination)

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        response = await self._rpc.call("DeleteDestination", pb.DeleteDestinationRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id))
        return destination(response.destination)

    async def rotate_secret(self, org_id: str, destination_id: str, overlap_s: int,
                            actor: Actor) -> tuple[Destination, str]:
        response = await self._rpc.call("RotateDestinationSecret", pb.RotateDestinationSecretRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id, overlap_s=overlap_s))
        return destination(response.destination), response.signing_secret

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str:
        response = await self._rpc.call("TestDestination", pb.TestDestinationRequest(
            org_id=org_id, actor=actor_message(actor), destination_id=destination_id))
        reference: str = response.reference
        return reference

    # Rules --------------------------------------------------------------------------------
    async def rules(self, org_id: str, *, stack_id: str | None = None) -> list[Rule]:
        response = await self._rpc.call("ListRoutingRules", pb.ListRoutingRulesRequest(org_id=org_id,
                                                                                       stack_id=stack_id))
        return [rule(r) for r in response.rules]

    async def rule(self, org_id: str, rule_id: str) -> Rule:
        response = await self._rpc.call("GetRoutingRule", pb.GetRoutingRuleRequest(org_id=org_id, rule_id=rule_id))
        return rule(response.rule)

    async def put_rule(self, org_id: str, stack_id: str, agent_id: str, steps: Sequence[Any], actor: Actor,
                       subject: str = Subject.APPROVALS.value) -> Rule:
        request = pb.SetRoutingRuleRequest(org_id=org_id, actor=actor_message(actor), subject=subject,
                                           stack_id=stack_id, agent_id=agent_id,
                                           steps=[step_input(i, s) for i, s in enumerate(steps)])
        response = await self._rpc.call("SetRoutingRule", request)
        return rule(response.rule)

    async def delete_rule(self, org_id: str, rule_id: str, actor: Actor) -> Rule:
        response = await self._rpc.call("DeleteRoutingRule", pb.DeleteRoutingRuleRequest(
            org_id=org_id, actor=actor_message(actor), rule_id=rule_id))
        return rule(response.rule)

    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> list[DeliveryView]:
        response = await self._rpc.call("ListDeliveries", pb.ListDeliveriesRequest(org_id=org_id, stack_id=stack_id,
                                                                                   limit=limit))
        return [delivery(d) for d in response.deliveries]

    async def slack_call(self, org_id: str, team_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        response = await self._rpc.call("SlackCall", pb.SlackCallRequest(
            org_id=org_id, team_id=team_id, method=method, args_json=json.dumps(args, separators=(",", ":"))))
        answer: dict[str, Any] = json.loads(response.answer_json)
        return answer
