import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CredentialEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDENTIAL_EVENT_TYPE_UNSPECIFIED: _ClassVar[CredentialEventType]
    CREDENTIAL_EVENT_TYPE_ISSUED: _ClassVar[CredentialEventType]
    CREDENTIAL_EVENT_TYPE_RENEWED: _ClassVar[CredentialEventType]
    CREDENTIAL_EVENT_TYPE_EXPIRED: _ClassVar[CredentialEventType]
    CREDENTIAL_EVENT_TYPE_REVOKED: _ClassVar[CredentialEventType]

class BudgetScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_SCOPE_UNSPECIFIED: _ClassVar[BudgetScope]
    BUDGET_SCOPE_SESSION: _ClassVar[BudgetScope]
    BUDGET_SCOPE_DAILY: _ClassVar[BudgetScope]
CREDENTIAL_EVENT_TYPE_UNSPECIFIED: CredentialEventType
CREDENTIAL_EVENT_TYPE_ISSUED: CredentialEventType
CREDENTIAL_EVENT_TYPE_RENEWED: CredentialEventType
CREDENTIAL_EVENT_TYPE_EXPIRED: CredentialEventType
CREDENTIAL_EVENT_TYPE_REVOKED: CredentialEventType
BUDGET_SCOPE_UNSPECIFIED: BudgetScope
BUDGET_SCOPE_SESSION: BudgetScope
BUDGET_SCOPE_DAILY: BudgetScope

class CredentialExpiryEvent(_message.Message):
    __slots__ = ("agent_id", "credential_source", "credential_scope", "expires_at", "event_type", "observed_at", "credential_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    credential_source: str
    credential_scope: str
    expires_at: _timestamp_pb2.Timestamp
    event_type: CredentialEventType
    observed_at: _timestamp_pb2.Timestamp
    credential_id: str
    def __init__(self, agent_id: _Optional[str] = ..., credential_source: _Optional[str] = ..., credential_scope: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[_Union[CredentialEventType, str]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credential_id: _Optional[str] = ...) -> None: ...

class RateCounter(_message.Message):
    __slots__ = ("tool_id", "count", "limit", "window")
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    tool_id: str
    count: int
    limit: int
    window: _duration_pb2.Duration
    def __init__(self, tool_id: _Optional[str] = ..., count: _Optional[int] = ..., limit: _Optional[int] = ..., window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BudgetSnapshot(_message.Message):
    __slots__ = ("agent_id", "scope", "session_id", "spent_usd", "ceiling_usd", "rate_counters", "observed_at")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    CEILING_USD_FIELD_NUMBER: _ClassVar[int]
    RATE_COUNTERS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    scope: BudgetScope
    session_id: str
    spent_usd: float
    ceiling_usd: float
    rate_counters: _containers.RepeatedCompositeFieldContainer[RateCounter]
    observed_at: _timestamp_pb2.Timestamp
    def __init__(self, agent_id: _Optional[str] = ..., scope: _Optional[_Union[BudgetScope, str]] = ..., session_id: _Optional[str] = ..., spent_usd: _Optional[float] = ..., ceiling_usd: _Optional[float] = ..., rate_counters: _Optional[_Iterable[_Union[RateCounter, _Mapping]]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
