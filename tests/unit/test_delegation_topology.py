"""The delegation topology of one agent, built from a stack's edges (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from faramesh_cloud.gateway.web.delegation import MAX_DEPTH, topology

T = datetime(2026, 11, 25, tzinfo=UTC)


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    records: int = 1
    last_at: datetime = T
    last_record_id: str = "r"
    parent_on_stack: bool = False


def test_both_directions_nested_and_ordered_by_use() -> None:
    edges = [Edge("orchestrator", "planner", 5), Edge("planner", "coder", 2), Edge("planner", "tester", 7),
             Edge("root", "orchestrator"), Edge("tester", "sandbox")]
    found = topology("planner", edges, {"planner", "coder"})
    (up,) = found.delegated_by
    assert (up.agent_id, up.records, up.on_stack) == ("orchestrator", 5, True)
    assert [n.agent_id for n in up.below] == ["root"] and not up.below[0].on_stack  # another stack's agent
    assert [(n.agent_id, n.records) for n in found.delegates_to] == [("tester", 7), ("coder", 2)]
    assert [n.agent_id for n in found.delegates_to[0].below] == ["sandbox"]
    assert not found.empty and topology("loner", edges, {"loner"}).empty


def test_loops_stop_and_depth_is_bounded() -> None:
    looped = topology("a", [Edge("a", "b"), Edge("b", "a")], set())
    (b,) = looped.delegates_to
    assert b.agent_id == "b" and [(n.agent_id, n.cycle, n.below) for n in b.below] == [("a", True, [])]
    chain = [Edge(f"n{i}", f"n{i + 1}") for i in range(10)]
    node = topology("n0", chain, set()).delegates_to[0]
    depth = 1
    while node.below:
        node, depth = node.below[0], depth + 1
    assert depth == MAX_DEPTH
    assert topology("n0", chain, set()).as_json()["delegates_to"][0]["agent_id"] == "n1"
