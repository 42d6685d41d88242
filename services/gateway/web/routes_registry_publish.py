"""Registry → Publish (claim a namespace, submit a pack or profile, upload a provider, the
organisation's submissions with their outcomes), Review queue (platform reviewers: namespace
claims and submissions, each with its FPL, checker warnings and smoke test, approve or reject
with a reason), My artifacts (per version: downloads over time, the stacks importing it, yank;
submissions; issue reports with replies) and Issues (reports this organisation filed)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.api.registry_publish import provider_from_form
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.registry_publish_ports import (
    http_error,
    publishing,
    submission_view,
)
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.gateway.web.routes_registry import TABS as BROWSE_TABS
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.REGISTRY_ARTIFACT_READ)
PUBLISH = require(Permission.REGISTRY_ARTIFACT_PUBLISH)
TABS: Final = (("publish", "Publish", "/registry/publish"), ("review", "Review queue", "/registry/review"),
               ("mine", "My artifacts", "/registry/mine"), ("issues", "Issues filed", "/registry/issues"))


async def publish_tabs(request: Request, principal: Principal) -> list[tuple[str, str, str]]:
    """The publishing tabs this member sees (the Review queue only for reviewers); none when
    publishing does not run here. The browse pages show them too, so the section is one."""
    found = getattr(request.app.state, "registry_publish", None)
    if found is None:
        return []
    reviewer = await found.port.is_reviewer(principal.actor)
    return [t for t in TABS if t[0] != "review" or reviewer]


async def _render(request: Request, template: str, principal: Principal, tab: str, *, error: str = "",
                  **extra: Any) -> Response:
    found = publishing(request)
    tabs = await publish_tabs(request, principal)
    reviewer = any(t[0] == "review" for t in tabs)
    browse = BROWSE_TABS if getattr(request.app.state, "registry", None) is not None else ()
    return await page(request, template, principal, {
        "registry_tabs": browse,
        "publish_tabs": tabs, "tab": tab, "reviewer": reviewer, "error": error, "platforms": found.platforms,
        "capabilities": found.capabilities, "max_upload_bytes": found.max_upload_bytes, **extra,
    }, section="registry", status_code=400 if error else 200)


def _done(principal: Principal, where: str, flash: str) -> Response:
    return RedirectResponse(f"/o/{principal.org.slug}/registry/{where}?flash={quote_plus(flash)}", status_code=303)


async def _publish_page(request: Request, principal: Principal, error: str = "", **extra: Any) -> Response:
    port = publishing(request).port
    org = principal.org.org_id
    return await _render(request, "registry_publish/publish.html", principal, "publish", error=error,
                         namespaces=await port.namespaces(org),
                         submissions=[submission_view(s) for s in await port.submissions_of(org)], **extra)


@router.get("/o/{org}/registry/publish", response_class=HTMLResponse)
async def publish_home(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _publish_page(request, principal)


@router.post("/o/{org}/registry/publish/namespace", dependencies=[Depends(check_csrf)])
async def claim(request: Request, namespace: str = Form(""), display_name: str = Form(""),
                principal: Principal = Depends(PUBLISH)) -> Response:
    try:
        await publishing(request).port.claim_namespace(principal.org.org_id, namespace, display_name, principal.actor)
    except (ValueError, PermissionError) as exc:
        return await _publish_page(request, principal, error=str(exc))
    return _done(principal, "publish", f"Namespace {namespace} claimed: a platform reviewer will confirm it.")


@router.post("/o/{org}/registry/publish/pack", dependencies=[Depends(check_csrf)])
async def submit_pack(request: Request, kind: str = Form("policy"), name: str = Form(""), version: str = Form(""),
                      fpl: str = Form(""), changelog: str = Form(""), description: str = Form(""),
                      domains: str = Form(""), readme: str = Form(""),
                      principal: Principal = Depends(PUBLISH)) -> Response:
    found = publishing(request)
    given = found.inputs.pack(kind=kind, name=name.strip(), version=version.strip(), fpl=fpl.replace("\r\n", "\n"),
                              changelog=changelog, description=description, readme=readme,
                              domains=[d.strip() for d in domains.split(",") if d.strip()])
    try:
        await found.port.submit_pack(principal.org.org_id, given, principal.actor)
    except (ValueError, PermissionError) as exc:
        return await _publish_page(request, principal, error=str(exc))
    return _done(principal, "publish", f"{name}@{version} submitted for review.")


@router.post("/o/{org}/registry/publish/provider", dependencies=[Depends(check_csrf)])
async def submit_provider(request: Request, principal: Principal = Depends(PUBLISH)) -> Response:
    try:
        sub = await provider_from_form(request, principal)
    except HTTPException as exc:  # a refusal (400): shown on the page, nothing was stored
        return await _publish_page(request, principal, error=str(exc.detail))
    return _done(principal, "publish", f"Provider {sub.name}@{sub.version} passed the sandbox smoke test and was "
                                       "submitted for review.")


# --- review queue ------------------------------------------------------------------------------
async def _review_page(request: Request, principal: Principal, error: str = "") -> Response:
    port = publishing(request).port
    try:
        queue = await port.review_queue(principal.actor)
        namespaces = await port.pending_namespaces(principal.actor)
    except PermissionError as exc:
        raise http_error(exc) from None
    items = [{**submission_view(s), "fpl": await port.submission_fpl(s)} for s in queue]
    return await _render(request, "registry_publish/review.html", principal, "review", error=error, queue=items,
                         namespaces=namespaces)


@router.get("/o/{org}/registry/review", response_class=HTMLResponse)
async def review(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _review_page(request, principal)


@router.post("/o/{org}/registry/review/submissions/{submission_id}", dependencies=[Depends(check_csrf)])
async def decide(request: Request, submission_id: str, decision: str = Form(""), reason: str = Form(""),
                 principal: Principal = Depends(READ)) -> Response:
    port = publishing(request).port
    try:
        if decision == "approve":
            done = await port.approve(submission_id, reason, principal.actor)
        elif decision == "reject":
            done = await port.reject(submission_id, reason, principal.actor)
        else:
            raise ValueError("choose approve or reject")
    except ValueError as exc:
        return await _review_page(request, principal, error=str(exc))
    except (PermissionError, LookupError) as exc:
        raise http_error(exc) from None
    word = "approved and published (signed with Cloud's registry key)" if decision == "approve" else "rejected"
    return _done(principal, "review", f"{done.name}@{done.version} {word}.")


@router.post("/o/{org}/registry/review/namespaces/{namespace}", dependencies=[Depends(check_csrf)])
async def decide_namespace(request: Request, namespace: str, decision: str = Form(""), reason: str = Form(""),
                           principal: Principal = Depends(READ)) -> Response:
    try:
        await publishing(request).port.review_namespace(namespace, decision == "confirm", reason, principal.actor)
    except ValueError as exc:
        return await _review_page(request, principal, error=str(exc))
    except (PermissionError, LookupError) as exc:
        raise http_error(exc) from None
    return _done(principal, "review", f"Namespace {namespace} {'confirmed' if decision == 'confirm' else 'rejected'}.")


# --- my artifacts ------------------------------------------------------------------------------
async def _mine_page(request: Request, principal: Principal, error: str = "") -> Response:
    names = {s.stack_id: s.name for s in await web(request).stacks.list_stacks(principal.org.org_id)}
    artifacts = await publishing(request).port.my_artifacts(principal.org.org_id)
    return await _render(request, "registry_publish/mine.html", principal, "mine", error=error, artifacts=artifacts,
                         stack_names=names)


@router.get("/o/{org}/registry/mine", response_class=HTMLResponse)
async def mine(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _mine_page(request, principal)


@router.post("/o/{org}/registry/mine/yank", dependencies=[Depends(check_csrf)])
async def yank(request: Request, kind: str = Form(""), name: str = Form(""), version: str = Form(""),
               reason: str = Form(""), principal: Principal = Depends(PUBLISH)) -> Response:
    try:
        await publishing(request).port.yank(principal.org.org_id, kind, name, version, reason, principal.actor)
    except (ValueError, PermissionError, LookupError) as exc:
        return await _mine_page(request, principal, error=str(exc))
    return _done(principal, "mine", f"{name}@{version} yanked.")


@router.post("/o/{org}/registry/mine/issues/{issue_id}/reply", dependencies=[Depends(check_csrf)])
async def reply(request: Request, issue_id: str, body: str = Form(""),
                principal: Principal = Depends(PUBLISH)) -> Response:
    try:
        await publishing(request).port.reply_issue(principal.org.org_id, issue_id, body, principal.actor)
    except (ValueError, PermissionError, LookupError) as exc:
        return await _mine_page(request, principal, error=str(exc))
    return _done(principal, "mine", "Reply sent.")


# --- issues this organisation filed --------------------------------------------------------------
async def _issues_page(request: Request, principal: Principal, error: str = "") -> Response:
    filed = await publishing(request).port.issues_filed(principal.org.org_id)
    return await _render(request, "registry_publish/issues.html", principal, "issues", error=error, issues=filed)


@router.get("/o/{org}/registry/issues", response_class=HTMLResponse)
async def issues(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _issues_page(request, principal)


@router.post("/o/{org}/registry/issues", dependencies=[Depends(check_csrf)])
async def file_issue(request: Request, kind: str = Form(""), name: str = Form(""), version: str = Form(""),
                     title: str = Form(""), body: str = Form(""), principal: Principal = Depends(READ)) -> Response:
    try:
        await publishing(request).port.file_issue(principal.org.org_id, kind, name.strip(), version.strip(), title,
                                                  body, principal.actor)
    except (ValueError, PermissionError, LookupError) as exc:
        return await _issues_page(request, principal, error=str(exc))
    return _done(principal, "issues", f"Issue reported against {name}@{version}.")
