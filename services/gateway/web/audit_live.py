"""The live stream (``faramesh audit tail`` in the browser): server-sent events of what the
index records for the caller's organisation, filtered, for a bounded lifetime (the browser's
EventSource reconnects and resumes from the last event id, which is the tail cursor).

Streams do not read the index themselves: each is a :class:`~.live_feed.Viewer` of its
organisation's shared feed (``live_feed.py``: one read per commit, not one per viewer), with its
own :class:`~.live_feed.Selector`. :func:`sse` is the stream itself; Audit → Live stream and
Home's activity stream each give it their own selector.

Events: ``dpr`` (a record summary as JSON; its id is the cursor after it), ``end`` (the
lifetime is over: reconnect with the id), ``behind`` (more records waited for this stream than
it took: it ends; reload, or search for what it missed). Lines starting with ``:`` keep the
connection open and carry, in their id, where the stream stands.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Final

from fastapi import Request
from fastapi.responses import StreamingResponse

from faramesh_cloud.gateway.web.audit_common import FILTER_PARAMS, check_stack, reader
from faramesh_cloud.gateway.web.live_feed import LiveHub, Selector, Viewer
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission

MAX_LIFETIME_S: Final = 300
BACKLOG: Final = 50
HEARTBEAT_S: Final = 5.0  # an idle stream writes (its position, or a comment) this often
_LIVE_FILTERS: Final = ("stack", "agent", "session", "effect", "action_type", "tool", "rule", "verification")
_ATTRIBUTE: Final = {"rule_id": "matched_rule_id"}  # filter key -> record summary attribute


def live_filters(params: Mapping[str, str]) -> dict[str, str]:
    keys = dict(FILTER_PARAMS)
    return {keys[name]: params[name].strip() for name in _LIVE_FILTERS if (params.get(name) or "").strip()}


def lifetime(request: Request) -> float:
    value = request.query_params.get("max_seconds")
    if not value:
        return MAX_LIFETIME_S
    try:
        seconds = float(value)
    except ValueError:
        raise IdentityError(f"max_seconds {value!r} is not a number") from None
    if not 0 < seconds <= MAX_LIFETIME_S:
        raise IdentityError(f"max_seconds must be more than 0 and at most {MAX_LIFETIME_S}")
    return seconds


def live_hub(request: Request) -> LiveHub:
    reader(request)  # 404 when the installation has no DPR index
    hub: LiveHub = request.app.state.live
    return hub


def _behind(viewer: Viewer) -> bytes:
    data = {"cursor": viewer.sent_cursor(),
            "message": "This view fell behind the live stream: more records arrived than it could take. "
                       "Reload the page to continue, or search for what it missed."}
    return f"event: behind\ndata: {json.dumps(data)}\n\n".encode()


async def stream_events(hub: LiveHub, org_id: str, slug: str, selector: Selector, after: str | None,
                        backlog: int, seconds: float, disconnected: Callable[[], Awaitable[bool]]
                        ) -> AsyncIterator[bytes]:
    """The bytes of one stream: the backlog (or what came after ``after``), then each row the
    selector keeps as the feed hands it over, until ``seconds`` have passed, the client went
    away, the gateway stops (``end``) or the stream fell behind (``behind``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    yield f"retry: 2000\n: stream for {slug}\n\n".encode()
    viewer = await hub.watch(org_id, selector, after, backlog, seconds)
    try:
        first = idle = True
        while not viewer.closed:
            chunk = viewer.take(idle=first)
            first = False
            if chunk or idle:
                yield chunk or b": keep-alive\n\n"
            if viewer.behind:
                yield _behind(viewer)
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            idle = not await viewer.wait(min(remaining, HEARTBEAT_S))
            if idle and await disconnected():
                return
        cursor = viewer.position()[1]
        yield f"id: {cursor}\nevent: end\ndata: {json.dumps({'cursor': cursor})}\n\n".encode()
    finally:
        hub.leave(viewer)


async def tail_cursor(request: Request, principal: Principal) -> str:
    """Where the stream stands now: a page rendered with the latest records passes this as
    ``after``, so its stream sends only what is indexed later."""
    page = await reader(request).recent(principal.org.org_id, 1, None)
    return str(page.cursor)


async def sse(request: Request, principal: Principal, selector: Selector, *,
              backlog: int = BACKLOG) -> StreamingResponse:
    """A server-sent event stream of the organisation's newly indexed DPR summaries that
    ``selector`` keeps (it must carry the caller's per-stack permissions). Resumes after
    ``?after=`` or the browser's ``Last-Event-ID``; else starts with the last ``backlog``."""
    after = request.query_params.get("after") or request.headers.get("last-event-id") or None
    seconds = lifetime(request)
    hub = live_hub(request)
    if after is not None:
        try:  # refuse a foreign cursor before the stream starts (a clear 400, not a broken stream)
            hub.position(after)
        except ValueError as exc:
            raise IdentityError(str(exc)) from None
    body = stream_events(hub, principal.org.org_id, principal.org.slug, selector, after, backlog, seconds,
                         request.is_disconnected)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def stream(request: Request, principal: Principal) -> StreamingResponse:
    """Audit → Live stream: the filters of the page, records the member may read."""
    filters = live_filters(request.query_params)
    if "stack_id" in filters:
        check_stack(principal, filters["stack_id"])

    def allows(stack_id: str) -> bool:
        return principal.access.allows(Permission.AUDIT_RECORD_READ, stack_id)

    equals = tuple((_ATTRIBUTE.get(key, key), value) for key, value in filters.items())
    return await sse(request, principal, Selector(equals, None, allows))
