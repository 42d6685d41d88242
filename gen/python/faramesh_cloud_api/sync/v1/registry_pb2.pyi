import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryArtifactKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRY_ARTIFACT_KIND_UNSPECIFIED: _ClassVar[RegistryArtifactKind]
    REGISTRY_ARTIFACT_KIND_POLICY: _ClassVar[RegistryArtifactKind]
    REGISTRY_ARTIFACT_KIND_FRAMEWORK: _ClassVar[RegistryArtifactKind]
    REGISTRY_ARTIFACT_KIND_PROVIDER: _ClassVar[RegistryArtifactKind]

class AlertSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_SEVERITY_UNSPECIFIED: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_INFO: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_WARNING: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_CRITICAL: _ClassVar[AlertSeverity]
REGISTRY_ARTIFACT_KIND_UNSPECIFIED: RegistryArtifactKind
REGISTRY_ARTIFACT_KIND_POLICY: RegistryArtifactKind
REGISTRY_ARTIFACT_KIND_FRAMEWORK: RegistryArtifactKind
REGISTRY_ARTIFACT_KIND_PROVIDER: RegistryArtifactKind
ALERT_SEVERITY_UNSPECIFIED: AlertSeverity
ALERT_SEVERITY_INFO: AlertSeverity
ALERT_SEVERITY_WARNING: AlertSeverity
ALERT_SEVERITY_CRITICAL: AlertSeverity

class RegistryArtifact(_message.Message):
    __slots__ = ("kind", "name", "version", "import_path")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMPORT_PATH_FIELD_NUMBER: _ClassVar[int]
    kind: RegistryArtifactKind
    name: str
    version: str
    import_path: str
    def __init__(self, kind: _Optional[_Union[RegistryArtifactKind, str]] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., import_path: _Optional[str] = ...) -> None: ...

class RegistryPackAlert(_message.Message):
    __slots__ = ("alert_id", "current", "latest_version", "severity", "yanked", "summary", "details_url", "raised_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    YANKED_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DETAILS_URL_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    current: RegistryArtifact
    latest_version: str
    severity: AlertSeverity
    yanked: bool
    summary: str
    details_url: str
    raised_at: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., current: _Optional[_Union[RegistryArtifact, _Mapping]] = ..., latest_version: _Optional[str] = ..., severity: _Optional[_Union[AlertSeverity, str]] = ..., yanked: _Optional[bool] = ..., summary: _Optional[str] = ..., details_url: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
