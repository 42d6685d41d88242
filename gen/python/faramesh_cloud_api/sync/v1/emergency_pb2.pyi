import datetime

from faramesh_cloud_api.sync.v1 import actor_pb2 as _actor_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmergencyCommandType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMERGENCY_COMMAND_TYPE_UNSPECIFIED: _ClassVar[EmergencyCommandType]
    EMERGENCY_COMMAND_TYPE_AGENT_KILL: _ClassVar[EmergencyCommandType]
    EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE: _ClassVar[EmergencyCommandType]

class EmergencyCommandOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMERGENCY_COMMAND_OUTCOME_UNSPECIFIED: _ClassVar[EmergencyCommandOutcome]
    EMERGENCY_COMMAND_OUTCOME_APPLIED: _ClassVar[EmergencyCommandOutcome]
    EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT: _ClassVar[EmergencyCommandOutcome]
    EMERGENCY_COMMAND_OUTCOME_REJECTED: _ClassVar[EmergencyCommandOutcome]
    EMERGENCY_COMMAND_OUTCOME_FAILED: _ClassVar[EmergencyCommandOutcome]
EMERGENCY_COMMAND_TYPE_UNSPECIFIED: EmergencyCommandType
EMERGENCY_COMMAND_TYPE_AGENT_KILL: EmergencyCommandType
EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE: EmergencyCommandType
EMERGENCY_COMMAND_OUTCOME_UNSPECIFIED: EmergencyCommandOutcome
EMERGENCY_COMMAND_OUTCOME_APPLIED: EmergencyCommandOutcome
EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT: EmergencyCommandOutcome
EMERGENCY_COMMAND_OUTCOME_REJECTED: EmergencyCommandOutcome
EMERGENCY_COMMAND_OUTCOME_FAILED: EmergencyCommandOutcome

class EmergencyCommand(_message.Message):
    __slots__ = ("command_id", "type", "agent_id", "reason", "issued_by", "issued_at")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    type: EmergencyCommandType
    agent_id: str
    reason: str
    issued_by: _actor_pb2.Actor
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, command_id: _Optional[str] = ..., type: _Optional[_Union[EmergencyCommandType, str]] = ..., agent_id: _Optional[str] = ..., reason: _Optional[str] = ..., issued_by: _Optional[_Union[_actor_pb2.Actor, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
