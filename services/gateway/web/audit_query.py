"""Platform audit log queries shared by the UI and the API: filters, export (entered in the
evidence library too when compliance runs here: kind ``platform-audit-export``), verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import Response

from faramesh_cloud.gateway.web.compliance_ports import file_in_library
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.platform_audit.chain import ChainReport
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.platform_audit.export import export_bundle
from faramesh_cloud.platform_audit.store import AuditFilter


def parse_time(value: str | None, what: str) -> datetime | None:
    """ISO 8601; without a zone it is UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise IdentityError(f"{what} {value!r} is not a time; write it as 2026-01-31T09:00 (UTC)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit_filter(action: str | None, actor: str | None, since: str | None, until: str | None,
                 before: int | None = None) -> AuditFilter:
    return AuditFilter(action=action or None, actor=(actor or "").strip() or None,
                       since=parse_time(since, "since"), until=parse_time(until, "until"), before_seq=before)


async def export_response(request: Request, principal: Principal, where: AuditFilter) -> Response:
    deps = web(request)
    now = datetime.now(UTC)
    await deps.identity.audit.append(principal.org.org_id, AuditAction.AUDIT_LOG_EXPORTED, principal.actor,
                                     target=Target("org", principal.org.org_id), details={"query": where.as_query()})
    bundle = await export_bundle(deps.identity.audit, principal.org.as_json(), where, deps.signing_key, now)
    name = f"platform-audit-{principal.org.slug}-{now:%Y%m%dT%H%M%SZ}.json"
    body = json.dumps(bundle, indent=2, ensure_ascii=False).encode("utf-8")
    await file_in_library(request, principal, "platform-audit-export", "Platform audit log export",
                          {k: str(v) for k, v in where.as_query().items()}, body, name)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def verify_chain(request: Request, principal: Principal) -> ChainReport:
    deps = web(request)
    report = await deps.identity.audit.verify(principal.org.org_id)
    await deps.identity.audit.append(principal.org.org_id, AuditAction.AUDIT_LOG_VERIFIED, principal.actor,
                                     target=Target("org", principal.org.org_id),
                                     details={"ok": report.ok, "entries": report.entries,
                                              "problems": report.problems[:20]})
    return report
