"""Coverage analysis as people read it: per stack, each agent's full / partial / gap from the
tools it called in the period (the audit index's ``tool_usage``) against the policy the daemon
enforces (``policy.py``: the applied governance.fms re-derived), the declared-but-not-enforced
findings with their lines, and for one gap the tool, agent, call count, sample records and a
suggested FPL snippet (``coverage.suggest_snippet``; Cloud never pushes it anywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faramesh_cloud.compliance.coverage import (
    AgentCoverage,
    Snippet,
    ToolUsage,
    coverage,
    suggest_snippet,
)
from faramesh_cloud.compliance.domain import ComplianceError, NotFound, to_ns
from faramesh_cloud.compliance.policy import AppliedPolicy, Policies
from faramesh_cloud.fpl import Finding

MAX_SAMPLES = 20


@dataclass(frozen=True)
class StackCoverage:
    stack_id: str
    start: datetime
    end: datetime
    applied: bool  # the stack sent the text of its applied governance.fms
    governance_sha256: str
    primary_agent: str
    default_effect: str
    agents: tuple[AgentCoverage, ...]
    findings: tuple[Finding, ...]  # declared but not enforced, with the line in the applied file
    lines: tuple[str, ...] = field(default_factory=tuple)  # the applied file (untrusted text)


@dataclass(frozen=True)
class GapDetail:
    stack_id: str
    agent_id: str
    tool_id: str
    calls: int
    default_calls: int
    effects: dict[str, int]
    samples: tuple[Any, ...]  # RecordSummary of the audit index, newest first
    snippet: Snippet
    start: datetime
    end: datetime


class CoverageReads:
    def __init__(self, audit: Any, fleet: Any) -> None:
        self._audit = audit
        self.policies = Policies(fleet)

    async def _read(self, org_id: str, stack_id: str, start: datetime,
                    end: datetime) -> tuple[AppliedPolicy | None, list[ToolUsage], StackCoverage]:
        """The stack's applied policy, its tool usage in the period and the coverage they give
        (one read of each: a gap's page reuses them)."""
        if end <= start:
            raise ComplianceError("the period ends before it starts")
        stack = next((s for s in await self.policies.stacks(org_id) if s.stack_id == stack_id), None)
        if stack is None:
            raise NotFound(f"no stack {stack_id} in this organisation")
        found = await self.policies.applied_of(org_id, [stack])
        applied = found[0] if found else None
        usage = [ToolUsage(u.stack_id, u.agent_id, u.tool_id, u.matched_rule_id, u.effect, u.calls,
                           u.decided_by)
                 for u in await self._audit.tool_usage(org_id, [stack_id], to_ns(start), to_ns(end))]
        policy = applied.policy if applied else None
        return applied, usage, StackCoverage(
            stack_id, start, end, applied is not None, applied.sha256 if applied else "",
            policy.primary_agent if policy else "", policy.default_effect if policy else "",
            tuple(coverage(policy, usage)), tuple(policy.findings) if policy else (),
            tuple(applied.text.splitlines()) if applied else ())

    async def stack(self, org_id: str, stack_id: str, start: datetime, end: datetime) -> StackCoverage:
        return (await self._read(org_id, stack_id, start, end))[2]

    async def gap(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start: datetime,
                  end: datetime, effect: str | None = None) -> GapDetail:
        applied, usage, found = await self._read(org_id, stack_id, start, end)
        agent = next((a for a in found.agents if a.agent_id == agent_id), None)
        tool = next((t for t in agent.tools if t.tool_id == tool_id), None) if agent else None
        if agent is None or tool is None:
            raise NotFound(f"agent {agent_id!r} called no tool {tool_id!r} on this stack in the period")
        effects: dict[str, int] = {}
        for u in usage:
            if u.agent_id == agent_id and u.tool_id == tool_id:
                effects[u.effect] = effects.get(u.effect, 0) + u.calls
        samples = await self._audit.sample_records(org_id, stack_id, agent_id, tool_id, to_ns(start), to_ns(end),
                                                   MAX_SAMPLES)
        try:
            snippet = suggest_snippet(applied.policy if applied else None, agent_id, tool_id, effect)
        except ValueError as exc:
            raise ComplianceError(str(exc)) from None
        return GapDetail(stack_id, agent_id, tool_id, tool.calls, tool.default_calls, effects, tuple(samples),
                         snippet, start, end)
