import datetime

from faramesh_cloud_api.audit_index.v1 import query_pb2 as _query_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestActor(_message.Message):
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

class Declared(_message.Message):
    __slots__ = ("framework", "name", "declared_at", "declared_by")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DECLARED_AT_FIELD_NUMBER: _ClassVar[int]
    DECLARED_BY_FIELD_NUMBER: _ClassVar[int]
    framework: str
    name: str
    declared_at: _timestamp_pb2.Timestamp
    declared_by: str
    def __init__(self, framework: _Optional[str] = ..., name: _Optional[str] = ..., declared_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., declared_by: _Optional[str] = ...) -> None: ...

class PostureRow(_message.Message):
    __slots__ = ("framework", "control_id", "status", "detail_json", "since", "evaluated_at")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    CONTROL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    framework: str
    control_id: str
    status: str
    detail_json: str
    since: _timestamp_pb2.Timestamp
    evaluated_at: _timestamp_pb2.Timestamp
    def __init__(self, framework: _Optional[str] = ..., control_id: _Optional[str] = ..., status: _Optional[str] = ..., detail_json: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PostureDay(_message.Message):
    __slots__ = ("framework", "day", "evidence", "policy", "gap", "gaps")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    framework: str
    day: str
    evidence: int
    policy: int
    gap: int
    gaps: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, framework: _Optional[str] = ..., day: _Optional[str] = ..., evidence: _Optional[int] = ..., policy: _Optional[int] = ..., gap: _Optional[int] = ..., gaps: _Optional[_Iterable[str]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("report_id", "framework", "stack_ids", "range_start", "range_end", "requested_at", "requested_by", "state", "progress", "stage", "error", "artifact_id", "finished_at", "retry_of")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    RANGE_START_FIELD_NUMBER: _ClassVar[int]
    RANGE_END_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    framework: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    range_start: _timestamp_pb2.Timestamp
    range_end: _timestamp_pb2.Timestamp
    requested_at: _timestamp_pb2.Timestamp
    requested_by: str
    state: str
    progress: float
    stage: str
    error: str
    artifact_id: str
    finished_at: _timestamp_pb2.Timestamp
    retry_of: str
    def __init__(self, report_id: _Optional[str] = ..., framework: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., range_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., range_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_by: _Optional[str] = ..., state: _Optional[str] = ..., progress: _Optional[float] = ..., stage: _Optional[str] = ..., error: _Optional[str] = ..., artifact_id: _Optional[str] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_of: _Optional[str] = ...) -> None: ...

class ShareLink(_message.Message):
    __slots__ = ("link_id", "artifact_id", "created_at", "created_by", "expires_at", "note", "revoked_at", "revoked_by")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    artifact_id: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    expires_at: _timestamp_pb2.Timestamp
    note: str
    revoked_at: _timestamp_pb2.Timestamp
    revoked_by: str
    def __init__(self, link_id: _Optional[str] = ..., artifact_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_by: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("artifact_id", "kind", "title", "parameters_json", "created_at", "created_by", "sha256", "size", "filename", "media_type", "verification_hash", "report_id", "links")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_HASH_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    kind: str
    title: str
    parameters_json: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    sha256: str
    size: int
    filename: str
    media_type: str
    verification_hash: str
    report_id: str
    links: _containers.RepeatedCompositeFieldContainer[ShareLink]
    def __init__(self, artifact_id: _Optional[str] = ..., kind: _Optional[str] = ..., title: _Optional[str] = ..., parameters_json: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., filename: _Optional[str] = ..., media_type: _Optional[str] = ..., verification_hash: _Optional[str] = ..., report_id: _Optional[str] = ..., links: _Optional[_Iterable[_Union[ShareLink, _Mapping]]] = ...) -> None: ...

class Opened(_message.Message):
    __slots__ = ("org_id", "org_name", "link", "artifact")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_NAME_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    org_name: str
    link: ShareLink
    artifact: Artifact
    def __init__(self, org_id: _Optional[str] = ..., org_name: _Optional[str] = ..., link: _Optional[_Union[ShareLink, _Mapping]] = ..., artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class ListDeclaredRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListDeclaredResponse(_message.Message):
    __slots__ = ("declared",)
    DECLARED_FIELD_NUMBER: _ClassVar[int]
    declared: _containers.RepeatedCompositeFieldContainer[Declared]
    def __init__(self, declared: _Optional[_Iterable[_Union[Declared, _Mapping]]] = ...) -> None: ...

class DeclareRequest(_message.Message):
    __slots__ = ("org_id", "actor", "frameworks")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORKS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    frameworks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., frameworks: _Optional[_Iterable[str]] = ...) -> None: ...

class DeclareResponse(_message.Message):
    __slots__ = ("declared",)
    DECLARED_FIELD_NUMBER: _ClassVar[int]
    declared: _containers.RepeatedCompositeFieldContainer[Declared]
    def __init__(self, declared: _Optional[_Iterable[_Union[Declared, _Mapping]]] = ...) -> None: ...

class GetPostureRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetPostureResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[PostureRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[PostureRow, _Mapping]]] = ...) -> None: ...

class GetPostureDaysRequest(_message.Message):
    __slots__ = ("org_id", "framework", "days")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    framework: str
    days: int
    def __init__(self, org_id: _Optional[str] = ..., framework: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class GetPostureDaysResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[PostureDay]
    def __init__(self, days: _Optional[_Iterable[_Union[PostureDay, _Mapping]]] = ...) -> None: ...

class RequestReportRequest(_message.Message):
    __slots__ = ("org_id", "actor", "framework", "stack_ids", "start", "end", "retry_of")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    framework: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    retry_of: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., framework: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_of: _Optional[str] = ...) -> None: ...

class RequestReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: Report
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class RetryReportRequest(_message.Message):
    __slots__ = ("org_id", "actor", "report_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    report_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., report_id: _Optional[str] = ...) -> None: ...

class RetryReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: Report
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class ListReportsRequest(_message.Message):
    __slots__ = ("org_id", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListReportsResponse(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[Report]
    def __init__(self, reports: _Optional[_Iterable[_Union[Report, _Mapping]]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("org_id", "report_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    report_id: str
    def __init__(self, org_id: _Optional[str] = ..., report_id: _Optional[str] = ...) -> None: ...

class GetReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: Report
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class ListLibraryRequest(_message.Message):
    __slots__ = ("org_id", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListLibraryResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("org_id", "artifact_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    artifact_id: str
    def __init__(self, org_id: _Optional[str] = ..., artifact_id: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class CertifyRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_ids", "start", "end")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., stack_ids: _Optional[_Iterable[str]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CertifyResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class DownloadRequest(_message.Message):
    __slots__ = ("org_id", "actor", "artifact_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    artifact_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., artifact_id: _Optional[str] = ...) -> None: ...

class DownloadMessage(_message.Message):
    __slots__ = ("artifact", "chunk")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    chunk: bytes
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ArtifactMetadata(_message.Message):
    __slots__ = ("org_id", "actor", "kind", "title", "parameters_json", "filename", "media_type", "verification_hash", "report_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_HASH_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    kind: str
    title: str
    parameters_json: str
    filename: str
    media_type: str
    verification_hash: str
    report_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., kind: _Optional[str] = ..., title: _Optional[str] = ..., parameters_json: _Optional[str] = ..., filename: _Optional[str] = ..., media_type: _Optional[str] = ..., verification_hash: _Optional[str] = ..., report_id: _Optional[str] = ...) -> None: ...

class AddArtifactMessage(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: ArtifactMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[ArtifactMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class AddArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class ShareRequest(_message.Message):
    __slots__ = ("org_id", "actor", "artifact_id", "days", "note")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    artifact_id: str
    days: int
    note: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., artifact_id: _Optional[str] = ..., days: _Optional[int] = ..., note: _Optional[str] = ...) -> None: ...

class ShareResponse(_message.Message):
    __slots__ = ("link", "token")
    LINK_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    link: ShareLink
    token: str
    def __init__(self, link: _Optional[_Union[ShareLink, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class RevokeRequest(_message.Message):
    __slots__ = ("org_id", "actor", "link_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    link_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., link_id: _Optional[str] = ...) -> None: ...

class RevokeResponse(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: ShareLink
    def __init__(self, link: _Optional[_Union[ShareLink, _Mapping]] = ...) -> None: ...

class OpenLinkRequest(_message.Message):
    __slots__ = ("token", "ip", "user_agent")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    ip: str
    user_agent: str
    def __init__(self, token: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class OpenLinkResponse(_message.Message):
    __slots__ = ("opened",)
    OPENED_FIELD_NUMBER: _ClassVar[int]
    opened: Opened
    def __init__(self, opened: _Optional[_Union[Opened, _Mapping]] = ...) -> None: ...

class EnforcedRule(_message.Message):
    __slots__ = ("rule_id", "effect", "effect_word", "tool", "line", "condition", "notify", "reason", "network", "source", "flat")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    EFFECT_WORD_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FLAT_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    effect: str
    effect_word: str
    tool: str
    line: int
    condition: str
    notify: str
    reason: str
    network: _containers.RepeatedCompositeFieldContainer[NetworkClause]
    source: str
    flat: bool
    def __init__(self, rule_id: _Optional[str] = ..., effect: _Optional[str] = ..., effect_word: _Optional[str] = ..., tool: _Optional[str] = ..., line: _Optional[int] = ..., condition: _Optional[str] = ..., notify: _Optional[str] = ..., reason: _Optional[str] = ..., network: _Optional[_Iterable[_Union[NetworkClause, _Mapping]]] = ..., source: _Optional[str] = ..., flat: _Optional[bool] = ...) -> None: ...

class NetworkClause(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ToolCoverage(_message.Message):
    __slots__ = ("tool_id", "status", "calls", "default_calls", "rule_ids", "rules", "guard_calls")
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CALLS_FIELD_NUMBER: _ClassVar[int]
    RULE_IDS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    GUARD_CALLS_FIELD_NUMBER: _ClassVar[int]
    tool_id: str
    status: str
    calls: int
    default_calls: int
    rule_ids: _containers.RepeatedScalarFieldContainer[str]
    rules: _containers.RepeatedCompositeFieldContainer[EnforcedRule]
    guard_calls: int
    def __init__(self, tool_id: _Optional[str] = ..., status: _Optional[str] = ..., calls: _Optional[int] = ..., default_calls: _Optional[int] = ..., rule_ids: _Optional[_Iterable[str]] = ..., rules: _Optional[_Iterable[_Union[EnforcedRule, _Mapping]]] = ..., guard_calls: _Optional[int] = ...) -> None: ...

class AgentCoverage(_message.Message):
    __slots__ = ("stack_id", "agent_id", "status", "tools", "enforced_as", "note")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    ENFORCED_AS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    status: str
    tools: _containers.RepeatedCompositeFieldContainer[ToolCoverage]
    enforced_as: str
    note: str
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., status: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[ToolCoverage, _Mapping]]] = ..., enforced_as: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("kind", "line", "message")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    line: int
    message: str
    def __init__(self, kind: _Optional[str] = ..., line: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Snippet(_message.Message):
    __slots__ = ("text", "line", "where", "note", "notes")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    text: str
    line: int
    where: str
    note: str
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text: _Optional[str] = ..., line: _Optional[int] = ..., where: _Optional[str] = ..., note: _Optional[str] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCoverageRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "start", "end")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCoverageResponse(_message.Message):
    __slots__ = ("stack_id", "start", "end", "applied", "governance_sha256", "primary_agent", "default_effect", "agents", "findings", "lines")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    GOVERNANCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_AGENT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_EFFECT_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    applied: bool
    governance_sha256: str
    primary_agent: str
    default_effect: str
    agents: _containers.RepeatedCompositeFieldContainer[AgentCoverage]
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    lines: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stack_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., applied: _Optional[bool] = ..., governance_sha256: _Optional[str] = ..., primary_agent: _Optional[str] = ..., default_effect: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[AgentCoverage, _Mapping]]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., lines: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCoverageGapRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "agent_id", "tool_id", "start", "end", "effect")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    agent_id: str
    tool_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    effect: str
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., effect: _Optional[str] = ...) -> None: ...

class GetCoverageGapResponse(_message.Message):
    __slots__ = ("stack_id", "agent_id", "tool_id", "calls", "default_calls", "effects", "samples", "snippet", "start", "end")
    class EffectsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CALLS_FIELD_NUMBER: _ClassVar[int]
    EFFECTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    agent_id: str
    tool_id: str
    calls: int
    default_calls: int
    effects: _containers.ScalarMap[str, int]
    samples: _containers.RepeatedCompositeFieldContainer[_query_pb2.RecordSummary]
    snippet: Snippet
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, stack_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., calls: _Optional[int] = ..., default_calls: _Optional[int] = ..., effects: _Optional[_Mapping[str, int]] = ..., samples: _Optional[_Iterable[_Union[_query_pb2.RecordSummary, _Mapping]]] = ..., snippet: _Optional[_Union[Snippet, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
