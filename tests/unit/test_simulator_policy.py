"""The simulated daemon decides as the policy it reports would: each call's `matched_rule_id` is
the enforced rule (`fpl-<n>` of Cloud's materialisation of the stack's governance.fms) that
decides it first-match-wins, or empty exactly when no rule applies and the default denies; and
the mix gives Cloud's coverage analysis a covered tool, a partial one and a gap."""

from __future__ import annotations

import random
from collections import Counter

from faramesh_cloud.compliance.coverage import ToolUsage, coverage
from faramesh_cloud.fpl.materialize import materialize
from faramesh_cloud.simulator import calls, reports
from faramesh_cloud.simulator.policy import OUTCOMES, TOOLS
from faramesh_cloud.simulator.records import AgentWriter
from tests.simulated_policy import decided_by, disagreement

FACTS = reports.StackFacts("payments-eu", "1.4.2", "0123456789abcdef", 0)
AGENTS = calls.agent_ids(3)
POLICY = materialize(reports.governance_fms(FACTS, [reports.AgentFacts(a, False, False, 1) for a in AGENTS],
                                            "langgraph"))


def test_every_outcome_is_what_the_enforced_rules_decide_for_its_call() -> None:
    assert POLICY.loads
    for o in OUTCOMES:
        rule = decided_by(POLICY, o.tool, o.args)
        assert o.rule == (rule.rule_id if rule else ""), o
        record = {"tool_id": o.tool, "matched_rule_id": o.rule, "effect": o.effect, "reason_code": o.reason_code,
                  "selector_snapshot": o.args}
        assert disagreement(POLICY, record) is None, o


def test_first_match_semantics_decide_unconditional_rules_and_conditions_fall_through() -> None:
    ways = set()
    for o in OUTCOMES:
        first = POLICY.first_match(o.tool)
        if first is None:  # no rule names the tool: always the default
            assert (o.rule, o.effect, o.reason_code) == ("", "DENY", "UNMATCHED_DENY")
            ways.add("no rule")
        elif first.unconditional:
            assert o.rule == first.rule_id
        else:  # a conditional rule: it decides, or a later rule does, or the default
            later = [r.rule_id for r in POLICY.rules if r.matches(o.tool) and POLICY.rules.index(r) > POLICY.rules.index(first)]
            assert o.rule in [first.rule_id, *later, ""]
            ways.add("condition holds" if o.rule == first.rule_id else "later rule" if o.rule else "default")
    assert ways == {"no rule", "condition holds", "later rule", "default"}


def test_records_and_daemon_calls_carry_the_rule_that_decides_them() -> None:
    rng = random.Random(7)
    writer = AgentWriter("payments-bot", rng, hmac_key=b"k" * 32)
    records = [writer.next(10**18 + i) for i in range(2000)]
    call_rng = random.Random(8)
    records += [{**writer.next(2 * 10**18 + i, **calls.next_call(call_rng))} for i in range(2000)]
    problems = [p for r in records if (p := disagreement(POLICY, r)) is not None]
    assert problems == []
    assert {r["tool_id"] for r in records} == set(TOOLS)
    # Empty exactly when the default decided.
    assert all((r["matched_rule_id"] == "") == (r["reason_code"] == "UNMATCHED_DENY") for r in records)


def test_the_mix_keeps_the_effect_shares_benchmarks_were_measured_with() -> None:
    rng = random.Random(1)
    effects = Counter(calls.next_call(rng)["effect"] for _ in range(20_000))
    shares = {e: round(100 * n / 20_000) for e, n in effects.items()}
    assert set(shares) == {"PERMIT", "DENY", "DEFER", "MODIFY"}
    assert 70 <= shares["PERMIT"] <= 76 and 15 <= shares["DENY"] <= 21 and 5 <= shares["DEFER"] <= 9
    tools = Counter(calls.next_call(rng)["tool_id"] for _ in range(20_000))
    assert len(tools) == len(TOOLS) == 7 and min(tools.values()) > 20_000 * 0.02


def test_coverage_of_the_simulated_calls_has_a_covered_a_partial_and_a_gap_tool() -> None:
    rng = random.Random(3)
    usage = Counter()
    for _ in range(5000):
        call = calls.next_call(rng)
        usage[(call["tool_id"], call["matched_rule_id"], call["effect"])] += 1
    rows = coverage(POLICY, [ToolUsage("stack-1", "payments-bot", t, rule, effect, n)
                             for (t, rule, effect), n in usage.items()])
    (agent,) = rows
    status = {t.tool_id: t.status for t in agent.tools}
    assert agent.status == "partial"
    assert status["slack/post_message"] == "gap"
    assert status["db/query"] == "partial"
    assert status["stripe/charge"] == status["shell/exec"] == "covered"
    assert POLICY.first_match("slack/post_message") is None
