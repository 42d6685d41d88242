"""Sign in with SSO: OpenID Connect authorization code flow with PKCE (S256) and a nonce,
through Authlib, against the organisation's configured issuer.

Authlib keeps the state, nonce and PKCE verifier in a short-lived signed cookie
(``fmc_sso``, Starlette's SessionMiddleware); on the callback it checks the state, redeems
the code with the verifier, and validates the ID token (signature via the issuer's JWKS,
issuer, audience, expiry, nonce). The claims then go to just-in-time provisioning
(``Identity.sso``), which maps groups to a role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from faramesh_cloud.gateway.web.deps import client_ip, web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.gateway.web.routes_auth import start_session
from faramesh_cloud.identity.domain import IdentityError, OrgRef
from faramesh_cloud.identity.org_settings import SsoConfig

router = APIRouter(include_in_schema=False)


def oidc_client(org: OrgRef, config: SsoConfig) -> Any:
    """A fresh Authlib client for this organisation's provider (settings may change any time).
    Authlib is imported here, on first use, not when the gateway is imported."""
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    return oauth.register(
        name=f"org-{org.slug}",
        client_id=config.client_id,
        client_secret=config.client_secret or None,
        server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": config.scopes, "code_challenge_method": "S256"},
    )


async def _config(request: Request, slug: str) -> tuple[OrgRef, SsoConfig]:
    identity = web(request).identity
    org = await identity.orgs.by_slug(slug.strip().lower())
    config = await identity.orgs.sso(org.org_id) if org is not None else None
    if org is None or config is None or not config.enabled:
        raise IdentityError(f"single sign-on is not set up for organisation {slug!r}; check the slug, or sign in "
                            "with your password and ask an owner to configure SSO")
    return org, config


async def _fail(request: Request, message: str, slug: str) -> Response:
    return await page(request, "login.html", None, {"next": "/", "email": "", "sso_org": slug, "error": message},
                      status_code=400)


async def _org_elsewhere(request: Request, slug: str) -> Response | None:
    """An organisation unknown here that the global directory places in another region (a
    multi-region install): that region's SSO start for it."""
    region = web(request).identity.region
    slug = slug.strip().lower()
    if region is None or not slug or await web(request).identity.orgs.by_slug(slug) is not None:
        return None
    elsewhere = await region.org_elsewhere(slug)
    if elsewhere is None or not elsewhere.gateway_url:
        return None
    return RedirectResponse(f"{elsewhere.gateway_url.rstrip('/')}/sso/start?{urlencode({'org': slug})}",
                            status_code=303)


@router.get("/sso/start")
async def sso_start(request: Request, org: str = "") -> Response:
    try:
        org_ref, config = await _config(request, org)
    except IdentityError as exc:
        elsewhere = await _org_elsewhere(request, org)
        if elsewhere is not None:
            return elsewhere
        return await _fail(request, str(exc), org)
    client = oidc_client(org_ref, config)
    redirect_uri = str(request.url_for("sso_callback", org=org_ref.slug))
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except Exception as exc:  # discovery: unreachable issuer, bad metadata (httpx / Authlib errors)
        return await _fail(request, f"the identity provider at {config.issuer} did not answer ({exc}); check the "
                                    "issuer URL in Settings → Organization", org)
    return response


@router.get("/sso/{org}/callback", name="sso_callback")
async def sso_callback(request: Request, org: str) -> Response:
    try:
        org_ref, config = await _config(request, org)
    except IdentityError as exc:
        return await _fail(request, str(exc), org)
    from authlib.integrations.base_client import OAuthError

    client = oidc_client(org_ref, config)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        return await _fail(request, f"single sign-on did not complete ({exc.error}: {exc.description or 'no detail'}); "
                                    "start again", org)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if config.role_claim not in claims or "email" not in claims:
        extra = await client.userinfo(token=token)
        claims = {**dict(extra), **claims}
    try:
        user = await web(request).identity.sso.sign_in(org_ref, config, claims, ip=client_ip(request))
    except IdentityError as exc:
        return await _fail(request, str(exc), org)
    return await start_session(request, user, f"sso:{org_ref.slug}", f"/o/{org_ref.slug}/")

