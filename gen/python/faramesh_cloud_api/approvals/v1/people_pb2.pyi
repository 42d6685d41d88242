import datetime

from faramesh_cloud_api.sync.v1 import approvals_pb2 as _approvals_pb2
from faramesh_cloud_api.sync.v1 import emergency_pb2 as _emergency_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Caller(_message.Message):
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

class StackScope(_message.Message):
    __slots__ = ("stack_ids",)
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stack_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ApprovalFilter(_message.Message):
    __slots__ = ("stack_id", "agent_id", "tool_id", "rule_id", "scope")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    tool_id: str
    rule_id: str
    scope: StackScope
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("approval_id", "stack_id", "defer_token", "agent_id", "tool_id", "session_id", "args_json", "matched_rule_id", "reason_code", "reason", "priority", "dpr_record_id", "policy_version", "created_at", "deadline", "state", "resolved_at", "resolved_by", "resolved_by_label", "resolution_reason", "resolution_source", "decision_id", "bulk_action_id", "read_at", "resolution_record_id", "daemon_state")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_LABEL_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_REASON_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_SOURCE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    BULK_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    READ_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DAEMON_STATE_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    stack_id: str
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    args_json: str
    matched_rule_id: str
    reason_code: str
    reason: str
    priority: str
    dpr_record_id: str
    policy_version: str
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    state: str
    resolved_at: _timestamp_pb2.Timestamp
    resolved_by: str
    resolved_by_label: str
    resolution_reason: str
    resolution_source: str
    decision_id: str
    bulk_action_id: str
    read_at: _timestamp_pb2.Timestamp
    resolution_record_id: str
    daemon_state: str
    def __init__(self, approval_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., session_id: _Optional[str] = ..., args_json: _Optional[str] = ..., matched_rule_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., priority: _Optional[str] = ..., dpr_record_id: _Optional[str] = ..., policy_version: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_by: _Optional[str] = ..., resolved_by_label: _Optional[str] = ..., resolution_reason: _Optional[str] = ..., resolution_source: _Optional[str] = ..., decision_id: _Optional[str] = ..., bulk_action_id: _Optional[str] = ..., read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolution_record_id: _Optional[str] = ..., daemon_state: _Optional[str] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("approval_id", "decision_id", "state", "decided_at")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    decision_id: str
    state: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., state: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("command_id", "stack_id", "agent_id", "command_type", "reason", "issued_by", "issued_by_label", "issued_at", "state", "delivered_at", "acked_at", "applied_at", "outcome", "message", "dpr_record_id")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_LABEL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    stack_id: str
    agent_id: str
    command_type: str
    reason: str
    issued_by: str
    issued_by_label: str
    issued_at: _timestamp_pb2.Timestamp
    state: str
    delivered_at: _timestamp_pb2.Timestamp
    acked_at: _timestamp_pb2.Timestamp
    applied_at: _timestamp_pb2.Timestamp
    outcome: str
    message: str
    dpr_record_id: str
    def __init__(self, command_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., command_type: _Optional[str] = ..., reason: _Optional[str] = ..., issued_by: _Optional[str] = ..., issued_by_label: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., message: _Optional[str] = ..., dpr_record_id: _Optional[str] = ...) -> None: ...

class ListPendingRequest(_message.Message):
    __slots__ = ("org_id", "filter")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    filter: ApprovalFilter
    def __init__(self, org_id: _Optional[str] = ..., filter: _Optional[_Union[ApprovalFilter, _Mapping]] = ...) -> None: ...

class ListPendingResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ...) -> None: ...

class ListHistoryRequest(_message.Message):
    __slots__ = ("org_id", "filter")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    filter: ApprovalFilter
    def __init__(self, org_id: _Optional[str] = ..., filter: _Optional[_Union[ApprovalFilter, _Mapping]] = ...) -> None: ...

class ListHistoryResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ...) -> None: ...

class GetApprovalRequest(_message.Message):
    __slots__ = ("org_id", "approval_id", "scope")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    approval_id: str
    scope: StackScope
    def __init__(self, org_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ...) -> None: ...

class GetApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class GetDeliveryRequest(_message.Message):
    __slots__ = ("org_id", "decision_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    decision_id: str
    def __init__(self, org_id: _Optional[str] = ..., decision_id: _Optional[str] = ...) -> None: ...

class DeliveryState(_message.Message):
    __slots__ = ("handed_out", "acked_at", "outcome", "dpr_record_id")
    HANDED_OUT_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    handed_out: int
    acked_at: _timestamp_pb2.Timestamp
    outcome: str
    dpr_record_id: str
    def __init__(self, handed_out: _Optional[int] = ..., acked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., dpr_record_id: _Optional[str] = ...) -> None: ...

class GetDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: DeliveryState
    def __init__(self, delivery: _Optional[_Union[DeliveryState, _Mapping]] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("org_id", "approval_id", "caller", "verdict", "reason", "scope")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    approval_id: str
    caller: Caller
    verdict: _approvals_pb2.ApprovalVerdict
    reason: str
    scope: StackScope
    def __init__(self, org_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., caller: _Optional[_Union[Caller, _Mapping]] = ..., verdict: _Optional[_Union[_approvals_pb2.ApprovalVerdict, str]] = ..., reason: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class BulkDecideRequest(_message.Message):
    __slots__ = ("org_id", "approval_ids", "caller", "verdict", "reason", "scope")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_IDS_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    approval_ids: _containers.RepeatedScalarFieldContainer[str]
    caller: Caller
    verdict: _approvals_pb2.ApprovalVerdict
    reason: str
    scope: StackScope
    def __init__(self, org_id: _Optional[str] = ..., approval_ids: _Optional[_Iterable[str]] = ..., caller: _Optional[_Union[Caller, _Mapping]] = ..., verdict: _Optional[_Union[_approvals_pb2.ApprovalVerdict, str]] = ..., reason: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ...) -> None: ...

class BulkRefusal(_message.Message):
    __slots__ = ("approval_id", "code", "message")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    code: str
    message: str
    def __init__(self, approval_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BulkDecideResponse(_message.Message):
    __slots__ = ("bulk_action_id", "decided", "refused")
    BULK_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    bulk_action_id: str
    decided: _containers.RepeatedCompositeFieldContainer[Decision]
    refused: _containers.RepeatedCompositeFieldContainer[BulkRefusal]
    def __init__(self, bulk_action_id: _Optional[str] = ..., decided: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., refused: _Optional[_Iterable[_Union[BulkRefusal, _Mapping]]] = ...) -> None: ...

class IssueCommandRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "caller", "reason", "type", "permitted", "stack_exists")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PERMITTED_FIELD_NUMBER: _ClassVar[int]
    STACK_EXISTS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    caller: Caller
    reason: str
    type: _emergency_pb2.EmergencyCommandType
    permitted: bool
    stack_exists: bool
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., caller: _Optional[_Union[Caller, _Mapping]] = ..., reason: _Optional[str] = ..., type: _Optional[_Union[_emergency_pb2.EmergencyCommandType, str]] = ..., permitted: _Optional[bool] = ..., stack_exists: _Optional[bool] = ...) -> None: ...

class IssueCommandResponse(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: Command
    def __init__(self, command: _Optional[_Union[Command, _Mapping]] = ...) -> None: ...

class ListCommandsRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "scope")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    scope: StackScope
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ...) -> None: ...

class ListCommandsResponse(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[Command]
    def __init__(self, commands: _Optional[_Iterable[_Union[Command, _Mapping]]] = ...) -> None: ...

class GetCommandRequest(_message.Message):
    __slots__ = ("org_id", "command_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    command_id: str
    def __init__(self, org_id: _Optional[str] = ..., command_id: _Optional[str] = ...) -> None: ...

class GetCommandResponse(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: Command
    def __init__(self, command: _Optional[_Union[Command, _Mapping]] = ...) -> None: ...

class SummarizeApprovalsRequest(_message.Message):
    __slots__ = ("org_id", "scope", "start", "end")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    scope: StackScope
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., scope: _Optional[_Union[StackScope, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApproverDecisions(_message.Message):
    __slots__ = ("approver_id", "label", "approved", "denied", "single", "bulk")
    APPROVER_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    SINGLE_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    approver_id: str
    label: str
    approved: int
    denied: int
    single: int
    bulk: int
    def __init__(self, approver_id: _Optional[str] = ..., label: _Optional[str] = ..., approved: _Optional[int] = ..., denied: _Optional[int] = ..., single: _Optional[int] = ..., bulk: _Optional[int] = ...) -> None: ...

class CommandFigures(_message.Message):
    __slots__ = ("command_type", "issued", "acknowledged", "applied", "median_ack_seconds")
    COMMAND_TYPE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_ACK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    command_type: str
    issued: int
    acknowledged: int
    applied: int
    median_ack_seconds: float
    def __init__(self, command_type: _Optional[str] = ..., issued: _Optional[int] = ..., acknowledged: _Optional[int] = ..., applied: _Optional[int] = ..., median_ack_seconds: _Optional[float] = ...) -> None: ...

class SummarizeApprovalsResponse(_message.Message):
    __slots__ = ("approved", "denied", "expired", "withdrawn", "pending", "median_pending_seconds", "p95_pending_seconds", "approvers", "bulk_actions", "bulk_decided", "commands")
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_PENDING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P95_PENDING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    BULK_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    BULK_DECIDED_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    approved: int
    denied: int
    expired: int
    withdrawn: int
    pending: int
    median_pending_seconds: float
    p95_pending_seconds: float
    approvers: _containers.RepeatedCompositeFieldContainer[ApproverDecisions]
    bulk_actions: int
    bulk_decided: int
    commands: _containers.RepeatedCompositeFieldContainer[CommandFigures]
    def __init__(self, approved: _Optional[int] = ..., denied: _Optional[int] = ..., expired: _Optional[int] = ..., withdrawn: _Optional[int] = ..., pending: _Optional[int] = ..., median_pending_seconds: _Optional[float] = ..., p95_pending_seconds: _Optional[float] = ..., approvers: _Optional[_Iterable[_Union[ApproverDecisions, _Mapping]]] = ..., bulk_actions: _Optional[int] = ..., bulk_decided: _Optional[int] = ..., commands: _Optional[_Iterable[_Union[CommandFigures, _Mapping]]] = ...) -> None: ...
