"""The policy every simulated stack applies, and how it decides the calls the agents make.

One source for both sides of the simulation, so they cannot drift apart: :data:`RULES` is
written into each agent block of the stack's governance.fms (:mod:`.reports`), and
:data:`OUTCOMES` is what the daemon decides for each call the agents make (:mod:`.records`,
:mod:`.calls`). The daemon enforces only the primary agent (the first by sorted name, FPL.md
§1 step 6) and numbers its rules ``fpl-0``, ``fpl-1``, ... by position (§9); every agent block
carries the same rules, so the enforced rules (and every record's ``matched_rule_id``) are the
same whichever agents a stack governs. Rules are first-match-wins; a rule whose ``when`` does
not hold lets the call fall through to a later rule or to the agent's ``default deny``, which
records an empty ``matched_rule_id`` with reason code ``UNMATCHED_DENY`` (FPL.md §7, §11).

Coverage as Cloud sees it: ``db/query`` is partial (reads match ``fpl-7``, writes fall through
to the default), ``slack/post_message`` is a gap (no rule names it: the default decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class PolicyRule:
    effect: str  # permit | deny | defer
    tool: str  # a tool pattern (path.Match)
    when: str = ""  # an expr-lang condition over the call's args (FPL.md §7: no `$`, `args.x`)
    notify: str = ""
    reason: str = ""

    def line(self) -> str:
        """The rule as written in governance.fms."""
        out = f"{self.effect:<6} {self.tool}"
        if self.when:
            out += f" when {self.when}"
        if self.notify:
            out += f' notify: "{self.notify}"'
        if self.reason:
            out += f' reason: "{self.reason}"'
        return out


RULES: Final = (
    PolicyRule("defer", "stripe/charge", "args.amount > 500", notify="#payments-approvals",
               reason="charges over 500 USD need approval"),
    PolicyRule("permit", "stripe/charge"),
    PolicyRule("defer", "stripe/refund", "args.amount > 100", reason="refunds over 100 need a human"),
    PolicyRule("permit", "stripe/refund"),
    PolicyRule("deny", "shell/*", reason="no shell access for agents"),
    PolicyRule("permit", "github/create_pr", 'args.repo startsWith "acme/"'),
    PolicyRule("permit", "http/get", 'args.url startsWith "https://"'),
    PolicyRule("permit", "db/query", 'args.sql startsWith "SELECT "'),
)
DEFAULT_EFFECT: Final = "deny"


def rule_id(index: int) -> str:
    return f"fpl-{index}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One way a call goes: the tool and its (post-redaction) args, the rule that decided
    (``""``: none matched, the default did), the effect and reason code, and how often."""

    tool: str
    args: dict[str, Any]
    rule: str
    effect: str
    reason_code: str
    weight: int

    @property
    def reason(self) -> str:
        if not self.rule:
            return f"no rule matched {self.tool}: default {DEFAULT_EFFECT}"
        written = RULES[int(self.rule.removeprefix("fpl-"))].reason
        return written or f"{self.effect.lower()} by {self.rule}"


_CHARGE: Final = {"amount": 240, "currency": "USD"}
# Weights sum to 100: PERMIT 73, DENY 18, DEFER 7, MODIFY 2 (a permit whose args the daemon
# rewrote), as the simulated fleets and benchmarks have always had.
OUTCOMES: Final = (
    Outcome("stripe/charge", _CHARGE, "fpl-1", "PERMIT", "RULE_PERMIT", 12),
    Outcome("stripe/charge", _CHARGE, "fpl-1", "MODIFY", "RULE_MODIFY", 2),
    Outcome("stripe/charge", {"amount": 1200, "currency": "USD"}, "fpl-0", "DEFER", "RULE_DEFER", 4),
    Outcome("stripe/refund", {"amount": 90, "currency": "EUR", "charge": "ch_1"}, "fpl-3", "PERMIT", "RULE_PERMIT", 11),
    Outcome("stripe/refund", {"amount": 250, "currency": "EUR", "charge": "ch_2"}, "fpl-2", "DEFER", "RULE_DEFER", 3),
    Outcome("shell/exec", {"cmd": "rm -rf /tmp/x"}, "fpl-4", "DENY", "RULE_DENY", 10),
    Outcome("github/create_pr", {"repo": "acme/api", "title": "Fix <bug> & test"}, "fpl-5", "PERMIT", "RULE_PERMIT", 18),
    Outcome("http/get", {"url": "https://example.com/a?b=1"}, "fpl-6", "PERMIT", "RULE_PERMIT", 19),
    Outcome("db/query", {"sql": "SELECT * FROM users WHERE id = 1"}, "fpl-7", "PERMIT", "RULE_PERMIT", 13),
    Outcome("db/query", {"sql": "UPDATE users SET plan = 'pro' WHERE id = 1"}, "", "DENY", "UNMATCHED_DENY", 4),
    Outcome("slack/post_message", {"channel": "#general", "text": "Deploy finished"}, "", "DENY", "UNMATCHED_DENY", 4),
)
OUTCOME_WEIGHTS: Final = tuple(o.weight for o in OUTCOMES)
TOOLS: Final = tuple(dict.fromkeys(o.tool for o in OUTCOMES))


def rules_block(indent: str = "  ") -> list[str]:
    """The ``rules { }`` block of an agent, as lines."""
    return [f"{indent}rules {{", *(f"{indent}  {r.line()}" for r in RULES), f"{indent}}}"]
