"""``/api/v1/orgs/{org}/audit/...``: the DPR explorer's REST twin (search, counts, explain,
verify, export). Same permissions and org scope as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from faramesh_cloud.gateway.web.audit_common import SearchQuery, summary_json, visible
from faramesh_cloud.gateway.web.audit_explain import explain, explain_json
from faramesh_cloud.gateway.web.audit_export import export_response
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.routes_audit_search import run_search
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/audit", tags=["audit (DPR explorer)"])

_FILTERS: dict[str, Any] = {
    "stack": Query(None, description="stack id"), "agent": Query(None, description="agent id"),
    "session": Query(None, description="session id"), "effect": Query(None, description="PERMIT, DENY, DEFER, ..."),
    "action_type": Query(None), "tool": Query(None, description="tool id"),
    "rule": Query(None, description="matched rule id"),
    "since": Query(None, description="ISO 8601 (UTC when no zone); records created at or after"),
    "until": Query(None, description="ISO 8601; records created before"),
    "verification": Query(None, description="verified: DPRs only; unverified: only the decision summaries of "
                                            "the legacy Horizon feed and daemon webhooks (no hash, chain link "
                                            "or signature to check)"),
    "state": Query(None, description="a DPR's verification state: verifying (searchable, the chain verifier has "
                                     "not checked it yet), verified, or failed (an open critical finding names "
                                     "it); DPRs only"),
}


@router.get("/records")
async def search(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ)),
                 stack: str | None = _FILTERS["stack"], agent: str | None = _FILTERS["agent"],
                 session: str | None = _FILTERS["session"], effect: str | None = _FILTERS["effect"],
                 action_type: str | None = _FILTERS["action_type"], tool: str | None = _FILTERS["tool"],
                 rule: str | None = _FILTERS["rule"], since: str | None = _FILTERS["since"],
                 until: str | None = _FILTERS["until"],
                 verification: str | None = _FILTERS["verification"],
                 state: str | None = _FILTERS["state"],
                 cursor: str | None = Query(None, description="next_cursor of the previous page"),
                 limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """Records matching every filter, newest first, with counts by effect; pass
    ``next_cursor`` back as ``cursor`` for the next page (keyset, stable under inserts).
    Each record says its ``verification``: ``verified`` (a DPR) or ``unverified`` (a decision
    summary from the legacy feed or a webhook, ``source`` says which), and its ``state``: a
    DPR is ``verifying`` until the chain verifier has checked it (its ``hash_valid`` /
    ``signature_status`` / ``link_status`` then read false / ``unchecked``), then ``verified``
    or ``failed``; a summary ``unverified``."""
    found, counts = await run_search(request, principal, SearchQuery.parse(request), limit)
    return {"records": [summary_json(r) for r in visible(principal, found.records)],
            "next_cursor": found.next_cursor, "counts_by_effect": counts}


@router.get("/counts")
async def counts(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ)),
                 stack: str | None = _FILTERS["stack"], agent: str | None = _FILTERS["agent"],
                 session: str | None = _FILTERS["session"], effect: str | None = _FILTERS["effect"],
                 action_type: str | None = _FILTERS["action_type"], tool: str | None = _FILTERS["tool"],
                 rule: str | None = _FILTERS["rule"], since: str | None = _FILTERS["since"],
                 until: str | None = _FILTERS["until"],
                 verification: str | None = _FILTERS["verification"],
                 state: str | None = _FILTERS["state"]) -> dict[str, int]:
    """How many records per effect match the filters (one per record whatever its state)."""
    _, by_effect = await run_search(request, principal, SearchQuery.parse(request), 1)
    return by_effect


@router.get("/export", response_class=Response,
            responses={200: {"content": {"application/json": {}}, "description": "a signed dpr-search-export bundle"}})
async def export(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_EXPORT)),
                 stack: str | None = _FILTERS["stack"], agent: str | None = _FILTERS["agent"],
                 session: str | None = _FILTERS["session"], effect: str | None = _FILTERS["effect"],
                 action_type: str | None = _FILTERS["action_type"], tool: str | None = _FILTERS["tool"],
                 rule: str | None = _FILTERS["rule"], since: str | None = _FILTERS["since"],
                 until: str | None = _FILTERS["until"],
                 verification: str | None = _FILTERS["verification"]) -> Response:
    """The matching DPRs (at most 1000) as a signed bundle with each record's raw bytes,
    hash and chain position (unverified summaries are not DPRs: never exported); check it offline with
    ``faramesh-cloud verify-bundle FILE --public-key KEY``."""
    return await export_response(request, principal, SearchQuery.parse(request))


@router.get("/records/{record_id}")
async def record(request: Request, record_id: str,
                 principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> dict[str, Any]:
    """The explain view of one DPR: every stored copy with its raw bytes, parsed fields,
    chain position, previous and next record, findings, and its verification ``state``
    (verifying with how far behind the chain verifier is, verified, or failed with the
    finding)."""
    return explain_json(await explain(request, principal, record_id))


@router.post("/records/{record_id}/verify", dependencies=[Depends(check_csrf)])
async def verify(request: Request, record_id: str,
                 principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> dict[str, Any]:
    """Re-check on the server, from the stored bytes: the record hash, the link to the
    previous record (or genesis), the next record's link, and the Ed25519 signature. An
    unverified summary has none of them: ``ok`` is false and its check says why."""
    view = explain_json(await explain(request, principal, record_id, verify=True))
    view["ok"] = all(k["ok"] is not False for c in view["copies"] for k in c["checks"]) and all(
        c["summary"]["verification"] == "verified" for c in view["copies"])
    return view
