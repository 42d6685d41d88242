import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stack(_message.Message):
    __slots__ = ("stack_id", "name", "environment", "last_seen_at", "sync_status", "health", "daemon_version", "platform", "framework", "runtime_mode", "enforcement_layers", "last_apply_at", "commit", "commit_url", "applied_operator", "applied_summary", "applied_branch", "applied_remote", "policy_version", "governance_sha256", "config_text_sha256", "config_sha_mismatch", "uptime_s", "lifecycle", "active_sessions", "agent_count", "unavailable_backends", "status_observed_at")
    class PlatformEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    SYNC_STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_MODE_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_LAYERS_FIELD_NUMBER: _ClassVar[int]
    LAST_APPLY_AT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_URL_FIELD_NUMBER: _ClassVar[int]
    APPLIED_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    APPLIED_BRANCH_FIELD_NUMBER: _ClassVar[int]
    APPLIED_REMOTE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    GOVERNANCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    CONFIG_TEXT_SHA256_FIELD_NUMBER: _ClassVar[int]
    CONFIG_SHA_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    AGENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_BACKENDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    name: str
    environment: str
    last_seen_at: _timestamp_pb2.Timestamp
    sync_status: str
    health: str
    daemon_version: str
    platform: _containers.ScalarMap[str, str]
    framework: str
    runtime_mode: str
    enforcement_layers: _containers.RepeatedScalarFieldContainer[str]
    last_apply_at: _timestamp_pb2.Timestamp
    commit: str
    commit_url: str
    applied_operator: str
    applied_summary: str
    applied_branch: str
    applied_remote: str
    policy_version: str
    governance_sha256: str
    config_text_sha256: str
    config_sha_mismatch: bool
    uptime_s: float
    lifecycle: str
    active_sessions: int
    agent_count: int
    unavailable_backends: _containers.RepeatedScalarFieldContainer[str]
    status_observed_at: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., name: _Optional[str] = ..., environment: _Optional[str] = ..., last_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sync_status: _Optional[str] = ..., health: _Optional[str] = ..., daemon_version: _Optional[str] = ..., platform: _Optional[_Mapping[str, str]] = ..., framework: _Optional[str] = ..., runtime_mode: _Optional[str] = ..., enforcement_layers: _Optional[_Iterable[str]] = ..., last_apply_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., commit: _Optional[str] = ..., commit_url: _Optional[str] = ..., applied_operator: _Optional[str] = ..., applied_summary: _Optional[str] = ..., applied_branch: _Optional[str] = ..., applied_remote: _Optional[str] = ..., policy_version: _Optional[str] = ..., governance_sha256: _Optional[str] = ..., config_text_sha256: _Optional[str] = ..., config_sha_mismatch: _Optional[bool] = ..., uptime_s: _Optional[float] = ..., lifecycle: _Optional[str] = ..., active_sessions: _Optional[int] = ..., agent_count: _Optional[int] = ..., unavailable_backends: _Optional[_Iterable[str]] = ..., status_observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("stack_id", "agent_id", "scope", "session_id", "spent_usd", "ceiling_usd", "observed_at")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    CEILING_USD_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    scope: str
    session_id: str
    spent_usd: float
    ceiling_usd: float
    observed_at: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., scope: _Optional[str] = ..., session_id: _Optional[str] = ..., spent_usd: _Optional[float] = ..., ceiling_usd: _Optional[float] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Credential(_message.Message):
    __slots__ = ("stack_id", "agent_id", "credential_key", "source", "scope", "expires_at", "event", "observed_at")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    credential_key: str
    source: str
    scope: str
    expires_at: _timestamp_pb2.Timestamp
    event: str
    observed_at: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., credential_key: _Optional[str] = ..., source: _Optional[str] = ..., scope: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("stack_id", "agent_id", "killed", "isolated", "active_sessions", "in_latest_status", "budgets", "credentials")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    ISOLATED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    IN_LATEST_STATUS_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    killed: bool
    isolated: bool
    active_sessions: int
    in_latest_status: bool
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    credentials: _containers.RepeatedCompositeFieldContainer[Credential]
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., killed: _Optional[bool] = ..., isolated: _Optional[bool] = ..., active_sessions: _Optional[int] = ..., in_latest_status: _Optional[bool] = ..., budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., credentials: _Optional[_Iterable[_Union[Credential, _Mapping]]] = ...) -> None: ...

class Apply(_message.Message):
    __slots__ = ("stack_id", "commit", "applied_at", "operator", "summary", "branch", "policy_version", "commit_url", "first_seen_at", "text_sha256")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMIT_URL_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    TEXT_SHA256_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    commit: str
    applied_at: _timestamp_pb2.Timestamp
    operator: str
    summary: str
    branch: str
    policy_version: str
    commit_url: str
    first_seen_at: _timestamp_pb2.Timestamp
    text_sha256: str
    def __init__(self, stack_id: _Optional[str] = ..., commit: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., operator: _Optional[str] = ..., summary: _Optional[str] = ..., branch: _Optional[str] = ..., policy_version: _Optional[str] = ..., commit_url: _Optional[str] = ..., first_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text_sha256: _Optional[str] = ...) -> None: ...

