"""The simulated policy engine: which tool an agent calls and what the policy decides.
Pure, deterministic for a given ``random.Random``. The calls and their decisions are
:data:`faramesh_cloud.simulator.policy.OUTCOMES` (what the rules the stack's governance.fms
enforces give for them), the mix :mod:`faramesh_cloud.simulator.records` uses too, so
simulated fleets and benchmarks agree."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any, Final

from faramesh_cloud.simulator.policy import OUTCOME_WEIGHTS, OUTCOMES

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
    outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
    return {
        "tool_id": outcome.tool,
        "matched_rule_id": outcome.rule,
        "selector_snapshot": dict(outcome.args),
        "args_structural_sig": args_signature(outcome.tool),
        "effect": outcome.effect,
        "reason_code": outcome.reason_code,
        "reason": outcome.reason,
        "defer_token": None,
    }


def priority(rng: random.Random) -> str:
    return rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]


def call_cost(rng: random.Random) -> float:
    """US dollars a permitted call spends."""
    return round(rng.uniform(0.01, 0.40), 4)
