"""Audit → Search: every filter of the spec, keyset pages, counts by effect, signed export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web import decision_charts
from faramesh_cloud.gateway.web.audit_common import (
    EFFECTS,
    STATES,
    VERIFICATIONS,
    SearchQuery,
    audit_page,
    check_stack,
    parse_limit,
    reader,
    visible,
)
from faramesh_cloud.gateway.web.audit_export import export_response
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)


async def run_search(request: Request, principal: Principal, query: SearchQuery, limit: int) -> tuple[Any, dict[str, int]]:
    audit = reader(request)
    if "stack_id" in query.filters:
        check_stack(principal, query.filters["stack_id"])
    cursor = request.query_params.get("cursor") or None
    org_id = principal.org.org_id
    try:
        found = await audit.search(org_id, query.filters, query.start_ns, query.end_ns, cursor, limit)
    except ValueError as exc:  # a cursor the index did not issue
        raise IdentityError(str(exc)) from None
    counts = await _counts(request, principal, query)
    return found, counts


async def _counts(request: Request, principal: Principal, query: SearchQuery) -> dict[str, int]:
    """Counts by effect over what the member may see: with a per-stack override hiding some
    stacks, the sum over the stacks still readable."""
    audit = reader(request)
    org_id = principal.org.org_id
    if "stack_id" not in query.filters:
        stack_ids = [s.stack_id for s in await web(request).stacks.list_stacks(org_id)]
        readable = principal.access.stacks_with(Permission.AUDIT_RECORD_READ, stack_ids)
        if len(readable) < len(stack_ids):
            total: dict[str, int] = {}
            for stack_id in readable:
                part = await audit.counts_by_effect(org_id, {**query.filters, "stack_id": stack_id},
                                                    query.start_ns, query.end_ns)
                for effect, n in part.items():
                    total[effect] = total.get(effect, 0) + n
            return dict(sorted(total.items()))
    return await audit.counts_by_effect(org_id, query.filters, query.start_ns, query.end_ns)


async def _decisions(request: Request, principal: Principal, query: SearchQuery) -> dict[str, Any]:
    """Decisions over time over the searched stack, or every stack the member may read."""
    org_id = principal.org.org_id
    wanted = query.filters.get("stack_id")
    stack_ids = [wanted] if wanted else [s.stack_id for s in await web(request).stacks.list_stacks(org_id)]
    out = await decision_charts.context(request, reader(request), org_id,
                                        principal.access.stacks_with(Permission.AUDIT_RECORD_READ, stack_ids))
    if out and set(query.filters) - {"stack_id"}:
        out["dc_note"] = ("The chart counts every decision of " + ("this stack" if wanted else "your stacks")
                          + " over its range; the other filters apply to the counts and the list.")
    return out


@router.get("/o/{org}/audit", response_class=HTMLResponse)
async def search(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    try:
        query = SearchQuery.parse(request)
        limit = parse_limit(request.query_params.get("limit"))
        found, counts = await run_search(request, principal, query, limit)
    except IdentityError as exc:
        return await audit_page(request, "audit/search.html", principal, "search", {
            "records": [], "counts": {}, "q": {}, "effects": EFFECTS, "verifications": VERIFICATIONS,
            "states": STATES, "next_link": None, "error": str(exc)},
            status_code=400)
    next_link = None
    if found.next_cursor:
        next_link = "?" + urlencode({**query.params, "cursor": found.next_cursor})
    return await audit_page(request, "audit/search.html", principal, "search", {
        **await _decisions(request, principal, query),
        "records": visible(principal, found.records), "counts": counts, "q": query.params,
        "effects": EFFECTS, "verifications": VERIFICATIONS, "states": STATES, "next_link": next_link,
        "total": sum(counts.values()),
        "export_query": urlencode(query.params),
        "can_export": principal.access.allows(Permission.AUDIT_RECORD_EXPORT),
    })


@router.get("/o/{org}/audit/export")
async def export(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_EXPORT))) -> Response:
    return await export_response(request, principal, SearchQuery.parse(request))
