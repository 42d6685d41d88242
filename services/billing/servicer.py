"""The billing service's internal gRPC API (``faramesh_cloud_api.billing.v1``,
``BillingService``), answered by :class:`BillingApi`. The edge: requests become ``BillingApi``
calls and its values become messages; nothing else in the service imports this API's
generated code. ``BillingRefused`` is INVALID_ARGUMENT, ``LookupError`` NOT_FOUND. Mutual TLS;
only the ``gateway`` may call it."""

from __future__ import annotations

from typing import Final

import grpc
import grpc.aio
from faramesh_cloud_api.billing.v1 import billing_pb2 as pb
from faramesh_cloud_api.billing.v1 import billing_pb2_grpc

from faramesh_cloud.billing.api import BillingApi
from faramesh_cloud.billing.domain import BillingRefused, Plan
from faramesh_cloud.billing.events import invoice_message
from faramesh_cloud.rpc import servicing
from faramesh_cloud.rpc.internal_pki import ServiceCredentials
from faramesh_cloud.rpc.internal_server import InternalServer
from faramesh_cloud.rpc.servicing import Context

BILLING: Final = pb.DESCRIPTOR.services_by_name["BillingService"].full_name
CALLERS: Final = frozenset({"gateway"})
EDGE: Final = servicing.Edge(BillingRefused, ((BillingRefused, grpc.StatusCode.INVALID_ARGUMENT),))


def plan_message(p: Plan) -> pb.Plan:
    return pb.Plan(plan_id=p.plan_id, name=p.name, base_cents=p.base_cents, currency=p.currency,
                   prices=[pb.Price(meter=m.value, included=x.included, unit_cents=x.unit_cents, per=x.per)
                           for m, x in p.prices.items()])


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(self, api: BillingApi) -> None:
        self._api = api

    async def GetPlans(self, request: pb.GetPlansRequest, context: Context) -> pb.GetPlansResponse:
        plans, current = await EDGE.answer(context, lambda: self._api.plans(EDGE.org(request.org_id)))
        return pb.GetPlansResponse(plans=[plan_message(p) for p in plans], current_plan_id=current)

    async def SetPlan(self, request: pb.SetPlanRequest, context: Context) -> pb.SetPlanResponse:
        plan = await EDGE.answer(context, lambda: self._api.set_plan(EDGE.org(request.org_id), request.plan_id,
                                                                     EDGE.actor(request)))
        return pb.SetPlanResponse(plan=plan_message(plan))

    async def GetUsage(self, request: pb.GetUsageRequest, context: Context) -> pb.GetUsageResponse:
        months = await EDGE.answer(context, lambda: self._api.usage(EDGE.org(request.org_id), request.months or 12))
        return pb.GetUsageResponse(months=[pb.MonthUsage(month=m.month, meters={k.value: v for k, v in m.meters.items()})
                                           for m in months])

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context: Context) -> pb.ListInvoicesResponse:
        found = await EDGE.answer(context, lambda: self._api.invoices(EDGE.org(request.org_id)))
        return pb.ListInvoicesResponse(invoices=[pb.Invoice(issued=invoice_message(i)) for i in found])

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context: Context) -> pb.IssueInvoiceResponse:
        invoice, now = await EDGE.answer(context, lambda: self._api.issue_invoice(
            EDGE.org(request.org_id), request.month, EDGE.actor(request)))
        return pb.IssueInvoiceResponse(invoice=pb.Invoice(issued=invoice_message(invoice)), issued_now=now)

    async def GetInvoiceDocument(self, request: pb.GetInvoiceDocumentRequest,
                                 context: Context) -> pb.GetInvoiceDocumentResponse:
        content, media, name = await EDGE.answer(context, lambda: self._api.invoice_document(
            EDGE.org(request.org_id), request.month, request.format))
        return pb.GetInvoiceDocumentResponse(content=content, media_type=media, filename=name)


def internal_server(api: BillingApi, address: str, tls: ServiceCredentials) -> InternalServer:
    """The billing service's internal server on ``address`` (mutual TLS, ``gateway`` only)."""
    def register(server: grpc.aio.Server) -> None:
        billing_pb2_grpc.add_BillingServiceServicer_to_server(BillingServicer(api), server)

    return InternalServer(tls, address, {BILLING: CALLERS}, register)
