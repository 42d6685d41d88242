import datetime

from faramesh_cloud_api.sync.v1 import actor_pb2 as _actor_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeferKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEFER_KIND_UNSPECIFIED: _ClassVar[DeferKind]
    DEFER_KIND_DEFER: _ClassVar[DeferKind]
    DEFER_KIND_STEP_UP: _ClassVar[DeferKind]

class ApprovalPriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_PRIORITY_UNSPECIFIED: _ClassVar[ApprovalPriority]
    APPROVAL_PRIORITY_CRITICAL: _ClassVar[ApprovalPriority]
    APPROVAL_PRIORITY_HIGH: _ClassVar[ApprovalPriority]
    APPROVAL_PRIORITY_NORMAL: _ClassVar[ApprovalPriority]

class ApprovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATE_UNSPECIFIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_PENDING: _ClassVar[ApprovalState]
    APPROVAL_STATE_APPROVED: _ClassVar[ApprovalState]
    APPROVAL_STATE_DENIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_EXPIRED: _ClassVar[ApprovalState]
    APPROVAL_STATE_WITHDRAWN: _ClassVar[ApprovalState]

class ResolutionSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOLUTION_SOURCE_UNSPECIFIED: _ClassVar[ResolutionSource]
    RESOLUTION_SOURCE_LOCAL: _ClassVar[ResolutionSource]
    RESOLUTION_SOURCE_CLOUD: _ClassVar[ResolutionSource]
    RESOLUTION_SOURCE_TIMEOUT: _ClassVar[ResolutionSource]

class ApprovalVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_VERDICT_UNSPECIFIED: _ClassVar[ApprovalVerdict]
    APPROVAL_VERDICT_APPROVE: _ClassVar[ApprovalVerdict]
    APPROVAL_VERDICT_DENY: _ClassVar[ApprovalVerdict]
DEFER_KIND_UNSPECIFIED: DeferKind
DEFER_KIND_DEFER: DeferKind
DEFER_KIND_STEP_UP: DeferKind
APPROVAL_PRIORITY_UNSPECIFIED: ApprovalPriority
APPROVAL_PRIORITY_CRITICAL: ApprovalPriority
APPROVAL_PRIORITY_HIGH: ApprovalPriority
APPROVAL_PRIORITY_NORMAL: ApprovalPriority
APPROVAL_STATE_UNSPECIFIED: ApprovalState
APPROVAL_STATE_PENDING: ApprovalState
APPROVAL_STATE_APPROVED: ApprovalState
APPROVAL_STATE_DENIED: ApprovalState
APPROVAL_STATE_EXPIRED: ApprovalState
APPROVAL_STATE_WITHDRAWN: ApprovalState
RESOLUTION_SOURCE_UNSPECIFIED: ResolutionSource
RESOLUTION_SOURCE_LOCAL: ResolutionSource
RESOLUTION_SOURCE_CLOUD: ResolutionSource
RESOLUTION_SOURCE_TIMEOUT: ResolutionSource
APPROVAL_VERDICT_UNSPECIFIED: ApprovalVerdict
APPROVAL_VERDICT_APPROVE: ApprovalVerdict
APPROVAL_VERDICT_DENY: ApprovalVerdict

class PendingApproval(_message.Message):
    __slots__ = ("defer_token", "agent_id", "tool_id", "session_id", "args_snapshot_json", "matched_rule_id", "reason_code", "reason", "priority", "created_at", "deadline", "approvals_required", "approvals_received", "approver_ids", "parent_defer_token", "cascade_reason", "cascade_depth", "cascade_path", "dpr_record_id", "policy_version", "kind")
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ARGS_SNAPSHOT_JSON_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    APPROVER_IDS_FIELD_NUMBER: _ClassVar[int]
    PARENT_DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CASCADE_REASON_FIELD_NUMBER: _ClassVar[int]
    CASCADE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    CASCADE_PATH_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    defer_token: str
    agent_id: str
    tool_id: str
    session_id: str
    args_snapshot_json: bytes
    matched_rule_id: str
    reason_code: str
    reason: str
    priority: ApprovalPriority
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    approvals_required: int
    approvals_received: int
    approver_ids: _containers.RepeatedScalarFieldContainer[str]
    parent_defer_token: str
    cascade_reason: str
    cascade_depth: int
    cascade_path: _containers.RepeatedScalarFieldContainer[str]
    dpr_record_id: str
    policy_version: str
    kind: DeferKind
    def __init__(self, defer_token: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., session_id: _Optional[str] = ..., args_snapshot_json: _Optional[bytes] = ..., matched_rule_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., priority: _Optional[_Union[ApprovalPriority, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approvals_required: _Optional[int] = ..., approvals_received: _Optional[int] = ..., approver_ids: _Optional[_Iterable[str]] = ..., parent_defer_token: _Optional[str] = ..., cascade_reason: _Optional[str] = ..., cascade_depth: _Optional[int] = ..., cascade_path: _Optional[_Iterable[str]] = ..., dpr_record_id: _Optional[str] = ..., policy_version: _Optional[str] = ..., kind: _Optional[_Union[DeferKind, str]] = ...) -> None: ...

class ApprovalResolution(_message.Message):
    __slots__ = ("resolved_at", "approver_id", "reason", "source", "cloud_decision_id")
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CLOUD_DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    resolved_at: _timestamp_pb2.Timestamp
    approver_id: str
    reason: str
    source: ResolutionSource
    cloud_decision_id: str
    def __init__(self, resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approver_id: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[_Union[ResolutionSource, str]] = ..., cloud_decision_id: _Optional[str] = ...) -> None: ...

class ApprovalEvent(_message.Message):
    __slots__ = ("state", "approval", "resolution")
    STATE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    state: ApprovalState
    approval: PendingApproval
    resolution: ApprovalResolution
    def __init__(self, state: _Optional[_Union[ApprovalState, str]] = ..., approval: _Optional[_Union[PendingApproval, _Mapping]] = ..., resolution: _Optional[_Union[ApprovalResolution, _Mapping]] = ...) -> None: ...

class ApprovalDecision(_message.Message):
    __slots__ = ("decision_id", "defer_token", "agent_id", "verdict", "approver", "reason", "decided_at", "dpr_record_id", "bulk_action_id")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    BULK_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    defer_token: str
    agent_id: str
    verdict: ApprovalVerdict
    approver: _actor_pb2.Actor
    reason: str
    decided_at: _timestamp_pb2.Timestamp
    dpr_record_id: str
    bulk_action_id: str
    def __init__(self, decision_id: _Optional[str] = ..., defer_token: _Optional[str] = ..., agent_id: _Optional[str] = ..., verdict: _Optional[_Union[ApprovalVerdict, str]] = ..., approver: _Optional[_Union[_actor_pb2.Actor, _Mapping]] = ..., reason: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dpr_record_id: _Optional[str] = ..., bulk_action_id: _Optional[str] = ...) -> None: ...
