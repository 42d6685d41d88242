"""What the daemon would decide, re-derived independently of the simulator: the enforced rules
come from Cloud's materialisation of the governance.fms the simulated stack reports
(`faramesh_cloud.fpl.materialize`), and each call is walked through them first-match-
wins (FPL.md §7), with the few expr-lang condition forms the simulated policy writes evaluated
here against the call's args (the DPR's `selector_snapshot`)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from faramesh_cloud.fpl.materialize import EnforcedPolicy, EnforcedRule

_CONDITION = re.compile(r'^args\.(\w+) (>|>=|<|<=|==|!=|startsWith) ("[^"]*"|-?\d+(?:\.\d+)?)$')
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
    "!=": operator.ne, "startsWith": lambda a, b: isinstance(a, str) and a.startswith(b),
}
# The effect a record carries for a rule's effect (MODIFY: a permit whose args were rewritten).
RECORD_EFFECTS = {"permit": {"PERMIT", "MODIFY"}, "deny": {"DENY"}, "defer": {"DEFER"}}
RULE_CODES = {"PERMIT": "RULE_PERMIT", "MODIFY": "RULE_MODIFY", "DENY": "RULE_DENY", "DEFER": "RULE_DEFER"}
# An isolated agent's decisions are SHADOW_PERMIT; the reason code keeps a would-be deny/defer.
SHADOW_CODES = {"PERMIT": "RULE_PERMIT", "MODIFY": "RULE_MODIFY", "DENY": "SHADOW_DENY", "DEFER": "SHADOW_DEFER"}
# Decided before any rule is evaluated (FPL.md §11 step 3): no rule id.
BEFORE_RULES = frozenset({"KILL_SWITCH_ACTIVE", "AGENT_ISOLATED"})
# A deferred call resumed or denied by its approval keeps the defer rule's id.
APPROVAL_CODES = frozenset({"APPROVAL_GRANTED", "APPROVAL_DENIED"})


def holds(condition: str, args: Mapping[str, Any]) -> bool:
    """Whether a `when` condition holds for `args` (only the forms the simulator writes)."""
    if not condition:
        return True
    found = _CONDITION.match(condition)
    if found is None:
        raise ValueError(f"condition form not understood by this test helper: {condition!r}")
    name, op, raw = found.groups()
    value: Any = raw[1:-1] if raw.startswith('"') else float(raw)
    if name not in args:
        return False
    return _OPS[op](args[name], value)


def decided_by(policy: EnforcedPolicy, tool: str, args: Mapping[str, Any]) -> EnforcedRule | None:
    """The rule that decides the call (None: no rule applies, the default decides)."""
    return next((r for r in policy.rules if r.matches(tool) and holds(r.condition, args)), None)


def disagreement(policy: EnforcedPolicy, record: Mapping[str, Any]) -> str | None:
    """Why `record` is not what `policy` decides for its call, or None when it is."""
    tool, rule_id, effect, code = record["tool_id"], record["matched_rule_id"], record["effect"], record["reason_code"]
    if code in BEFORE_RULES:
        return None if rule_id == "" else f"{tool}: {code} names rule {rule_id}"
    rule = decided_by(policy, tool, record.get("selector_snapshot") or {})
    if rule_id != (rule.rule_id if rule else ""):
        return f"{tool}: {rule.rule_id if rule else 'the default'} decides, the record names {rule_id or 'no rule'}"
    if code in APPROVAL_CODES:
        return None if rule is not None and rule.effect == "defer" else f"{tool}: {code} without a defer rule"
    if rule is None:  # the agent's default decided
        allowed = {policy.default_effect.upper(): f"UNMATCHED_{policy.default_effect.upper()}"}
    else:
        allowed = {e: RULE_CODES[e] for e in RECORD_EFFECTS[rule.effect]}
    if effect == "SHADOW_PERMIT":  # isolated: what would have been decided is in the code
        ok = code in {SHADOW_CODES[e] for e in allowed}
    else:
        ok = allowed.get(effect) == code
    return None if ok else f"{tool}: {rule.rule_id if rule else 'the default'} gives {allowed}, the record says {effect}/{code}"
