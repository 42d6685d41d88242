import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Actor(_message.Message):
    __slots__ = ("type", "id", "label")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class FrameworksDeclared(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "frameworks")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORKS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    frameworks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., frameworks: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportRequested(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "report_id", "framework", "stack_ids", "range_start", "range_end", "retry_of")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    RANGE_START_FIELD_NUMBER: _ClassVar[int]
    RANGE_END_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    report_id: str
    framework: str
    stack_ids: _containers.RepeatedScalarFieldContainer[str]
    range_start: _timestamp_pb2.Timestamp
    range_end: _timestamp_pb2.Timestamp
    retry_of: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., report_id: _Optional[str] = ..., framework: _Optional[str] = ..., stack_ids: _Optional[_Iterable[str]] = ..., range_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., range_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_of: _Optional[str] = ...) -> None: ...

class ReportFailed(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "report_id", "error")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    report_id: str
    error: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., report_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class ArtifactRecorded(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "artifact_id", "kind", "title", "parameters_json", "sha256", "size", "filename", "media_type", "verification_hash", "report_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_HASH_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    artifact_id: str
    kind: str
    title: str
    parameters_json: str
    sha256: str
    size: int
    filename: str
    media_type: str
    verification_hash: str
    report_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., artifact_id: _Optional[str] = ..., kind: _Optional[str] = ..., title: _Optional[str] = ..., parameters_json: _Optional[str] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., filename: _Optional[str] = ..., media_type: _Optional[str] = ..., verification_hash: _Optional[str] = ..., report_id: _Optional[str] = ...) -> None: ...

class ShareLinkCreated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "link_id", "artifact_id", "token_sha256", "expires_at", "note")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_SHA256_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    link_id: str
    artifact_id: str
    token_sha256: bytes
    expires_at: _timestamp_pb2.Timestamp
    note: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., link_id: _Optional[str] = ..., artifact_id: _Optional[str] = ..., token_sha256: _Optional[bytes] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class ShareLinkRevoked(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "link_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: Actor
    link_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., link_id: _Optional[str] = ...) -> None: ...
