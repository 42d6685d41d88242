import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertIdentity(_message.Message):
    __slots__ = ("stack_id", "agent_id", "record_id", "record_hash", "kind")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class AlertActor(_message.Message):
    __slots__ = ("type", "id", "label")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class AlertRaised(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "alert", "alert_id", "severity", "message", "record_created_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECORD_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    alert: AlertIdentity
    alert_id: int
    severity: str
    message: str
    record_created_at: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., alert: _Optional[_Union[AlertIdentity, _Mapping]] = ..., alert_id: _Optional[int] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., record_created_at: _Optional[str] = ...) -> None: ...

class AlertAcknowledged(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "alert", "alert_id", "actor", "note")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    alert: AlertIdentity
    alert_id: int
    actor: AlertActor
    note: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., alert: _Optional[_Union[AlertIdentity, _Mapping]] = ..., alert_id: _Optional[int] = ..., actor: _Optional[_Union[AlertActor, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class AlertRetracted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "alert", "alert_id", "actor", "note", "from_revision", "to_revision", "cause")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    alert: AlertIdentity
    alert_id: int
    actor: AlertActor
    note: str
    from_revision: int
    to_revision: int
    cause: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., alert: _Optional[_Union[AlertIdentity, _Mapping]] = ..., alert_id: _Optional[int] = ..., actor: _Optional[_Union[AlertActor, _Mapping]] = ..., note: _Optional[str] = ..., from_revision: _Optional[int] = ..., to_revision: _Optional[int] = ..., cause: _Optional[str] = ...) -> None: ...
