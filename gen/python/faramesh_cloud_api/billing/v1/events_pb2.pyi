import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlanSet(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "plan_id", "actor_label")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_LABEL_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    plan_id: str
    actor_label: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., actor_label: _Optional[str] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("description", "meter", "quantity", "included", "billable", "unit_cents", "per", "amount_cents")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_FIELD_NUMBER: _ClassVar[int]
    UNIT_CENTS_FIELD_NUMBER: _ClassVar[int]
    PER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    description: str
    meter: str
    quantity: int
    included: int
    billable: int
    unit_cents: int
    per: int
    amount_cents: int
    def __init__(self, description: _Optional[str] = ..., meter: _Optional[str] = ..., quantity: _Optional[int] = ..., included: _Optional[int] = ..., billable: _Optional[int] = ..., unit_cents: _Optional[int] = ..., per: _Optional[int] = ..., amount_cents: _Optional[int] = ...) -> None: ...

class InvoiceIssued(_message.Message):
    __slots__ = ("event_id", "occurred_at", "org_id", "month", "invoice_number", "plan_id", "plan_name", "currency", "lines", "total_cents", "issued_by")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CENTS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    org_id: str
    month: str
    invoice_number: str
    plan_id: str
    plan_name: str
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    total_cents: int
    issued_by: str
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_id: _Optional[str] = ..., month: _Optional[str] = ..., invoice_number: _Optional[str] = ..., plan_id: _Optional[str] = ..., plan_name: _Optional[str] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., total_cents: _Optional[int] = ..., issued_by: _Optional[str] = ...) -> None: ...
