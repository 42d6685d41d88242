"""Home's panels built from the fleet ports: attention required, the health strip, the
activity stream and budget burn. Every list is limited to the stacks the member may see
(and to the stack filter, when one is set)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import quote

from fastapi import Request

from faramesh_cloud.gateway.web import config_drift
from faramesh_cloud.gateway.web.fleet_ports import (
    FleetPorts,
    PendingApprovals,
    fleet_ports,
    pending_approvals,
)
from faramesh_cloud.gateway.web.pack_alerts import open_alerts
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.rpc.errors import ServiceUnavailable

STRIP_STATES: Final = ("healthy", "degraded", "unhealthy", "unknown")
BURN_HIGHLIGHT: Final = 0.80  # stacks within 20% of their ceiling
BREACH_WITHIN: Final = 0.10  # budgets within 10% of breach need attention
ACTIVITY: Final = 100
OPEN_ITEMS: Final = 5  # up to this many attention items are listed open; more only behind "show each item"

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Attention:
    kind: str  # approval / alert / disconnected / drift / git_drift / pack_alert / credential / budget / chain
    label: str
    text: str
    href: str
    severity: str = "warn"  # bad (shown red) or warn (shown yellow)
    stack_id: str = ""  # the stack the item is about ('' for an organisation-wide item)
    age_s: float | None = None  # how long it has been so (approvals: pending; disconnected: silent)


# How Home groups the attention items: per kind, its heading, the page listing every such item
# (None: no such page) and, per stack, the page filtered to that stack. Every filter named here
# exists on its page (tests/integration/test_home_attention_grouped.py follows each link).
KIND_LABELS: Final = {
    "approval": "Pending approvals", "alert": "Agent alerts", "disconnected": "Sync disconnected",
    "drift": "Config drift", "git_drift": "Differs from git", "pack_alert": "Registry versions",
    "credential": "Credentials expiring", "budget": "Budgets near breach", "chain": "Chain integrity",
}
_ALL_OF: Final = {"approval": "/approvals", "disconnected": "/fleet?sync=disconnected",
                  "alert": "/audit/integrity", "chain": "/audit/integrity"}
_PER_STACK: Final = {
    "approval": "/approvals?stack={id}", "disconnected": "/fleet/stacks/{id}", "drift": "/fleet/stacks/{id}/config",
    "git_drift": "/fleet/stacks/{id}/config", "pack_alert": "/fleet/stacks/{id}/providers",
    "credential": "/fleet/stacks/{id}/agents", "budget": "/fleet/stacks/{id}/agents",
    "alert": "/audit/integrity/{id}", "chain": "/audit/integrity/{id}",
}


@dataclass(frozen=True, slots=True)
class Tally:
    """Attention items of one kind (and one stack, or all stacks): how many, how many red
    (``bad``) and yellow (``warn``), the oldest age when the kind has one, and where to see them."""

    key: str  # the kind, or the stack id
    label: str
    count: int
    bad: int
    warn: int
    oldest_s: float | None
    href: str | None

    @property
    def oldest(self) -> str:
        return _age(self.oldest_s) if self.oldest_s is not None else ""


@dataclass(frozen=True, slots=True)
class Group:
    kind: Tally
    stacks: list[Tally]  # per stack, most items first
    items: list[Attention]


def _tally(key: str, label: str, items: Sequence[Attention], href: str | None) -> Tally:
    ages = [a.age_s for a in items if a.age_s is not None]
    return Tally(key, label, len(items), sum(1 for a in items if a.severity == "bad"),
                 sum(1 for a in items if a.severity != "bad"), max(ages) if ages else None, href)


def grouped(items: Sequence[Attention], base: str, names: dict[str, str]) -> list[Group]:
    """The attention panel at a glance: per kind (in the order the items come, the most urgent
    kinds first), the count, the red/yellow split and the oldest age, and the same per stack,
    each linking to the view filtered to those items. An item about no stack (a service not
    answering) is a group of its own that links to the item's page."""
    kinds: dict[str, list[Attention]] = {}
    for item in items:
        kinds.setdefault(item.kind, []).append(item)
    out = []
    for kind, of_kind in kinds.items():
        everywhere = _ALL_OF.get(kind)
        label = KIND_LABELS.get(kind, of_kind[0].label)
        per_stack: dict[str, list[Attention]] = {}
        for item in of_kind:
            if item.stack_id:
                per_stack.setdefault(item.stack_id, []).append(item)
        template = _PER_STACK.get(kind)
        stacks = [_tally(sid, names.get(sid, sid), its,
                         base + template.format(id=quote(sid, safe="")) if template else None)
                  for sid, its in sorted(per_stack.items(), key=lambda kv: (-len(kv[1]), names.get(kv[0], kv[0])))]
        href = base + everywhere if everywhere else (of_kind[0].href if not per_stack else None)
        out.append(Group(_tally(kind, label, of_kind, href), stacks, of_kind))
    return out


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def _since(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    return max(0.0, (now - (then if then.tzinfo else then.replace(tzinfo=UTC))).total_seconds())


def agent_href(base: str, stack_id: str, agent_id: str) -> str:
    return f"{base}/fleet/stacks/{stack_id}/agents/{quote(agent_id, safe='')}"


async def attention(ports: FleetPorts, org_id: str, base: str, stacks: Sequence[Any],
                    approvals: PendingApprovals | None = None, approval_stacks: Collection[str] = (),
                    now: datetime | None = None, pack_alerts: Sequence[Any] = ()) -> list[Attention]:
    """``approvals``: the approvals queue, listed for ``approval_stacks`` (the stacks whose
    approvals the member may read); None (no approvals service): no approval items; the
    approvals service not answering: one item saying so. ``pack_alerts``: the organisation's
    open registry pack alerts (those of ``stacks`` are listed)."""
    now = now or datetime.now(UTC)
    names = {s.stack_id: s.name for s in stacks}
    items: list[Attention] = []
    for a in await _pending(approvals, org_id, approval_stacks, base, items):
        items.append(Attention("approval", "Pending approval",
                               f"{a.agent_id} → {a.tool_id} on {names.get(a.stack_id, a.stack_id)}, "
                               f"waiting {_age(a.pending_s)}", f"{base}/approvals/{quote(a.approval_id, safe='')}",
                               "bad" if a.pending_s > 1800 else "warn", a.stack_id, a.pending_s))
    alerts = [a for a in await _from_index(lambda: ports.audit.alerts(org_id), [], base, items)  # type: ignore[union-attr]
              if a.stack_id in names] if ports.audit else []
    by_agent: dict[tuple[str, str], int] = {}
    for alert in alerts:
        by_agent[(alert.stack_id, alert.agent_id)] = by_agent.get((alert.stack_id, alert.agent_id), 0) + 1
    for (stack_id, agent_id), count in sorted(by_agent.items()):
        items.append(Attention("alert", "Agent alert", f"{agent_id} on {names[stack_id]}: {count} active alert(s)",
                               agent_href(base, stack_id, agent_id), "bad", stack_id))
    for s in stacks:
        if s.sync_status == "disconnected":
            items.append(Attention("disconnected", "Sync disconnected",
                                   f"{s.name}: no contact since {s.last_seen_at:%Y-%m-%d %H:%M} UTC",
                                   f"{base}/fleet/stacks/{s.stack_id}", "bad", s.stack_id,
                                   _since(now, s.last_seen_at)))
    for d in await _from_index(lambda: config_drift.running_drifts(ports, org_id, stacks), [], base, items):
        items.append(Attention("drift", "Config drift", d.text, f"{base}/fleet/stacks/{d.stack_id}/config", "bad",
                               d.stack_id))
    for d in await config_drift.git_drifts(ports, org_id, stacks):
        items.append(Attention("git_drift", "Differs from git", d.text, f"{base}/fleet/stacks/{d.stack_id}/config",
                               "bad", d.stack_id))
    for p in pack_alerts:
        if p.stack_id in names:
            change = (f"{p.imported_version} was yanked" + (f", {p.latest_version} is the latest" if p.latest_version
                                                           else "") if p.yanked
                      else f"{p.imported_version} → {p.latest_version}")
            items.append(Attention("pack_alert", "Yanked registry version" if p.yanked else "Newer registry version",
                                   f"{p.name} on {names[p.stack_id]}: {change} · daemon: {p.delivery}",
                                   f"{base}/fleet/stacks/{p.stack_id}/providers",
                                   "bad" if p.severity == "critical" else "warn", p.stack_id))
    for c in await ports.query.credentials_expiring(org_id, now):
        if c.stack_id in names:
            left = (c.expires_at - now).total_seconds()
            items.append(Attention("credential", "Credential expiring",
                                   f"{c.source} {c.scope} of {c.agent_id} on {names[c.stack_id]} expires in {_age(left)}",
                                   agent_href(base, c.stack_id, c.agent_id), "warn", c.stack_id))
    for b in await ports.query.budgets_near_ceiling(org_id, BREACH_WITHIN):
        if b.stack_id in names:
            items.append(Attention("budget", "Budget near breach",
                                   f"{b.agent_id} on {names[b.stack_id]}: {b.scope} ${b.spent_usd:.2f} of "
                                   f"${b.ceiling_usd:.2f} ({b.used:.0%})",
                                   agent_href(base, b.stack_id, b.agent_id), "bad" if b.used >= 1 else "warn",
                                   b.stack_id))
    for alert in alerts:
        items.append(Attention("chain", "Chain integrity", f"{alert.kind} on {alert.agent_id} ({names[alert.stack_id]}): "
                               f"{alert.message}", f"{base}/audit/records/{quote(alert.record_id, safe='')}", "bad",
                               alert.stack_id))
    return items


async def _from_index(read: Callable[[], Awaitable[T]], default: T, base: str, items: list[Attention]) -> T:
    """What Home reads of the audit index; when the index does not answer, ``default`` and one
    item saying so (Home still shows the fleet and the approvals)."""
    try:
        return await read()
    except ServiceUnavailable as exc:
        if not any(item.kind == "audit_unavailable" for item in items):
            _log.warning("Home without the audit index: %s", exc)
            items.append(Attention("audit_unavailable", "Audit index unavailable",
                                   f"The {exc.service} service is not answering, so chain-integrity alerts, config "
                                   "drift and recent activity cannot be shown right now", f"{base}/audit", "bad"))
        return default


async def _pending(approvals: PendingApprovals | None, org_id: str, stacks: Collection[str], base: str,
                   items: list[Attention]) -> Sequence[Any]:
    """The pending approvals Home lists; when the approvals service does not answer, none and
    an item saying so (Home still shows the fleet: the approvals pages answer 503 themselves)."""
    if approvals is None or not stacks:
        return []
    try:
        return await approvals.pending(org_id, stacks=list(stacks))
    except ServiceUnavailable as exc:
        _log.warning("Home without pending approvals: %s", exc)
        items.append(Attention("approvals_unavailable", "Approvals unavailable",
                               f"The {exc.service} service is not answering, so pending approvals cannot be listed "
                               "right now", f"{base}/approvals", "bad"))
        return []


async def attention_for(request: Request, principal: Principal, stacks: Sequence[Any]) -> list[Attention]:
    """The attention panel for this member: their visible stacks, and pending approvals on the
    stacks whose approvals they may read."""
    ports = fleet_ports(request)
    ids = [s.stack_id for s in stacks]
    return await attention(ports, principal.org.org_id, f"/o/{principal.org.slug}", stacks,
                           pending_approvals(request, ports),
                           principal.access.stacks_with(Permission.APPROVALS_REQUEST_READ, ids),
                           pack_alerts=await open_alerts(request, principal.org.org_id))


def strip(stacks: Sequence[Any]) -> dict[str, int]:
    counts = {state: 0 for state in STRIP_STATES}
    for s in stacks:
        counts[s.health if s.health in counts else "unknown"] += 1
    counts["disconnected"] = sum(1 for s in stacks if s.sync_status == "disconnected")
    return counts


async def activity(ports: FleetPorts, org_id: str, stack_ids: set[str]) -> list[Any]:
    """The last DPRs of the stacks; none when the audit index does not answer (Home's
    attention panel says so)."""
    if ports.audit is None:
        return []
    try:
        return [r for r in await ports.audit.recent(org_id, ACTIVITY) if r.stack_id in stack_ids]
    except ServiceUnavailable:
        return []


async def burn(ports: FleetPorts, org_id: str, stack_ids: set[str]) -> list[Any]:
    return [b for b in await ports.query.budget_burn(org_id) if b.stack_id in stack_ids]
