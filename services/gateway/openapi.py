"""The OpenAPI document as the routes behave, and the ``Allow`` header of a 405.

FastAPI documents a route's success answer and its 422; the rest of what a route answers
comes from shared dependencies and the edge, so it is added here, by rule, to every
``/api/v1`` operation:

* 400: a NUL byte or malformed input refused at the edge (``edge.RejectNul``), a value a store
  refuses (``IdentityError``); 413: a body over the limit (``edge.BodyLimit``);
* 401: no session and no valid platform API key, on every operation that looks at the
  caller (all but :data:`PUBLIC`; ``/api/v1/status`` answers 401 for a bad key);
* 403 and 404: every ``/api/v1/orgs/{org}`` operation (a permission or CSRF refusal; an
  organisation the caller does not belong to is 404, as is any id not in it); 404 also for
  any other operation with a path parameter;
* 503: every ``/api/v1/orgs/{org}`` operation, when a service it reads over its internal API
  (the fleet service, for a gateway run apart from it) does not answer (``web/setup.py``);
  504: every such operation that changes something, when the change was sent and its answer
  did not come back in time (it may have been applied: the detail says where to check).

409 is documented where a route can give it, with the route (``responses={409: ...}``).
Every error body is ``{"detail": ...}`` (a list of problems for 422).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PUBLIC: Final = frozenset({"/api/v1/platform/signing-key"})
_PROBLEM: Final = {"$ref": "#/components/schemas/Problem"}
_ANSWERS: Final = {
    "400": "bad input: a NUL byte, malformed or refused values (the detail says which)",
    "401": "no session and no valid platform API key (Authorization: Bearer fmc_pk_...)",
    "403": "the caller's role does not include this (or a cookie-authenticated write without X-CSRF-Token)",
    "404": "no such organisation for this caller, or no such id in it",
    "413": "the request body is larger than the configured limit",
    "503": "a service this reads did not answer (Retry-After says when to try again)",
    "504": "the change was sent but not confirmed in time: it may have been applied (the detail says where to "
           "check before repeating it)",
}
# For the routes that can give it: ``@router.post(..., responses=CONFLICT)``.
CONFLICT: Final[dict[int | str, dict[str, Any]]] = {409: {
    "description": "the state changed first (decided, in use, already done): the detail says how",
    "content": {"application/json": {"schema": _PROBLEM}}}}
_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PROBES: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def answers_for(path: str) -> list[str]:
    codes = ["400", "413"]
    if path not in PUBLIC:
        codes.append("401")
    if path.startswith("/api/v1/orgs/{org}"):
        codes += ["403", "404", "503"]
    elif "{" in path:
        codes.append("404")
    return codes


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = {
        "title": "Problem", "type": "object", "required": ["detail"],
        "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
                                  "description": "what is wrong and what to do next"}}}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/v1"):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            changes = method in ("put", "post", "delete", "patch") and path.startswith("/api/v1/orgs/{org}")
            for code in [*answers_for(path), *(["504"] if changes else [])]:
                responses.setdefault(code, {"description": _ANSWERS[code],
                                            "content": {"application/json": {"schema": _PROBLEM}}})
    return schema


def document_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the answers every route gives (computed once, cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class AllowHeader:
    """A 405 lists every method the path answers (Starlette names only the first route that
    matched the path, so ``PUT`` on a ``GET`` + ``DELETE`` path said ``Allow: GET``)."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app, self.routes = app, routes

    def allowed(self, scope: Scope) -> list[str]:
        """The methods some route answers on this path (each asked as if it were the request's:
        FastAPI's included routers are matched lazily, so their routes cannot be listed)."""
        routes = [r for r in self.routes() if not isinstance(r, Mount)]
        return [m for m in _PROBES if any(r.matches({**scope, "method": m})[0] is Match.FULL for r in routes)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def fixed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self.allowed(scope)
                if allowed:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", ", ".join(allowed).encode())]}
            await send(message)

        await self.app(scope, receive, fixed)
