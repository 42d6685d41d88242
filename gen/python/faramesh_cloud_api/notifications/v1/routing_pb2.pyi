import datetime

from faramesh_cloud_api.notifications.v1 import events_pb2 as _events_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestActor(_message.Message):
    __slots__ = ("type", "id", "label", "ip")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    ip: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ..., ip: _Optional[str] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("destination_id", "org_id", "name", "kind", "config_json", "created_at", "created_by")
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    destination_id: str
    org_id: str
    name: str
    kind: str
    config_json: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, destination_id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., config_json: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class FieldValue(_message.Message):
    __slots__ = ("text", "number", "flag", "texts")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    text: str
    number: int
    flag: bool
    texts: TextList
    def __init__(self, text: _Optional[str] = ..., number: _Optional[int] = ..., flag: _Optional[bool] = ..., texts: _Optional[_Union[TextList, _Mapping]] = ...) -> None: ...

class TextList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, items: _Optional[_Iterable[str]] = ...) -> None: ...

class StepInput(_message.Message):
    __slots__ = ("after_minutes", "destination_ids", "group_ids", "group_email_destination_id")
    AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_EMAIL_DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    after_minutes: str
    destination_ids: _containers.RepeatedScalarFieldContainer[str]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    group_email_destination_id: str
    def __init__(self, after_minutes: _Optional[str] = ..., destination_ids: _Optional[_Iterable[str]] = ..., group_ids: _Optional[_Iterable[str]] = ..., group_email_destination_id: _Optional[str] = ...) -> None: ...

class RoutingRule(_message.Message):
    __slots__ = ("rule_id", "org_id", "subject", "stack_id", "agent_id", "steps", "updated_at")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    org_id: str
    subject: str
    stack_id: str
    agent_id: str
    steps: _containers.RepeatedCompositeFieldContainer[_events_pb2.EscalationStep]
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, rule_id: _Optional[str] = ..., org_id: _Optional[str] = ..., subject: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[_events_pb2.EscalationStep, _Mapping]]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("notification_id", "destination_id", "destination_name", "event", "stack_id", "defer_token", "step", "state", "attempts", "last_status", "last_error", "created_at", "delivered_at")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    destination_id: str
    destination_name: str
    event: str
    stack_id: str
    defer_token: str
    step: int
    state: str
    attempts: int
    last_status: int
    last_error: str
    created_at: _timestamp_pb2.Timestamp
    delivered_at: _timestamp_pb2.Timestamp
    def __init__(self, notification_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., destination_name: _Optional[str] = ..., event: _Optional[str] = ..., stack_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., step: _Optional[int] = ..., state: _Optional[str] = ..., attempts: _Optional[int] = ..., last_status: _Optional[int] = ..., last_error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDestinationsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListDestinationsResponse(_message.Message):
    __slots__ = ("destinations",)
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    destinations: _containers.RepeatedCompositeFieldContainer[Destination]
    def __init__(self, destinations: _Optional[_Iterable[_Union[Destination, _Mapping]]] = ...) -> None: ...

class GetDestinationRequest(_message.Message):
    __slots__ = ("org_id", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., destination_id: _Optional[str] = ...) -> None: ...

class GetDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class CreateDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "name", "kind", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FieldValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FieldValue, _Mapping]] = ...) -> None: ...
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    name: str
    kind: str
    fields: _containers.MessageMap[str, FieldValue]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., fields: _Optional[_Mapping[str, FieldValue]] = ...) -> None: ...

class CreateDestinationResponse(_message.Message):
    __slots__ = ("destination", "shown_once")
    class ShownOnceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SHOWN_ONCE_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    shown_once: _containers.ScalarMap[str, str]
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ..., shown_once: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id", "name", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FieldValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FieldValue, _Mapping]] = ...) -> None: ...
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    name: str
    fields: _containers.MessageMap[str, FieldValue]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ..., name: _Optional[str] = ..., fields: _Optional[_Mapping[str, FieldValue]] = ...) -> None: ...

class UpdateDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class RotateDestinationSecretRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id", "overlap_s")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_S_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    overlap_s: int
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ..., overlap_s: _Optional[int] = ...) -> None: ...

class RotateDestinationSecretResponse(_message.Message):
    __slots__ = ("destination", "signing_secret")
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SIGNING_SECRET_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    signing_secret: str
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ..., signing_secret: _Optional[str] = ...) -> None: ...

class DeleteDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ...) -> None: ...

class DeleteDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class TestDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ...) -> None: ...

class TestDestinationResponse(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class ListRoutingRulesRequest(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class ListRoutingRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[RoutingRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[RoutingRule, _Mapping]]] = ...) -> None: ...

class GetRoutingRuleRequest(_message.Message):
    __slots__ = ("org_id", "rule_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    rule_id: str
    def __init__(self, org_id: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class GetRoutingRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: RoutingRule
    def __init__(self, rule: _Optional[_Union[RoutingRule, _Mapping]] = ...) -> None: ...

class SetRoutingRuleRequest(_message.Message):
    __slots__ = ("org_id", "actor", "subject", "stack_id", "agent_id", "steps")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    subject: str
    stack_id: str
    agent_id: str
    steps: _containers.RepeatedCompositeFieldContainer[StepInput]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., subject: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepInput, _Mapping]]] = ...) -> None: ...

class SetRoutingRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: RoutingRule
    def __init__(self, rule: _Optional[_Union[RoutingRule, _Mapping]] = ...) -> None: ...

class DeleteRoutingRuleRequest(_message.Message):
    __slots__ = ("org_id", "actor", "rule_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    rule_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., rule_id: _Optional[str] = ...) -> None: ...

class DeleteRoutingRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: RoutingRule
    def __init__(self, rule: _Optional[_Union[RoutingRule, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class SlackCallRequest(_message.Message):
    __slots__ = ("org_id", "team_id", "method", "args_json")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    team_id: str
    method: str
    args_json: str
    def __init__(self, org_id: _Optional[str] = ..., team_id: _Optional[str] = ..., method: _Optional[str] = ..., args_json: _Optional[str] = ...) -> None: ...

class SlackCallResponse(_message.Message):
    __slots__ = ("answer_json",)
    ANSWER_JSON_FIELD_NUMBER: _ClassVar[int]
    answer_json: str
    def __init__(self, answer_json: _Optional[str] = ...) -> None: ...
