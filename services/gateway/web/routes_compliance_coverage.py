"""Compliance → Coverage: pick a stack and a period (default the last 7 days); per agent full /
partial / gap with its tools (calls, default-decided calls, the rules that matched them linked
to their line of the applied governance.fms), the note when the daemon enforces another agent,
and the declared-but-not-enforced findings with their lines shown in context. A gap (or
partial) tool opens its detail: calls, effects, sample records (linked to the Audit record
page) and a suggested FPL snippet to copy, re-suggested for another effect. Cloud never pushes
the snippet anywhere. Stack-scoped: only stacks the member may read (``compliance_ports``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.audit_query import parse_time
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.compliance_ports import (
    compliance_port,
    coverage_period,
    coverage_stack,
    coverage_stacks,
)
from faramesh_cloud.gateway.web.compliance_view import (
    SNIPPET_EFFECTS,
    around,
    finding_words,
    with_snippet,
)
from faramesh_cloud.gateway.web.routes_compliance import render
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.COMPLIANCE_REPORT_READ)


def _period(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """The period asked for; by default the 7 days up to the next whole minute (the form shows
    minutes: submitting it again covers the same calls, the last minute's included)."""
    now = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return coverage_period(parse_time(since, "from"), parse_time(until, "to"), now)


def _query(stack_id: str, since: str, until: str) -> str:
    return urlencode({"stack": stack_id, "since": since, "until": until})


def _field(moment: datetime) -> str:
    """A period bound as a datetime-local field shows it (UTC, to the minute)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@router.get("/o/{org}/compliance/coverage", response_class=HTMLResponse)
async def coverage(request: Request, principal: Principal = Depends(READ), stack: str | None = Query(None),
                   since: str | None = Query(None), until: str | None = Query(None)) -> Response:
    stacks = await coverage_stacks(request, principal)
    context: dict[str, Any] = {"coverage_stacks": stacks, "chosen": None, "found": None}
    try:
        start, end = _period(since, until)
    except ValueError as exc:
        return await render(request, "compliance/coverage.html", principal, "coverage", status_code=400,
                            error=str(exc), since=since or "", until=until or "", **context)
    context.update(since=_field(start), until=_field(end), start=start, end=end)
    chosen = await coverage_stack(request, principal, stack) if stack else (stacks[0] if stacks else None)
    if chosen is None:
        return await render(request, "compliance/coverage.html", principal, "coverage", **context)
    try:
        found = await compliance_port(request).coverage(principal.org.org_id, chosen.stack_id, start, end)
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such stack") from None
    except ValueError as exc:
        return await render(request, "compliance/coverage.html", principal, "coverage", status_code=400,
                            error=str(exc), **{**context, "chosen": chosen})
    findings = [{"finding": f, "words": finding_words(f.kind), "context": around(found.lines, f.line)}
                for f in found.findings]
    return await render(request, "compliance/coverage.html", principal, "coverage", **{
        **context, "chosen": chosen, "found": found, "findings": findings,
        "period_query": _query(chosen.stack_id, context["since"], context["until"]),
        "numbered": list(enumerate(found.lines, start=1))})


@router.get("/o/{org}/compliance/coverage/gap", response_class=HTMLResponse)
async def gap(request: Request, principal: Principal = Depends(READ), stack: str = Query(...),
              agent: str = Query(...), tool: str = Query(...), since: str | None = Query(None),
              until: str | None = Query(None), effect: str | None = Query(None)) -> Response:
    chosen = await coverage_stack(request, principal, stack)
    context: dict[str, Any] = {"chosen": chosen, "agent": agent, "tool": tool, "effects": SNIPPET_EFFECTS,
                               "effect": effect or ""}
    try:
        start, end = _period(since, until)
        context.update(since=_field(start), until=_field(end), start=start, end=end,
                       period_query=_query(chosen.stack_id, _field(start), _field(end)))
        port = compliance_port(request)
        detail = await port.coverage_gap(principal.org.org_id, chosen.stack_id, agent, tool, start, end,
                                         effect or None)
        applied = await port.coverage(principal.org.org_id, chosen.stack_id, start, end)
    except LookupError as exc:
        raise NotFound(str(exc.args[0]) if exc.args else "no such tool") from None
    except ValueError as exc:
        return await render(request, "compliance/coverage_gap.html", principal, "coverage", status_code=400,
                            error=str(exc), detail=None, **context)
    chosen_effect = detail.snippet.text.split(" ", 1)[0]
    return await render(request, "compliance/coverage_gap.html", principal, "coverage", **{
        **context, "detail": detail, "effect": chosen_effect, "applied": applied.applied,
        "placed": with_snippet(applied.lines, detail.snippet.text, detail.snippet.line) if applied.applied else []})
