import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Actor(_message.Message):
    __slots__ = ("type", "id", "label")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class EscalationStep(_message.Message):
    __slots__ = ("after_minutes", "destination_ids", "group_ids", "group_email_destination_id")
    AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_EMAIL_DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    after_minutes: int
    destination_ids: _containers.RepeatedScalarFieldContainer[str]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    group_email_destination_id: str
    def __init__(self, after_minutes: _Optional[int] = ..., destination_ids: _Optional[_Iterable[str]] = ..., group_ids: _Optional[_Iterable[str]] = ..., group_email_destination_id: _Optional[str] = ...) -> None: ...

class DestinationCreated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "destination_id", "name", "kind", "config_json", "sealed_secret")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    SEALED_SECRET_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    destination_id: str
    name: str
    kind: str
    config_json: str
    sealed_secret: bytes
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., destination_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., config_json: _Optional[str] = ..., sealed_secret: _Optional[bytes] = ...) -> None: ...

class DestinationUpdated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "destination_id", "name", "config_json")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    destination_id: str
    name: str
    config_json: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., destination_id: _Optional[str] = ..., name: _Optional[str] = ..., config_json: _Optional[str] = ...) -> None: ...

class DeliveriesPruned(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "pruned_before", "rows")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PRUNED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    pruned_before: _timestamp_pb2.Timestamp
    rows: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., pruned_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[int] = ...) -> None: ...

class DestinationSecretRotated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "destination_id", "sealed_secret", "overlap_s")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEALED_SECRET_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_S_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    destination_id: str
    sealed_secret: bytes
    overlap_s: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., destination_id: _Optional[str] = ..., sealed_secret: _Optional[bytes] = ..., overlap_s: _Optional[int] = ...) -> None: ...

class DestinationDeleted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "destination_id", "name")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    destination_id: str
    name: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., destination_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RoutingRuleSet(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "rule_id", "subject", "stack_id", "agent_id", "steps")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    rule_id: str
    subject: str
    stack_id: str
    agent_id: str
    steps: _containers.RepeatedCompositeFieldContainer[EscalationStep]
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., rule_id: _Optional[str] = ..., subject: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[EscalationStep, _Mapping]]] = ...) -> None: ...

class RoutingRuleDeleted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "rule_id", "subject", "stack_id", "agent_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    rule_id: str
    subject: str
    stack_id: str
    agent_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., rule_id: _Optional[str] = ..., subject: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class ApprovalRouted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "defer_token", "agent_id", "tool_id", "session_id", "reason", "priority", "matched_rule_id", "created_at", "deadline", "rule_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    reason: str
    priority: str
    matched_rule_id: str
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    rule_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ..., priority: _Optional[str] = ..., matched_rule_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule_id: _Optional[str] = ...) -> None: ...

class NotificationQueued(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "notification_id", "destination_id", "stack_id", "defer_token", "event", "step", "notice_json")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    NOTICE_JSON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    notification_id: str
    destination_id: str
    stack_id: str
    defer_token: str
    event: str
    step: int
    notice_json: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., notification_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., event: _Optional[str] = ..., step: _Optional[int] = ..., notice_json: _Optional[str] = ...) -> None: ...

class NotificationDelivered(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "notification_id", "destination_id", "stack_id", "attempts", "status")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    notification_id: str
    destination_id: str
    stack_id: str
    attempts: int
    status: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., notification_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., attempts: _Optional[int] = ..., status: _Optional[int] = ...) -> None: ...

class NotificationFailed(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "notification_id", "destination_id", "stack_id", "attempts", "status", "error")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    notification_id: str
    destination_id: str
    stack_id: str
    attempts: int
    status: int
    error: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., notification_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., attempts: _Optional[int] = ..., status: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...
