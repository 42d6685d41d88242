"""Fleet → agent detail, delegation topology (pure): from a stack's delegation edges (who
invoked whom, read from the DPRs' ``invoked_by_agent_id``), the agents that delegated to this
one, and their delegators in turn, and the agents it delegated to, and theirs. Trees are cut
at ``MAX_DEPTH`` and at a repeat (delegation can loop: a → b → a)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

MAX_DEPTH: Final = 4
WINDOW_S: Final = 7 * 24 * 3600  # how far back the agent page looks for delegation


@dataclass(frozen=True, slots=True)
class Node:
    agent_id: str
    records: int  # records of the delegate carrying this link
    last_at: datetime | None
    last_record_id: str
    on_stack: bool  # an agent of this stack (its detail page exists)
    below: list[Node] = field(default_factory=list)  # the next level (further up, or further down)
    cycle: bool = False  # this agent is already on the path: not expanded again


@dataclass(frozen=True, slots=True)
class Topology:
    agent_id: str
    delegated_by: list[Node]  # who invoked this agent; each node's ``below`` are its own delegators
    delegates_to: list[Node]  # whom this agent invoked; each node's ``below`` are its delegates

    @property
    def empty(self) -> bool:
        return not self.delegated_by and not self.delegates_to

    def as_json(self) -> dict[str, Any]:
        def node(n: Node) -> dict[str, Any]:
            return {"agent_id": n.agent_id, "records": n.records,
                    "last_at": n.last_at.isoformat() if n.last_at else None, "last_record_id": n.last_record_id,
                    "on_stack": n.on_stack, "cycle": n.cycle, "next": [node(b) for b in n.below]}

        return {"agent_id": self.agent_id, "delegated_by": [node(n) for n in self.delegated_by],
                "delegates_to": [node(n) for n in self.delegates_to]}


def topology(agent_id: str, edges: Sequence[Any], stack_agents: Collection[str]) -> Topology:
    """``edges``: (``parent``, ``child``, ``records``, ``last_at``, ``last_record_id``,
    ``parent_on_stack``) of one stack. An agent is "on the stack" when the fleet knows it or
    it has records there (every child does; a parent may be another stack's agent)."""
    known = set(stack_agents) | {e.child for e in edges} | {e.parent for e in edges if e.parent_on_stack}
    parents: dict[str, list[Any]] = {}
    children: dict[str, list[Any]] = {}
    for e in edges:
        parents.setdefault(e.child, []).append(e)
        children.setdefault(e.parent, []).append(e)

    def up(child: str, path: frozenset[str], depth: int) -> list[Node]:
        out = []
        for e in sorted(parents.get(child, []), key=lambda e: (-e.records, e.parent)):
            looped = e.parent in path
            deeper = [] if looped or depth >= MAX_DEPTH else up(e.parent, path | {e.parent}, depth + 1)
            out.append(Node(e.parent, e.records, e.last_at, e.last_record_id, e.parent in known, deeper, looped))
        return out

    def down(parent: str, path: frozenset[str], depth: int) -> list[Node]:
        out = []
        for e in sorted(children.get(parent, []), key=lambda e: (-e.records, e.child)):
            looped = e.child in path
            deeper = [] if looped or depth >= MAX_DEPTH else down(e.child, path | {e.child}, depth + 1)
            out.append(Node(e.child, e.records, e.last_at, e.last_record_id, True, deeper, looped))
        return out

    start = frozenset({agent_id})
    return Topology(agent_id, up(agent_id, start, 1), down(agent_id, start, 1))
