"""Who is calling, in which organisation, allowed to do what: the dependencies every router uses.

* :func:`caller`: the signed-in session (cookie ``fmc_session``) or platform API key
  (``Authorization: Bearer fmc_pk_...``), or None.
* :func:`member`: the :class:`Principal` for the ``{org}`` (slug) in the path. Someone who
  is not a member gets 404, exactly like a slug that does not exist; an API key works only
  in its own organisation.
* :func:`require(permission)`: ``member`` plus a permission check (403 naming the
  permission). Stack-scoped checks: ``principal.access.allows(permission, stack_id)``.
* :func:`check_csrf`: every form post and every cookie-authenticated unsafe API call
  carries the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request, Response

from faramesh_cloud.gateway.web.deps import client_ip, secure_cookie, web
from faramesh_cloud.identity.domain import (
    ApiKey,
    Forbidden,
    NotFound,
    OrgRef,
    Principal,
    PrincipalKind,
    Session,
)
from faramesh_cloud.identity.permissions import Access, Permission

SESSION_COOKIE = "fmc_session"
ANON_CSRF_COOKIE = "fmc_csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """No valid session or key: the UI redirects to the sign-in page, the API answers 401."""


class CsrfRejected(Exception):
    """A form or cookie-authenticated call without the session's CSRF token."""


@dataclass(frozen=True)
class Caller:
    session: Session | None = None
    session_cookie: str | None = None
    api_key: ApiKey | None = None
    key_org: OrgRef | None = None


async def caller(request: Request) -> Caller | None:
    """The authenticated caller of this request (cached on the request), or None."""
    if hasattr(request.state, "caller"):
        found: Caller | None = request.state.caller
        return found
    identity = web(request).identity
    result: Caller | None = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        hit = await identity.api_keys.authenticate(header[7:].strip())
        if hit is None:
            raise LoginRequired("the API key is not valid (unknown, malformed or revoked); create a new one "
                                "under Settings → API keys")
        result = Caller(api_key=hit[0], key_org=hit[1])
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            session = await identity.sessions.lookup(cookie)
            if session is not None:
                result = Caller(session=session, session_cookie=cookie)
    request.state.caller = result
    return result


async def signed_in(request: Request) -> Caller:
    """A signed-in user (session cookie); API keys are not people."""
    found = await caller(request)
    if found is None or found.session is None:
        raise LoginRequired("sign in first")
    return found


async def member(org: str, request: Request) -> Principal:
    """The caller as a member of organisation ``org`` (a slug); 404 when not one."""
    found = await caller(request)
    if found is None:
        raise LoginRequired("sign in first, or send a platform API key as 'Authorization: Bearer fmc_pk_...'")
    not_found = NotFound(f"no organisation {org!r} that you belong to; pick one from the organisation menu")
    identity = web(request).identity
    if found.api_key is not None and found.key_org is not None:
        if found.key_org.slug != org:
            raise not_found
        return Principal(PrincipalKind.API_KEY, found.key_org, Access(found.api_key.role), found.api_key.key_id,
                         found.api_key.name, client_ip(request))
    assert found.session is not None
    org_ref = await identity.orgs.by_slug(org)
    if org_ref is None:
        raise not_found
    user = found.session.user
    access = await identity.members.access(org_ref.org_id, user.user_id)
    if access is None:
        raise not_found
    principal = Principal(PrincipalKind.USER, org_ref, access, user.user_id, user.email, client_ip(request), user)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the member, who must hold ``permission`` organisation-wide."""

    async def dependency(principal: Principal = Depends(member)) -> Principal:
        if not principal.access.allows(permission):
            raise Forbidden(f"your role ({principal.access.role.label}) does not include {permission}; "
                            "ask an owner or admin of this organisation")
        return principal

    return dependency


def require_any(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Principal = Depends(member)) -> Principal:
        if not any(principal.access.allows(p) for p in permissions):
            raise Forbidden(f"your role ({principal.access.role.label}) includes none of "
                            f"{', '.join(permissions)}")
        return principal

    return dependency


def csrf_token(request: Request, response: Response | None = None) -> str:
    """The token forms on this page must carry: the session's, or (signed out) the one in
    the ``fmc_csrf`` cookie, which is set on ``response`` when missing."""
    found: Caller | None = getattr(request.state, "caller", None)
    if found is not None and found.session is not None:
        return found.session.csrf_token
    token = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    if response is not None and request.cookies.get(ANON_CSRF_COOKIE) != token:
        response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie(request),
                            path="/")
    return token


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request without the right CSRF token (API keys need none: a browser
    never sends them by itself)."""
    if request.method not in _UNSAFE:
        return
    found = await caller(request)
    if found is not None and found.api_key is not None:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if found is not None and found.session is not None:
        expected: str | None = found.session.csrf_token
    else:
        expected = request.cookies.get(ANON_CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected("the form was stale or did not come from this site (CSRF token missing or wrong); "
                           "reload the page and try again")
