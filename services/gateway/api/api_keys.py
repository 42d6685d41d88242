"""``/api/v1/orgs/{org}/api-keys`` (Settings → API keys)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from faramesh_cloud.gateway.api.models import ApiKeyIn, ApiKeyOut
from faramesh_cloud.gateway.openapi import CONFLICT
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/api-keys", tags=["api keys"])
MANAGE = require(Permission.ORG_APIKEY_MANAGE)


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(request: Request, principal: Principal = Depends(MANAGE)) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in await web(request).identity.api_keys.all(principal.org.org_id)]


@router.post("", response_model=ApiKeyOut, status_code=201, dependencies=[Depends(check_csrf)])
async def create_key(body: ApiKeyIn, request: Request, principal: Principal = Depends(MANAGE)) -> ApiKeyOut:
    """A new key with a role no higher than the caller's; ``key`` is in this answer only."""
    key, plaintext = await web(request).identity.api_keys.create(principal.org.org_id, body.name, body.role, principal)
    return ApiKeyOut.of(key, plaintext)


@router.delete("/{key_id}", response_model=ApiKeyOut, dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def revoke_key(key_id: str, request: Request, principal: Principal = Depends(MANAGE),
                     confirm_self: bool = Query(False, description="true when a key revokes itself")) -> ApiKeyOut:
    """Revoke a key at once. A key revoking itself must say so (``confirm_self=true``; 409
    otherwise): its next call, and every later one, is refused."""
    if principal.kind is PrincipalKind.API_KEY and principal.subject_id == key_id and not confirm_self:
        raise HTTPException(409, "this is the key making the request: revoking it refuses every later call made "
                                 "with it; repeat with confirm_self=true if that is what you want")
    return ApiKeyOut.of(await web(request).identity.api_keys.revoke(principal.org.org_id, key_id, principal))
