import datetime

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

class Destination(_message.Message):
    __slots__ = ("destination_id", "org_id", "name", "kind", "config_json", "forward_dprs", "forward_metrics", "created_at", "created_by")
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    FORWARD_DPRS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    destination_id: str
    org_id: str
    name: str
    kind: str
    config_json: str
    forward_dprs: bool
    forward_metrics: bool
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, destination_id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., config_json: _Optional[str] = ..., forward_dprs: _Optional[bool] = ..., forward_metrics: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("destination_id", "destination_name", "at", "items", "outcome", "attempts", "http_status", "error")
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_NAME_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    destination_id: str
    destination_name: str
    at: _timestamp_pb2.Timestamp
    items: int
    outcome: str
    attempts: int
    http_status: int
    error: str
    def __init__(self, destination_id: _Optional[str] = ..., destination_name: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items: _Optional[int] = ..., outcome: _Optional[str] = ..., attempts: _Optional[int] = ..., http_status: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class ListDestinationsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListDestinationsResponse(_message.Message):
    __slots__ = ("destinations",)
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    destinations: _containers.RepeatedCompositeFieldContainer[Destination]
    def __init__(self, destinations: _Optional[_Iterable[_Union[Destination, _Mapping]]] = ...) -> None: ...

class GetDestinationRequest(_message.Message):
    __slots__ = ("org_id", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., destination_id: _Optional[str] = ...) -> None: ...

class GetDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class CreateDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "name", "kind", "fields", "forward_dprs", "forward_metrics")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_DPRS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_METRICS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    name: str
    kind: str
    fields: _containers.ScalarMap[str, str]
    forward_dprs: bool
    forward_metrics: bool
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., fields: _Optional[_Mapping[str, str]] = ..., forward_dprs: _Optional[bool] = ..., forward_metrics: _Optional[bool] = ...) -> None: ...

class CreateDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class DeleteDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ...) -> None: ...

class DeleteDestinationResponse(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class TestDestinationRequest(_message.Message):
    __slots__ = ("org_id", "actor", "destination_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    destination_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., destination_id: _Optional[str] = ...) -> None: ...

class TestDestinationResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: str
    def __init__(self, result: _Optional[str] = ...) -> None: ...

class GetBacklogRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetBacklogResponse(_message.Message):
    __slots__ = ("waiting",)
    class WaitingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    WAITING_FIELD_NUMBER: _ClassVar[int]
    waiting: _containers.ScalarMap[str, int]
    def __init__(self, waiting: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("org_id", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...
