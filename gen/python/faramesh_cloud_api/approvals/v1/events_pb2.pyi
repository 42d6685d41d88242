import datetime

from faramesh_cloud_api.sync.v1 import approvals_pb2 as _approvals_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2 as _deliveries_pb2
from faramesh_cloud_api.sync.v1 import emergency_pb2 as _emergency_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventActor(_message.Message):
    __slots__ = ("type", "id", "label")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class ApprovalDecided(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "approval_id", "defer_token", "decision_id", "verdict", "approver", "reason", "bulk_action_id", "agent_id", "dpr_record_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BULK_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    approval_id: str
    defer_token: str
    decision_id: str
    verdict: _approvals_pb2.ApprovalVerdict
    approver: EventActor
    reason: str
    bulk_action_id: str
    agent_id: str
    dpr_record_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., decision_id: _Optional[str] = ..., verdict: _Optional[_Union[_approvals_pb2.ApprovalVerdict, str]] = ..., approver: _Optional[_Union[EventActor, _Mapping]] = ..., reason: _Optional[str] = ..., bulk_action_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., dpr_record_id: _Optional[str] = ...) -> None: ...

class ApprovalExpired(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "approval_id", "defer_token", "agent_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    approval_id: str
    defer_token: str
    agent_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class DeliveryHandedOut(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "delivery_id", "approval_id", "handed_out")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    HANDED_OUT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    delivery_id: str
    approval_id: str
    handed_out: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., handed_out: _Optional[int] = ...) -> None: ...

class DeliveryAcknowledged(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "delivery_id", "approval_id", "outcome", "message", "dpr_record_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    delivery_id: str
    approval_id: str
    outcome: _deliveries_pb2.DeliveryOutcome
    message: str
    dpr_record_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., outcome: _Optional[_Union[_deliveries_pb2.DeliveryOutcome, str]] = ..., message: _Optional[str] = ..., dpr_record_id: _Optional[str] = ...) -> None: ...

class EmergencyCommandIssued(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "command_id", "agent_id", "command_type", "reason", "issued_by")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    command_id: str
    agent_id: str
    command_type: _emergency_pb2.EmergencyCommandType
    reason: str
    issued_by: EventActor
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., command_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., command_type: _Optional[_Union[_emergency_pb2.EmergencyCommandType, str]] = ..., reason: _Optional[str] = ..., issued_by: _Optional[_Union[EventActor, _Mapping]] = ...) -> None: ...

class EmergencyCommandDelivered(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "command_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    command_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., command_id: _Optional[str] = ...) -> None: ...

class EmergencyCommandAcknowledged(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "stack_id", "command_id", "outcome", "applied_at", "dpr_record_id", "message")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    stack_id: str
    command_id: str
    outcome: _emergency_pb2.EmergencyCommandOutcome
    applied_at: _timestamp_pb2.Timestamp
    dpr_record_id: str
    message: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., command_id: _Optional[str] = ..., outcome: _Optional[_Union[_emergency_pb2.EmergencyCommandOutcome, str]] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dpr_record_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
