"""The edge between billing's events and the log: protobuf messages of
``faramesh_cloud_api.billing.v1`` on ``billing.events.v1`` (key ``"<org>/-"``; headers
``org``, ``stack`` (empty), ``kind``, ``event-id``), and :data:`OUTBOX` (``billing_outbox``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud_api.billing.v1 import events_pb2 as pb

from faramesh_cloud.billing.domain import Invoice, InvoiceLine
from faramesh_cloud.events import records
from faramesh_cloud.events.topics import BILLING_EVENTS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.rpc.wire import instant, read_instant

TOPIC: Final = BILLING_EVENTS
OUTBOX_TABLE: Final = "billing_outbox"
OUTBOX: Final = Outbox(OUTBOX_TABLE)


@dataclass(frozen=True)
class PlanSet:
    event_id: str
    occurred_at: datetime
    org_id: str
    plan_id: str
    actor_label: str


Change = PlanSet | Invoice


def line_message(line: InvoiceLine) -> pb.InvoiceLine:
    return pb.InvoiceLine(description=line.description, meter=line.meter, quantity=line.quantity,
                          included=line.included, billable=line.billable, unit_cents=line.unit_cents,
                          per=line.per, amount_cents=line.amount_cents)


def invoice_message(i: Invoice) -> pb.InvoiceIssued:
    return pb.InvoiceIssued(event_id=i.event_id, occurred_at=instant(i.issued_at), org_id=i.org_id, month=i.month,
                            invoice_number=i.invoice_number, plan_id=i.plan_id, plan_name=i.plan_name,
                            currency=i.currency, lines=[line_message(x) for x in i.lines],
                            total_cents=i.total_cents, issued_by=i.issued_by)


def invoice_of(m: pb.InvoiceIssued) -> Invoice:
    lines = tuple(InvoiceLine(x.description, x.meter, x.quantity, x.included, x.billable, x.unit_cents, x.per,
                              x.amount_cents) for x in m.lines)
    return Invoice(m.org_id, m.month, m.invoice_number, m.plan_id, m.plan_name, m.currency, lines, m.total_cents,
                   read_instant(m.occurred_at), m.issued_by, m.event_id)


def encode(change: Change) -> LogRecord:
    if isinstance(change, PlanSet):
        msg = pb.PlanSet(event_id=change.event_id, occurred_at=instant(change.occurred_at), org_id=change.org_id,
                         plan_id=change.plan_id, actor_label=change.actor_label)
        return records.event_record(change.org_id, "", "PlanSet", change.event_id, msg.SerializeToString())
    return records.event_record(change.org_id, "", "InvoiceIssued", change.event_id,
                                invoice_message(change).SerializeToString())


def decode(kind: str, value: bytes, org: str) -> Change | None:
    """The change in ``value`` (None: a kind this code does not know); ValueError when the
    event's organisation is not its header's."""
    change: Change
    if kind == "PlanSet":
        m = pb.PlanSet.FromString(value)
        change = PlanSet(m.event_id, read_instant(m.occurred_at), m.org_id, m.plan_id, m.actor_label)
    elif kind == "InvoiceIssued":
        change = invoice_of(pb.InvoiceIssued.FromString(value))
    else:
        return None
    if change.org_id != org:
        raise ValueError(f"a {kind} of organisation {change.org_id} under the org header {org}")
    return change
