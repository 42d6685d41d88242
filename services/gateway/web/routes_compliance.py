"""The Compliance section: Posture (declared frameworks, per control evidence / policy / gap
with the evidence one click away, posture over time), Reports (request one; live progress by
``static/compliance_reports.js`` polling the REST twin; retry a failed one; download a done
one) and the Evidence library (every artifact, its hashes, its share links: made with the
token shown once, revoked). Permissions: ``web/compliance_ports.py``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.api.compliance import attachment
from faramesh_cloud.gateway.web.audit_query import parse_time
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.compliance_ports import (
    SHARE_DEFAULT_DAYS,
    SHARE_MAX_DAYS,
    can,
    check_stacks,
    compliance_port,
    framework_names,
)
from faramesh_cloud.gateway.web.compliance_view import (
    STATUS_WORDS,
    evidence_lines,
    policy_lines,
    posture_chart,
)
from faramesh_cloud.gateway.web.deps import visible_stacks_of, web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.COMPLIANCE_REPORT_READ)
DOWNLOAD = require(Permission.COMPLIANCE_REPORT_DOWNLOAD)
GENERATE = require(Permission.COMPLIANCE_REPORT_GENERATE)
SHARE = require(Permission.COMPLIANCE_SHARE_MANAGE)
SETTINGS = require(Permission.ORG_SETTINGS_MANAGE)
TABS: Final = (("posture", "Posture", "/compliance"), ("reports", "Reports", "/compliance/reports"),
               ("library", "Evidence library", "/compliance/library"),
               ("coverage", "Coverage", "/compliance/coverage"))
HISTORY_DAYS: Final = 30


def _base(principal: Principal) -> str:
    return f"/o/{principal.org.slug}/compliance"


def _back(url: str, message: str) -> Response:
    return RedirectResponse(f"{url}?{urlencode({'flash': message})}", status_code=303)


async def render(request: Request, template: str, principal: Principal, tab: str, *, status_code: int = 200,
                  **extra: Any) -> Response:
    return await page(request, template, principal, {
        "compliance_tabs": TABS, "tab": tab, "framework_names": await framework_names(compliance_port(request)), "status_words": STATUS_WORDS,
        "can_settings": can(principal, Permission.ORG_SETTINGS_MANAGE),
        "can_generate": can(principal, Permission.COMPLIANCE_REPORT_GENERATE),
        "can_download": can(principal, Permission.COMPLIANCE_REPORT_DOWNLOAD),
        "can_share": can(principal, Permission.COMPLIANCE_SHARE_MANAGE), **extra,
    }, section="compliance", status_code=status_code)


# Posture ------------------------------------------------------------------------------------
async def posture_page(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    port = compliance_port(request)
    org_id = principal.org.org_id
    declared = list(await port.declared(org_id))
    rows = list(await port.posture(org_id))
    visible = {s.stack_id: s.name for s in visible_stacks_of(principal, await web(request).stacks.list_stacks(org_id))}
    controls: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        detail = row.detail if isinstance(row.detail, dict) else {}
        policy = [dataclasses.replace(p, stacks=tuple(c for c in p.stacks if c.stack_id in visible))
                  for p in policy_lines(detail)]  # a stack hidden from this member is not named
        controls.setdefault(row.framework, []).append({
            "row": row, "title": str(detail.get("title") or ""), "citation": str(detail.get("citation") or ""),
            "evidence": evidence_lines(detail), "policy": policy})
    today = datetime.now(UTC).date()
    charts, counts = {}, {}
    for d in declared:
        charts[d.framework] = posture_chart(await port.posture_days(org_id, d.framework, HISTORY_DAYS), today,
                                            HISTORY_DAYS)
        counts[d.framework] = {s: sum(1 for c in controls.get(d.framework, []) if c["row"].status == s)
                               for s in STATUS_WORDS}
    return await render(request, "compliance/posture.html", principal, "posture", status_code=status_code,
                         declared=declared, declared_set={d.framework for d in declared}, controls=controls,
                         charts=charts, counts=counts, stack_names=visible, **extra)


@router.get("/o/{org}/compliance", response_class=HTMLResponse)
async def posture(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await posture_page(request, principal)


@router.post("/o/{org}/compliance/frameworks", dependencies=[Depends(check_csrf)])
async def declare(request: Request, principal: Principal = Depends(SETTINGS)) -> Response:
    form = await request.form()
    chosen = [str(f) for f in form.getlist("framework")]
    back = f"/o/{principal.org.slug}/settings/organization" if form.get("back") == "settings" else _base(principal)
    try:
        declared = await compliance_port(request).declare(principal.org.org_id, chosen, principal.actor)
    except ValueError as exc:
        return await posture_page(request, principal, status_code=400, error=str(exc))
    names = ", ".join(d.name for d in declared) or "none"
    return _back(back, f"Declared frameworks: {names}.")


# Reports ------------------------------------------------------------------------------------
async def reports_page(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    org_id = principal.org.org_id
    port = compliance_port(request)
    declared = [d.framework for d in await port.declared(org_id)]
    stacks = [s for s in visible_stacks_of(principal, await web(request).stacks.list_stacks(org_id)) if s.registered]
    return await render(request, "compliance/reports.html", principal, "reports", status_code=status_code,
                         reports=list(await port.reports(org_id)), declared=declared, report_stacks=stacks,
                         stack_names={s.stack_id: s.name for s in stacks}, **extra)


@router.get("/o/{org}/compliance/reports", response_class=HTMLResponse)
async def reports(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await reports_page(request, principal)


@router.post("/o/{org}/compliance/reports", dependencies=[Depends(check_csrf)])
async def request_report(request: Request, principal: Principal = Depends(GENERATE)) -> Response:
    form = await request.form()
    try:
        start = parse_time(str(form.get("since") or ""), "from")
        end = parse_time(str(form.get("until") or ""), "to")
        if start is None or end is None:
            raise IdentityError("give the report's range: a start and an end (UTC)")
        stacks = await check_stacks(request, principal, [str(s) for s in form.getlist("stack_id")])
        await compliance_port(request).request_report(principal.org.org_id, str(form.get("framework") or ""),
                                                      stacks, start, end, principal.actor)
    except (ValueError, LookupError) as exc:
        return await reports_page(request, principal, status_code=400, error=str(exc))
    return _back(f"{_base(principal)}/reports", "Report queued: its progress shows below.")


@router.post("/o/{org}/compliance/reports/{report_id}/retry", dependencies=[Depends(check_csrf)])
async def retry(request: Request, report_id: str, principal: Principal = Depends(GENERATE)) -> Response:
    try:
        await compliance_port(request).retry_report(principal.org.org_id, report_id, principal.actor)
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such report") from None
    except ValueError as exc:
        return await reports_page(request, principal, status_code=400, error=str(exc))
    return _back(f"{_base(principal)}/reports", "Report queued again.")


# The evidence library -------------------------------------------------------------------------
async def library_page(request: Request, principal: Principal, *, status_code: int = 200, **extra: Any) -> Response:
    org_id = principal.org.org_id
    artifacts = list(await compliance_port(request).library(org_id))
    stacks = [s for s in visible_stacks_of(principal, await web(request).stacks.list_stacks(org_id)) if s.registered]
    return await render(request, "compliance/library.html", principal, "library", status_code=status_code,
                         artifacts=artifacts, now=datetime.now(UTC), share_default=SHARE_DEFAULT_DAYS,
                         share_max=SHARE_MAX_DAYS, certify_stacks=stacks, **extra)


@router.post("/o/{org}/compliance/certificates", dependencies=[Depends(check_csrf)])
async def certify(request: Request, principal: Principal = Depends(GENERATE)) -> Response:
    """A standalone chain-integrity certificate of the chosen stacks over a range, signed and
    filed in the library."""
    form = await request.form()
    try:
        start = parse_time(str(form.get("since") or ""), "from")
        end = parse_time(str(form.get("until") or ""), "to")
        if start is None or end is None:
            raise IdentityError("give the certificate's range: a start and an end (UTC)")
        stacks = await check_stacks(request, principal, [str(s) for s in form.getlist("stack_id")])
        await compliance_port(request).certify(principal.org.org_id, stacks, start, end, principal.actor)
    except (ValueError, LookupError) as exc:
        return await library_page(request, principal, status_code=400, error=str(exc))
    return _back(f"{_base(principal)}/library", "Integrity certificate signed and filed below.")


@router.get("/o/{org}/compliance/library", response_class=HTMLResponse)
async def library(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await library_page(request, principal)


@router.get("/o/{org}/compliance/artifacts/{artifact_id}/download")
async def download(request: Request, artifact_id: str, principal: Principal = Depends(DOWNLOAD)) -> Response:
    try:
        found, stream = await compliance_port(request).stream(principal.org.org_id, artifact_id, principal.actor)
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such artifact") from None
    return attachment(found, stream)


@router.post("/o/{org}/compliance/artifacts/{artifact_id}/shares", dependencies=[Depends(check_csrf)])
async def share(request: Request, artifact_id: str, principal: Principal = Depends(SHARE)) -> Response:
    form = await request.form()
    try:
        days = int(str(form.get("days") or SHARE_DEFAULT_DAYS))
    except ValueError:
        return await library_page(request, principal, status_code=400,
                                  error=f"a share link lasts 1 to {SHARE_MAX_DAYS} days: give a number")
    try:
        link, token = await compliance_port(request).share(principal.org.org_id, artifact_id, principal.actor,
                                                           days=days, note=str(form.get("note") or ""))
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such artifact") from None
    except ValueError as exc:
        return await library_page(request, principal, status_code=400, error=str(exc))
    url = str(request.url_for("share_page", token=token))
    return await library_page(request, principal, created_link=link, shared_url=url)


@router.post("/o/{org}/compliance/shares/{link_id}/revoke", dependencies=[Depends(check_csrf)])
async def revoke(request: Request, link_id: str, principal: Principal = Depends(SHARE)) -> Response:
    try:
        await compliance_port(request).revoke(principal.org.org_id, link_id, principal.actor)
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such share link") from None
    except ValueError as exc:
        return await library_page(request, principal, status_code=400, error=str(exc))
    return _back(f"{_base(principal)}/library", "Share link revoked: it now answers 410 Gone.")
