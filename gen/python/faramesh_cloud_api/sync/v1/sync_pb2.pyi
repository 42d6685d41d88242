import datetime

from faramesh_cloud_api.sync.v1 import deliveries_pb2 as _deliveries_pb2
from faramesh_cloud_api.sync.v1 import emergency_pb2 as _emergency_pb2
from faramesh_cloud_api.sync.v1 import push_pb2 as _push_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HelloRequest(_message.Message):
    __slots__ = ("buffer_id", "daemon_version", "hostname")
    BUFFER_ID_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    buffer_id: str
    daemon_version: str
    hostname: str
    def __init__(self, buffer_id: _Optional[str] = ..., daemon_version: _Optional[str] = ..., hostname: _Optional[str] = ...) -> None: ...

class HelloResponse(_message.Message):
    __slots__ = ("stack_id", "org_id", "stack_name", "server_time", "push_interval", "decision_poll_interval", "emergency_poll_interval", "status_interval", "max_push_items", "max_push_bytes", "max_item_bytes", "max_poll_wait", "acked_through_sequence", "api_key_expires_at")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    PUSH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    DECISION_POLL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_POLL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_PUSH_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_PUSH_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEM_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_POLL_WAIT_FIELD_NUMBER: _ClassVar[int]
    ACKED_THROUGH_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    org_id: str
    stack_name: str
    server_time: _timestamp_pb2.Timestamp
    push_interval: _duration_pb2.Duration
    decision_poll_interval: _duration_pb2.Duration
    emergency_poll_interval: _duration_pb2.Duration
    status_interval: _duration_pb2.Duration
    max_push_items: int
    max_push_bytes: int
    max_item_bytes: int
    max_poll_wait: _duration_pb2.Duration
    acked_through_sequence: int
    api_key_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., org_id: _Optional[str] = ..., stack_name: _Optional[str] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., push_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., decision_poll_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., emergency_poll_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., status_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_push_items: _Optional[int] = ..., max_push_bytes: _Optional[int] = ..., max_item_bytes: _Optional[int] = ..., max_poll_wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., acked_through_sequence: _Optional[int] = ..., api_key_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("buffer_id", "items")
    BUFFER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    buffer_id: str
    items: _containers.RepeatedCompositeFieldContainer[_push_pb2.PushItem]
    def __init__(self, buffer_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_push_pb2.PushItem, _Mapping]]] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("acked_through_sequence", "rejections")
    ACKED_THROUGH_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    acked_through_sequence: int
    rejections: _containers.RepeatedCompositeFieldContainer[_push_pb2.ItemRejection]
    def __init__(self, acked_through_sequence: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[_push_pb2.ItemRejection, _Mapping]]] = ...) -> None: ...

class PollDecisionsRequest(_message.Message):
    __slots__ = ("max_deliveries", "wait")
    MAX_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    max_deliveries: int
    wait: _duration_pb2.Duration
    def __init__(self, max_deliveries: _Optional[int] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PollDecisionsResponse(_message.Message):
    __slots__ = ("deliveries", "has_more")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[_deliveries_pb2.Delivery]
    has_more: bool
    def __init__(self, deliveries: _Optional[_Iterable[_Union[_deliveries_pb2.Delivery, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class AckDecisionsRequest(_message.Message):
    __slots__ = ("acks",)
    ACKS_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[_deliveries_pb2.DeliveryAck]
    def __init__(self, acks: _Optional[_Iterable[_Union[_deliveries_pb2.DeliveryAck, _Mapping]]] = ...) -> None: ...

class AckDecisionsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PollEmergencyCommandsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PollEmergencyCommandsResponse(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[_emergency_pb2.EmergencyCommand]
    def __init__(self, commands: _Optional[_Iterable[_Union[_emergency_pb2.EmergencyCommand, _Mapping]]] = ...) -> None: ...

class AckEmergencyCommandRequest(_message.Message):
    __slots__ = ("command_id", "applied_at", "outcome", "dpr_record_id", "message")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    applied_at: _timestamp_pb2.Timestamp
    outcome: _emergency_pb2.EmergencyCommandOutcome
    dpr_record_id: str
    message: str
    def __init__(self, command_id: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[_emergency_pb2.EmergencyCommandOutcome, str]] = ..., dpr_record_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class AckEmergencyCommandResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
