"""Emergency commands on the simulated daemon (docs/sync-api.md section 6). Pure:
:func:`plan_command` says what one command does to the daemon's state and which DPR records
it; the daemon writes the record and acknowledges with its ``record_id``.

* ``AGENT_KILL``: the agent's kill switch goes on; every later call of that agent is a DENY
  DPR with ``reason_code`` KILL_SWITCH_ACTIVE (FARAMESH_FORMATS 4.1).
* ``AGENT_ISOLATE``: per-agent shadow mode; every later decision of that agent is recorded
  as SHADOW_PERMIT (a would-be deny or defer keeps its meaning in ``reason_code``
  SHADOW_DENY / SHADOW_DEFER, as the daemon's shadow mode does).
* The command itself is recorded as a DPR of that agent (the daemon has no record type for
  it yet, FARAMESH_FORMATS open question 7): tool ``faramesh/emergency.kill`` or
  ``faramesh/emergency.isolate``, DENY / KILL_SWITCH_ACTIVE or SHADOW_PERMIT / AGENT_ISOLATED,
  the command id and issuer in ``selector_snapshot``.
* Already killed / isolated: ALREADY_IN_EFFECT, still recorded. Any other type, or no agent:
  REJECTED, nothing recorded. A command id seen before gets the same answer again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud_api.sync.v1 import emergency_pb2

from faramesh_cloud.simulator.state import Answer, DaemonState

KILL: Final = emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL
ISOLATE: Final = emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE
APPLIED: Final = emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED
ALREADY: Final = emergency_pb2.EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT
REJECTED: Final = emergency_pb2.EMERGENCY_COMMAND_OUTCOME_REJECTED
KILLED_REASON: Final = "agent kill switch is active"


@dataclass(slots=True)
class CommandPlan:
    answer: Answer
    agent_id: str = ""
    kill: bool = False
    isolate: bool = False
    record: dict[str, Any] | None = None
    remember: bool = True


def _issuer(command: emergency_pb2.EmergencyCommand) -> str:
    who = command.issued_by
    return who.email or who.user_id or "an operator"


def plan_command(state: DaemonState, command: emergency_pb2.EmergencyCommand, now_ns: int) -> CommandPlan:
    known = state.commands.get(command.command_id)
    if known is not None:
        return CommandPlan(answer=known, remember=False)
    agent = command.agent_id
    if command.type not in (KILL, ISOLATE) or not agent:
        what = "an empty agent id" if command.type in (KILL, ISOLATE) else f"command type {command.type}"
        return CommandPlan(Answer(outcome=REJECTED, at_ns=now_ns,
                                  message=f"refused: {what}; only AGENT_KILL and AGENT_ISOLATE of a named agent exist"))
    snapshot = {"command_id": command.command_id, "issued_by": command.issued_by.user_id,
                "reason": command.reason}
    record: dict[str, Any] = {
        "session_id": "cloud-emergency", "intercept_adapter": "daemon", "matched_rule_id": "",
        "selector_snapshot": snapshot, "args_structural_sig": "{}", "defer_token": None,
    }
    if command.type == KILL:
        already = state.is_killed(agent)
        record.update(tool_id="faramesh/emergency.kill", effect="DENY", reason_code="KILL_SWITCH_ACTIVE",
                      reason=f"agent kill switch activated by Cloud emergency command {command.command_id} "
                             f"from {_issuer(command)}: {command.reason}")
        verb = "killed"
    else:
        already = state.is_isolated(agent)
        record.update(tool_id="faramesh/emergency.isolate", effect="SHADOW_PERMIT", reason_code="AGENT_ISOLATED",
                      reason=f"agent isolated (shadow mode) by Cloud emergency command {command.command_id} "
                             f"from {_issuer(command)}: {command.reason}")
        verb = "isolated"
    answer = Answer(outcome=ALREADY if already else APPLIED, at_ns=now_ns,
                    message=f"agent {agent} was already {verb}" if already else f"agent {agent} {verb}")
    return CommandPlan(answer, agent_id=agent, kill=command.type == KILL, isolate=command.type == ISOLATE,
                       record=record)


def call_overrides(state: DaemonState, agent_id: str, effect: str, reason_code: str) -> dict[str, Any]:
    """What the kill switch and isolation make of a decision the policy would take."""
    if state.is_killed(agent_id):
        return {"effect": "DENY", "reason_code": "KILL_SWITCH_ACTIVE", "reason": KILLED_REASON,
                "matched_rule_id": "", "defer_token": None}
    if state.is_isolated(agent_id):
        shadow_code = {"DENY": "SHADOW_DENY", "DEFER": "SHADOW_DEFER"}.get(effect, reason_code)
        return {"effect": "SHADOW_PERMIT", "reason_code": shadow_code, "defer_token": None,
                "reason": f"agent isolated: would have been {effect} ({reason_code})"}
    return {}
