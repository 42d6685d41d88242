"""Settings → API keys: platform keys for CI/CD and tooling, scoped by role, shown once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission, Role

router = APIRouter(include_in_schema=False)
MANAGE = require(Permission.ORG_APIKEY_MANAGE)


async def render(request: Request, principal: Principal, **extra: Any) -> Response:
    keys = await web(request).identity.api_keys.all(principal.org.org_id)
    return await page(request, "settings/api_keys.html", principal, {
        "tab": "api-keys", "keys": keys, "roles": [r for r in Role if principal.access.may_grant(r)], **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


@router.get("/o/{org}/settings/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/api-keys", dependencies=[Depends(check_csrf)])
async def create_key(request: Request, name: str = Form(...), role: str = Form(...),
                     principal: Principal = Depends(MANAGE)) -> Response:
    try:
        key, plaintext = await web(request).identity.api_keys.create(principal.org.org_id, name, Role(role), principal)
    except NotFound:
        raise
    except (IdentityError, ValueError) as exc:
        return await render(request, principal, error=str(exc))
    return await render(request, principal, created=key, plaintext=plaintext)


@router.post("/o/{org}/settings/api-keys/{key_id}/revoke", dependencies=[Depends(check_csrf)])
async def revoke_key(request: Request, key_id: str, confirm: str = Form(""),
                     principal: Principal = Depends(MANAGE)) -> Response:
    """First post: the confirmation (a revoked key is refused at once, for good). Confirmed
    post: revoked."""
    if confirm != "yes":
        keys = {k.key_id: k for k in await web(request).identity.api_keys.all(principal.org.org_id)}
        if key_id not in keys:
            raise NotFound(f"no API key {key_id!r} in this organisation")
        return await render(request, principal, confirm_revoke=keys[key_id])
    key = await web(request).identity.api_keys.revoke(principal.org.org_id, key_id, principal)
    return RedirectResponse(f"/o/{principal.org.slug}/settings/api-keys?flash=Key+{key.name}+revoked.", status_code=303)
