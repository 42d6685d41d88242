"""Sign-in pages: password sign-in (throttled), sign-out, the first owner, invitations."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.auth import SESSION_COOKIE, caller, check_csrf
from faramesh_cloud.gateway.web.deps import client_ip, secure_cookie, web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, LoginLocked, NotFound, User

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only local paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def start_session(request: Request, user: User, method: str, target: str) -> Response:
    cookie, _ = await web(request).identity.sessions.create(
        user, method=method, ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=web(request).identity.config.session_ttl_s, httponly=True,
                        samesite="lax", secure=secure_cookie(request), path="/")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/", email: str = "") -> Response:
    if not await web(request).identity.users.any_user():
        return RedirectResponse("/setup", status_code=303)
    return await page(request, "login.html", None, {"next": safe_next(next), "email": email, "sso_org": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/")) -> Response:
    identity = web(request).identity
    context = {"next": safe_next(next), "email": email, "sso_org": ""}
    home = await home_elsewhere(request, email, next)
    if home is not None:
        return home
    try:
        user = await identity.users.authenticate(email, password, client_ip(request))
    except LoginLocked as exc:
        return await page(request, "login.html", None, {**context, "error": str(exc)}, status_code=429)
    except IdentityError as exc:
        return await page(request, "login.html", None, {**context, "error": str(exc)}, status_code=401)
    return await start_session(request, user, "password", safe_next(next))


async def home_elsewhere(request: Request, email: str, next: str = "/") -> Response | None:
    """A multi-region install: someone with no account here whose home region (the global
    directory) is another is sent there, to its sign-in page with the email filled in. Costs
    one local lookup, and a directory lookup only for an email unknown here; nothing at all
    in a single-region install."""
    identity = web(request).identity
    if identity.region is None or not email.strip() or await identity.users.find_by_email(email) is not None:
        return None
    elsewhere = await identity.region.person_elsewhere(email)
    if elsewhere is None or not elsewhere.gateway_url:
        return None
    query = urlencode({"email": email.strip().lower(), "next": safe_next(next), "region": elsewhere.region})
    return RedirectResponse(f"{elsewhere.gateway_url.rstrip('/')}/login?{query}", status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
async def logout(request: Request) -> Response:
    found = await caller(request)
    if found is not None and found.session_cookie:
        await web(request).identity.sessions.revoke(found.session_cookie, ip=client_ip(request))
    response = RedirectResponse("/login?flash=" + quote("You are signed out."), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request) -> Response:
    if await web(request).identity.users.any_user():
        raise NotFound("this installation already has its first owner; sign in instead")
    existing = await web(request).identity.users.lone_org()
    form = {"name": "", "email": "", "org_name": existing.name if existing else "",
            "org_slug": existing.slug if existing else ""}
    return await page(request, "setup.html", None, {"form": form, "existing": existing})


@router.post("/setup", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def setup(request: Request, name: str = Form(""), email: str = Form(""), password: str = Form(""),
                org_name: str = Form(""), org_slug: str = Form("")) -> Response:
    identity = web(request).identity
    if await identity.users.any_user():
        raise NotFound("this installation already has its first owner; sign in instead")
    try:
        user, org = await identity.users.create_first_owner(
            email=email, name=name, password=password, org_slug=org_slug.strip().lower(),
            org_name=org_name.strip(), ip=client_ip(request))
    except IdentityError as exc:
        form = {"name": name, "email": email, "org_name": org_name, "org_slug": org_slug}
        return await page(request, "setup.html", None, {"form": form, "error": str(exc)}, status_code=400)
    return await start_session(request, user, "password", f"/o/{org.slug}/")


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation(request: Request, token: str) -> Response:
    invited, org, exists = await web(request).identity.invitations.preview(token)
    return await page(request, "invitation.html", None,
                      {"invitation": invited, "invited_org": org, "account_exists": exists})


@router.post("/invitations/{token}", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def accept_invitation(request: Request, token: str, name: str = Form(""), password: str = Form("")) -> Response:
    identity = web(request).identity
    found = await caller(request)
    signed_in = found.session.user if found is not None and found.session is not None else None
    try:
        user, org = await identity.invitations.accept(token, signed_in=signed_in, name=name, password=password,
                                                      ip=client_ip(request))
    except NotFound:
        raise
    except IdentityError as exc:
        invited, org, exists = await identity.invitations.preview(token)
        return await page(request, "invitation.html", None, {"invitation": invited, "invited_org": org,
                                                             "account_exists": exists, "error": str(exc)},
                          status_code=400)
    if signed_in is not None:
        return RedirectResponse(f"/o/{org.slug}/", status_code=303)
    return await start_session(request, user, "password", f"/o/{org.slug}/")
