"""``/api/v1/orgs/{org}/compliance``: declared frameworks, posture and its history, report jobs
(request, progress, retry), the evidence library (artifacts and their bytes) and auditor share
links. Same permissions as the Compliance pages (``web/compliance_ports.py``); a share link's
token is in the creation response once, never again (only its SHA-256 is kept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field, StrictInt

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.compliance_ports import (
    SHARE_DEFAULT_DAYS,
    SHARE_MAX_DAYS,
    check_stacks,
    compliance_port,
    coverage_period,
    coverage_stack,
    http_error,
)
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/compliance", tags=["compliance"])
READ = require(Permission.COMPLIANCE_REPORT_READ)
DOWNLOAD = require(Permission.COMPLIANCE_REPORT_DOWNLOAD)
GENERATE = require(Permission.COMPLIANCE_REPORT_GENERATE)
SHARE = require(Permission.COMPLIANCE_SHARE_MANAGE)
SETTINGS = require(Permission.ORG_SETTINGS_MANAGE)
BYTES: Final[dict[int | str, dict[str, Any]]] = {200: {
    "content": {"application/octet-stream": {}}, "description": "the artifact's bytes (a PDF or a signed bundle)"}}


class FrameworksIn(BaseModel):
    frameworks: list[str] = Field(max_length=20, description="the set to declare (replaces the current one): "
                                  "soc2, hipaa, pci-dss, iso27001, gdpr")


class ReportIn(BaseModel):
    framework: str = Field(min_length=1, max_length=40)
    stack_ids: list[str] = Field(default_factory=list, max_length=200, description="[] = every stack")
    start: AwareDatetime
    end: AwareDatetime


class CertificateIn(BaseModel):
    stack_ids: list[str] = Field(default_factory=list, max_length=200, description="[] = every stack")
    start: AwareDatetime
    end: AwareDatetime


class ShareIn(BaseModel):
    days: StrictInt = Field(default=SHARE_DEFAULT_DAYS, ge=1, le=SHARE_MAX_DAYS)
    note: str = Field(default="", max_length=200, description="who it is for (shown in the library)")


def declared_json(d: Any) -> dict[str, Any]:
    return {"framework": d.framework, "name": d.name, "declared_at": d.declared_at, "declared_by": d.declared_by}


def posture_json(p: Any) -> dict[str, Any]:
    return {"framework": p.framework, "control_id": p.control_id, "status": p.status, "detail": p.detail,
            "since": p.since, "evaluated_at": p.evaluated_at}


def day_json(d: Any) -> dict[str, Any]:
    return {"framework": d.framework, "day": d.day, "evidence": d.evidence, "policy": d.policy, "gap": d.gap,
            "gaps": list(d.gaps)}


def report_json(r: Any) -> dict[str, Any]:
    return {"report_id": r.report_id, "framework": r.framework, "stack_ids": list(r.stack_ids),
            "start": r.range_start, "end": r.range_end, "requested_at": r.requested_at,
            "requested_by": r.requested_by, "state": r.state, "progress": r.progress, "stage": r.stage,
            "error": r.error, "artifact_id": r.artifact_id or None, "finished_at": r.finished_at,
            "retry_of": r.retry_of or None}


def link_json(link: Any, now: datetime) -> dict[str, Any]:
    return {"link_id": link.link_id, "artifact_id": link.artifact_id, "created_at": link.created_at,
            "created_by": link.created_by, "expires_at": link.expires_at, "note": link.note,
            "revoked_at": link.revoked_at, "revoked_by": link.revoked_by or None, "state": link.state(now)}


def artifact_json(a: Any, now: datetime) -> dict[str, Any]:
    return {"artifact_id": a.artifact_id, "kind": a.kind, "title": a.title, "parameters": a.parameters,
            "created_at": a.created_at, "created_by": a.created_by, "sha256": a.sha256, "size": a.size,
            "filename": a.filename, "media_type": a.media_type, "verification_hash": a.verification_hash or None,
            "report_id": a.report_id or None, "share_links": [link_json(link, now) for link in a.links]}


def rule_json(r: Any) -> dict[str, Any]:
    return {"rule_id": r.rule_id, "effect": r.effect, "effect_word": r.effect_word, "tool": r.tool, "line": r.line,
            "condition": r.condition, "source": r.source or None}


def coverage_json(c: Any) -> dict[str, Any]:
    return {"stack_id": c.stack_id, "start": c.start, "end": c.end, "applied": c.applied,
            "governance_sha256": c.governance_sha256 or None, "primary_agent": c.primary_agent,
            "default_effect": c.default_effect,
            "agents": [{"agent_id": a.agent_id, "status": a.status, "enforced_as": a.enforced_as, "note": a.note,
                        "tools": [{"tool_id": t.tool_id, "status": t.status, "calls": t.calls,
                                   "default_calls": t.default_calls, "guard_calls": t.guard_calls, "rule_ids": list(t.rule_ids),
                                   "rules": [rule_json(r) for r in t.rules]} for t in a.tools]}
                       for a in c.agents],
            "findings": [{"kind": f.kind, "line": f.line, "message": f.message} for f in c.findings]}


def gap_json(g: Any) -> dict[str, Any]:
    s = g.snippet
    return {"stack_id": g.stack_id, "agent_id": g.agent_id, "tool_id": g.tool_id, "start": g.start, "end": g.end,
            "calls": g.calls, "default_calls": g.default_calls, "effects": dict(g.effects),
            "samples": [{"record_id": r.record_id, "created_at": r.created_at, "effect": r.effect,
                         "matched_rule_id": r.matched_rule_id, "reason_code": r.reason_code,
                         "session_id": r.session_id, "agent_id": r.agent_id, "tool_id": r.tool_id}
                        for r in g.samples],
            "snippet": {"text": s.text, "line": s.line, "where": s.where, "note": s.note, "notes": list(s.notes)}}


def now_utc() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def attachment(artifact: Any, chunks: AsyncIterator[bytes]) -> StreamingResponse:
    name = "".join(c for c in artifact.filename if c.isalnum() or c in "._-") or "artifact"
    return StreamingResponse(chunks, media_type=artifact.media_type or "application/octet-stream",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Content-Length": str(artifact.size),
                                      "X-Content-SHA256": artifact.sha256})


@router.get("/frameworks")
async def get_frameworks(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """The frameworks this organisation declared."""
    return [declared_json(d) for d in await compliance_port(request).declared(principal.org.org_id)]


@router.put("/frameworks", dependencies=[Depends(check_csrf)])
async def put_frameworks(body: FrameworksIn, request: Request,
                         principal: Principal = Depends(SETTINGS)) -> list[dict[str, Any]]:
    """Declare the organisation's frameworks (the whole set); an unknown one is a 400 naming it."""
    try:
        declared = await compliance_port(request).declare(principal.org.org_id, body.frameworks, principal.actor)
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
    return [declared_json(d) for d in declared]


