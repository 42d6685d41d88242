"""Coverage against the enforced policy, FPL snippets (FPL.md §13) and the policy-rule catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faramesh_cloud.compliance.coverage import (
    ToolUsage,
    coverage,
    reparse,
    suggest_snippet,
    tool_text,
)
from faramesh_cloud.compliance.policy_rules import POLICY_RULES
from faramesh_cloud.fpl import match_tool, materialize
from faramesh_cloud.fpl.pathmatch import unescape

DATA = Path(__file__).resolve().parents[2] / "data" / "compliance" / "fpl"


def example(name: str) -> str:
    return (DATA / f"{name}.fms").read_text()


def test_agent_full_partial_gap_and_non_primary_agents_note():
    p = materialize(example("e2"))
    usage = [
        ToolUsage("s1", "payments-bot", "stripe/charge", "fpl-0", "DEFER", 3),
        ToolUsage("s1", "payments-bot", "stripe/charge", "fpl-1", "PERMIT", 10),
        ToolUsage("s1", "payments-bot", "stripe/customers/read", "fpl-2", "PERMIT", 4),
        ToolUsage("s1", "helper-bot", "stripe/customers/read", "fpl-2", "PERMIT", 1),
        ToolUsage("s1", "helper-bot", "slack/post", "", "DENY", 2),
        ToolUsage("s1", "zz-bot", "slack/post", "", "DENY", 5),
    ]
    got = {c.agent_id: c for c in coverage(p, usage)}
    assert got["payments-bot"].status == "full" and got["payments-bot"].note == ""
    assert got["helper-bot"].status == "partial" and got["zz-bot"].status == "gap"
    assert "'payments-bot'" in got["helper-bot"].note and got["zz-bot"].enforced_as == "payments-bot"
    charge = got["payments-bot"].tools[0]
    assert (charge.tool_id, charge.calls, charge.rule_ids) == ("stripe/charge", 13, ("fpl-0", "fpl-1"))
    assert [r.line for r in charge.rules] == [4, 5]
    slack = got["helper-bot"].tools[0]
    assert (slack.tool_id, slack.status, slack.default_calls) == ("slack/post", "gap", 2)


def test_tool_partly_decided_by_the_default_is_partial():
    usage = [ToolUsage("s", "a", "t", "fpl-0", "PERMIT", 1), ToolUsage("s", "a", "t", "", "DENY", 1)]
    (agent,) = coverage(None, usage)
    assert agent.status == "partial" and agent.tools[0].status == "partial"


def test_snippet_goes_above_a_broader_rule_that_already_matches():
    text = "agent a {\n  default deny\n  rules {\n    permit read/*\n    permit stripe/*\n  }\n}\n"
    s = suggest_snippet(materialize(text), "a", "stripe/refund")
    assert s.text == 'defer stripe/refund reason: "added by Faramesh Cloud coverage review"'
    assert s.line == 5 and "fpl-1" in s.where
    # placed there, it is the rule that decides stripe/refund
    lines = text.splitlines()
    lines.insert(s.line - 1, "    " + s.text)
    after = materialize("\n".join(lines) + "\n")
    first = after.first_match("stripe/refund")
    assert first is not None and first.effect == "defer" and first.line == 5


def test_snippet_without_a_matching_rule_goes_at_the_end_of_the_rules_block():
    p = materialize(example("e1"))
    s = suggest_snippet(p, "support-bot", "github/repos/read")
    assert s.text.startswith("permit github/repos/read ") and s.line == 6
    s2 = suggest_snippet(p, "other-bot", "email/send", "deny!")
    assert s2.text.startswith("deny! email/send ") and "'support-bot'" in s2.note


def test_snippet_when_a_framework_profile_replaced_the_agent_says_so():
    text = 'import "frameworks/langgraph@1.0.0"\nagent "support-bot" {\n  rules { deny x }\n}\n'
    s = suggest_snippet(materialize(text), "support-bot", "shell/run")
    assert s.line is None and "frameworks/langgraph@1.0.0" in s.note


def test_snippet_for_flat_rules_only_is_a_top_level_line():
    s = suggest_snippet(materialize(example("e7")), "a", "db/write")
    assert s.line is None and "top-level" in s.where


def test_bad_effect_is_refused():
    with pytest.raises(ValueError, match="effect"):
        suggest_snippet(None, "a", "t", "maybe")


_odd = st.text(
    alphabet=st.sampled_from(list("ab/_-.:*?[]\\\"' é漢$#{}()=!@%^,+&|~;\t0123")) | st.characters(),
    min_size=1, max_size=30,
).filter(lambda s: "\x00" not in s)


@settings(max_examples=400, deadline=None)
@given(tool=_odd, effect=st.sampled_from(["permit", "deny", "deny!", "defer"]))
def test_every_snippet_reparses_into_exactly_that_rule(tool, effect):
    s = suggest_snippet(materialize(example("e2")), "payments-bot", tool, effect)
    (rule,) = reparse(s)
    assert rule.effect_word == effect and rule.reason.startswith("added by Faramesh")
    assert rule.condition == "" and not rule.network
    assert match_tool(rule.tool, tool)
    assert unescape(rule.tool) == tool
    if rule.tool == tool:  # unescaped selector: it must be a literal, matching nothing else
        assert not match_tool(rule.tool, tool + "x")


@pytest.mark.parametrize(
    ("tool", "text"),
    [("stripe/refund", "stripe/refund"), ("mcp:fs.write", '"mcp:fs.write"'), ("my tool", '"my tool"'),
     ("a*b", '"a\\*b"'), ('say "hi"', '"say \\"hi\\""'), ("deny", '"deny"')],
)
def test_tool_text_quotes_outside_the_identifier_set(tool, text):
    assert tool_text(tool) == text


def test_snippet_note_warns_that_quoted_tools_are_mangled_by_materialisation():
    s = suggest_snippet(None, "a", "mcp:fs.write", "defer")
    assert "unquoted" in s.note


NAMES = ["default_deny", "defer_rules_present", "strict_deny_present", "budgets_declared",
         "credential_broker", "audit_retention_declared", "cloud_sync_declared",
         "trust_keys_pinned", "no_permit_all", "no_dropped_declarations"]


def test_catalogue_has_exactly_the_names_the_frameworks_use():
    assert sorted(POLICY_RULES) == sorted(NAMES)
    assert all(r.words for r in POLICY_RULES.values())


@pytest.mark.parametrize(
    ("example_name", "holding"),
    [
        ("e1", {"strict_deny_present", "no_permit_all", "no_dropped_declarations"}),
        ("e2", {"default_deny", "defer_rules_present", "no_permit_all", "no_dropped_declarations"}),
        ("e3", {"default_deny", "budgets_declared", "no_permit_all", "no_dropped_declarations"}),
        ("e5", {"default_deny", "defer_rules_present", "credential_broker", "audit_retention_declared",
                "no_permit_all", "no_dropped_declarations"}),
        ("e6", set()),  # does not pass `faramesh check`
        ("e8", {"default_deny", "no_permit_all"}),
    ],
)
def test_policy_rules_on_the_examples(example_name, holding):
    p = materialize(example(example_name))
    got = {name for name, rule in POLICY_RULES.items() if rule.check(p).holds}
    assert got == holding


def test_permit_all_from_a_framework_profile_fails_no_permit_all_with_the_import_line():
    p = materialize('import "frameworks/crewai@1.0.0"\nagent "x-bot" {\n  rules { deny y }\n}\n')
    res = POLICY_RULES["no_permit_all"].check(p)
    assert not res.holds and res.lines == [1] and "frameworks/crewai@1.0.0" in res.detail
    assert POLICY_RULES["no_dropped_declarations"].check(p).lines == [1, 2]


def test_trust_keys_are_never_pinned_and_cloud_sync_is_declared_only():
    p = materialize(example("e8"))
    assert POLICY_RULES["trust_keys_pinned"].check(p).lines == [2]
    q = materialize('runtime {\n  cloud_url = "https://c"\n}\nagent a { permit x }\n')
    res = POLICY_RULES["cloud_sync_declared"].check(q)
    assert res.holds and "not enforced" in res.detail and res.lines == [1]


def test_calls_a_guard_decided_before_any_rule_are_neither_coverage_nor_a_gap() -> None:
    """A killed agent's calls (KILL_SWITCH_ACTIVE, no rule id) say nothing of the policy
    (FPL.md §11): a tool only they decided is guarded, and the agent's status ignores it."""
    usage = [ToolUsage("s", "bot", "stripe/charge", "", "DENY", 5, "guard"),
             ToolUsage("s", "bot", "db/query", "fpl-1", "PERMIT", 3, "rule"),
             ToolUsage("s", "bot", "db/query", "", "DENY", 2, "guard"),
             ToolUsage("s", "bot", "slack/post", "", "DENY", 1, "default")]
    (agent,) = coverage(None, usage)
    tools = {t.tool_id: t for t in agent.tools}
    assert (tools["stripe/charge"].status, tools["stripe/charge"].guard_calls) == ("guarded", 5)
    assert (tools["db/query"].status, tools["db/query"].default_calls, tools["db/query"].guard_calls) == (
        "covered", 0, 2)
    assert tools["slack/post"].status == "gap" and agent.status == "partial"
    (only_guarded,) = coverage(None, usage[:1])
    assert only_guarded.status == "full"  # nothing reached the policy without a rule
    legacy = ToolUsage("s", "bot", "x", "", "DENY", 1)  # no decided_by: the id alone says "default"
    assert coverage(None, [legacy])[0].tools[0].status == "gap"
