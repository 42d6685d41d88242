"""Home's attention panel grouped (pure): per kind in the order the items come, the count, the
red/yellow split and the oldest age; per stack (busiest first) a link to the view filtered to
that stack; an item about no stack links to its own page."""

from __future__ import annotations

from faramesh_cloud.gateway.web.home_panels import Attention, grouped

BASE = "/o/acme"


def test_items_group_per_kind_and_stack_with_links_to_the_filtered_views() -> None:
    items = [
        Attention("approval", "Pending approval", "a", f"{BASE}/approvals/1", "warn", "s1", 120),
        Attention("approval", "Pending approval", "b", f"{BASE}/approvals/2", "bad", "s2", 4000),
        Attention("approval", "Pending approval", "c", f"{BASE}/approvals/3", "bad", "s2", 2000),
        Attention("disconnected", "Sync disconnected", "d", f"{BASE}/fleet/stacks/s1", "bad", "s1", 7300),
        Attention("drift", "Config drift", "e", f"{BASE}/fleet/stacks/s2/config", "bad", "s2"),
        Attention("audit_unavailable", "Audit index unavailable", "f", f"{BASE}/audit", "bad"),
    ]
    groups = grouped(items, BASE, {"s1": "payments", "s2": "search"})
    assert [g.kind.key for g in groups] == ["approval", "disconnected", "drift", "audit_unavailable"]
    approvals = groups[0]
    assert (approvals.kind.count, approvals.kind.bad, approvals.kind.warn, approvals.kind.oldest) == (3, 2, 1, "66 min")
    assert approvals.kind.href == f"{BASE}/approvals"
    assert [(t.label, t.count, t.bad, t.oldest, t.href) for t in approvals.stacks] == [
        ("search", 2, 2, "66 min", f"{BASE}/approvals?stack=s2"),
        ("payments", 1, 0, "2 min", f"{BASE}/approvals?stack=s1")]
    disconnected = groups[1]
    assert disconnected.kind.oldest == "2 h" and disconnected.kind.href == f"{BASE}/fleet?sync=disconnected"
    assert disconnected.stacks[0].href == f"{BASE}/fleet/stacks/s1"
    drift = groups[2]
    assert drift.kind.oldest == "" and drift.kind.href is None and drift.stacks[0].href == f"{BASE}/fleet/stacks/s2/config"
    unavailable = groups[3]
    assert unavailable.stacks == [] and unavailable.kind.href == f"{BASE}/audit"
    assert unavailable.kind.label == "Audit index unavailable"
