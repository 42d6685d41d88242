"""Registry → browse: providers, policy packs and framework profiles (search, filters, pages),
an artifact's detail at a version (capabilities, platforms hosted or signature-only, the config
schema as a form-like table, version history with changelogs and downloads, the signature
verified strictly against the keys this organisation trusts, the FPL with line numbers and
its rules summarised, the required-configuration checklist, the import line to copy), the
trust keys (Cloud's with its ``trust { key … }`` snippet; which the organisation trusts, changed
there by an Owner or Admin) and every stack's registry imports;
plus the Fleet stack tab "Registry imports". Publishing is not here."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote_plus, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.registry_imports import every_stack_imports, stack_imports
from faramesh_cloud.gateway.web.registry_ports import (
    KIND_PATHS,
    KIND_WORDS,
    counts,
    detail,
    kind_of,
    registry_port,
)
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.REGISTRY_ARTIFACT_READ)
TRUST = require(Permission.REGISTRY_TRUST_MANAGE)
PAGE_SIZE: Final = 25
TABS: Final = (("providers", "Providers", "/registry/providers"), ("policies", "Policy packs", "/registry/policies"),
               ("frameworks", "Framework profiles", "/registry/frameworks"),
               ("trust-keys", "Trust keys", "/registry/trust-keys"), ("imports", "Stack imports", "/registry/imports"))
STATUS_WORDS: Final = {"verified": "verified", "unverified": "unverified", "not-in-registry": "not in this registry",
                       "yanked": "yanked", "refused": "refused by the daemon"}


async def _render(request: Request, template: str, principal: Principal, tab: str, *, status_code: int = 200,
                  **extra: Any) -> Response:
    from faramesh_cloud.gateway.web.routes_registry_publish import publish_tabs

    return await page(request, template, principal, {"registry_tabs": TABS, "tab": tab,
                                                    "publish_tabs": await publish_tabs(request, principal),
                                                    "status_words": STATUS_WORDS, **extra},
                      section="registry", status_code=status_code)


@router.get("/o/{org}/registry", response_class=HTMLResponse)
async def registry_home(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await listing(request, "providers", principal)


@router.get("/o/{org}/registry/trust-keys", response_class=HTMLResponse)
async def trust_keys(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _trust_page(request, principal)


async def _trust_page(request: Request, principal: Principal, error: str = "", status_code: int = 200) -> Response:
    keys = list(await registry_port(request).trust_keys(org_id=principal.org.org_id))
    return await _render(request, "registry/trust_keys.html", principal, "trust-keys", keys=keys, error=error,
                         may_manage=principal.access.allows(Permission.REGISTRY_TRUST_MANAGE),
                         status_code=status_code)


@router.post("/o/{org}/registry/trust-keys", dependencies=[Depends(check_csrf)])
async def set_trust_keys(request: Request, principal: Principal = Depends(TRUST)) -> Response:
    """Owner / Admin: the keys the organisation trusts (the form's ``trusted`` checkboxes)."""
    form = await request.form()
    try:
        await registry_port(request).set_trusted_keys(principal.org.org_id,
                                                      [str(v) for v in form.getlist("trusted")], principal.actor)
    except ValueError as exc:
        return await _trust_page(request, principal, str(exc), 422)
    return RedirectResponse(f"/o/{principal.org.slug}/registry/trust-keys?flash="
                            + quote_plus("The keys your organisation trusts were saved."), status_code=303)


@router.get("/o/{org}/registry/imports", response_class=HTMLResponse)
async def imports(request: Request, principal: Principal = Depends(READ)) -> Response:
    return await _render(request, "registry/imports.html", principal, "imports",
                         found=await every_stack_imports(request, principal))


@router.get("/o/{org}/registry/{kinds:registry_kinds}", response_class=HTMLResponse)
async def listing(request: Request, kinds: str, principal: Principal = Depends(READ)) -> Response:
    kind = kind_of(kinds)
    params = request.query_params
    q, domain, tier, capability = (params.get(k, "").strip() for k in ("q", "domain", "tier", "capability"))
    port = registry_port(request)
    context: dict[str, Any] = {"kind": kind, "kinds": kinds, "title": KIND_WORDS[kind], "q": q, "domain": domain,
                               "tier": tier, "capability": capability, "facets": await port.facets(kind)}
    try:
        offset = int(params.get("offset") or 0)
        found = await port.search(kind, text=q, category=domain, tier=tier, capability=capability, limit=PAGE_SIZE,
                                  offset=offset)
    except ValueError as exc:
        return await _render(request, "registry/list.html", principal, kinds, status_code=422, error=str(exc),
                             found=None, **context)
    filters = {k: v for k, v in (("q", q), ("domain", domain), ("tier", tier), ("capability", capability)) if v}
    more = urlencode({**filters, "offset": offset + PAGE_SIZE}) if offset + PAGE_SIZE < found.total else ""
    return await _render(request, "registry/list.html", principal, kinds, found=found, more=more,
                         first=urlencode(filters) if offset else "", **context)


@router.get("/o/{org}/registry/{kinds:registry_kinds}/{name:path}", response_class=HTMLResponse)
async def artifact(request: Request, kinds: str, name: str, principal: Principal = Depends(READ),
                   version: str = Query("", description="a version; default the latest published")) -> Response:
    kind = kind_of(kinds)
    found = await detail(registry_port(request), kind, name, version, org_id=principal.org.org_id)
    preview = found.version.preview
    return await _render(request, "registry/detail.html", principal, kinds, kind=kind, kinds=kinds, a=found.artifact,
                         v=found.version, title=KIND_WORDS[kind], counts=counts(preview) if preview else {},
                         numbered=list(enumerate((found.version.fpl or "").splitlines(), start=1)))


@router.get("/o/{org}/fleet/stacks/{stack_id}/registry", response_class=HTMLResponse)
async def stack_tab(request: Request, stack_id: str, principal: Principal = Depends(READ)) -> Response:
    from faramesh_cloud.gateway.web.fleet_view import load_stack, uptime_text
    from faramesh_cloud.gateway.web.routes_fleet import stack_tabs

    stack = await load_stack(request, principal, stack_id)
    found = await stack_imports(request, principal, stack_id)
    return await page(request, "fleet/stack_registry.html", principal, {
        "s": stack, "tab": "registry", "stack_tabs": stack_tabs(request), "uptime": uptime_text(stack.uptime_s),
        "found": found, "status_words": STATUS_WORDS, "kind_paths": {v: k for k, v in KIND_PATHS.items()},
    }, section="fleet")
