"""Error pages: an HTML page in the layout for the UI, JSON for ``/api/...``.

Under ``/o/{org}/...`` a signed-in member reads the error inside the layout (navigation,
organisation menu, stack filter), whatever raised it: an unknown page (Starlette's 404 from the
router), a refused form, a role without the permission, a bad query parameter. Elsewhere (or when
the caller is not a member of that organisation, which must not be told apart from "no such
organisation") the page is the bare one. ``/api/...`` keeps JSON bodies.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Final

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from faramesh_cloud.gateway.web.auth import LoginRequired, member
from faramesh_cloud.gateway.web.deps import is_api
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, Principal

_log = logging.getLogger(__name__)
_ORG_PATH: Final = re.compile(r"^/o/([^/]+)(?:/|$)")
TITLES: Final = {400: "That did not work", 403: "Not allowed", 404: "Not found", 405: "Not found",
                 409: "That did not work", 410: "Gone", 413: "Too large", 422: "That did not work"}
NO_PAGE: Final = "There is no page here. Pick a section from the navigation above, or go to the start page."


async def principal_for(request: Request) -> Principal | None:
    """The member the page is for: the one the route already resolved, else the caller as a
    member of the organisation in the path (``/o/{org}/...``), else None (bare page)."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    match = _ORG_PATH.match(request.url.path)
    if match is None:
        return None
    try:
        return await member(match.group(1), request)
    except (IdentityError, LoginRequired):
        return None


async def error_page(request: Request, status: int, title: str, message: str,
                     headers: dict[str, str] | None = None) -> Response:
    """JSON ``{"detail": message}`` for the API, else ``error.html`` (in the layout for a member)."""
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    context = {"title": title, "message": message, "status": status}
    try:
        response = await page(request, "error.html", await principal_for(request), context, status_code=status)
    except Exception:  # the layout reads stores (the 503 may be theirs): the bare page never does
        _log.warning("error page %s for %s without the layout", status, request.url.path, exc_info=True)
        response = await page(request, "error.html", None, context, status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_message(status: int, detail: Any) -> str:
    """What a person reads for an ``HTTPException``: its detail, or a sentence for the router's."""
    if status in (404, 405) and detail in ("Not Found", "Method Not Allowed", None):
        return NO_PAGE
    return str(detail)


def validation_message(errors: Sequence[Any]) -> str:
    """A 422's problems in one sentence: each field and what is wrong with it (never the value)."""
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path", "form"))
        parts.append(f"{where}: {e.get('msg', '')}" if where else str(e.get("msg", "")))
    return "; ".join(parts) or "the request is not valid"
