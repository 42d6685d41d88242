import datetime

from faramesh_cloud_api.sync.v1 import deliveries_pb2 as _deliveries_pb2
from faramesh_cloud_api.sync.v1 import emergency_pb2 as _emergency_pb2
from faramesh_cloud_api.sync.v1 import sync_pb2 as _sync_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StackRef(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class PollDecisionsRequest(_message.Message):
    __slots__ = ("stack", "limit", "wait")
    STACK_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    stack: StackRef
    limit: int
    wait: _duration_pb2.Duration
    def __init__(self, stack: _Optional[_Union[StackRef, _Mapping]] = ..., limit: _Optional[int] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PollDecisionsResponse(_message.Message):
    __slots__ = ("deliveries", "has_more")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[_deliveries_pb2.Delivery]
    has_more: bool
    def __init__(self, deliveries: _Optional[_Iterable[_Union[_deliveries_pb2.Delivery, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class AckDecisionsRequest(_message.Message):
    __slots__ = ("stack", "acks")
    STACK_FIELD_NUMBER: _ClassVar[int]
    ACKS_FIELD_NUMBER: _ClassVar[int]
    stack: StackRef
    acks: _containers.RepeatedCompositeFieldContainer[_deliveries_pb2.DeliveryAck]
    def __init__(self, stack: _Optional[_Union[StackRef, _Mapping]] = ..., acks: _Optional[_Iterable[_Union[_deliveries_pb2.DeliveryAck, _Mapping]]] = ...) -> None: ...

class AckDecisionsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PollCommandsRequest(_message.Message):
    __slots__ = ("stack",)
    STACK_FIELD_NUMBER: _ClassVar[int]
    stack: StackRef
    def __init__(self, stack: _Optional[_Union[StackRef, _Mapping]] = ...) -> None: ...

class PollCommandsResponse(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[_emergency_pb2.EmergencyCommand]
    def __init__(self, commands: _Optional[_Iterable[_Union[_emergency_pb2.EmergencyCommand, _Mapping]]] = ...) -> None: ...

class AckCommandRequest(_message.Message):
    __slots__ = ("stack", "ack")
    STACK_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    stack: StackRef
    ack: _sync_pb2.AckEmergencyCommandRequest
    def __init__(self, stack: _Optional[_Union[StackRef, _Mapping]] = ..., ack: _Optional[_Union[_sync_pb2.AckEmergencyCommandRequest, _Mapping]] = ...) -> None: ...

class AckCommandResponse(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...
