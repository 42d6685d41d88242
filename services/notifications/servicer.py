"""The notifications service's internal gRPC API (``faramesh_cloud_api.notifications.v1``,
``RoutingService``): what people do with notifications, answered by :class:`NotificationsApi`
(the service's own command handlers and reads).

This module is the edge: requests become ``NotificationsApi`` calls (Python values), the
values it returns become messages; nothing else in the service imports generated code.
Refusals keep their meaning on the wire (``routing.proto`` lists them): ``InvalidRouting``
is INVALID_ARGUMENT, ``RoutingConflict`` FAILED_PRECONDITION, ``LookupError`` NOT_FOUND,
``CatchingUp`` UNAVAILABLE with ``retry-after``. Served over mutual TLS; only the
``gateway`` service may call it (the organisation and actor in a request are whoever the
gateway signed in and checked, so no other caller may name them)."""

from __future__ import annotations

import json
from typing import Any, Final

import grpc
import grpc.aio
from faramesh_cloud_api.notifications.v1 import events_pb2, routing_pb2_grpc
from faramesh_cloud_api.notifications.v1 import routing_pb2 as pb

from faramesh_cloud.notifications.api import NotificationsApi
from faramesh_cloud.notifications.domain import (
    DeliveryView,
    Destination,
    InvalidRouting,
    RoutingConflict,
    Rule,
)
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.servicing import Context
from faramesh_cloud.rpc.wire import timestamp

ROUTING: Final = pb.DESCRIPTOR.services_by_name["RoutingService"].full_name
CALLERS: Final = frozenset({"gateway"})  # the only service that acts for people


def destination_message(d: Destination) -> pb.Destination:
    return pb.Destination(destination_id=d.destination_id, org_id=d.org_id, name=d.name, kind=d.kind.value,
                          config_json=json.dumps(d.config, sort_keys=True), created_at=timestamp(d.created_at),
                          created_by=d.created_by)


def rule_message(r: Rule) -> pb.RoutingRule:
    return pb.RoutingRule(rule_id=r.rule_id, org_id=r.org_id, subject=r.subject.value, stack_id=r.stack_id,
                          agent_id=r.agent_id, updated_at=timestamp(r.updated_at),
                          steps=[events_pb2.EscalationStep(after_minutes=s.after_minutes,
                                                           destination_ids=list(s.destinations),
                                                           group_ids=list(s.groups),
                                                           group_email_destination_id=s.group_email)
                                 for s in r.steps])


def delivery_message(d: DeliveryView) -> pb.Delivery:
    return pb.Delivery(notification_id=d.notification_id, destination_id=d.destination_id,
                       destination_name=d.destination_name, event=d.event, stack_id=d.stack_id,
                       defer_token=d.defer_token, step=d.step, state=d.state, attempts=d.attempts,
                       last_status=d.last_status, last_error=d.last_error, created_at=timestamp(d.created_at),
                       delivered_at=timestamp(d.delivered_at))


def field_value(v: pb.FieldValue) -> Any:
    which = v.WhichOneof("value")
    if which == "texts":
        return list(v.texts.items)
    if which is None:
        return ""
    return getattr(v, which)


def step_input(s: pb.StepInput) -> dict[str, Any]:
    return {"after_minutes": s.after_minutes, "destinations": list(s.destination_ids), "groups": list(s.group_ids),
            "group_email": s.group_email_destination_id}


