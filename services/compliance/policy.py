"""The enforced policy of each stack, as the daemon would enforce its applied governance.fms:
the text comes through the fleet's query port (the one the stack last reported applying),
``fpl.materialize`` re-derives what the daemon loads, and the policy-rule catalogue checks it.
A stack that never sent its text is not checked (no applied policy proves nothing)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faramesh_cloud.compliance.policy_rules import POLICY_RULES
from faramesh_cloud.compliance.posture import PolicyResults
from faramesh_cloud.fpl import EnforcedPolicy
from faramesh_cloud.fpl.materialize import materialize

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedPolicy:
    stack_id: str
    stack_name: str
    sha256: str
    text: str
    policy: EnforcedPolicy


@functools.lru_cache(maxsize=256)
def enforced(text: str) -> EnforcedPolicy:
    """``materialize(text)``, once per applied text: the posture sweep checks every stack every
    minute, and a stack's applied text changes only when it applies a new one."""
    return materialize(text)


class Policies:
    def __init__(self, fleet: Any) -> None:
        self._fleet = fleet

    async def stacks(self, org_id: str) -> list[Any]:
        return list(await self._fleet.stacks(org_id))

    async def applied(self, org_id: str) -> list[AppliedPolicy]:
        """The applied policy of every stack of the organisation that sent its text."""
        return await self.applied_of(org_id, await self.stacks(org_id))

    async def applied_of(self, org_id: str, stacks: Iterable[Any]) -> list[AppliedPolicy]:
        """The applied policy of each of ``stacks`` (the fleet's views) that sent its text."""
        out: list[AppliedPolicy] = []
        for stack in stacks:
            sha = getattr(stack, "config_text_sha256", "")
            if not sha:
                continue
            found = await self._fleet.config_text(org_id, stack.stack_id, sha)
            if found is None:
                continue
            out.append(AppliedPolicy(stack.stack_id, stack.name, sha, found.text, enforced(found.text)))
        return out

    async def checks(self, org_id: str) -> PolicyResults:
        results: dict[str, dict[str, Any]] = {name: {} for name in POLICY_RULES}
        for applied in await self.applied(org_id):
            for name, rule in POLICY_RULES.items():
                results[name][applied.stack_id] = rule.check(applied.policy)
        return results


def policy_words() -> dict[str, str]:
    return {name: rule.words for name, rule in POLICY_RULES.items()}
