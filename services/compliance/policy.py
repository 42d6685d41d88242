"""The enforced policy of each stack, as the daemon would enforce its applied governance.fms:
the text comes through the fleet's query port (the one the stack last reported applying),
``fpl.materialize`` re-derives what the daemon loads, and the policy-rule catalogue checks it.
A stack that never sent its text is not checked (no applied policy proves nothing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from faramesh_cloud.compliance.fpl import EnforcedPolicy
from faramesh_cloud.compliance.fpl.materialize import materialize
from faramesh_cloud.compliance.policy_rules import POLICY_RULES
from faramesh_cloud.compliance.posture import PolicyResults

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedPolicy:
    stack_id: str
    stack_name: str
    sha256: str
    text: str
    policy: EnforcedPolicy


class Policies:
    def __init__(self, fleet: Any) -> None:
        self._fleet = fleet

    async def stacks(self, org_id: str) -> list[Any]:
        return list(await self._fleet.stacks(org_id))

    async def applied(self, org_id: str, stack_ids: list[str] | None = None) -> list[AppliedPolicy]:
        """Each stack's applied policy (``stack_ids`` None: every stack of the organisation)."""
        out: list[AppliedPolicy] = []
        for stack in await self.stacks(org_id):
            if stack_ids is not None and stack.stack_id not in stack_ids:
                continue
            sha = getattr(stack, "config_text_sha256", "")
            if not sha:
                continue
            found = await self._fleet.config_text(org_id, stack.stack_id, sha)
            if found is None:
                continue
            out.append(AppliedPolicy(stack.stack_id, stack.name, sha, found.text, materialize(found.text)))
        return out

    async def checks(self, org_id: str) -> PolicyResults:
        results: dict[str, dict[str, Any]] = {name: {} for name in POLICY_RULES}
        for applied in await self.applied(org_id):
            for name, rule in POLICY_RULES.items():
                results[name][applied.stack_id] = rule.check(applied.policy)
        return results


def policy_words() -> dict[str, str]:
    return {name: rule.words for name, rule in POLICY_RULES.items()}
