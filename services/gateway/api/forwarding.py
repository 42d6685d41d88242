"""``/api/v1/orgs/{org}/forwarding``: observability forwarding destinations (Datadog, Grafana
Cloud OTLP, Splunk HEC, Elastic, generic OTLP/HTTP), a test send and the delivery log.
Owner and Admin only (``org:integration:manage``). Secrets go in and never come back."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, StrictBool

from faramesh_cloud.gateway.openapi import CONFLICT
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.forwarding_ports import (
    delivery_json,
    destination_json,
    forwarding_port,
)
from faramesh_cloud.gateway.web.notifications_ports import not_found, refused
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/forwarding", tags=["forwarding"])
ADMIN = require(Permission.ORG_INTEGRATION_MANAGE)


class ForwardingDestinationIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["datadog", "grafana_otlp", "splunk_hec", "elastic", "otlp"]
    forward_dprs: StrictBool = Field(default=True, description="send every DPR as a log entry / event / document")
    forward_metrics: StrictBool = Field(default=True, description="send decision counts per minute, stack and effect")
    url: str = Field(default="", max_length=2000, description="splunk_hec, elastic, grafana_otlp, otlp: the base URL")
    site: str = Field(default="", max_length=100, description="datadog: datadoghq.com, datadoghq.eu, us3/us5/ap1...")
    api_key: str = Field(default="", max_length=500, description="datadog: the API key; elastic: the encoded API key")
    token: str = Field(default="", max_length=2000, description="splunk_hec: the HEC token; grafana_otlp: the token")
    instance_id: str = Field(default="", max_length=40, description="grafana_otlp: the instance ID (a number)")
    index: str = Field(default="", max_length=200, description="splunk_hec: the index; elastic: the DPR index")
    sourcetype: str = Field(default="", max_length=80, description="splunk_hec (default faramesh:dpr)")
    metrics_index: str = Field(default="", max_length=200, description="elastic (default faramesh-metrics)")
    headers: str = Field(default="", max_length=4000, description="otlp: name=value,name2=value2 (sealed)")


@router.get("/destinations")
async def list_forwarding_destinations(request: Request, principal: Principal = Depends(ADMIN)) -> list[dict[str, Any]]:
    return [destination_json(d) for d in await forwarding_port(request).destinations(principal.org.org_id)]


@router.post("/destinations", status_code=201, dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def create_forwarding_destination(body: ForwardingDestinationIn, request: Request,
                                        principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    fields = body.model_dump(exclude={"name", "kind", "forward_dprs", "forward_metrics"})
    try:
        created = await forwarding_port(request).create_destination(
            principal.org.org_id, body.name, body.kind, fields, principal.actor, forward_dprs=body.forward_dprs,
            forward_metrics=body.forward_metrics)
    except ValueError as exc:
        raise refused(exc) from None
    return destination_json(created)


@router.get("/destinations/{destination_id}")
async def get_forwarding_destination(destination_id: str, request: Request,
                                     principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        return destination_json(await forwarding_port(request).destination(principal.org.org_id, destination_id))
    except LookupError as exc:
        raise not_found(exc) from None


@router.delete("/destinations/{destination_id}", dependencies=[Depends(check_csrf)])
async def delete_forwarding_destination(destination_id: str, request: Request,
                                        principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        return destination_json(await forwarding_port(request).delete_destination(
            principal.org.org_id, destination_id, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None


@router.post("/destinations/{destination_id}/test", dependencies=[Depends(check_csrf)])
async def test_forwarding_destination(destination_id: str, request: Request,
                                      principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        result = await forwarding_port(request).test_destination(principal.org.org_id, destination_id,
                                                                 principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    return {"result": result}


@router.get("/deliveries")
async def list_forwarding_deliveries(request: Request, principal: Principal = Depends(ADMIN),
                                     limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    return [delivery_json(line) for line in await forwarding_port(request).deliveries(principal.org.org_id,
                                                                                      limit=limit)]
