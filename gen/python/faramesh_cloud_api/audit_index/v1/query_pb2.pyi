import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchFilters(_message.Message):
    __slots__ = ("stack_id", "agent_id", "session_id", "effect", "action_type", "tool_id", "rule_id", "verification", "state")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    session_id: str
    effect: str
    action_type: str
    tool_id: str
    rule_id: str
    verification: str
    state: str
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., session_id: _Optional[str] = ..., effect: _Optional[str] = ..., action_type: _Optional[str] = ..., tool_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., verification: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_ns", "end_ns")
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    start_ns: int
    end_ns: int
    def __init__(self, start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ...) -> None: ...

class RecordSummary(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "session_id", "record_id", "created_at", "created_ns", "effect", "action_type", "tool_id", "matched_rule_id", "reason_code", "reason", "lamport_seq", "record_hash", "hash_valid", "signature_status", "signature_kind", "link_status", "source", "log_partition", "log_offset", "org_seq", "verification", "state")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_NS_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LAMPORT_SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_VALID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_STATUS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_KIND_FIELD_NUMBER: _ClassVar[int]
    LINK_STATUS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOG_PARTITION_FIELD_NUMBER: _ClassVar[int]
    LOG_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ORG_SEQ_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    session_id: str
    record_id: str
    created_at: str
    created_ns: int
    effect: str
    action_type: str
    tool_id: str
    matched_rule_id: str
    reason_code: str
    reason: str
    lamport_seq: int
    record_hash: str
    hash_valid: bool
    signature_status: str
    signature_kind: str
    link_status: str
    source: str
    log_partition: int
    log_offset: int
    org_seq: int
    verification: str
    state: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., session_id: _Optional[str] = ..., record_id: _Optional[str] = ..., created_at: _Optional[str] = ..., created_ns: _Optional[int] = ..., effect: _Optional[str] = ..., action_type: _Optional[str] = ..., tool_id: _Optional[str] = ..., matched_rule_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., lamport_seq: _Optional[int] = ..., record_hash: _Optional[str] = ..., hash_valid: _Optional[bool] = ..., signature_status: _Optional[str] = ..., signature_kind: _Optional[str] = ..., link_status: _Optional[str] = ..., source: _Optional[str] = ..., log_partition: _Optional[int] = ..., log_offset: _Optional[int] = ..., org_seq: _Optional[int] = ..., verification: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class Page(_message.Message):
    __slots__ = ("records", "next_cursor")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RecordSummary]
    next_cursor: str
    def __init__(self, records: _Optional[_Iterable[_Union[RecordSummary, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ChainFinding(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "record_id", "record_hash", "kind", "severity", "message", "chain_index", "log_position", "record_created_at", "detected_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORD_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DETECTED_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    severity: str
    message: str
    chain_index: int
    log_position: str
    record_created_at: str
    detected_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., kind: _Optional[str] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., chain_index: _Optional[int] = ..., log_position: _Optional[str] = ..., record_created_at: _Optional[str] = ..., detected_ns: _Optional[int] = ...) -> None: ...

class SummaryReceipt(_message.Message):
    __slots__ = ("stack_id", "record_id", "first_source", "sources", "deliveries", "superseded")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    record_id: str
    first_source: str
    sources: _containers.RepeatedScalarFieldContainer[str]
    deliveries: int
    superseded: bool
    def __init__(self, stack_id: _Optional[str] = ..., record_id: _Optional[str] = ..., first_source: _Optional[str] = ..., sources: _Optional[_Iterable[str]] = ..., deliveries: _Optional[int] = ..., superseded: _Optional[bool] = ...) -> None: ...

class RecordDetail(_message.Message):
    __slots__ = ("summary", "prev_record_hash", "raw", "origin_seq", "origin_buffer", "received_ns", "chain_index", "findings", "receipt", "verifier_behind")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PREV_RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_SEQ_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_BUFFER_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_NS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_BEHIND_FIELD_NUMBER: _ClassVar[int]
    summary: RecordSummary
    prev_record_hash: str
    raw: bytes
    origin_seq: int
    origin_buffer: str
    received_ns: int
    chain_index: int
    findings: _containers.RepeatedCompositeFieldContainer[ChainFinding]
    receipt: SummaryReceipt
    verifier_behind: int
    def __init__(self, summary: _Optional[_Union[RecordSummary, _Mapping]] = ..., prev_record_hash: _Optional[str] = ..., raw: _Optional[bytes] = ..., origin_seq: _Optional[int] = ..., origin_buffer: _Optional[str] = ..., received_ns: _Optional[int] = ..., chain_index: _Optional[int] = ..., findings: _Optional[_Iterable[_Union[ChainFinding, _Mapping]]] = ..., receipt: _Optional[_Union[SummaryReceipt, _Mapping]] = ..., verifier_behind: _Optional[int] = ...) -> None: ...

class ChainRecord(_message.Message):
    __slots__ = ("record_id", "record_hash", "prev_record_hash", "created_at", "raw", "stack_id", "agent_id", "link_status", "chain_index")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    PREV_RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_STATUS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    record_hash: str
    prev_record_hash: str
    created_at: str
    raw: bytes
    stack_id: str
    agent_id: str
    link_status: str
    chain_index: int
    def __init__(self, record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., prev_record_hash: _Optional[str] = ..., created_at: _Optional[str] = ..., raw: _Optional[bytes] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., link_status: _Optional[str] = ..., chain_index: _Optional[int] = ...) -> None: ...

class AgentIntegrity(_message.Message):
    __slots__ = ("stack_id", "agent_id", "chain_length", "segments", "tip_hash", "tip_record_id", "last_lamport", "first_created_at", "last_created_at", "last_verified_ns", "findings", "checkpoint")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    TIP_HASH_FIELD_NUMBER: _ClassVar[int]
    TIP_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_LAMPORT_FIELD_NUMBER: _ClassVar[int]
    FIRST_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_VERIFIED_NS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    chain_length: int
    segments: int
    tip_hash: str
    tip_record_id: str
    last_lamport: int
    first_created_at: str
    last_created_at: str
    last_verified_ns: int
    findings: _containers.RepeatedCompositeFieldContainer[ChainFinding]
    checkpoint: RetentionCheckpoint
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., chain_length: _Optional[int] = ..., segments: _Optional[int] = ..., tip_hash: _Optional[str] = ..., tip_record_id: _Optional[str] = ..., last_lamport: _Optional[int] = ..., first_created_at: _Optional[str] = ..., last_created_at: _Optional[str] = ..., last_verified_ns: _Optional[int] = ..., findings: _Optional[_Iterable[_Union[ChainFinding, _Mapping]]] = ..., checkpoint: _Optional[_Union[RetentionCheckpoint, _Mapping]] = ...) -> None: ...

class RetentionCheckpoint(_message.Message):
    __slots__ = ("chain_index", "record_hash", "record_id", "record_created_at", "removed_on", "sweep_id", "key_id", "signature")
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_ON_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    chain_index: int
    record_hash: str
    record_id: str
    record_created_at: str
    removed_on: str
    sweep_id: str
    key_id: str
    signature: str
    def __init__(self, chain_index: _Optional[int] = ..., record_hash: _Optional[str] = ..., record_id: _Optional[str] = ..., record_created_at: _Optional[str] = ..., removed_on: _Optional[str] = ..., sweep_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class StackIntegrity(_message.Message):
    __slots__ = ("stack_id", "chain_length", "segments", "last_verified_ns", "findings_by_kind", "critical_findings", "open_alerts", "agents")
    class FindingsByKindEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_VERIFIED_NS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_BY_KIND_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FINDINGS_FIELD_NUMBER: _ClassVar[int]
    OPEN_ALERTS_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    chain_length: int
    segments: int
    last_verified_ns: int
    findings_by_kind: _containers.ScalarMap[str, int]
    critical_findings: int
    open_alerts: int
    agents: _containers.RepeatedCompositeFieldContainer[AgentIntegrity]
    def __init__(self, stack_id: _Optional[str] = ..., chain_length: _Optional[int] = ..., segments: _Optional[int] = ..., last_verified_ns: _Optional[int] = ..., findings_by_kind: _Optional[_Mapping[str, int]] = ..., critical_findings: _Optional[int] = ..., open_alerts: _Optional[int] = ..., agents: _Optional[_Iterable[_Union[AgentIntegrity, _Mapping]]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "org_id", "stack_id", "agent_id", "record_id", "record_hash", "kind", "severity", "message", "record_created_at", "created_at", "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledged_note")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECORD_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_NOTE_FIELD_NUMBER: _ClassVar[int]
    alert_id: int
    org_id: str
    stack_id: str
    agent_id: str
    record_id: str
    record_hash: str
    kind: str
    severity: str
    message: str
    record_created_at: str
    created_at: _timestamp_pb2.Timestamp
    acknowledged: bool
    acknowledged_at: _timestamp_pb2.Timestamp
    acknowledged_by: str
    acknowledged_note: str
    def __init__(self, alert_id: _Optional[int] = ..., org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., kind: _Optional[str] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., record_created_at: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged: _Optional[bool] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., acknowledged_note: _Optional[str] = ...) -> None: ...

class Delegation(_message.Message):
    __slots__ = ("parent", "child", "records", "last_at", "last_record_id", "parent_on_stack")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ON_STACK_FIELD_NUMBER: _ClassVar[int]
    parent: str
    child: str
    records: int
    last_at: _timestamp_pb2.Timestamp
    last_record_id: str
    parent_on_stack: bool
    def __init__(self, parent: _Optional[str] = ..., child: _Optional[str] = ..., records: _Optional[int] = ..., last_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_record_id: _Optional[str] = ..., parent_on_stack: _Optional[bool] = ...) -> None: ...

class PolicyVersionUse(_message.Message):
    __slots__ = ("stack_id", "policy_version", "records", "last_at", "last_record_id")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    policy_version: str
    records: int
    last_at: _timestamp_pb2.Timestamp
    last_record_id: str
    def __init__(self, stack_id: _Optional[str] = ..., policy_version: _Optional[str] = ..., records: _Optional[int] = ..., last_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_record_id: _Optional[str] = ...) -> None: ...

class Actor(_message.Message):
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

class SearchRequest(_message.Message):
    __slots__ = ("org_id", "filters", "time_range", "cursor", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    filters: SearchFilters
    time_range: TimeRange
    cursor: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: Page
    def __init__(self, page: _Optional[_Union[Page, _Mapping]] = ...) -> None: ...

class CountByEffectRequest(_message.Message):
    __slots__ = ("org_id", "filters", "time_range")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    filters: SearchFilters
    time_range: TimeRange
    def __init__(self, org_id: _Optional[str] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ...) -> None: ...

class CountByEffectResponse(_message.Message):
    __slots__ = ("counts",)
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.ScalarMap[str, int]
    def __init__(self, counts: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("org_id", "record_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    record_id: str
    def __init__(self, org_id: _Optional[str] = ..., record_id: _Optional[str] = ...) -> None: ...

class GetRecordResponse(_message.Message):
    __slots__ = ("copies",)
    COPIES_FIELD_NUMBER: _ClassVar[int]
    copies: _containers.RepeatedCompositeFieldContainer[RecordDetail]
    def __init__(self, copies: _Optional[_Iterable[_Union[RecordDetail, _Mapping]]] = ...) -> None: ...

class GetNeighboursRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "record_hash", "prev_record_hash")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    PREV_RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    record_hash: str
    prev_record_hash: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., prev_record_hash: _Optional[str] = ...) -> None: ...

class GetNeighboursResponse(_message.Message):
    __slots__ = ("previous", "next")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    previous: ChainRecord
    next: ChainRecord
    def __init__(self, previous: _Optional[_Union[ChainRecord, _Mapping]] = ..., next: _Optional[_Union[ChainRecord, _Mapping]] = ...) -> None: ...

class RecordsWithBytesRequest(_message.Message):
    __slots__ = ("org_id", "record_ids")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_id: _Optional[str] = ..., record_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSessionTimelineRequest(_message.Message):
    __slots__ = ("org_id", "session_id", "cursor", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    session_id: str
    cursor: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., session_id: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetSessionTimelineResponse(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: Page
    def __init__(self, page: _Optional[_Union[Page, _Mapping]] = ...) -> None: ...

class ListRecentRequest(_message.Message):
    __slots__ = ("org_id", "limit", "after")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    limit: int
    after: str
    def __init__(self, org_id: _Optional[str] = ..., limit: _Optional[int] = ..., after: _Optional[str] = ...) -> None: ...

class ListRecentResponse(_message.Message):
    __slots__ = ("records", "cursor")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RecordSummary]
    cursor: str
    def __init__(self, records: _Optional[_Iterable[_Union[RecordSummary, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetChainIntegrityRequest(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class GetChainIntegrityResponse(_message.Message):
    __slots__ = ("stacks",)
    STACKS_FIELD_NUMBER: _ClassVar[int]
    stacks: _containers.RepeatedCompositeFieldContainer[StackIntegrity]
    def __init__(self, stacks: _Optional[_Iterable[_Union[StackIntegrity, _Mapping]]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("org_id", "include_acknowledged")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    include_acknowledged: bool
    def __init__(self, org_id: _Optional[str] = ..., include_acknowledged: _Optional[bool] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class GetAlertRequest(_message.Message):
    __slots__ = ("org_id", "alert_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    alert_id: int
    def __init__(self, org_id: _Optional[str] = ..., alert_id: _Optional[int] = ...) -> None: ...

class GetAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class AcknowledgeAlertRequest(_message.Message):
    __slots__ = ("org_id", "alert_id", "note", "actor")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    alert_id: int
    note: str
    actor: Actor
    def __init__(self, org_id: _Optional[str] = ..., alert_id: _Optional[int] = ..., note: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ...) -> None: ...

class AcknowledgeAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class ListDelegationsRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "since_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    since_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., since_ns: _Optional[int] = ...) -> None: ...

class ListDelegationsResponse(_message.Message):
    __slots__ = ("delegations",)
    DELEGATIONS_FIELD_NUMBER: _ClassVar[int]
    delegations: _containers.RepeatedCompositeFieldContainer[Delegation]
    def __init__(self, delegations: _Optional[_Iterable[_Union[Delegation, _Mapping]]] = ...) -> None: ...

class ListPolicyVersionsRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "since_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    since_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., since_ns: _Optional[int] = ...) -> None: ...

class ListPolicyVersionsResponse(_message.Message):
    __slots__ = ("uses",)
    USES_FIELD_NUMBER: _ClassVar[int]
    uses: _containers.RepeatedCompositeFieldContainer[PolicyVersionUse]
    def __init__(self, uses: _Optional[_Iterable[_Union[PolicyVersionUse, _Mapping]]] = ...) -> None: ...

class WatchCommitsRequest(_message.Message):
    __slots__ = ("org_ids",)
    ORG_IDS_FIELD_NUMBER: _ClassVar[int]
    org_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CommitsMoved(_message.Message):
    __slots__ = ("org_ids", "everything")
    ORG_IDS_FIELD_NUMBER: _ClassVar[int]
    EVERYTHING_FIELD_NUMBER: _ClassVar[int]
    org_ids: _containers.RepeatedScalarFieldContainer[str]
    everything: bool
    def __init__(self, org_ids: _Optional[_Iterable[str]] = ..., everything: _Optional[bool] = ...) -> None: ...

class DecisionStatsRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "time_range", "bucket_ns", "top")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    BUCKET_NS_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    time_range: TimeRange
    bucket_ns: int
    top: int
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ..., bucket_ns: _Optional[int] = ..., top: _Optional[int] = ...) -> None: ...

class Ranked(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class EffectBucket(_message.Message):
    __slots__ = ("start_ns", "counts")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_NS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    start_ns: int
    counts: _containers.ScalarMap[str, int]
    def __init__(self, start_ns: _Optional[int] = ..., counts: _Optional[_Mapping[str, int]] = ...) -> None: ...

class DecisionStatsResponse(_message.Message):
    __slots__ = ("start_ns", "end_ns", "bucket_ns", "total", "by_effect", "buckets", "top_tools", "top_agents", "top_rules", "unverified_total", "unverified_by_effect")
    class ByEffectEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class UnverifiedByEffectEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_NS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BY_EFFECT_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    TOP_TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOP_AGENTS_FIELD_NUMBER: _ClassVar[int]
    TOP_RULES_FIELD_NUMBER: _ClassVar[int]
    UNVERIFIED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNVERIFIED_BY_EFFECT_FIELD_NUMBER: _ClassVar[int]
    start_ns: int
    end_ns: int
    bucket_ns: int
    total: int
    by_effect: _containers.ScalarMap[str, int]
    buckets: _containers.RepeatedCompositeFieldContainer[EffectBucket]
    top_tools: _containers.RepeatedCompositeFieldContainer[Ranked]
    top_agents: _containers.RepeatedCompositeFieldContainer[Ranked]
    top_rules: _containers.RepeatedCompositeFieldContainer[Ranked]
    unverified_total: int
    unverified_by_effect: _containers.ScalarMap[str, int]
    def __init__(self, start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ..., bucket_ns: _Optional[int] = ..., total: _Optional[int] = ..., by_effect: _Optional[_Mapping[str, int]] = ..., buckets: _Optional[_Iterable[_Union[EffectBucket, _Mapping]]] = ..., top_tools: _Optional[_Iterable[_Union[Ranked, _Mapping]]] = ..., top_agents: _Optional[_Iterable[_Union[Ranked, _Mapping]]] = ..., top_rules: _Optional[_Iterable[_Union[Ranked, _Mapping]]] = ..., unverified_total: _Optional[int] = ..., unverified_by_effect: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ToolUsageRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "time_range")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    time_range: TimeRange
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ...) -> None: ...

class ToolUsage(_message.Message):
    __slots__ = ("stack_id", "agent_id", "tool_id", "matched_rule_id", "effect", "calls", "decided_by")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    tool_id: str
    matched_rule_id: str
    effect: str
    calls: int
    decided_by: str
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., matched_rule_id: _Optional[str] = ..., effect: _Optional[str] = ..., calls: _Optional[int] = ..., decided_by: _Optional[str] = ...) -> None: ...

class ToolUsageResponse(_message.Message):
    __slots__ = ("usage",)
    USAGE_FIELD_NUMBER: _ClassVar[int]
    usage: _containers.RepeatedCompositeFieldContainer[ToolUsage]
    def __init__(self, usage: _Optional[_Iterable[_Union[ToolUsage, _Mapping]]] = ...) -> None: ...

class IntegrityCertificateRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "time_range")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    time_range: TimeRange
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ...) -> None: ...

class ChainPoint(_message.Message):
    __slots__ = ("record_id", "record_hash", "chain_index", "created_at")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    record_hash: str
    chain_index: int
    created_at: str
    def __init__(self, record_id: _Optional[str] = ..., record_hash: _Optional[str] = ..., chain_index: _Optional[int] = ..., created_at: _Optional[str] = ...) -> None: ...

class ChainCertificate(_message.Message):
    __slots__ = ("stack_id", "agent_id", "records", "duplicates", "first", "head", "invalid_hashes", "signatures", "chain_length", "segments", "tip_hash", "tip_record_id", "verified_ns", "findings")
    class SignaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    INVALID_HASHES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    TIP_HASH_FIELD_NUMBER: _ClassVar[int]
    TIP_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_NS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    records: int
    duplicates: int
    first: ChainPoint
    head: ChainPoint
    invalid_hashes: int
    signatures: _containers.ScalarMap[str, int]
    chain_length: int
    segments: int
    tip_hash: str
    tip_record_id: str
    verified_ns: int
    findings: _containers.RepeatedCompositeFieldContainer[ChainFinding]
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., records: _Optional[int] = ..., duplicates: _Optional[int] = ..., first: _Optional[_Union[ChainPoint, _Mapping]] = ..., head: _Optional[_Union[ChainPoint, _Mapping]] = ..., invalid_hashes: _Optional[int] = ..., signatures: _Optional[_Mapping[str, int]] = ..., chain_length: _Optional[int] = ..., segments: _Optional[int] = ..., tip_hash: _Optional[str] = ..., tip_record_id: _Optional[str] = ..., verified_ns: _Optional[int] = ..., findings: _Optional[_Iterable[_Union[ChainFinding, _Mapping]]] = ...) -> None: ...

class IntegrityCertificateResponse(_message.Message):
    __slots__ = ("chains",)
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    chains: _containers.RepeatedCompositeFieldContainer[ChainCertificate]
    def __init__(self, chains: _Optional[_Iterable[_Union[ChainCertificate, _Mapping]]] = ...) -> None: ...

class ExportRangeRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "time_range", "page_size")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    time_range: TimeRange
    page_size: int
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ...) -> None: ...

class CountRequest(_message.Message):
    __slots__ = ("org_id", "filters", "time_range", "stack_ids")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    filters: SearchFilters
    time_range: TimeRange
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_id: _Optional[str] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ..., time_range: _Optional[_Union[TimeRange, _Mapping]] = ..., stack_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CountResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ArrivalStatsRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "start_ns", "end_ns", "bucket_ns", "late_after_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_NS_FIELD_NUMBER: _ClassVar[int]
    LATE_AFTER_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    start_ns: int
    end_ns: int
    bucket_ns: int
    late_after_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ..., bucket_ns: _Optional[int] = ..., late_after_ns: _Optional[int] = ...) -> None: ...

class ArrivalBucket(_message.Message):
    __slots__ = ("start_ns", "received", "late", "late_first_ns", "late_last_ns")
    START_NS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    LATE_FIRST_NS_FIELD_NUMBER: _ClassVar[int]
    LATE_LAST_NS_FIELD_NUMBER: _ClassVar[int]
    start_ns: int
    received: int
    late: int
    late_first_ns: int
    late_last_ns: int
    def __init__(self, start_ns: _Optional[int] = ..., received: _Optional[int] = ..., late: _Optional[int] = ..., late_first_ns: _Optional[int] = ..., late_last_ns: _Optional[int] = ...) -> None: ...

class ArrivalStatsResponse(_message.Message):
    __slots__ = ("buckets",)
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[ArrivalBucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[ArrivalBucket, _Mapping]]] = ...) -> None: ...

class DecisionSeriesRequest(_message.Message):
    __slots__ = ("org_id", "stack_ids", "start_ns", "end_ns", "bucket_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    start_ns: int
    end_ns: int
    bucket_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ..., bucket_ns: _Optional[int] = ...) -> None: ...

class StackSeries(_message.Message):
    __slots__ = ("stack_id", "decisions", "denies")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    DENIES_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    decisions: _containers.RepeatedScalarFieldContainer[int]
    denies: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, stack_id: _Optional[str] = ..., decisions: _Optional[_Iterable[int]] = ..., denies: _Optional[_Iterable[int]] = ...) -> None: ...

class DecisionSeriesResponse(_message.Message):
    __slots__ = ("series",)
    SERIES_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[StackSeries]
    def __init__(self, series: _Optional[_Iterable[_Union[StackSeries, _Mapping]]] = ...) -> None: ...
