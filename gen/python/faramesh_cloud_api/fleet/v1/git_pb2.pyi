import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GitActor(_message.Message):
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

class GitConnection(_message.Message):
    __slots__ = ("connection_id", "org_id", "name", "provider", "base_url", "username", "token_hint", "created_at", "created_by")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_HINT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    org_id: str
    name: str
    provider: str
    base_url: str
    username: str
    token_hint: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, connection_id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., provider: _Optional[str] = ..., base_url: _Optional[str] = ..., username: _Optional[str] = ..., token_hint: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class GitMapping(_message.Message):
    __slots__ = ("stack_id", "connection_id", "connection", "provider", "base_url", "repository", "path", "branch", "mapped_at", "mapped_by")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    MAPPED_AT_FIELD_NUMBER: _ClassVar[int]
    MAPPED_BY_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    connection_id: str
    connection: str
    provider: str
    base_url: str
    repository: str
    path: str
    branch: str
    mapped_at: _timestamp_pb2.Timestamp
    mapped_by: str
    def __init__(self, stack_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., connection: _Optional[str] = ..., provider: _Optional[str] = ..., base_url: _Optional[str] = ..., repository: _Optional[str] = ..., path: _Optional[str] = ..., branch: _Optional[str] = ..., mapped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mapped_by: _Optional[str] = ...) -> None: ...

class GitDrift(_message.Message):
    __slots__ = ("stack_id", "provider", "repository", "path", "branch", "checked_at", "head_commit", "head_url", "error", "applied_commit", "applied_sha256", "status", "diff", "diff_truncated", "added", "removed")
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    HEAD_COMMIT_FIELD_NUMBER: _ClassVar[int]
    HEAD_URL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COMMIT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SHA256_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    DIFF_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    stack_id: str
    provider: str
    repository: str
    path: str
    branch: str
    checked_at: _timestamp_pb2.Timestamp
    head_commit: str
    head_url: str
    error: str
    applied_commit: str
    applied_sha256: str
    status: str
    diff: _containers.RepeatedScalarFieldContainer[str]
    diff_truncated: bool
    added: int
    removed: int
    def __init__(self, stack_id: _Optional[str] = ..., provider: _Optional[str] = ..., repository: _Optional[str] = ..., path: _Optional[str] = ..., branch: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., head_commit: _Optional[str] = ..., head_url: _Optional[str] = ..., error: _Optional[str] = ..., applied_commit: _Optional[str] = ..., applied_sha256: _Optional[str] = ..., status: _Optional[str] = ..., diff: _Optional[_Iterable[str]] = ..., diff_truncated: _Optional[bool] = ..., added: _Optional[int] = ..., removed: _Optional[int] = ...) -> None: ...

class ListConnectionsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListConnectionsResponse(_message.Message):
    __slots__ = ("connections",)
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[GitConnection]
    def __init__(self, connections: _Optional[_Iterable[_Union[GitConnection, _Mapping]]] = ...) -> None: ...

class ConnectRequest(_message.Message):
    __slots__ = ("org_id", "actor", "name", "provider", "base_url", "token", "username")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: GitActor
    name: str
    provider: str
    base_url: str
    token: str
    username: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[GitActor, _Mapping]] = ..., name: _Optional[str] = ..., provider: _Optional[str] = ..., base_url: _Optional[str] = ..., token: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: GitConnection
    def __init__(self, connection: _Optional[_Union[GitConnection, _Mapping]] = ...) -> None: ...

class DisconnectRequest(_message.Message):
    __slots__ = ("org_id", "actor", "connection_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: GitActor
    connection_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[GitActor, _Mapping]] = ..., connection_id: _Optional[str] = ...) -> None: ...

class DisconnectResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: GitConnection
    def __init__(self, connection: _Optional[_Union[GitConnection, _Mapping]] = ...) -> None: ...

class ListMappingsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListMappingsResponse(_message.Message):
    __slots__ = ("mappings",)
    MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    mappings: _containers.RepeatedCompositeFieldContainer[GitMapping]
    def __init__(self, mappings: _Optional[_Iterable[_Union[GitMapping, _Mapping]]] = ...) -> None: ...

class MapStackRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_id", "connection_id", "repository", "path", "branch")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: GitActor
    stack_id: str
    connection_id: str
    repository: str
    path: str
    branch: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., repository: _Optional[str] = ..., path: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class MapStackResponse(_message.Message):
    __slots__ = ("mapping",)
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    mapping: GitMapping
    def __init__(self, mapping: _Optional[_Union[GitMapping, _Mapping]] = ...) -> None: ...

class UnmapRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: GitActor
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ...) -> None: ...

class UnmapResponse(_message.Message):
    __slots__ = ("mapping",)
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    mapping: GitMapping
    def __init__(self, mapping: _Optional[_Union[GitMapping, _Mapping]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("org_id", "actor", "stack_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: GitActor
    stack_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[GitActor, _Mapping]] = ..., stack_id: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("drift",)
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    drift: GitDrift
    def __init__(self, drift: _Optional[_Union[GitDrift, _Mapping]] = ...) -> None: ...

class ListDriftsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListDriftsResponse(_message.Message):
    __slots__ = ("drifts",)
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    drifts: _containers.RepeatedCompositeFieldContainer[GitDrift]
    def __init__(self, drifts: _Optional[_Iterable[_Union[GitDrift, _Mapping]]] = ...) -> None: ...
