"""Audit → Chain integrity: per stack, last verified, chain length, segments, archive status
and every finding, each linked to the offending record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.audit_common import audit_page, check_stack, reader
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
# Cloud keeps every indexed record in its own store; an archive tier does not exist yet.
ARCHIVE_STATUS = "not archived: every record is in the live index"


def verified_at(stacks: list[Any]) -> dict[str, datetime]:
    return {s.stack_id: datetime.fromtimestamp(s.last_verified_ns / 1e9, UTC) for s in stacks if s.last_verified_ns}


async def integrity_view(request: Request, principal: Principal, stack_id: str | None) -> list[Any]:
    if stack_id is not None:
        known = {s.stack_id for s in await web(request).stacks.list_stacks(principal.org.org_id)}
        if stack_id not in known:
            raise NotFound("no such stack in this organisation")
        check_stack(principal, stack_id, Permission.AUDIT_CHAIN_READ)
    stacks = await reader(request).chain_integrity(principal.org.org_id, stack_id)
    return [s for s in stacks if principal.access.allows(Permission.AUDIT_CHAIN_READ, s.stack_id)]


@router.get("/o/{org}/audit/integrity", response_class=HTMLResponse)
async def integrity(request: Request, principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> Response:
    stacks = await integrity_view(request, principal, None)
    return await audit_page(request, "audit/integrity.html", principal, "integrity",
                            {"chains": stacks, "archive_status": ARCHIVE_STATUS, "one_stack": None,
                             "verified_at": verified_at(stacks)})


@router.get("/o/{org}/audit/integrity/{stack_id}", response_class=HTMLResponse)
async def stack_integrity(request: Request, stack_id: str,
                          principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> Response:
    stacks = await integrity_view(request, principal, stack_id)
    return await audit_page(request, "audit/integrity.html", principal, "integrity",
                            {"chains": stacks, "archive_status": ARCHIVE_STATUS, "one_stack": stack_id,
                             "verified_at": verified_at(stacks)})
