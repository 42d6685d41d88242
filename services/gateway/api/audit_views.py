"""``/api/v1/orgs/{org}/audit/...``: session timeline, chain integrity, chain-integrity alerts
(list, one, acknowledge), live stream (SSE)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.web.audit_common import reader, summary_json, visible
from faramesh_cloud.gateway.web.audit_live import stream
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.routes_audit_integrity import (
    Refused,
    acknowledge,
    acknowledgeable_alert,
    alerts_view,
    archive_status,
    integrity_view,
    readable_alert,
)
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/audit", tags=["audit (DPR explorer)"])


@router.get("/sessions/{session_id}")
async def session(request: Request, session_id: str,
                  principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ)),
                  cursor: str | None = None, limit: int = Query(500, ge=1, le=1000)) -> dict[str, Any]:
    """Every record of the session across all agents and stacks, oldest first."""
    try:
        timeline = await reader(request).session_timeline(principal.org.org_id, session_id, cursor, limit)
    except ValueError as exc:
        raise IdentityError(str(exc)) from None
    records = visible(principal, timeline.records)
    if not records and cursor is None:
        raise NotFound(f"no decision records with session id {session_id!r} in this organisation")
    return {"session_id": session_id, "records": [summary_json(r) for r in records],
            "agents": sorted({r.agent_id for r in records}), "next_cursor": timeline.next_cursor}


def _agent(agent: Any) -> dict[str, Any]:
    out = {f.name: getattr(agent, f.name) for f in dataclasses.fields(agent) if f.name != "checkpoint"}
    out["findings"] = [dataclasses.asdict(f) for f in agent.findings]
    cp = agent.checkpoint
    # Retention removed the chain's records up to the checkpoint (docs/retention.md).
    out["checkpoint"] = None if cp is None else {
        "chain_index": cp.chain_index, "record_hash": cp.record_hash, "record_id": cp.record_id,
        "record_created_at": cp.record_created_at, "removed_on": cp.removed_on.isoformat(),
        "sweep_id": cp.sweep_id, "key_id": cp.key_id, "signature": cp.signature}
    out["verified_from"] = agent.verified_from
    return out


def _integrity(stacks: list[Any]) -> list[dict[str, Any]]:
    return [{**{f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "agents"},
             "agents": [_agent(a) for a in s.agents], "intact": s.intact, "archive_status": archive_status(s)}
            for s in stacks]


@router.get("/integrity")
async def integrity(request: Request,
                    principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> list[dict[str, Any]]:
    """Per stack: chain length, segments, last verified (Unix ns), findings by kind, every finding."""
    return _integrity(await integrity_view(request, principal, None))


@router.get("/integrity/{stack_id}")
async def stack_integrity(request: Request, stack_id: str,
                          principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> list[dict[str, Any]]:
    """One stack's chain integrity."""
    return _integrity(await integrity_view(request, principal, stack_id))


def _alert(a: Any) -> dict[str, Any]:
    return {"alert_id": a.alert_id, "stack_id": a.stack_id, "agent_id": a.agent_id, "record_id": a.record_id,
            "record_hash": a.record_hash, "kind": a.kind, "severity": a.severity, "message": a.message,
            "record_created_at": a.record_created_at, "created_at": a.created_at, "acknowledged": a.acknowledged,
            "acknowledged_at": a.acknowledged_at, "acknowledged_by": a.acknowledged_by or None,
            "acknowledged_note": a.acknowledged_note or None}


@router.get("/alerts")
async def list_alerts(request: Request, principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ)),
                      stack_id: str | None = None,
                      include_acknowledged: bool = Query(True, description="false: only the open ones (Home's)")
                      ) -> list[dict[str, Any]]:
    """Critical chain-integrity alerts (hash mismatch, broken link, gap, invalid genesis, bad or
    untrusted signature...): the open ones, then the recently acknowledged ones (with who, when
    and the note), each newest first."""
    return [_alert(a) for a in await alerts_view(request, principal, stack_id)
            if include_acknowledged or not a.acknowledged]


@router.get("/alerts/{alert_id}")
async def get_alert(request: Request, alert_id: str,
                    principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> dict[str, Any]:
    """One alert. Another organisation's id is 404."""
    return _alert(await readable_alert(request, principal, alert_id))


class AcknowledgeIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="what was found or done (required)")


@router.post("/alerts/{alert_id}/acknowledge", dependencies=[Depends(check_csrf)],
             responses={403: {"description": "Auditor and Viewer are read-only"},
                        404: {"description": "no such alert in this organisation"},
                        409: {"description": "acknowledged already (the message says by whom and when)"}})
async def acknowledge_alert(request: Request, alert_id: str, body: AcknowledgeIn,
                            principal: Principal = Depends(require(Permission.AUDIT_CHAIN_READ))) -> dict[str, Any]:
    """Acknowledge a chain-integrity alert (Owner, Admin, Operator): it leaves Home's attention
    panel, stays on the chain-integrity page marked with who, when and the note, is recorded in
    the platform audit log, and a PagerDuty incident it raised is resolved."""
    found = await acknowledgeable_alert(request, principal, alert_id)
    try:
        return _alert(await acknowledge(request, principal, found, body.note))
    except Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events: `dpr` (a record summary as JSON; its id is "
                                            "the cursor after it), `end` (resume from its id), `behind` (the "
                                            "stream fell behind and ends: `cursor`, `message`)"}})
async def live(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ)),
               stack: str | None = None, agent: str | None = None, session: str | None = None,
               effect: str | None = None, tool: str | None = None,
               verification: str | None = Query(None, description="verified (DPRs) or unverified (summaries)"),
               after: str | None = Query(None, description="resume after this cursor (also Last-Event-ID)"),
               max_seconds: float | None = Query(None, description="stream lifetime, at most 300 s")) -> Response:
    """``faramesh audit tail`` over HTTP: the last 50 records, then each new one as it is
    indexed (pushed from the index's commits through the organisation's shared live feed).
    Each event's id is a cursor to resume from. A client that does not read fast enough is
    sent ``behind`` and the stream ends."""
    return await stream(request, principal)