class ConfigText(_message.Message):
    __slots__ = ("sha256", "text", "first_seen_at")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    text: str
    first_seen_at: _timestamp_pb2.Timestamp
    def __init__(self, sha256: _Optional[str] = ..., text: _Optional[str] = ..., first_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Provider(_message.Message):
    __slots__ = ("stack_id", "name", "version", "capabilities", "health", "health_message", "last_success_at", "identity_verified_at")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    name: str
    version: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    health: str
    health_message: str
    last_success_at: _timestamp_pb2.Timestamp
    identity_verified_at: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., health: _Optional[str] = ..., health_message: _Optional[str] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identity_verified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StackBurn(_message.Message):
    __slots__ = ("stack_id", "name", "spent_usd", "ceiling_usd")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    CEILING_USD_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    name: str
    spent_usd: float
    ceiling_usd: float
    def __init__(self, stack_id: _Optional[str] = ..., name: _Optional[str] = ..., spent_usd: _Optional[float] = ..., ceiling_usd: _Optional[float] = ...) -> None: ...

class ListStacksRequest(_message.Message):
    __slots__ = ("org_id", "now")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListStacksResponse(_message.Message):
    __slots__ = ("stacks",)
    STACKS_FIELD_NUMBER: _ClassVar[int]
    stacks: _containers.RepeatedCompositeFieldContainer[Stack]
    def __init__(self, stacks: _Optional[_Iterable[_Union[Stack, _Mapping]]] = ...) -> None: ...

class GetStackRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "now")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    now: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStackResponse(_message.Message):
    __slots__ = ("stack",)
    STACK_FIELD_NUMBER: _ClassVar[int]
    stack: Stack
    def __init__(self, stack: _Optional[_Union[Stack, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class ListAppliesRequest(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class ListAppliesResponse(_message.Message):
    __slots__ = ("applies",)
    APPLIES_FIELD_NUMBER: _ClassVar[int]
    applies: _containers.RepeatedCompositeFieldContainer[Apply]
    def __init__(self, applies: _Optional[_Iterable[_Union[Apply, _Mapping]]] = ...) -> None: ...

class GetConfigTextRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "sha256")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    sha256: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class GetConfigTextResponse(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: ConfigText
    def __init__(self, text: _Optional[_Union[ConfigText, _Mapping]] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ("org_id", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ...) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("providers",)
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[Provider]
    def __init__(self, providers: _Optional[_Iterable[_Union[Provider, _Mapping]]] = ...) -> None: ...

class ListBudgetsNearCeilingRequest(_message.Message):
    __slots__ = ("org_id", "within")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    WITHIN_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    within: float
    def __init__(self, org_id: _Optional[str] = ..., within: _Optional[float] = ...) -> None: ...

class ListBudgetsNearCeilingResponse(_message.Message):
    __slots__ = ("budgets",)
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ...) -> None: ...

class ListExpiringCredentialsRequest(_message.Message):
    __slots__ = ("org_id", "now", "within")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    WITHIN_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    now: _timestamp_pb2.Timestamp
    within: _duration_pb2.Duration
    def __init__(self, org_id: _Optional[str] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., within: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ListExpiringCredentialsResponse(_message.Message):
    __slots__ = ("credentials",)
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    credentials: _containers.RepeatedCompositeFieldContainer[Credential]
    def __init__(self, credentials: _Optional[_Iterable[_Union[Credential, _Mapping]]] = ...) -> None: ...

class ListBudgetBurnRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListBudgetBurnResponse(_message.Message):
    __slots__ = ("burns",)
    BURNS_FIELD_NUMBER: _ClassVar[int]
    burns: _containers.RepeatedCompositeFieldContainer[StackBurn]
    def __init__(self, burns: _Optional[_Iterable[_Union[StackBurn, _Mapping]]] = ...) -> None: ...

class ListContactRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "start_ns", "end_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    start_ns: int
    end_ns: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ...) -> None: ...

class ContactMinute(_message.Message):
    __slots__ = ("minute_ns", "items")
    MINUTE_NS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    minute_ns: int
    items: int
    def __init__(self, minute_ns: _Optional[int] = ..., items: _Optional[int] = ...) -> None: ...

class ListContactResponse(_message.Message):
    __slots__ = ("minutes",)
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    minutes: _containers.RepeatedCompositeFieldContainer[ContactMinute]
    def __init__(self, minutes: _Optional[_Iterable[_Union[ContactMinute, _Mapping]]] = ...) -> None: ...