@router.get("/posture")
async def get_posture(request: Request, principal: Principal = Depends(READ),
                      framework: str | None = Query(None, description="only this framework")) -> list[dict[str, Any]]:
    """Per declared framework and control: evidence / policy / gap, with the evidence lines
    (query in words, count, range, Audit search filters) and policy lines (rule, stack, lines)."""
    rows = await compliance_port(request).posture(principal.org.org_id)
    return [posture_json(p) for p in rows if framework is None or p.framework == framework]


@router.get("/posture/history")
async def get_posture_history(request: Request, principal: Principal = Depends(READ),
                              framework: str | None = Query(None, description="one framework (default: every "
                                                            "declared one)"),
                              days: int = Query(30, ge=1, le=366)) -> list[dict[str, Any]]:
    """Controls per status and the gaps, per framework and day (oldest first)."""
    port = compliance_port(request)
    org_id = principal.org.org_id
    frameworks = [framework] if framework is not None else [d.framework for d in await port.declared(org_id)]
    try:
        return [day_json(d) for f in frameworks for d in await port.posture_days(org_id, f, days)]
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/reports")
async def list_reports(request: Request, principal: Principal = Depends(READ),
                       limit: int = Query(100, ge=1, le=500)) -> list[dict[str, Any]]:
    """Newest first, with their state and progress (0..1)."""
    return [report_json(r) for r in await compliance_port(request).reports(principal.org.org_id, limit)]


@router.post("/reports", status_code=202, dependencies=[Depends(check_csrf)])
async def create_report(body: ReportIn, request: Request,
                        principal: Principal = Depends(GENERATE)) -> dict[str, Any]:
    """Queue a report (a background job): poll ``GET .../reports/{report_id}`` for its progress;
    when ``done``, its PDF is the library artifact ``artifact_id``."""
    stacks = await check_stacks(request, principal, body.stack_ids)
    try:
        made = await compliance_port(request).request_report(principal.org.org_id, body.framework, stacks,
                                                             body.start, body.end, principal.actor)
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
    return report_json(made)


@router.post("/certificates", status_code=201, dependencies=[Depends(check_csrf)])
async def create_certificate(body: CertificateIn, request: Request,
                             principal: Principal = Depends(GENERATE)) -> dict[str, Any]:
    """A standalone chain-integrity certificate of the stacks over the range (per agent chain:
    records, first and head record, hash and signature results, length, segments, findings),
    signed by the platform key and filed in the evidence library; check it offline with
    ``faramesh-cloud verify-bundle``."""
    stacks = await check_stacks(request, principal, body.stack_ids)
    try:
        made = await compliance_port(request).certify(principal.org.org_id, stacks, body.start, body.end,
                                                      principal.actor)
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
    return artifact_json(made, now_utc())


