import datetime

from faramesh_cloud_api.sync.v1 import registry_pb2 as _registry_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackendStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BACKEND_STATUS_UNSPECIFIED: _ClassVar[BackendStatus]
    BACKEND_STATUS_OK: _ClassVar[BackendStatus]
    BACKEND_STATUS_UNAVAILABLE: _ClassVar[BackendStatus]

class LifecycleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIFECYCLE_STATE_UNSPECIFIED: _ClassVar[LifecycleState]
    LIFECYCLE_STATE_STARTING: _ClassVar[LifecycleState]
    LIFECYCLE_STATE_INITIALIZING: _ClassVar[LifecycleState]
    LIFECYCLE_STATE_READY: _ClassVar[LifecycleState]
    LIFECYCLE_STATE_DRAINING: _ClassVar[LifecycleState]
    LIFECYCLE_STATE_HALT: _ClassVar[LifecycleState]

class EnforcementLayer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENFORCEMENT_LAYER_UNSPECIFIED: _ClassVar[EnforcementLayer]
    ENFORCEMENT_LAYER_SECCOMP: _ClassVar[EnforcementLayer]
    ENFORCEMENT_LAYER_LANDLOCK: _ClassVar[EnforcementLayer]
    ENFORCEMENT_LAYER_EBPF: _ClassVar[EnforcementLayer]
    ENFORCEMENT_LAYER_FIRECRACKER: _ClassVar[EnforcementLayer]

class RuntimeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUNTIME_MODE_UNSPECIFIED: _ClassVar[RuntimeMode]
    RUNTIME_MODE_ENFORCE: _ClassVar[RuntimeMode]
    RUNTIME_MODE_SHADOW: _ClassVar[RuntimeMode]
    RUNTIME_MODE_AUDIT: _ClassVar[RuntimeMode]

class ProviderHealth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_HEALTH_UNSPECIFIED: _ClassVar[ProviderHealth]
    PROVIDER_HEALTH_HEALTHY: _ClassVar[ProviderHealth]
    PROVIDER_HEALTH_DEGRADED: _ClassVar[ProviderHealth]
    PROVIDER_HEALTH_UNHEALTHY: _ClassVar[ProviderHealth]
BACKEND_STATUS_UNSPECIFIED: BackendStatus
BACKEND_STATUS_OK: BackendStatus
BACKEND_STATUS_UNAVAILABLE: BackendStatus
LIFECYCLE_STATE_UNSPECIFIED: LifecycleState
LIFECYCLE_STATE_STARTING: LifecycleState
LIFECYCLE_STATE_INITIALIZING: LifecycleState
LIFECYCLE_STATE_READY: LifecycleState
LIFECYCLE_STATE_DRAINING: LifecycleState
LIFECYCLE_STATE_HALT: LifecycleState
ENFORCEMENT_LAYER_UNSPECIFIED: EnforcementLayer
ENFORCEMENT_LAYER_SECCOMP: EnforcementLayer
ENFORCEMENT_LAYER_LANDLOCK: EnforcementLayer
ENFORCEMENT_LAYER_EBPF: EnforcementLayer
ENFORCEMENT_LAYER_FIRECRACKER: EnforcementLayer
RUNTIME_MODE_UNSPECIFIED: RuntimeMode
RUNTIME_MODE_ENFORCE: RuntimeMode
RUNTIME_MODE_SHADOW: RuntimeMode
RUNTIME_MODE_AUDIT: RuntimeMode
PROVIDER_HEALTH_UNSPECIFIED: ProviderHealth
PROVIDER_HEALTH_HEALTHY: ProviderHealth
PROVIDER_HEALTH_DEGRADED: ProviderHealth
PROVIDER_HEALTH_UNHEALTHY: ProviderHealth

class BackendHealth(_message.Message):
    __slots__ = ("name", "status")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: BackendStatus
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[BackendStatus, str]] = ...) -> None: ...

class SyncBufferStats(_message.Message):
    __slots__ = ("queued_items", "queued_bytes", "oldest_item_age", "last_assigned_sequence", "acked_through_sequence", "dropped_items_total")
    QUEUED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_ITEM_AGE_FIELD_NUMBER: _ClassVar[int]
    LAST_ASSIGNED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACKED_THROUGH_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DROPPED_ITEMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    queued_items: int
    queued_bytes: int
    oldest_item_age: _duration_pb2.Duration
    last_assigned_sequence: int
    acked_through_sequence: int
    dropped_items_total: int
    def __init__(self, queued_items: _Optional[int] = ..., queued_bytes: _Optional[int] = ..., oldest_item_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., last_assigned_sequence: _Optional[int] = ..., acked_through_sequence: _Optional[int] = ..., dropped_items_total: _Optional[int] = ...) -> None: ...

