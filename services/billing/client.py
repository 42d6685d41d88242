"""The billing service's internal gRPC client: the gateway's ``BillingPort`` over
``faramesh_cloud_api.billing.v1.BillingService`` (mutual TLS, the gateway's certificate). It
answers as :class:`~faramesh_cloud.billing.api.BillingApi` does, with the same values and
refusals (``tests/contracts/test_billing_api_contract.py``): ``BillingRefused``
(INVALID_ARGUMENT), ``LookupError`` (NOT_FOUND); the service away:
:class:`~faramesh_cloud.rpc.errors.ServiceUnavailable` (the gateway's 503)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import grpc
from faramesh_cloud_api.billing.v1 import billing_pb2 as pb
from faramesh_cloud_api.billing.v1 import billing_pb2_grpc

from faramesh_cloud.billing.domain import BillingRefused, Invoice, Meter, MonthUsage, Plan, Price
from faramesh_cloud.billing.events import invoice_of
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_client import DEFAULT_TIMEOUT_S, InternalClient
from faramesh_cloud.rpc.internal_pki import ServiceCredentials

SERVER: Final = "billing"
REFUSALS: Final = {grpc.StatusCode.INVALID_ARGUMENT: BillingRefused, grpc.StatusCode.NOT_FOUND: LookupError}


def plan_of(m: pb.Plan) -> Plan:
    return Plan(m.plan_id, m.name, m.base_cents, m.currency,
                {Meter(p.meter): Price(p.included, p.unit_cents, p.per) for p in m.prices})


def actor_message(actor: Actor) -> pb.RequestActor:
    return pb.RequestActor(type=actor.type.value, id=actor.id, label=actor.label, ip=actor.ip)


class BillingClient:
    """``BillingPort`` (``gateway/web/billing_ports.py``) over the service's internal API."""

    def __init__(self, address: str, tls: ServiceCredentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        refusals: Mapping[grpc.StatusCode, Any] = REFUSALS
        self._rpc = InternalClient(SERVER, address, tls, billing_pb2_grpc.BillingServiceStub, timeout_s, refusals)

    @property
    def address(self) -> str:
        return self._rpc.address

    async def close(self) -> None:
        await self._rpc.close()

    async def plans(self, org_id: str) -> tuple[list[Plan], str]:
        r = await self._rpc.call("GetPlans", pb.GetPlansRequest(org_id=org_id))
        return [plan_of(p) for p in r.plans], str(r.current_plan_id)

    async def set_plan(self, org_id: str, plan_id: str, actor: Actor) -> Plan:
        r = await self._rpc.call("SetPlan", pb.SetPlanRequest(org_id=org_id, actor=actor_message(actor),
                                                              plan_id=plan_id))
        return plan_of(r.plan)

    async def usage(self, org_id: str, months: int = 12) -> list[MonthUsage]:
        if months == 0:  # 0 on the wire means the default: refuse it here as the service does
            raise BillingRefused("months must be 1 to 24, not 0")
        r = await self._rpc.call("GetUsage", pb.GetUsageRequest(org_id=org_id, months=months))
        return [MonthUsage(m.month, {meter: int(m.meters.get(meter.value, 0)) for meter in Meter}) for m in r.months]

    async def invoices(self, org_id: str) -> list[Invoice]:
        r = await self._rpc.call("ListInvoices", pb.ListInvoicesRequest(org_id=org_id))
        return [invoice_of(i.issued) for i in r.invoices]

    async def issue_invoice(self, org_id: str, month: str, actor: Actor) -> tuple[Invoice, bool]:
        r = await self._rpc.call("IssueInvoice", pb.IssueInvoiceRequest(org_id=org_id, actor=actor_message(actor),
                                                                        month=month))
        return invoice_of(r.invoice.issued), bool(r.issued_now)

    async def invoice_document(self, org_id: str, month: str, fmt: str) -> tuple[bytes, str, str]:
        r = await self._rpc.call("GetInvoiceDocument", pb.GetInvoiceDocumentRequest(org_id=org_id, month=month,
                                                                                    format=fmt))
        return bytes(r.content), str(r.media_type), str(r.filename)
