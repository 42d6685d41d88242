from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_SECRETS: _ClassVar[Capability]
    CAPABILITY_IDENTITY: _ClassVar[Capability]
    CAPABILITY_KMS: _ClassVar[Capability]
    CAPABILITY_AUDIT_SINK: _ClassVar[Capability]
    CAPABILITY_COST: _ClassVar[Capability]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_SECRETS: Capability
CAPABILITY_IDENTITY: Capability
CAPABILITY_KMS: Capability
CAPABILITY_AUDIT_SINK: Capability
CAPABILITY_COST: Capability

class InitRequest(_message.Message):
    __slots__ = ("config", "dry_run")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    config: _containers.ScalarMap[str, str]
    dry_run: bool
    def __init__(self, config: _Optional[_Mapping[str, str]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ConfigSchemaField(_message.Message):
    __slots__ = ("name", "type", "required", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    required: bool
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class ProviderInfo(_message.Message):
    __slots__ = ("capabilities", "health", "schema", "version")
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    health: HealthStatus
    schema: _containers.RepeatedCompositeFieldContainer[ConfigSchemaField]
    version: str
    def __init__(self, capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., health: _Optional[_Union[HealthStatus, _Mapping]] = ..., schema: _Optional[_Iterable[_Union[ConfigSchemaField, _Mapping]]] = ..., version: _Optional[str] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthStatus(_message.Message):
    __slots__ = ("healthy", "detail")
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    healthy: bool
    detail: str
    def __init__(self, healthy: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...
