import datetime

from faramesh_cloud_api.fleet.v1 import git_pb2 as _git_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GitConnected(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "connection_id", "name", "provider", "base_url")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: _git_pb2.GitActor
    connection_id: str
    name: str
    provider: str
    base_url: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[_git_pb2.GitActor, _Mapping]] = ..., connection_id: _Optional[str] = ..., name: _Optional[str] = ..., provider: _Optional[str] = ..., base_url: _Optional[str] = ...) -> None: ...

class GitDisconnected(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "connection_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: _git_pb2.GitActor
    connection_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[_git_pb2.GitActor, _Mapping]] = ..., connection_id: _Optional[str] = ...) -> None: ...

class GitStackMapped(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "stack_id", "connection_id", "repository", "path", "branch")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: _git_pb2.GitActor
    stack_id: str
    connection_id: str
    repository: str
    path: str
    branch: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[_git_pb2.GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., repository: _Optional[str] = ..., path: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class GitStackUnmapped(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "stack_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: _git_pb2.GitActor
    stack_id: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[_git_pb2.GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ...) -> None: ...

class GitDriftChecked(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "actor", "stack_id", "head_commit", "head_sha256", "error")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    HEAD_COMMIT_FIELD_NUMBER: _ClassVar[int]
    HEAD_SHA256_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    actor: _git_pb2.GitActor
    stack_id: str
    head_commit: str
    head_sha256: str
    error: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., actor: _Optional[_Union[_git_pb2.GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ..., head_commit: _Optional[str] = ..., head_sha256: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
