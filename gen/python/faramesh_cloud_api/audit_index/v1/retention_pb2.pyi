import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RetentionActor(_message.Message):
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

class RetentionPartition(_message.Message):
    __slots__ = ("month", "stacks", "records", "summaries")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    STACKS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    month: int
    stacks: _containers.RepeatedScalarFieldContainer[str]
    records: int
    summaries: int
    def __init__(self, month: _Optional[int] = ..., stacks: _Optional[_Iterable[str]] = ..., records: _Optional[int] = ..., summaries: _Optional[int] = ...) -> None: ...

class RetentionDecision(_message.Message):
    __slots__ = ("partition", "drop", "why", "due_at")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    partition: RetentionPartition
    drop: bool
    why: str
    due_at: _timestamp_pb2.Timestamp
    def __init__(self, partition: _Optional[_Union[RetentionPartition, _Mapping]] = ..., drop: _Optional[bool] = ..., why: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetentionPlan(_message.Message):
    __slots__ = ("decisions", "horizon_ns")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_NS_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[RetentionDecision]
    horizon_ns: int
    def __init__(self, decisions: _Optional[_Iterable[_Union[RetentionDecision, _Mapping]]] = ..., horizon_ns: _Optional[int] = ...) -> None: ...

class RetentionPolicies(_message.Message):
    __slots__ = ("org_days", "stack_days", "holds", "floor_days")
    class StackDaysEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class HoldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ORG_DAYS_FIELD_NUMBER: _ClassVar[int]
    STACK_DAYS_FIELD_NUMBER: _ClassVar[int]
    HOLDS_FIELD_NUMBER: _ClassVar[int]
    FLOOR_DAYS_FIELD_NUMBER: _ClassVar[int]
    org_days: int
    stack_days: _containers.ScalarMap[str, int]
    holds: _containers.ScalarMap[str, str]
    floor_days: int
    def __init__(self, org_days: _Optional[int] = ..., stack_days: _Optional[_Mapping[str, int]] = ..., holds: _Optional[_Mapping[str, str]] = ..., floor_days: _Optional[int] = ...) -> None: ...

class RetentionMinimum(_message.Message):
    __slots__ = ("framework", "name", "days", "citation", "note")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    CITATION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    framework: str
    name: str
    days: int
    citation: str
    note: str
    def __init__(self, framework: _Optional[str] = ..., name: _Optional[str] = ..., days: _Optional[int] = ..., citation: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class RetentionSweepRow(_message.Message):
    __slots__ = ("sweep_id", "ran_at", "horizon_ns", "months", "records", "summaries", "chains")
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    RAN_AT_FIELD_NUMBER: _ClassVar[int]
    HORIZON_NS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    ran_at: _timestamp_pb2.Timestamp
    horizon_ns: int
    months: _containers.RepeatedScalarFieldContainer[int]
    records: int
    summaries: int
    chains: int
    def __init__(self, sweep_id: _Optional[str] = ..., ran_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., horizon_ns: _Optional[int] = ..., months: _Optional[_Iterable[int]] = ..., records: _Optional[int] = ..., summaries: _Optional[int] = ..., chains: _Optional[int] = ...) -> None: ...

class RetentionChainCheckpoint(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "chain_index", "record_hash", "record_id", "record_created_at", "removed_on", "sweep_id", "key_id", "signature")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_ON_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    chain_index: int
    record_hash: str
    record_id: str
    record_created_at: str
    removed_on: _timestamp_pb2.Timestamp
    sweep_id: str
    key_id: str
    signature: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., chain_index: _Optional[int] = ..., record_hash: _Optional[str] = ..., record_id: _Optional[str] = ..., record_created_at: _Optional[str] = ..., removed_on: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sweep_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class RetentionSwept(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "sweep_id", "horizon_ns", "months", "records", "summaries", "checkpoints")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    HORIZON_NS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    sweep_id: str
    horizon_ns: int
    months: _containers.RepeatedScalarFieldContainer[int]
    records: int
    summaries: int
    checkpoints: _containers.RepeatedCompositeFieldContainer[RetentionChainCheckpoint]
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., sweep_id: _Optional[str] = ..., horizon_ns: _Optional[int] = ..., months: _Optional[_Iterable[int]] = ..., records: _Optional[int] = ..., summaries: _Optional[int] = ..., checkpoints: _Optional[_Iterable[_Union[RetentionChainCheckpoint, _Mapping]]] = ...) -> None: ...

class RetentionStatus(_message.Message):
    __slots__ = ("org_id", "policies", "frameworks", "minimum", "plan", "last_run", "next_run", "sweeps")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORKS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_FIELD_NUMBER: _ClassVar[int]
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    policies: RetentionPolicies
    frameworks: _containers.RepeatedScalarFieldContainer[str]
    minimum: RetentionMinimum
    plan: RetentionPlan
    last_run: _timestamp_pb2.Timestamp
    next_run: _timestamp_pb2.Timestamp
    sweeps: _containers.RepeatedCompositeFieldContainer[RetentionSweepRow]
    def __init__(self, org_id: _Optional[str] = ..., policies: _Optional[_Union[RetentionPolicies, _Mapping]] = ..., frameworks: _Optional[_Iterable[str]] = ..., minimum: _Optional[_Union[RetentionMinimum, _Mapping]] = ..., plan: _Optional[_Union[RetentionPlan, _Mapping]] = ..., last_run: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sweeps: _Optional[_Iterable[_Union[RetentionSweepRow, _Mapping]]] = ...) -> None: ...

class GetRetentionRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetRetentionResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: RetentionStatus
    def __init__(self, status: _Optional[_Union[RetentionStatus, _Mapping]] = ...) -> None: ...

class SetRetentionRequest(_message.Message):
    __slots__ = ("org_id", "actor", "days", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RetentionActor
    days: int
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RetentionActor, _Mapping]] = ..., days: _Optional[int] = ..., stack_id: _Optional[str] = ...) -> None: ...

class SetRetentionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearStackRetentionRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RetentionActor
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RetentionActor, _Mapping]] = ..., stack_id: _Optional[str] = ...) -> None: ...

class ClearStackRetentionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetLegalHoldRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_id", "held", "reason")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RetentionActor
    stack_id: str
    held: bool
    reason: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RetentionActor, _Mapping]] = ..., stack_id: _Optional[str] = ..., held: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SetLegalHoldResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DryRunRequest(_message.Message):
    __slots__ = ("org_id", "days", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    days: int
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., days: _Optional[int] = ..., stack_id: _Optional[str] = ...) -> None: ...

class DryRunResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: RetentionPlan
    def __init__(self, plan: _Optional[_Union[RetentionPlan, _Mapping]] = ...) -> None: ...

class SweepRequest(_message.Message):
    __slots__ = ("org_id", "actor")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RetentionActor
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RetentionActor, _Mapping]] = ...) -> None: ...

class SweepResponse(_message.Message):
    __slots__ = ("org_id", "plan", "swept", "dropped_months", "postponed")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SWEPT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_MONTHS_FIELD_NUMBER: _ClassVar[int]
    POSTPONED_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    plan: RetentionPlan
    swept: RetentionSwept
    dropped_months: _containers.RepeatedScalarFieldContainer[int]
    postponed: str
    def __init__(self, org_id: _Optional[str] = ..., plan: _Optional[_Union[RetentionPlan, _Mapping]] = ..., swept: _Optional[_Union[RetentionSwept, _Mapping]] = ..., dropped_months: _Optional[_Iterable[int]] = ..., postponed: _Optional[str] = ...) -> None: ...