EDGE: Final = servicing.Edge(InvalidRouting, ((RoutingConflict, grpc.StatusCode.FAILED_PRECONDITION),
                                              (InvalidRouting, grpc.StatusCode.INVALID_ARGUMENT)))


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, api: NotificationsApi) -> None:
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
        fields = {name: field_value(v) for name, v in request.fields.items()}
        created, shown = await EDGE.answer(context, lambda: self._api.create_destination(
            EDGE.org(request.org_id), request.name, request.kind, fields, EDGE.actor(request)))
        return pb.CreateDestinationResponse(destination=destination_message(created), shown_once=shown)

    async def RotateDestinationSecret(self, request: pb.RotateDestinationSecretRequest,
                                      context: Context) -> pb.RotateDestinationSecretResponse:
        found, secret = await EDGE.answer(context, lambda: self._api.rotate_secret(
            EDGE.org(request.org_id), request.destination_id, request.overlap_s, EDGE.actor(request)))
        return pb.RotateDestinationSecretResponse(destination=destination_message(found), signing_secret=secret)

    async def UpdateDestination(self, request: pb.UpdateDestinationRequest,
                                context: Context) -> pb.UpdateDestinationResponse:
        fields = {name: field_value(v) for name, v in request.fields.items()}
        changed = await EDGE.answer(context, lambda: self._api.update_destination(
            EDGE.org(request.org_id), request.destination_id, request.name, fields, EDGE.actor(request)))
        return pb.UpdateDestinationResponse(destination=destination_message(changed))

    async def DeleteDestination(self, request: pb.DeleteDestinationRequest,
                                context: Context) -> pb.DeleteDestinationResponse:
        gone = await EDGE.answer(context, lambda: self._api.delete_destination(
            EDGE.org(request.org_id), request.destination_id, EDGE.actor(request)))
        return pb.DeleteDestinationResponse(destination=destination_message(gone))

    async def TestDestination(self, request: pb.TestDestinationRequest,
                              context: Context) -> pb.TestDestinationResponse:
        reference = await EDGE.answer(context, lambda: self._api.test_destination(
            EDGE.org(request.org_id), request.destination_id, EDGE.actor(request)))
        return pb.TestDestinationResponse(reference=reference)

    async def ListRoutingRules(self, request: pb.ListRoutingRulesRequest,
                               context: Context) -> pb.ListRoutingRulesResponse:
        stack_id = request.stack_id if request.HasField("stack_id") else None
        found = await EDGE.answer(context, lambda: self._api.rules(EDGE.org(request.org_id), stack_id=stack_id))
        return pb.ListRoutingRulesResponse(rules=[rule_message(r) for r in found])

    async def GetRoutingRule(self, request: pb.GetRoutingRuleRequest, context: Context) -> pb.GetRoutingRuleResponse:
        found = await EDGE.answer(context, lambda: self._api.rule(EDGE.org(request.org_id), request.rule_id))
        return pb.GetRoutingRuleResponse(rule=rule_message(found))

    async def SetRoutingRule(self, request: pb.SetRoutingRuleRequest, context: Context) -> pb.SetRoutingRuleResponse:
        steps = [step_input(s) for s in request.steps]
        rule = await EDGE.answer(context, lambda: self._api.put_rule(
            EDGE.org(request.org_id), request.stack_id, request.agent_id, steps, EDGE.actor(request),
            subject=request.subject))
        return pb.SetRoutingRuleResponse(rule=rule_message(rule))

    async def DeleteRoutingRule(self, request: pb.DeleteRoutingRuleRequest,
                                context: Context) -> pb.DeleteRoutingRuleResponse:
        rule = await EDGE.answer(context, lambda: self._api.delete_rule(EDGE.org(request.org_id), request.rule_id,
                                                                        EDGE.actor(request)))
        return pb.DeleteRoutingRuleResponse(rule=rule_message(rule))

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Context) -> pb.ListDeliveriesResponse:
        stack_id = request.stack_id if request.HasField("stack_id") else None
        found = await EDGE.answer(context, lambda: self._api.deliveries(EDGE.org(request.org_id), stack_id=stack_id,
                                                                        limit=request.limit))
        return pb.ListDeliveriesResponse(deliveries=[delivery_message(d) for d in found])


    async def SlackCall(self, request: pb.SlackCallRequest, context: Context) -> pb.SlackCallResponse:
        try:
            args = json.loads(request.args_json or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "args_json is a JSON object")
        answer = await EDGE.answer(context, lambda: self._api.slack_call(EDGE.org(request.org_id), request.team_id,
                                                                         request.method, args))
        return pb.SlackCallResponse(answer_json=json.dumps(answer, separators=(",", ":")))


def internal_server(api: NotificationsApi, address: str, tls: ServiceCredentials) -> InternalServer:
    """The notifications service's internal server on ``address`` (mutual TLS, ``gateway`` only)."""
    def register(server: grpc.aio.Server) -> None:
        routing_pb2_grpc.add_RoutingServiceServicer_to_server(RoutingServicer(api), server)

    return InternalServer(tls, address, {ROUTING: CALLERS}, register)
