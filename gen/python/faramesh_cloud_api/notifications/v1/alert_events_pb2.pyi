import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChainAlertRouted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "agent_id", "record_id", "record_hash", "kind", "alert_id", "rule_id", "destination_ids", "acknowledged", "message", "raised_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_IDS_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    alert_id: int
    rule_id: str
    destination_ids: _containers.RepeatedScalarFieldContainer[str]
    acknowledged: bool
    message: str
    raised_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., kind: _Optional[str] = ..., alert_id: _Optional[int] = ..., rule_id: _Optional[str] = ..., destination_ids: _Optional[_Iterable[str]] = ..., acknowledged: _Optional[bool] = ..., message: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChainAlertClosed(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "agent_id", "record_id", "record_hash", "kind", "acknowledged_at", "destination_ids")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_IDS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    acknowledged_at: _timestamp_pb2.Timestamp
    destination_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., kind: _Optional[str] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., destination_ids: _Optional[_Iterable[str]] = ...) -> None: ...