class DaemonHealth(_message.Message):
    __slots__ = ("ok", "policy_loaded", "wal_open", "pipeline_ready", "backends", "observed_at", "uptime", "wal_size_bytes", "wal_archive_bytes", "sync_buffer", "lifecycle_state", "active_sessions")
    OK_FIELD_NUMBER: _ClassVar[int]
    POLICY_LOADED_FIELD_NUMBER: _ClassVar[int]
    WAL_OPEN_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_READY_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    WAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WAL_ARCHIVE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SYNC_BUFFER_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    policy_loaded: bool
    wal_open: bool
    pipeline_ready: bool
    backends: _containers.RepeatedCompositeFieldContainer[BackendHealth]
    observed_at: _timestamp_pb2.Timestamp
    uptime: _duration_pb2.Duration
    wal_size_bytes: int
    wal_archive_bytes: int
    sync_buffer: SyncBufferStats
    lifecycle_state: LifecycleState
    active_sessions: int
    def __init__(self, ok: _Optional[bool] = ..., policy_loaded: _Optional[bool] = ..., wal_open: _Optional[bool] = ..., pipeline_ready: _Optional[bool] = ..., backends: _Optional[_Iterable[_Union[BackendHealth, _Mapping]]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uptime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., wal_size_bytes: _Optional[int] = ..., wal_archive_bytes: _Optional[int] = ..., sync_buffer: _Optional[_Union[SyncBufferStats, _Mapping]] = ..., lifecycle_state: _Optional[_Union[LifecycleState, str]] = ..., active_sessions: _Optional[int] = ...) -> None: ...

class Platform(_message.Message):
    __slots__ = ("os", "arch", "kernel_version", "os_release", "hostname")
    OS_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OS_RELEASE_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    os: str
    arch: str
    kernel_version: str
    os_release: str
    hostname: str
    def __init__(self, os: _Optional[str] = ..., arch: _Optional[str] = ..., kernel_version: _Optional[str] = ..., os_release: _Optional[str] = ..., hostname: _Optional[str] = ...) -> None: ...

class AppliedConfig(_message.Message):
    __slots__ = ("git_commit", "git_remote_url", "git_branch", "applied_at", "operator", "summary", "governance_sha256", "policy_version", "fpl_version", "governance_fms")
    GIT_COMMIT_FIELD_NUMBER: _ClassVar[int]
    GIT_REMOTE_URL_FIELD_NUMBER: _ClassVar[int]
    GIT_BRANCH_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    GOVERNANCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    FPL_VERSION_FIELD_NUMBER: _ClassVar[int]
    GOVERNANCE_FMS_FIELD_NUMBER: _ClassVar[int]
    git_commit: str
    git_remote_url: str
    git_branch: str
    applied_at: _timestamp_pb2.Timestamp
    operator: str
    summary: str
    governance_sha256: str
    policy_version: str
    fpl_version: str
    governance_fms: str
    def __init__(self, git_commit: _Optional[str] = ..., git_remote_url: _Optional[str] = ..., git_branch: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., operator: _Optional[str] = ..., summary: _Optional[str] = ..., governance_sha256: _Optional[str] = ..., policy_version: _Optional[str] = ..., fpl_version: _Optional[str] = ..., governance_fms: _Optional[str] = ...) -> None: ...

class AgentSummary(_message.Message):
    __slots__ = ("agent_id", "killed", "isolated", "active_sessions")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    ISOLATED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    killed: bool
    isolated: bool
    active_sessions: int
    def __init__(self, agent_id: _Optional[str] = ..., killed: _Optional[bool] = ..., isolated: _Optional[bool] = ..., active_sessions: _Optional[int] = ...) -> None: ...

class ProviderStatus(_message.Message):
    __slots__ = ("name", "version", "capabilities", "health", "health_message", "last_success_at", "identity_verified_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    health: ProviderHealth
    health_message: str
    last_success_at: _timestamp_pb2.Timestamp
    identity_verified_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., health: _Optional[_Union[ProviderHealth, str]] = ..., health_message: _Optional[str] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identity_verified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StackStatus(_message.Message):
    __slots__ = ("observed_at", "daemon_version", "platform", "enforcement_layers", "runtime_mode", "applied_config", "framework", "framework_version", "agents", "providers", "registry_imports", "started_at")
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_LAYERS_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_MODE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_CONFIG_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_IMPORTS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    observed_at: _timestamp_pb2.Timestamp
    daemon_version: str
    platform: Platform
    enforcement_layers: _containers.RepeatedScalarFieldContainer[EnforcementLayer]
    runtime_mode: RuntimeMode
    applied_config: AppliedConfig
    framework: str
    framework_version: str
    agents: _containers.RepeatedCompositeFieldContainer[AgentSummary]
    providers: _containers.RepeatedCompositeFieldContainer[ProviderStatus]
    registry_imports: _containers.RepeatedCompositeFieldContainer[_registry_pb2.RegistryArtifact]
    started_at: _timestamp_pb2.Timestamp
    def __init__(self, observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., daemon_version: _Optional[str] = ..., platform: _Optional[_Union[Platform, _Mapping]] = ..., enforcement_layers: _Optional[_Iterable[_Union[EnforcementLayer, str]]] = ..., runtime_mode: _Optional[_Union[RuntimeMode, str]] = ..., applied_config: _Optional[_Union[AppliedConfig, _Mapping]] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[AgentSummary, _Mapping]]] = ..., providers: _Optional[_Iterable[_Union[ProviderStatus, _Mapping]]] = ..., registry_imports: _Optional[_Iterable[_Union[_registry_pb2.RegistryArtifact, _Mapping]]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
