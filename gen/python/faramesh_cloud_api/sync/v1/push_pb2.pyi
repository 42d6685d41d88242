import datetime

from faramesh_cloud_api.sync.v1 import agent_state_pb2 as _agent_state_pb2
from faramesh_cloud_api.sync.v1 import approvals_pb2 as _approvals_pb2
from faramesh_cloud_api.sync.v1 import fleet_pb2 as _fleet_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RejectionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECTION_REASON_UNSPECIFIED: _ClassVar[RejectionReason]
    REJECTION_REASON_MALFORMED: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_FIELD: _ClassVar[RejectionReason]
    REJECTION_REASON_TOO_LARGE: _ClassVar[RejectionReason]
    REJECTION_REASON_CHECKSUM_MISMATCH: _ClassVar[RejectionReason]
    REJECTION_REASON_UNSUPPORTED_PAYLOAD: _ClassVar[RejectionReason]
REJECTION_REASON_UNSPECIFIED: RejectionReason
REJECTION_REASON_MALFORMED: RejectionReason
REJECTION_REASON_INVALID_FIELD: RejectionReason
REJECTION_REASON_TOO_LARGE: RejectionReason
REJECTION_REASON_CHECKSUM_MISMATCH: RejectionReason
REJECTION_REASON_UNSUPPORTED_PAYLOAD: RejectionReason

class PushItem(_message.Message):
    __slots__ = ("sequence", "enqueued_at", "dpr_record", "approval_event", "daemon_health", "stack_status", "credential_expiry", "budget_snapshot")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_EVENT_FIELD_NUMBER: _ClassVar[int]
    DAEMON_HEALTH_FIELD_NUMBER: _ClassVar[int]
    STACK_STATUS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    enqueued_at: _timestamp_pb2.Timestamp
    dpr_record: DprRecord
    approval_event: _approvals_pb2.ApprovalEvent
    daemon_health: _fleet_pb2.DaemonHealth
    stack_status: _fleet_pb2.StackStatus
    credential_expiry: _agent_state_pb2.CredentialExpiryEvent
    budget_snapshot: _agent_state_pb2.BudgetSnapshot
    def __init__(self, sequence: _Optional[int] = ..., enqueued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dpr_record: _Optional[_Union[DprRecord, _Mapping]] = ..., approval_event: _Optional[_Union[_approvals_pb2.ApprovalEvent, _Mapping]] = ..., daemon_health: _Optional[_Union[_fleet_pb2.DaemonHealth, _Mapping]] = ..., stack_status: _Optional[_Union[_fleet_pb2.StackStatus, _Mapping]] = ..., credential_expiry: _Optional[_Union[_agent_state_pb2.CredentialExpiryEvent, _Mapping]] = ..., budget_snapshot: _Optional[_Union[_agent_state_pb2.BudgetSnapshot, _Mapping]] = ...) -> None: ...

class DprRecord(_message.Message):
    __slots__ = ("record_json", "frame_crc32", "wal_file", "wal_offset", "wal_frame_index")
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    FRAME_CRC32_FIELD_NUMBER: _ClassVar[int]
    WAL_FILE_FIELD_NUMBER: _ClassVar[int]
    WAL_OFFSET_FIELD_NUMBER: _ClassVar[int]
    WAL_FRAME_INDEX_FIELD_NUMBER: _ClassVar[int]
    record_json: bytes
    frame_crc32: int
    wal_file: str
    wal_offset: int
    wal_frame_index: int
    def __init__(self, record_json: _Optional[bytes] = ..., frame_crc32: _Optional[int] = ..., wal_file: _Optional[str] = ..., wal_offset: _Optional[int] = ..., wal_frame_index: _Optional[int] = ...) -> None: ...

class ItemRejection(_message.Message):
    __slots__ = ("sequence", "reason", "field", "message")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    reason: RejectionReason
    field: str
    message: str
    def __init__(self, sequence: _Optional[int] = ..., reason: _Optional[_Union[RejectionReason, str]] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