@router.get("/reports/{report_id}")
async def get_report(report_id: str, request: Request, principal: Principal = Depends(READ)) -> dict[str, Any]:
    try:
        return report_json(await compliance_port(request).report(principal.org.org_id, report_id))
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.post("/reports/{report_id}/retry", status_code=202, dependencies=[Depends(check_csrf)])
async def retry_report(report_id: str, request: Request, principal: Principal = Depends(GENERATE)) -> dict[str, Any]:
    """Queue a failed report again (a new report whose ``retry_of`` is this one)."""
    try:
        return report_json(await compliance_port(request).retry_report(principal.org.org_id, report_id,
                                                                       principal.actor))
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/library")
async def library(request: Request, principal: Principal = Depends(READ),
                  limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Every artifact (reports, signed exports, certificates), newest first, with its share links."""
    now = now_utc()
    return [artifact_json(a, now) for a in await compliance_port(request).library(principal.org.org_id, limit)]


@router.get("/artifacts/{artifact_id}")
async def get_artifact(artifact_id: str, request: Request, principal: Principal = Depends(READ)) -> dict[str, Any]:
    try:
        return artifact_json(await compliance_port(request).artifact(principal.org.org_id, artifact_id), now_utc())
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/artifacts/{artifact_id}/download", response_class=StreamingResponse, responses=BYTES)
async def download(artifact_id: str, request: Request, principal: Principal = Depends(DOWNLOAD)) -> StreamingResponse:
    """The artifact's bytes, streamed (the download is in the platform audit log)."""
    try:
        found, stream = await compliance_port(request).stream(principal.org.org_id, artifact_id, principal.actor)
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
    return attachment(found, stream)


@router.post("/artifacts/{artifact_id}/shares", status_code=201, dependencies=[Depends(check_csrf)])
async def create_share(artifact_id: str, body: ShareIn, request: Request,
                       principal: Principal = Depends(SHARE)) -> dict[str, Any]:
    """A share link for an auditor without an account: ``token`` and ``url`` are returned
    this once (only the token's SHA-256 is kept)."""
    try:
        link, token = await compliance_port(request).share(principal.org.org_id, artifact_id, principal.actor,
                                                           days=body.days, note=body.note)
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
    return {**link_json(link, now_utc()), "token": token, "url": str(request.url_for("share_page", token=token))}


@router.delete("/shares/{link_id}", dependencies=[Depends(check_csrf)])
async def revoke_share(link_id: str, request: Request, principal: Principal = Depends(SHARE)) -> dict[str, Any]:
    """Revoke a share link (its page then answers 410); revoking twice is a no-op."""
    try:
        return link_json(await compliance_port(request).revoke(principal.org.org_id, link_id, principal.actor),
                         now_utc())
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/coverage")
async def get_coverage(request: Request, principal: Principal = Depends(READ),
                       stack: str = Query(..., description="the stack's id"),
                       since: datetime | None = Query(None, description="default: 7 days before until"),
                       until: datetime | None = Query(None, description="default: now")) -> dict[str, Any]:
    """Per agent full / partial / gap on one stack over [since, until): each tool's calls, the
    calls only the default decided and the enforced rules that matched; the declared-but-not-
    enforced findings of the applied governance.fms with their lines."""
    await coverage_stack(request, principal, stack)
    start, end = coverage_period(since, until, now_utc())
    try:
        return coverage_json(await compliance_port(request).coverage(principal.org.org_id, stack, start, end))
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/coverage/gap")
async def get_coverage_gap(request: Request, principal: Principal = Depends(READ),
                           stack: str = Query(..., description="the stack's id"),
                           agent: str = Query(..., max_length=300), tool: str = Query(..., max_length=300),
                           since: datetime | None = Query(None, description="default: 7 days before until"),
                           until: datetime | None = Query(None, description="default: now"),
                           effect: str | None = Query(None, description="permit, defer, deny or deny! "
                                                      "(default: chosen from the tool's name)")) -> dict[str, Any]:
    """One tool of one agent: its calls in the period, effects, sample records and a suggested
    FPL rule (``snippet``: the line, where it goes, notes). Cloud never pushes it anywhere:
    commit it to governance.fms and run ``faramesh apply``."""
    await coverage_stack(request, principal, stack)
    start, end = coverage_period(since, until, now_utc())
    try:
        return gap_json(await compliance_port(request).coverage_gap(principal.org.org_id, stack, agent, tool, start,
                                                                    end, effect or None))
    except (ValueError, LookupError) as exc:
        raise http_error(exc) from None
