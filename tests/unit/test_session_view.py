"""The session timeline's geometry (pure): what it reads from a record's bytes, the time axis
spanning the page's records (an approval resolved far outside it is drawn at the edge, not
squashing every mark into one spot), lanes for invoking agents with no record of their own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from faramesh_cloud.gateway.web.session_view import WIDTH, _ns, build, links_of

T0 = 1_780_000_000_000_000_000


@dataclass
class Row:
    record_id: str
    agent_id: str
    created_ns: int
    effect: str = "PERMIT"
    stack_id: str = "s1"
    tool_id: str = "t"
    created_at: str = ""
    matched_rule_id: str = ""


@dataclass
class Approval:
    approval_id: str
    defer_token: str
    state: str
    resolved_at: datetime | None
    resolved_by_label: str = ""
    resolution_record_id: str = ""


def test_links_of_reads_delegation_defer_and_the_envelope_carried_as_a_string() -> None:
    raw = json.dumps({"invoked_by_agent_id": "orch", "defer_token": "",
                      "approval_envelope": json.dumps({"token": "abcd1234", "approved": False, "approver_id": "bo",
                                                       "resolved_at": "2026-05-28T10:00:04.5Z"})})
    assert links_of(raw) == {"invoked_by_agent_id": "orch", "invoked_by_dpr_record_id": "", "defer_token": "",
                             "envelope_token": "abcd1234", "envelope_approved": "false",
                             "envelope_approver": "bo", "envelope_resolved_at": "2026-05-28T10:00:04.5Z"}
    assert links_of("not json") == {} and links_of("[1]") == {}
    assert _ns("2026-05-28T10:00:04.5Z") == _ns("2026-05-28T10:00:04Z") + 500_000_000  # type: ignore[operator]
    assert _ns("2026-05-28T12:00:04+02:00") == _ns("2026-05-28T10:00:04Z")
    assert _ns("yesterday") is None


def test_the_axis_spans_the_records_and_a_far_approval_is_drawn_at_the_edge() -> None:
    rows = [Row("r1", "a", T0), Row("r2", "b", T0 + 10**9, effect="DEFER"), Row("r3", "b", T0 + 2 * 10**9)]
    links = {"r2": {"invoked_by_agent_id": "ghost", "defer_token": "abcd1234"}}
    far = Approval("ap-1", "abcd1234", "approved", datetime(2099, 1, 1, tzinfo=UTC), "ada", "r3")
    t = build(rows, links, [far], "/o/acme", {})
    xs = [m.x for m in t.marks]
    assert xs == sorted(xs) and xs[0] < xs[1] < xs[2] and xs[2] - xs[0] > WIDTH / 2  # spread, not squashed
    (join,) = t.joins
    assert join.approval_x == xs[2] and join.resume_record_id == "r3" and join.approval_label == "approved by ada"
    assert [(lane.agent_id, lane.outside) for lane in t.lanes] == [("a", False), ("b", False), ("ghost", True)]
    (edge,) = t.edges
    assert (edge.parent, edge.child, edge.from_record) == ("ghost", "b", False)
