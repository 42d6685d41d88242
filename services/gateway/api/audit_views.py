"""``/api/v1/orgs/{org}/audit/...``: session timeline, chain integrity, live stream (SSE)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from faramesh_cloud.gateway.web.audit_common import reader, summary_json, visible
from faramesh_cloud.gateway.web.audit_live import stream
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.routes_audit_integrity import ARCHIVE_STATUS, integrity_view
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


def _integrity(stacks: list[Any]) -> list[dict[str, Any]]:
    return [{**dataclasses.asdict(s), "intact": s.intact, "archive_status": ARCHIVE_STATUS} for s in stacks]


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


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events: `dpr` (a record summary as JSON), `end`"}})
async def live(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ)),
               stack: str | None = None, agent: str | None = None, session: str | None = None,
               effect: str | None = None, tool: str | None = None,
               after: str | None = Query(None, description="resume after this cursor (also Last-Event-ID)"),
               max_seconds: float | None = Query(None, description="stream lifetime, at most 300 s")) -> Response:
    """``faramesh audit tail`` over HTTP: the last 50 records, then each new one as it is
    indexed. Each event's id is a cursor to resume from."""
    return await stream(request, principal)
