"""Fleet → agent detail: identity, budget breakdown, sessions (from its latest DPRs),
brokered credentials,
enforcement layers, delegation topology and the agent's last 200 DPRs (both from the audit
index), and the emergency controls (Kill, Isolate: the Approvals section's component, when
that section runs)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.delegation import WINDOW_S, Topology, topology
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, fleet_ports
from faramesh_cloud.gateway.web.fleet_view import load_stack
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
AGENT_DPRS = 200


# What the agent's latest DPR says about who it is and how it is governed (explain view's
# "Identity at call time", plus the policy it was decided under).
IDENTITY_FIELDS: Final = (("principal_id_hash", "Principal (hash)"), ("intercept_adapter", "Intercepted by"),
                          ("execution_environment", "Execution environment"),
                          ("signature_algorithm", "Signs its records with"), ("signer_public_key", "Signing key"),
                          ("policy_version", "Policy version"), ("degraded_mode", "Degraded mode"))


async def agent_identity(request: Request, org_id: str, records: Sequence[Any] | None) -> dict[str, Any] | None:
    """Identity facts from the agent's latest DPR (None: no index or no DPR yet; an
    unverified decision summary from a legacy feed does not say who the agent is)."""
    audit = web(request).audit
    latest = next((r for r in records or () if getattr(r, "verification", "verified") == "verified"), None)
    if audit is None or latest is None:
        return None
    copies = [c for c in await audit.get_record(org_id, latest.record_id) if c.summary.verified]
    if not copies:
        return None
    try:
        fields = json.loads(copies[0].raw)
    except ValueError:
        return None
    shown = [(label, str(fields[key])) for key, label in IDENTITY_FIELDS if fields.get(key) not in (None, "")]
    return {"record_id": latest.record_id, "created_at": latest.created_at, "fields": shown}


def sessions_of(records: Sequence[Any]) -> list[dict[str, Any]]:
    """The agent's sessions seen in its latest DPRs (newest first): records, effects, span."""
    found: dict[str, dict[str, Any]] = {}
    for r in records:  # newest first
        entry = found.setdefault(r.session_id, {"session_id": r.session_id, "records": 0, "effects": {},
                                               "last": r.created_at, "first": r.created_at})
        entry["records"] += 1
        entry["first"] = r.created_at
        entry["effects"][r.effect] = entry["effects"].get(r.effect, 0) + 1
    return list(found.values())


async def agent_topology(ports: FleetPorts, org_id: str, stack_id: str, agent_id: str) -> Topology | None:
    """The agent's delegation topology over the last ``WINDOW_S``; None without the DPR index."""
    if ports.audit is None:
        return None
    since_ns = (time.time_ns() // 1_000_000_000 - WINDOW_S) * 1_000_000_000
    edges = await ports.audit.delegations(org_id, stack_id, since_ns)
    agents: list[Any] = list(await ports.query.agents(org_id, stack_id))
    return topology(agent_id, edges, {a.agent_id for a in agents})


@router.get("/o/{org}/fleet/stacks/{stack_id}/agents/{agent_id}", response_class=HTMLResponse)
async def agent_detail(request: Request, stack_id: str, agent_id: str,
                       principal: Principal = Depends(require(Permission.FLEET_HEALTH_READ))) -> Response:
    stack = await load_stack(request, principal, stack_id)
    ports = fleet_ports(request)
    agent = await ports.query.agent(principal.org.org_id, stack_id, agent_id)
    records = (await ports.audit.agent_records(principal.org.org_id, stack_id, agent_id, AGENT_DPRS)
               if ports.audit is not None else None)
    return await page(request, "fleet/agent.html", principal, {
        "s": stack, "agent_id": agent_id, "agent": agent, "records": records,
        "topology": await agent_topology(ports, principal.org.org_id, stack_id, agent_id),
        "sessions": sessions_of(records) if records is not None else None,
        "identity": await agent_identity(request, principal.org.org_id, records),
        "window_days": WINDOW_S // 86400,
        "can_kill": principal.access.allows(Permission.FLEET_AGENT_KILL, stack_id),
        "can_isolate": principal.access.allows(Permission.FLEET_AGENT_ISOLATE, stack_id),
        # Kill / Isolate are the emergency-controls component of the Approvals section,
        # shown when that section is mounted.
        "emergency": getattr(request.app.state, "approvals", None) is not None,
    }, section="fleet")
