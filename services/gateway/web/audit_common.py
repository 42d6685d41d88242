"""Shared by the DPR explorer's pages and its REST twins: the reader, query parsing, stack
scoping and the JSON shape of a record summary."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse

from faramesh_cloud.gateway.web.audit_ports import AuditReader
from faramesh_cloud.gateway.web.audit_query import parse_time
from faramesh_cloud.gateway.web.deps import NavSection, web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

AUDIT_SECTION: Final = NavSection("audit", "Audit", "/audit", (Permission.AUDIT_RECORD_READ,))
TABS: Final = (("search", "Search", "/audit"), ("live", "Live stream", "/audit/live"),
               ("session", "Sessions", "/audit/sessions"), ("integrity", "Chain integrity", "/audit/integrity"))
EFFECTS: Final = ("PERMIT", "DENY", "DEFER", "MODIFY", "SHADOW_PERMIT", "SHADOW_DENY")
# (query parameter, filter key of the reader)
FILTER_PARAMS: Final = (("stack", "stack_id"), ("agent", "agent_id"), ("session", "session_id"),
                        ("effect", "effect"), ("action_type", "action_type"), ("tool", "tool_id"),
                        ("rule", "rule_id"), ("verification", "verification"), ("state", "state"))
# verification=: DPRs (hash, chain link and signature checked) or decision summaries from the
# legacy Horizon feed and daemon webhooks, which carry none of them.
VERIFICATIONS: Final = (("verified", "Verified DPRs"), ("unverified", "Unverified summaries"))
# state=: a DPR's verification state (issue 18): searchable first, checked by the chain
# verifier right after. A state filter shows DPRs only.
STATES: Final = (("verifying", "Verifying"), ("verified", "Verified"), ("failed", "Failed"))
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def reader(request: Request) -> AuditReader:
    audit = web(request).audit
    if audit is None:
        raise NotFound("the DPR index is not part of this installation")
    return audit


def nanos(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


@dataclass(frozen=True)
class SearchQuery:
    """A search as the URL carries it: filters, time range, cursor."""

    filters: dict[str, str]
    start_ns: int | None
    end_ns: int | None
    params: dict[str, str]  # the non-empty query parameters (for links and the export's "query")

    @classmethod
    def parse(cls, request: Request) -> SearchQuery:
        given = request.query_params
        filters: dict[str, str] = {}
        params: dict[str, str] = {}
        for name, key in FILTER_PARAMS:
            value = (given.get(name) or "").strip()
            if value:
                filters[key] = value
                params[name] = value
        if filters.get("verification", "verified") not in dict(VERIFICATIONS):
            raise IdentityError(f"verification {filters['verification'][:40]!r} is not one of "
                                f"{', '.join(dict(VERIFICATIONS))}")
        if filters.get("state", "verified") not in dict(STATES):
            raise IdentityError(f"state {filters['state'][:40]!r} is not one of {', '.join(dict(STATES))}")
        since, until = given.get("since"), given.get("until")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        if start and end and start >= end:
            raise IdentityError("'since' must be before 'until'")
        for name, value in (("since", since), ("until", until)):
            if value:
                params[name] = value
        return cls(filters, nanos(start), nanos(end), params)


def check_stack(principal: Principal, stack_id: str, permission: Permission = Permission.AUDIT_RECORD_READ) -> None:
    """A stack the member may not read audit records of looks like one that does not exist."""
    if not principal.access.allows(permission, stack_id):
        raise NotFound("no such record in this organisation")


def visible(principal: Principal, records: Any, permission: Permission = Permission.AUDIT_RECORD_READ) -> list[Any]:
    """Drop the records of stacks a per-stack role override keeps from this member."""
    return [r for r in records if principal.access.allows(permission, r.stack_id)]


def summary_json(summary: Any) -> dict[str, Any]:
    return dataclasses.asdict(summary)


def parse_limit(value: str | None, default: int = 50, most: int = 500) -> int:
    if not value:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise IdentityError(f"limit {value!r} is not a number") from None
    if not 1 <= limit <= most:
        raise IdentityError(f"limit must be between 1 and {most}")
    return limit


async def audit_page(request: Request, template: str, principal: Principal, tab: str, context: dict[str, Any],
                     *, status_code: int = 200) -> HTMLResponse:
    return await page(request, template, principal, {"tab": tab, "audit_tabs": TABS, **context},
                      section="audit", status_code=status_code)
