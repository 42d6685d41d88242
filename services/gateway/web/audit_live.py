"""The live stream (``faramesh audit tail`` in the browser): server-sent events of what the
index records for the caller's organisation, filtered, polled server-side about once a
second per connection, for a bounded lifetime (the browser's EventSource reconnects and
resumes from the last event id, which is the tail cursor). :func:`sse` is the stream itself;
Audit → Live stream and Home's activity stream each give it their own record filter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

from fastapi import Request
from fastapi.responses import StreamingResponse

from faramesh_cloud.gateway.web.audit_common import FILTER_PARAMS, check_stack, reader, summary_json
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission

POLL_S: Final = 1.0
MAX_LIFETIME_S: Final = 300
BACKLOG: Final = 50
BATCH: Final = 200
_LIVE_FILTERS: Final = ("stack", "agent", "session", "effect", "action_type", "tool", "rule", "verification")


def live_filters(params: Mapping[str, str]) -> dict[str, str]:
    keys = dict(FILTER_PARAMS)
    return {keys[name]: params[name].strip() for name in _LIVE_FILTERS if (params.get(name) or "").strip()}


def _matches(summary: Any, filters: Mapping[str, str]) -> bool:
    return all(getattr(summary, "matched_rule_id" if key == "rule_id" else key) == value
               for key, value in filters.items())


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


async def _events(request: Request, principal: Principal, keep: Callable[[Any], bool], after: str | None,
                  seconds: float, backlog: int) -> AsyncIterator[str]:
    audit = reader(request)
    org_id = principal.org.org_id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    cursor = after
    yield f"retry: 2000\n: stream for {principal.org.slug}\n\n"
    first = True
    while True:
        page = await audit.recent(org_id, backlog if first and cursor is None else BATCH, cursor)
        first = False
        cursor = page.cursor
        for summary in page.records:
            if keep(summary):
                yield f"id: {cursor}\nevent: dpr\ndata: {json.dumps(summary_json(summary))}\n\n"
        if len(page.records) == BATCH:
            continue  # more is waiting: no sleep
        yield f"id: {cursor}\n: idle\n\n"
        remaining = deadline - loop.time()
        if remaining <= 0 or await request.is_disconnected():
            break
        await asyncio.sleep(min(POLL_S, remaining))
        if await request.is_disconnected():
            break
    yield f"id: {cursor}\nevent: end\ndata: {json.dumps({'cursor': cursor})}\n\n"


async def tail_cursor(request: Request, principal: Principal) -> str:
    """Where the stream stands now: a page rendered with the latest records passes this as
    ``after``, so its stream sends only what is indexed later."""
    page = await reader(request).recent(principal.org.org_id, 1, None)
    return str(page.cursor)


async def sse(request: Request, principal: Principal, keep: Callable[[Any], bool], *,
              backlog: int = BACKLOG) -> StreamingResponse:
    """A server-sent event stream of the organisation's newly indexed DPR summaries that
    ``keep`` accepts (it must apply the caller's per-stack permissions). Resumes after
    ``?after=`` or the browser's ``Last-Event-ID``; else starts with the last ``backlog``."""
    after = request.query_params.get("after") or request.headers.get("last-event-id") or None
    seconds = lifetime(request)
    if after is not None:
        try:  # refuse a foreign cursor before the stream starts (a clear 400, not a broken stream)
            await reader(request).recent(principal.org.org_id, 1, after)
        except ValueError as exc:
            raise IdentityError(str(exc)) from None
    return StreamingResponse(_events(request, principal, keep, after, seconds, backlog),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def stream(request: Request, principal: Principal) -> StreamingResponse:
    """Audit → Live stream: the filters of the page, records the member may read."""
    filters = live_filters(request.query_params)
    if "stack_id" in filters:
        check_stack(principal, filters["stack_id"])

    def keep(summary: Any) -> bool:
        return _matches(summary, filters) and principal.access.allows(Permission.AUDIT_RECORD_READ,
                                                                      summary.stack_id)

    return await sse(request, principal, keep)
