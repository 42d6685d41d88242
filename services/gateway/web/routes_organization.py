"""Settings → Organization: name and slug, OIDC single sign-on and its attribute mapping."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.compliance_ports import framework_names, mounted
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.org_settings import SSO_ROLES, SsoConfig
from faramesh_cloud.identity.permissions import Permission, Role

router = APIRouter(include_in_schema=False)


def parse_mappings(text: str) -> dict[str, Role]:
    """``claim value = role`` per line (blank lines and ``#`` comments ignored)."""
    out: dict[str, Role] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        value, sep, role = line.rpartition("=")
        try:
            if not sep or not value.strip():
                raise ValueError
            out[value.strip()] = Role(role.strip().lower())
        except ValueError:
            raise IdentityError(f"attribute mapping line {number}: write 'claim value = role' with a role of "
                                "admin, operator, auditor or viewer") from None
    return out


def mapping_text(config: SsoConfig) -> str:
    return "\n".join(f"{value} = {role.value}" for value, role in config.mappings.items())


async def _frameworks(request: Request, principal: Principal) -> dict[str, Any]:
    """The declared compliance frameworks' form, when compliance runs here and the member reads it."""
    port = mounted(request)
    if port is None or not principal.access.allows(Permission.COMPLIANCE_REPORT_READ):
        return {}
    return {"frameworks_form": True, "framework_names": await framework_names(port),
            "declared_set": {d.framework for d in await port.declared(principal.org.org_id)}}


async def render(request: Request, principal: Principal, **extra: Any) -> Response:
    sso = await web(request).identity.orgs.sso(principal.org.org_id)
    callback = str(request.url_for("sso_callback", org=principal.org.slug))
    return await page(request, "settings/organization.html", principal, {
        "tab": "organization", "sso": sso, "mapping_text": mapping_text(sso), "callback_url": callback,
        "sso_roles": SSO_ROLES, "can_manage": principal.access.allows(Permission.ORG_SETTINGS_MANAGE),
        "can_sso": principal.access.allows(Permission.ORG_SSO_MANAGE),
        "can_settings": principal.access.allows(Permission.ORG_SETTINGS_MANAGE),
        **await _frameworks(request, principal), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


@router.get("/o/{org}/settings/organization", response_class=HTMLResponse)
async def organization(request: Request, principal: Principal = Depends(require(Permission.ORG_SETTINGS_READ))) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/organization", dependencies=[Depends(check_csrf)])
async def update_organization(request: Request, name: str = Form(...), slug: str = Form(...),
                              principal: Principal = Depends(require(Permission.ORG_SETTINGS_MANAGE))) -> Response:
    try:
        updated = await web(request).identity.orgs.update(principal.org.org_id, name=name, slug=slug.lower(),
                                                           by=principal)
    except IdentityError as exc:
        return await render(request, principal, error=str(exc))
    return RedirectResponse(f"/o/{updated.slug}/settings/organization?flash=Saved.", status_code=303)


@router.post("/o/{org}/settings/organization/sso", dependencies=[Depends(check_csrf)])
async def update_sso(request: Request, principal: Principal = Depends(require(Permission.ORG_SSO_MANAGE)),
                     enabled: str = Form(""), issuer: str = Form(""), client_id: str = Form(""),
                     client_secret: str = Form(""), scopes: str = Form("openid email profile"),
                     role_claim: str = Form("groups"), default_role: str = Form(""),
                     mappings: str = Form("")) -> Response:
    try:
        config = SsoConfig(enabled=enabled == "on", issuer=issuer, client_id=client_id, client_secret=client_secret,
                           scopes=scopes, role_claim=role_claim,
                           default_role=Role(default_role) if default_role else None,
                           mappings=parse_mappings(mappings))
        await web(request).identity.orgs.set_sso(principal.org.org_id, config, principal, keep_secret=True)
    except (IdentityError, ValueError) as exc:
        return await render(request, principal, error=str(exc))
    return RedirectResponse(f"/o/{principal.org.slug}/settings/organization?flash=SSO+settings+saved.",
                            status_code=303)
