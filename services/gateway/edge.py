"""What every request meets before any route: a body-size limit, NUL bytes refused, and
validation errors that never echo the input. Pure ASGI middleware (no buffering of bodies it
does not need to look at), added by ``create_app`` so the ASGI app and the served one behave
alike.

* :class:`BodyLimit`: a body larger than the limit is answered 413 before it is read: at once
  when ``Content-Length`` says so, else (chunked) as soon as the bytes read pass the limit. The
  limit is per path prefix (:class:`EdgeLimits`), so a streamed upload (registry binaries) can
  get a larger one of its own; routes may keep smaller ones (the legacy feed's 2 MiB).
* :class:`RejectNul`: PostgreSQL ``text`` cannot hold U+0000 (psycopg raises ``DataError``, a
  500), and no name, id, filter or form value of this product contains one: a NUL in the path,
  the query string, a form field (urlencoded or a multipart text field) or a JSON string is
  refused with 400 here. Other bodies, and multipart file parts, are not looked at.
* :func:`validation_error`: FastAPI's 422 repeats the offending ``input`` (a whole body if
  that is what failed): the answer names the field and the problem only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
_CLOSE = {"Connection": "close"}
_DAEMON_FEEDS = "/v1/"  # ingest's legacy feed and webhooks, mounted by the runtime


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Path prefix -> its own body limit (the longest matching prefix wins): the hook for
    # streamed uploads that need more than the default. A ``*`` segment matches any one path
    # segment (``/api/v1/orgs/*/registry/providers``: every organisation's route).
    body_limits: Mapping[str, int] = field(default_factory=dict)

    def body_limit(self, path: str) -> int:
        best, limit = -1, self.max_body_bytes
        for prefix, value in self.body_limits.items():
            if _prefix_matches(prefix, path) and len(prefix) > best:
                best, limit = len(prefix), value
        return limit


def _prefix_matches(prefix: str, path: str) -> bool:
    if "*" not in prefix:
        return path.startswith(prefix)
    want, have = prefix.split("/"), path.split("/")
    if len(have) < len(want):
        return False
    for i, part in enumerate(want):
        last = i == len(want) - 1
        if part == "*":
            if not have[i]:
                return False
        elif not (have[i].startswith(part) if last else have[i] == part):
            return False
    return True


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit (FastAPI passes an
    HTTPException through its body parsing untouched, so the route answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit} bytes; send less", headers=_CLOSE)


async def _answer(scope: Scope, send: Send, status: int, detail: str) -> None:
    answer = {"detail": detail}
    if scope["path"].startswith(_DAEMON_FEEDS):
        answer["error"] = detail  # the daemon feeds' own error shape (docs/daemon-feeds.md)
    body = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, limits: EdgeLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _answer(scope, send, 413, f"the request body of {int(declared)} bytes exceeds {limit} bytes; send less")
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(scope, send, 413, str(exc.detail))


_FORM = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def _multipart_has_nul(scope: Scope, body: bytes) -> bool:
    """A NUL in a text field of a multipart form (file parts may hold any bytes)."""
    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, once).form() as form:
            return any(isinstance(v, str) and "\x00" in v for _, v in form.multi_items())
    except Exception:  # malformed: the route's own parsing answers
        return False


async def _body_has_nul(scope: Scope, content_type: bytes, body: bytes) -> bool:
    if content_type.startswith(_MULTIPART):
        return b"\x00" in body and await _multipart_has_nul(scope, body)
    if b"\x00" in body:
        return True
    if content_type.startswith(_FORM):
        return b"%00" in body  # in a percent-encoded body, "%00" is always an encoded NUL
    if b"\\u0000" not in body:
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route's own validation answers


def _looks_at(content_type: bytes) -> bool:
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind in (_FORM, _MULTIPART, b"application/json") or kind.endswith(b"+json")


class RejectNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = None
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in bytes(scope.get("raw_path") or b""):
            where = "the path"
        elif b"%00" in query or b"\x00" in query:
            where = "the query string"
        content_type = (_header(scope, b"content-type") or b"").lower()
        if where is None and _looks_at(content_type):
            body = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    await self.app(scope, _replay(bytes(body), message, receive), send)
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
            if await _body_has_nul(scope, content_type, bytes(body)):
                where = "a JSON string" if b"json" in content_type.split(b";", 1)[0] else "a form field"
            else:
                await self.app(scope, _replay(bytes(body), None, receive), send)
                return
        if where is not None:
            await _answer(scope, send, 400, f"{where} contains a NUL byte (U+0000), which no field of Faramesh Cloud "
                          "accepts; remove it")
            return
        await self.app(scope, receive, send)


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands out the body already read, then what ``receive`` says."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending = [last]  # the client went away mid-body: tell the app exactly that

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field and what is wrong with it, never the value sent."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                for e in exc.errors()]
    return JSONResponse({"detail": problems}, status_code=422)
