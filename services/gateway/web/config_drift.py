"""Config drift, from what daemons sync (pure checks, one read of the DPR index).

Drift is judged from two facts the sync data carries and, when a stack is mapped to a
repository (Settings → Integrations → Git), a third from the provider:

* **Running ≠ applied**: a stack's status report names the policy version of its last
  ``faramesh apply``; every DPR names the policy version it was decided under. Records
  created after that apply under another version mean the daemon is not enforcing what was
  applied (a reload from elsewhere, an apply that did not take). A problem: it is on the
  stack's Config tab (decisions of the last 7 days) and in Home's attention panel (of the
  last 24 hours: what is wrong now), read from the index's ``policy_version`` column.
* **Behind the branch**: stacks applying from the same git remote and branch, where another
  stack applied a different commit later; this stack's config is older than the newest
  apply of that branch the fleet has seen. Shown on the Config tab (a stack may be pinned
  on purpose), next to the stacks of the same environment and their policy versions.
* **Differs from git**: the governance.fms at the head of the stack's mapped main branch
  (fetched by the fleet every ``git_poll_interval_s`` and on demand) is not the text the
  stack applied. A problem: on the Config tab with the unified diff, and in Home's attention
  panel (someone merged a change nobody applied, or applied something never merged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from faramesh_cloud.gateway.web.fleet_ports import FleetPorts

RUNNING: Final = "running_differs"
HOME_WINDOW_S: Final = 24 * 3600  # Home: is the daemon deciding under another policy now?
CONFIG_WINDOW_S: Final = 7 * 24 * 3600  # the Config tab looks back further
BEHIND: Final = "behind_branch"
GIT: Final = "differs_from_git"


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # RUNNING / BEHIND
    stack_id: str
    text: str
    record_id: str = ""  # RUNNING: the latest record decided under another version
    other_stack_id: str = ""  # BEHIND: the stack with the newer apply
    url: str = ""  # GIT: the provider's page of the branch head's commit


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def _remote(url: str) -> str:
    url = url.strip().lower().rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def running_drift(stack: Any, uses: Sequence[Any], *, counted: bool = True) -> Drift | None:
    """``uses``: this stack's (``policy_version``, ``records``, ``last_at``, ``last_record_id``),
    read since its last apply (``counted``) or since an earlier time (then no count is given)."""
    if not stack.policy_version or stack.last_apply_at is None:
        return None
    others = [u for u in uses if u.policy_version != stack.policy_version
              and u.last_at is not None and u.last_at >= stack.last_apply_at]
    if not others:
        return None
    latest = max(others, key=lambda u: u.last_at)
    versions = ", ".join(sorted({u.policy_version or "(none)" for u in others}))
    return Drift(RUNNING, stack.stack_id,
                 f"{stack.name} applied policy {stack.policy_version}, but its decisions since that apply name "
                 f"policy {versions} ({f'{sum(u.records for u in others)} record(s), ' if counted else ''}latest "
                 f"{latest.last_at:%Y-%m-%d %H:%M} UTC)", record_id=latest.last_record_id)


def branch_drift(stack: Any, stacks: Sequence[Any]) -> Drift | None:
    if not (stack.commit and stack.applied_remote and stack.applied_branch and stack.last_apply_at):
        return None
    peers = [s for s in stacks if s.stack_id != stack.stack_id and s.commit and s.last_apply_at
             and _remote(s.applied_remote) == _remote(stack.applied_remote) and s.applied_branch == stack.applied_branch]
    newer = [s for s in peers if s.commit != stack.commit and s.last_apply_at > stack.last_apply_at]
    if not newer:
        return None
    latest = max(newer, key=lambda s: s.last_apply_at)
    return Drift(BEHIND, stack.stack_id,
                 f"{stack.name} runs commit {stack.commit[:12]} of {stack.applied_branch}; {latest.name} applied "
                 f"{latest.commit[:12]} from the same branch later ({latest.last_apply_at:%Y-%m-%d %H:%M} UTC)",
                 other_stack_id=latest.stack_id)


async def running_drifts(ports: FleetPorts, org_id: str, stacks: Sequence[Any], *,
                         window_s: float = HOME_WINDOW_S) -> list[Drift]:
    """Running ≠ applied for each of ``stacks``, judged from decisions of the last
    ``window_s`` at most (one index query for all of them)."""
    applied = [s for s in stacks if s.policy_version and s.last_apply_at is not None]
    if ports.audit is None or not applied:
        return []
    floor = datetime.now(UTC) - timedelta(seconds=window_s)
    since = max(floor, min(s.last_apply_at for s in applied))
    uses = await ports.audit.policy_versions(org_id, [s.stack_id for s in applied], _nanos(since))
    exact = len(applied) == 1 and applied[0].last_apply_at >= floor  # read from the apply on
    out = []
    for s in applied:
        found = running_drift(s, [u for u in uses if u.stack_id == s.stack_id], counted=exact)
        if found is not None:
            out.append(found)
    return out


def git_drift(stack: Any, state: Any) -> Drift | None:
    """``state``: the fleet's last check of the stack's mapped branch (``git_drift.DriftState``)."""
    if state is None or not state.differs:
        return None
    c = state.comparison
    return Drift(GIT, stack.stack_id,
                 f"{stack.name} applied {'commit ' + state.applied_commit[:12] if state.applied_commit else 'a text'} "
                 f"that differs from {state.path} at the head of {state.branch} in {state.repository} "
                 f"({state.head_commit[:12]}, checked {state.checked_at:%Y-%m-%d %H:%M} UTC): +{c.added} -{c.removed} "
                 "line(s)", url=state.head_url)


async def git_drifts(ports: FleetPorts, org_id: str, stacks: Sequence[Any]) -> list[Drift]:
    """Differs-from-git for each of ``stacks`` that is mapped (one read of the fleet's checks)."""
    if ports.git is None:
        return []
    by_id = {s.stack_id: s for s in stacks}
    found = [git_drift(by_id[d.stack_id], d) for d in await ports.git.drifts(org_id) if d.stack_id in by_id]
    return [d for d in found if d is not None]


async def for_stack(ports: FleetPorts, org_id: str, stack: Any,
                    visible: Sequence[Any]) -> tuple[list[Drift], list[Any]]:
    """The Config tab: the stack's drift findings, and the other stacks (of those the member
    may see) in its environment, to compare commits and policy versions."""
    found = await running_drifts(ports, org_id, [stack], window_s=CONFIG_WINDOW_S)
    found += await git_drifts(ports, org_id, [stack])
    behind = branch_drift(stack, visible)
    if behind is not None:
        found.append(behind)
    peers = [s for s in visible if stack.environment and s.environment == stack.environment
             and s.stack_id != stack.stack_id]
    return found, sorted(peers, key=lambda s: s.name.lower())
