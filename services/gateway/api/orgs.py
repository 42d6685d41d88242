"""``/api/v1/orgs/{org}``: organisation settings and SSO (Settings → Organization)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from faramesh_cloud.gateway.api.models import OrgIn, OrgOut, SsoIn, SsoOut
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.org_settings import SsoConfig
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}", tags=["organization"])


@router.get("", response_model=OrgOut)
async def get_org(principal: Principal = Depends(require(Permission.ORG_SETTINGS_READ))) -> OrgOut:
    return OrgOut(**principal.org.as_json())


@router.patch("", response_model=OrgOut, dependencies=[Depends(check_csrf)])
async def update_org(body: OrgIn, request: Request,
                     principal: Principal = Depends(require(Permission.ORG_SETTINGS_MANAGE))) -> OrgOut:
    """Rename the organisation or change its slug (URLs change with it)."""
    updated = await web(request).identity.orgs.update(principal.org.org_id, name=body.name, slug=body.slug,
                                                       by=principal)
    return OrgOut(**updated.as_json())


def _sso_out(request: Request, slug: str, config: SsoConfig) -> SsoOut:
    return SsoOut(enabled=config.enabled, issuer=config.issuer, client_id=config.client_id,
                  has_client_secret=config.has_secret, scopes=config.scopes, role_claim=config.role_claim,
                  default_role=config.default_role, mappings=dict(config.mappings),
                  redirect_uri=str(request.url_for("sso_callback", org=slug)))


@router.get("/sso", response_model=SsoOut)
async def get_sso(request: Request, principal: Principal = Depends(require(Permission.ORG_SETTINGS_READ))) -> SsoOut:
    """The OIDC configuration (the client secret is never returned)."""
    config = await web(request).identity.orgs.sso(principal.org.org_id)
    return _sso_out(request, principal.org.slug, config)


@router.put("/sso", response_model=SsoOut, dependencies=[Depends(check_csrf)])
async def put_sso(body: SsoIn, request: Request,
                  principal: Principal = Depends(require(Permission.ORG_SSO_MANAGE))) -> SsoOut:
    """Replace the OIDC configuration and attribute mapping (owners only)."""
    config = SsoConfig(enabled=body.enabled, issuer=body.issuer, client_id=body.client_id,
                       client_secret=body.client_secret or "", scopes=body.scopes, role_claim=body.role_claim,
                       default_role=body.default_role, mappings=body.mappings)
    saved = await web(request).identity.orgs.set_sso(principal.org.org_id, config, principal,
                                                      keep_secret=body.client_secret is None)
    return _sso_out(request, principal.org.slug, saved)
