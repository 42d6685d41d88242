"""A DPR search exported as a signed JSON bundle (``faramesh_cloud.signing.dpr_bundle``); when
compliance runs here the same bytes are entered in the evidence library (kind ``dpr-export``,
the query as its parameters)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from fastapi import Request
from fastapi.responses import Response

from faramesh_cloud.gateway.web.audit_common import SearchQuery, check_stack, reader, visible
from faramesh_cloud.gateway.web.compliance_ports import file_in_library
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.signing.bundle import build_bundle, sign_bundle
from faramesh_cloud.signing.dpr_bundle import KIND, chain_facts, entry

MAX_RECORDS: Final = 1_000


async def export_response(request: Request, principal: Principal, query: SearchQuery) -> Response:
    audit = reader(request)
    org_id = principal.org.org_id
    if "stack_id" in query.filters:
        check_stack(principal, query.filters["stack_id"], Permission.AUDIT_RECORD_EXPORT)
    if query.filters.get("verification") == "unverified":
        raise IdentityError("unverified decision summaries are not DPRs and cannot be exported as a signed "
                            "bundle; export verified records (verification=verified or any)")
    # Only DPRs: a summary from the legacy feed or a webhook has no bytes a bundle could vouch for.
    filters = {**query.filters, "verification": "verified"}
    page = await audit.search(org_id, filters, query.start_ns, query.end_ns, None, MAX_RECORDS)
    if page.next_cursor is not None:
        raise IdentityError(f"the search matches more than {MAX_RECORDS} records; narrow it (time range, "
                            "stack, agent) and export each part")
    ids = [r.record_id for r in visible(principal, page.records, Permission.AUDIT_RECORD_EXPORT)]
    stored = visible(principal, await audit.records_with_bytes(org_id, ids), Permission.AUDIT_RECORD_EXPORT)
    entries = [entry(r) for r in stored]
    now = datetime.now(UTC)
    deps = web(request)
    await deps.identity.audit.append(org_id, AuditAction.DPR_EXPORTED, principal.actor,
                                     target=Target("org", org_id),
                                     details={"query": query.params, "records": len(entries)})
    bundle = sign_bundle(build_bundle(kind=KIND, org=principal.org.as_json(), entries=entries,
                                      chain=chain_facts(entries), query=query.params, created_at=now),
                         deps.signing_key)
    name = f"dpr-export-{principal.org.slug}-{now:%Y%m%dT%H%M%SZ}.json"
    body = json.dumps(bundle, indent=2, ensure_ascii=False).encode("utf-8")
    await file_in_library(request, principal, "dpr-export", f"DPR search export ({len(entries)} records)",
                          {**query.params, "records": len(entries)}, body, name)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
