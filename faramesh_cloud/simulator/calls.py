"""The simulated policy engine: which tool an agent calls and what the policy decides.
Pure, deterministic for a given ``random.Random``. The mix of tools and effects is the one
:mod:`faramesh_cloud.simulator.records` uses, so simulated fleets and benchmarks agree."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any, Final, cast

from faramesh_cloud.simulator.records import EFFECTS, TOOLS

_WEIGHTS: Final = tuple(w for _, _, w in EFFECTS)
# Agent ids a simulated stack governs, in order; more agents get numbered names.
AGENT_NAMES: Final = ("payments-bot", "support-triage", "code-reviewer", "data-sync",
                      "ops-runbook", "sales-assistant", "research-agent", "billing-reconciler")
# Approval triage priorities and how often each is assigned.
PRIORITIES: Final = (("normal", 70), ("high", 22), ("critical", 8))


def agent_ids(count: int) -> list[str]:
    return [AGENT_NAMES[i] if i < len(AGENT_NAMES) else f"agent-{i + 1}" for i in range(count)]


# Every DELEGATED_EVERY-th decision of an agent with a delegator is made on its behalf.
DELEGATED_EVERY: Final = 3


def delegator(agents: Sequence[str], agent_id: str) -> str | None:
    """Who delegates work to ``agent_id`` in a simulated stack: the agents form a binary tree
    in their order (the first orchestrates the next two, each of those the next two, ...)."""
    index = agents.index(agent_id)
    return agents[(index - 1) // 2] if index > 0 else None


def args_signature(tool_id: str) -> str:
    return hashlib.sha256(tool_id.encode()).hexdigest()[:16]


def next_call(rng: random.Random) -> dict[str, Any]:
    """Field overrides for one decision: tool, rule, post-redaction args, effect, reason."""
    tool, rule, snapshot = TOOLS[rng.randrange(len(TOOLS))]
    effect, reason_code, _ = rng.choices(EFFECTS, _WEIGHTS)[0]
    return {
        "tool_id": tool,
        "matched_rule_id": rule,
        "selector_snapshot": dict(cast("dict[str, Any]", snapshot)),
        "args_structural_sig": args_signature(tool),
        "effect": effect,
        "reason_code": reason_code,
        "reason": f"{effect.lower()} by {rule}",
        "defer_token": None,
    }


def priority(rng: random.Random) -> str:
    return rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]


def call_cost(rng: random.Random) -> float:
    """US dollars a permitted call spends."""
    return round(rng.uniform(0.01, 0.40), 4)
