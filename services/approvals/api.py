"""The approvals service's API for people (what the gateway is given): the queue, one
approval, history, decisions, bulk decisions and emergency commands; and for the compliance
service, the workflow summary of a range. Plain values in;
results are read by attribute. Refusals raise ``ValueError`` subclasses with a ``code``
(``DecisionRefused``), unknown ids ``LookupError`` (``UnknownApproval``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from faramesh_cloud.approvals.decisions import Decisions
from faramesh_cloud.approvals.domain import CommandType, Verdict
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.queries import ApprovalQueries, QueueFilter
from faramesh_cloud.approvals.views import Approval, ApprovalSummary, BulkResult, Command, Decision
from faramesh_cloud.platform_audit.events import Actor


class ApprovalsApi:
    def __init__(self, queries: ApprovalQueries, decisions: Decisions, commands: EmergencyCommands) -> None:
        self._queries = queries
        self._decisions = decisions
        self._commands = commands

    async def pending(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> list[Approval]:
        return await self._queries.pending(org_id, QueueFilter(stack_id, agent_id, tool_id, stacks, rule_id))

    async def history(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                      tool_id: str | None = None, stacks: Collection[str] | None = None,
                      rule_id: str | None = None) -> list[Approval]:
        return await self._queries.history(org_id, QueueFilter(stack_id, agent_id, tool_id, stacks, rule_id))

    async def get(self, org_id: str, approval_id: str, stacks: Collection[str] | None = None) -> Approval:
        return await self._queries.get(org_id, approval_id, stacks)

    async def delivery(self, org_id: str, decision_id: str) -> tuple[int, object, str, str] | None:
        return await self._queries.delivery(org_id, decision_id)

    async def decide(self, org_id: str, approval_id: str, actor: Actor, verdict: str, reason: str,
                     stacks: Collection[str] | None = None) -> Decision:
        return await self._decisions.decide(org_id, approval_id, actor, Verdict(verdict), reason,
                                            allowed_stacks=None if stacks is None else frozenset(stacks))

    async def bulk_decide(self, org_id: str, approval_ids: Sequence[str], actor: Actor, verdict: str, reason: str,
                          stacks: Collection[str] | None = None) -> BulkResult:
        return await self._decisions.bulk_decide(org_id, approval_ids, actor, Verdict(verdict), reason,
                                                 allowed_stacks=None if stacks is None else frozenset(stacks))

    async def issue_command(self, org_id: str, stack_id: str, agent_id: str, actor: Actor, reason: str, kind: str,
                            *, permitted: bool, stack_exists: bool) -> Command:
        return await self._commands.issue(org_id, stack_id, agent_id, actor, reason, CommandType(kind),
                                          permitted=permitted, stack_exists=stack_exists)

    async def commands(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                       stacks: Collection[str] | None = None) -> list[Command]:
        return await self._commands.list(org_id, stack_id=stack_id, agent_id=agent_id, stacks=stacks)

    async def command(self, org_id: str, command_id: str) -> Command:
        return await self._commands.get(org_id, command_id)

    async def summary(self, org_id: str, *, stacks: Collection[str] | None, start: datetime,
                      end: datetime) -> ApprovalSummary:
        """The approval workflow of [start, end) on ``stacks`` (None: every stack; empty: none):
        ``ValueError`` for a range that is empty or has naive datetimes."""
        return await self._queries.summary(org_id, stacks=stacks, start=start, end=end)
