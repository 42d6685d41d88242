"""Coverage of the tools agents called by the policy the daemon enforces, and FPL snippets to
close a gap (FPL.md §13). Pure: the caller measures usage (audit index `tool_usage`).

What the daemon does with agents (FPL.md §1 step 6, `policy/engine.go`): it loads ONE policy,
the primary agent's (first by sorted name), and `Evaluate` never looks at the DPR's agent id, so
every agent's calls on a stack are evaluated against the primary agent's rules and default.
Coverage therefore reads each agent's `matched_rule_id`s against the primary agent's rules, and
a snippet for any agent goes into the primary agent's `rules { }` block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from faramesh_cloud.fpl import EnforcedPolicy, EnforcedRule, is_bare_ident, parse_rules_line
from faramesh_cloud.fpl.model import EFFECTS
from faramesh_cloud.fpl.pathmatch import escape, is_literal

SNIPPET_REASON = "added by Faramesh Cloud coverage review"
_READ_ONLY_WORDS = ("read", "get", "list", "search", "query", "describe", "fetch", "view", "show")


@dataclass(frozen=True, slots=True)
class ToolUsage:
    stack_id: str
    agent_id: str
    tool_id: str
    matched_rule_id: str  # "" = no rule decided: the default, or a guard before any rule
    effect: str
    calls: int
    decided_by: str = ""  # "rule" | "default" | "guard" (kill switch, budget, ...); "": by the id alone

    @property
    def decider(self) -> str:
        return self.decided_by or ("rule" if self.matched_rule_id else "default")


@dataclass(frozen=True, slots=True)
class ToolCoverage:
    tool_id: str
    status: str  # covered | partial | gap
    calls: int
    default_calls: int  # calls that matched no rule (only the default)
    rule_ids: tuple[str, ...]
    rules: tuple[EnforcedRule, ...]  # the enforced rules those ids name (when known)
    guard_calls: int = 0  # decided before any rule (kill switch, budget): neither coverage nor gap


@dataclass(frozen=True, slots=True)
class AgentCoverage:
    stack_id: str
    agent_id: str
    status: str  # full | partial | gap
    tools: tuple[ToolCoverage, ...]
    enforced_as: str  # the agent whose rules the daemon applied (the primary agent)
    note: str = ""


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str  # one FPL rule line
    line: int | None  # insert above this line of the applied file (None: append at the end)
    where: str  # in words: which block, above which rule
    note: str = ""
    notes: tuple[str, ...] = field(default=())


def coverage(policy: EnforcedPolicy | None, usage: Sequence[ToolUsage]) -> list[AgentCoverage]:
    """Per (stack, agent): full when every tool called was decided by a rule, gap when none was,
    partial otherwise. A tool whose calls all fell to the default is a gap; some of them, partial.
    Calls a guard decided before any rule was evaluated (kill switch, budget: FPL.md §11) say
    nothing of the policy: they count for neither; a tool only they decided is ``guarded``."""
    by_agent: dict[tuple[str, str], dict[str, list[ToolUsage]]] = {}
    for u in usage:
        by_agent.setdefault((u.stack_id, u.agent_id), {}).setdefault(u.tool_id, []).append(u)
    primary = policy.primary_agent if policy else ""
    out: list[AgentCoverage] = []
    for (stack, agent), tools in sorted(by_agent.items()):
        rows: list[ToolCoverage] = []
        for tool, uses in sorted(tools.items()):
            calls = sum(u.calls for u in uses)
            default_calls = sum(u.calls for u in uses if u.decider == "default")
            guard_calls = sum(u.calls for u in uses if u.decider == "guard")
            ids = tuple(sorted({u.matched_rule_id for u in uses if u.matched_rule_id}))
            rules = tuple(r for i in ids if policy and (r := policy.rule(i)) is not None)
            ruled = calls - guard_calls
            status = ("guarded" if not ruled else "gap" if default_calls == ruled
                      else "partial" if default_calls else "covered")
            rows.append(ToolCoverage(tool, status, calls, default_calls, ids, rules, guard_calls))
        statuses = {t.status for t in rows} - {"guarded"}
        status = "full" if statuses <= {"covered"} else "gap" if statuses == {"gap"} else "partial"
        note = ""
        if policy is not None and primary and agent != primary:
            note = (f"the daemon enforces only agent {primary!r} (first by name); {agent!r}'s calls "
                    f"are evaluated against {primary!r}'s rules")
        out.append(AgentCoverage(stack, agent, status, tuple(rows), primary, note))
    return out


def tool_text(tool_id: str) -> str:
    """The tool as an FPL rule selector matching exactly `tool_id` (FPL.md §2, §7, §13)."""
    if not tool_id:
        raise ValueError("empty tool id")
    if is_bare_ident(tool_id) and is_literal(tool_id) and tool_id not in EFFECTS:
        return tool_id
    return '"' + escape(tool_id) + '"'


def default_effect_for(tool_id: str) -> str:
    """`permit` for read-only looking tools, `defer` for anything that may have side effects."""
    last = tool_id.replace(":", "/").replace(".", "/").rsplit("/", 1)[-1].lower()
    return "permit" if last.startswith(_READ_ONLY_WORDS) else "defer"


def suggest_snippet(
    policy: EnforcedPolicy | None, agent_id: str, tool_id: str, effect: str | None = None
) -> Snippet:
    """One rule line covering exactly `tool_id`, and where it goes in the applied file."""
    eff = effect or default_effect_for(tool_id)
    if eff not in ("permit", "deny", "deny!", "defer"):
        raise ValueError(f"effect must be permit, deny, deny! or defer, not {eff!r}")
    text = f'{eff} {tool_text(tool_id)} reason: "{SNIPPET_REASON}"'
    notes: list[str] = []
    if not is_bare_ident(tool_id) or not is_literal(tool_id):
        notes.append(
            "this tool id needs quoting, but the daemon's emitter writes tool ids unquoted into "
            "governance.policy.fpl (emit.go), so `faramesh check`/apply will mangle this rule; "
            "rename the tool if you can"
        )
    if policy is None or (not policy.primary_agent and not policy.rules):
        return Snippet(text, None, "a new top-level rule line (the stack has no agent)", _join(notes), tuple(notes))
    primary = policy.primary_agent
    if primary and agent_id != primary:
        notes.append(f"the daemon enforces only agent {primary!r}; {agent_id!r}'s calls are evaluated "
                     f"against its rules, so the rule goes there")
    if policy.primary_source:
        notes.append(f"the enforced agent {primary!r} comes from {policy.primary_source}; a rule in "
                     "the file changes nothing until that import no longer replaces your agent")
        return Snippet(text, None, f"agent {primary!r} (from {policy.primary_source})", _join(notes), tuple(notes))
    broader = next((r for r in policy.rules if not r.source and r.matches(tool_id)), None)
    if broader is not None and (not broader.flat or not primary):
        notes.append(f"inserting shifts the ids of {broader.rule_id} and every later rule")
        return Snippet(text, broader.line,
                       f"above line {broader.line} ({broader.rule_id} `{broader.effect_word} {broader.tool}`, which already matches)",
                       _join(notes), tuple(notes))
    if not primary:
        return Snippet(text, None, "a new top-level rule line at the end of the file", _join(notes), tuple(notes))
    if policy.rules_blocks:
        close = policy.rules_blocks[-1][1]
        return Snippet(text, close, f"inside agent {primary!r}'s rules {{ }}, above line {close}",
                       _join(notes), tuple(notes))
    return Snippet(text, policy.agent_end_line or None, f"inside agent {primary!r} (a bare rule), "
                   f"above line {policy.agent_end_line}", _join(notes), tuple(notes))


def _join(notes: list[str]) -> str:
    return "; ".join(notes)


def reparse(snippet: Snippet) -> list:
    """The rules the snippet line parses into (a check used by tests and callers)."""
    return parse_rules_line(snippet.text)
