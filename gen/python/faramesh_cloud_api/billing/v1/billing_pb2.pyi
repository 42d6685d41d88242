from faramesh_cloud_api.billing.v1 import events_pb2 as _events_pb2
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

class Price(_message.Message):
    __slots__ = ("meter", "included", "unit_cents", "per")
    METER_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_FIELD_NUMBER: _ClassVar[int]
    UNIT_CENTS_FIELD_NUMBER: _ClassVar[int]
    PER_FIELD_NUMBER: _ClassVar[int]
    meter: str
    included: int
    unit_cents: int
    per: int
    def __init__(self, meter: _Optional[str] = ..., included: _Optional[int] = ..., unit_cents: _Optional[int] = ..., per: _Optional[int] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("plan_id", "name", "base_cents", "currency", "prices")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASE_CENTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    name: str
    base_cents: int
    currency: str
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, plan_id: _Optional[str] = ..., name: _Optional[str] = ..., base_cents: _Optional[int] = ..., currency: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("issued",)
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    issued: _events_pb2.InvoiceIssued
    def __init__(self, issued: _Optional[_Union[_events_pb2.InvoiceIssued, _Mapping]] = ...) -> None: ...

class GetPlansRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetPlansResponse(_message.Message):
    __slots__ = ("plans", "current_plan_id")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    current_plan_id: str
    def __init__(self, plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ..., current_plan_id: _Optional[str] = ...) -> None: ...

class SetPlanRequest(_message.Message):
    __slots__ = ("org_id", "actor", "plan_id")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    plan_id: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., plan_id: _Optional[str] = ...) -> None: ...

class SetPlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("org_id", "months")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    months: int
    def __init__(self, org_id: _Optional[str] = ..., months: _Optional[int] = ...) -> None: ...

class MonthUsage(_message.Message):
    __slots__ = ("month", "meters")
    class MetersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MONTH_FIELD_NUMBER: _ClassVar[int]
    METERS_FIELD_NUMBER: _ClassVar[int]
    month: str
    meters: _containers.ScalarMap[str, int]
    def __init__(self, month: _Optional[str] = ..., meters: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("months",)
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    months: _containers.RepeatedCompositeFieldContainer[MonthUsage]
    def __init__(self, months: _Optional[_Iterable[_Union[MonthUsage, _Mapping]]] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices",)
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ...) -> None: ...

class IssueInvoiceRequest(_message.Message):
    __slots__ = ("org_id", "actor", "month")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: RequestActor
    month: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[RequestActor, _Mapping]] = ..., month: _Optional[str] = ...) -> None: ...

class IssueInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "issued_now")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_NOW_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    issued_now: bool
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., issued_now: _Optional[bool] = ...) -> None: ...

class GetInvoiceDocumentRequest(_message.Message):
    __slots__ = ("org_id", "month", "format")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    month: str
    format: str
    def __init__(self, org_id: _Optional[str] = ..., month: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class GetInvoiceDocumentResponse(_message.Message):
    __slots__ = ("content", "media_type", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    media_type: str
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., media_type: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...
