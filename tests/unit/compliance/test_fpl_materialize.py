"""The enforced policy re-derived from governance.fms (FPL.md §1, §4, §6-§9, §12, §14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.fpl import materialize, parse, path_match
from faramesh_cloud.fpl.packs import PACKS

DATA = Path(__file__).resolve().parents[2] / "data" / "compliance" / "fpl"


def example(name: str) -> str:
    return (DATA / f"{name}.fms").read_text()


def ids(policy):
    return [(r.rule_id, r.effect_word, r.tool, r.line) for r in policy.rules]


def kinds(policy):
    return [(f.kind, f.line) for f in policy.findings]


def test_e1_deny_tools_for_one_agent():
    p = materialize(example("e1"))
    assert p.primary_agent == "support-bot" and p.default_effect == "permit" and p.loads
    assert ids(p) == [("fpl-0", "deny!", "shell/*", 4), ("fpl-1", "deny", "stripe/refund", 5)]
    assert p.rules[0].strict and p.rules[0].effect == "deny"
    assert p.rules[1].reason == "refunds go through finance"
    assert p.findings == ()


def test_e2_defer_first_then_permit():
    p = materialize(example("e2"))
    assert p.primary_agent == "payments-bot" and p.default_effect == "deny"
    assert ids(p) == [
        ("fpl-0", "defer", "stripe/charge", 4),
        ("fpl-1", "permit", "stripe/charge", 5),
        ("fpl-2", "permit", "stripe/customers/read", 6),
    ]
    assert p.rules[0].condition == "args.amount > 500"
    assert p.rules[0].notify == "#payments-approvals"
    assert p.findings == ()  # the conditional defer does not shadow the permit


def test_e3_budget_reaches_the_daemon():
    p = materialize(example("e3"))
    assert p.primary_agent == "research-bot"
    assert p.budget is not None and (p.budget.session_usd, p.budget.daily_usd) == (20.0, 50.0)
    assert p.budget.on_exceed == "deny" and p.budget.line == 3
    assert ids(p) == [("fpl-0", "permit", "search/*", 9), ("fpl-1", "permit", "http/get", 10)]
    assert p.findings == ()


def test_e4_imported_packs_are_not_enforced():
    p = materialize(example("e4"))
    assert p.primary_agent == "billing-agent" and p.primary_source == ""
    assert ids(p) == [("fpl-0", "permit", "stripe/customers/read", 7)]
    assert sorted(a.id for a in p.agents) == ["billing-agent", "default", "payment-bot"]
    assert kinds(p) == [("agent_dropped", 1), ("agent_dropped", 2)]
    assert "payment-bot" in p.findings[0].message and "default" in p.findings[1].message


def test_e5_runtime_provider_and_env():
    p = materialize(example("e5"))
    assert p.primary_agent == "ops-bot" and p.loads
    assert p.runtime == {"mode": "enforce", "wal_dir": "./faramesh-wal", "backend": "sqlite"}
    assert p.runtime_line == 3
    assert [(b.name, b.fields["token"], b.line) for b in p.providers] == [
        ("vault", "env(VAULT_TOKEN)", 9)
    ]
    assert ids(p) == [("fpl-0", "permit", "db/query", 18), ("fpl-1", "defer", "db/query", 19)]
    assert p.findings == ()


def test_e6_conditions_rate_limit_egress_and_the_check_error():
    p = materialize(example("e6"))
    assert ids(p) == [
        ("fpl-0", "deny!", "shell/run", 4),
        ("fpl-1", "defer", "shell/run", 5),
        ("fpl-2", "permit", "shell/run", 6),
    ]
    assert p.rules[0].condition == 'cmd matches "rm -rf|mkfs|shutdown"'
    assert p.rules[1].condition == "time.hour < 8 or time.hour > 18"
    # check.go checkDenyBangConflicts: deny! X and permit X (same string) in one agent is an
    # error whatever the conditions, so FPL.md's E6 does not pass `faramesh check`.
    assert kinds(p) == [("strict_conflict", 6)] and not p.loads


def test_e7_flat_rules_only():
    p = materialize(example("e7"))
    assert p.primary_agent == "" and p.default_effect == "deny"
    assert ids(p) == [
        ("fpl-0", "deny!", "shell/*", 1),
        ("fpl-1", "permit", "read_file", 2),
        ("fpl-2", "defer", "send_email", 3),
    ]
    assert p.rules[2].notify == "ops@example.com" and all(r.flat for r in p.rules)
    assert p.findings == ()


def test_e8_trust_key_is_inert():
    p = materialize(example("e8"))
    assert p.primary_agent == "executor"
    assert ids(p) == [("fpl-0", "permit", "stripe/refund", 6)]
    assert p.rules[0].condition == "amount <= 100"
    assert kinds(p) == [("trust_key_inert", 2)]


def test_flat_rules_are_numbered_after_agent_rules():
    text = "deny! shell/*\nagent a {\n  rules {\n    permit x\n    permit y\n  }\n}\n"
    assert ids(materialize(text)) == [
        ("fpl-0", "permit", "x", 4), ("fpl-1", "permit", "y", 5), ("fpl-2", "deny!", "shell/*", 1)
    ]


def test_primary_agent_is_first_by_sorted_name_and_others_are_dropped():
    text = 'agent "zeta" {\n  rules { deny! a }\n}\nagent "alpha" {\n  default permit\n  permit b\n}\n'
    p = materialize(text)
    assert p.primary_agent == "alpha" and p.default_effect == "permit" and p.default_line == 5
    assert ids(p) == [("fpl-0", "permit", "b", 6)]
    assert kinds(p) == [("agent_dropped", 1)]
    assert "'alpha'" in p.findings[0].message


@pytest.mark.parametrize("framework", ["langgraph", "crewai", "mcp", "openai-agents"])
def test_framework_profile_replaces_a_primary_that_sorts_after_default(framework):
    text = (
        f'import "github.com/faramesh/faramesh-registry/frameworks/{framework}@1.0.0"\n'
        "\n"
        'agent "support-bot" {\n'
        "  default deny\n"
        "  rules {\n"
        "    deny! shell/*\n"
        "  }\n"
        "}\n"
    )
    p = materialize(text)
    assert p.primary_agent == "default" and p.primary_source == f"frameworks/{framework}@1.0.0"
    assert ids(p) == [("fpl-0", "permit", "*", 1)]
    assert p.runtime == {"mode": "enforce"} and p.runtime_source  # the file has no runtime
    assert kinds(p) == [("pack_replaces_primary", 1), ("agent_dropped", 3)]
    assert "permit *" in p.findings[0].message and "support-bot" in p.findings[0].message


def test_policy_pack_text_given_by_the_caller_wins_and_unknown_imports_are_reported():
    text = 'import "policies/acme/x@2.0.0"\nimport "policies/acme/y@1.0.0"\nagent "b" { permit z }\n'
    p = materialize(text, packs={"policies/acme/x@2.0.0": 'agent "a" { deny q }\ndeny! r\n'})
    assert p.primary_agent == "a" and p.primary_source == "policies/acme/x@2.0.0"
    assert ids(p) == [("fpl-0", "deny", "q", 1), ("fpl-1", "deny!", "r", 1)]
    assert ("import_unresolved", 2) in kinds(p) and ("pack_replaces_primary", 1) in kinds(p)


def test_mcp_pack_that_does_not_parse_is_reported_on_the_import_line():
    text = 'agent "a" { permit x }\nimport "github.com/faramesh/faramesh-registry/policies/faramesh/mcp@1.0.0"\n'
    p = materialize(text)
    assert kinds(p) == [("import_unparseable", 2)] and not p.loads
    assert "pack line 6" in p.findings[0].message


def test_rule_shadowed_by_an_earlier_unconditional_broader_rule():
    text = (
        "agent a {\n"
        "  rules {\n"
        "    permit stripe/*\n"              # 3
        "    deny stripe/refund\n"           # 4 shadowed
        "    defer stripe/a/b\n"             # 5 not shadowed (* stays in one segment)
        "    permit x when args.n > 1\n"     # 6
        "    deny x\n"                       # 7 not shadowed (earlier is conditional)
        "    permit *\n"                     # 8
        "    deny! stripe/a/c\n"             # 9 shadowed by permit *
        "  }\n"
        "}\n"
    )
    p = materialize(text)
    assert kinds(p) == [("rule_shadowed", 4), ("rule_shadowed", 9)]
    assert "fpl-0 `permit stripe/*` (line 3)" in p.findings[0].message
    assert "fpl-5 `permit *` (line 8)" in p.findings[1].message


def test_shadowing_between_patterns():
    text = "agent a {\n  rules {\n    permit s*\n    deny s*/x\n    deny sx*\n  }\n}\n"
    assert kinds(materialize(text)) == [("rule_shadowed", 5)]


def test_quoted_pattern_with_question_mark_does_not_survive_materialisation():
    # `?` lexes only inside quotes (FPL.md §2), and emit.go writes the tool unquoted
    text = 'agent a {\n  rules {\n    permit x\n    deny "se?"\n  }\n}\n'
    p = materialize(text)
    assert ("load_fails", 4) in kinds(p) and not p.loads


@pytest.mark.parametrize(
    ("line", "kind_text"),
    [
        ('permit shell/read when path matches "/tmp/.*"', "`path`"),
        ("defer x/y when args.a > 1 and host == \"h\"", "`host`"),
        ("defer x/y when amount > $500", "`$`"),
        ("permit x when\n", "empty condition"),
        ('permit x when args.a == 1 deny y', "swallowed"),
        ("permit x when session.sum(a) > 3", "session.sum"),
    ],
)
def test_condition_misread(line, kind_text):
    p = materialize(f"agent a {{\n  rules {{\n    {line}\n  }}\n}}\n")
    misreads = p.findings_of("condition_misread")
    assert misreads and all(f.line == 3 for f in misreads)
    assert kind_text in " ".join(f.message for f in misreads)


def test_registry_shell_pack_misread_is_on_the_pack_rule():
    p = materialize(PACKS["policies/faramesh/shell@1.0.0"])
    assert [(f.kind, f.line) for f in p.findings] == [("clause_dropped", 6), ("condition_misread", 6)]
    # emit.go writes no network clause: the daemon enforces an unconditional permit shell/read
    assert p.rules[2].condition == "" and p.rules[2].network == () and p.rules[2].unconditional


def test_agent_declarations_the_daemon_drops():
    text = (
        "agent a {\n"
        "  budget daily {\n"          # 2
        "    max $10\n"
        "    max_calls 100\n"
        "  }\n"
        "  phase intake {\n"          # 6
        "    permit read\n"
        "    duration 1h\n"
        "  }\n"
        "  delegate b { scope \"x\" ttl 24h ceiling inherited }\n"  # 10
        "  var tier gold\n"           # 11
        "  rules { permit y }\n"
        "}\n"
        "system s { on_policy_load_failure allow_all }\n"  # 14
    )
    p = materialize(text)
    assert kinds(p) == [
        ("budget_scope_ignored", 2), ("max_calls_dropped", 2), ("phase_dropped", 6),
        ("delegate_dropped", 10), ("var_dropped", 11), ("system_rejected", 14),
    ]
    assert ids(p) == [("fpl-0", "permit", "y", 12)]  # phase rules are not numbered
    assert p.budget is not None and p.budget.session_usd == 10.0 and not p.loads


def test_credential_block_breaks_the_policy_and_second_budget_fails_load():
    text = (
        "agent a {\n  credential stripe { backend vault path \"secret/x\" }\n"
        "  budget s { max 1 }\n  budget t { daily 2 }\n}\n"
    )
    p = materialize(text)
    assert kinds(p) == [("credential_breaks", 2), ("budget_extra", 4)] and not p.loads
    assert p.credentials[0].fields["backend"] == "vault"


def test_quoted_tool_outside_the_identifier_set_is_mangled_by_materialisation():
    p = materialize('agent a {\n  rules {\n    defer "mcp:fs.write"\n    permit ok\n  }\n}\n')
    assert ("tool_mangled", 3) in kinds(p)
    assert not any(r.tool == "mcp:fs.write" for r in p.rules)
    assert p.rules[-1].tool == "ok"


def test_unknown_effect_word_in_rules_block():
    p = materialize("agent a {\n  rules {\n    foo bar\n  }\n}\n")
    assert ids(p) == [("fpl-0", "foo", "bar", 3)] and kinds(p) == [("unknown_effect", 3)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("agent a {\n  rules { permit x }\n  ~\n}\n", 3),
        ('agent a {\n  reason "open\n', 2),
        ("agent a {\n  rules { permit x }\n}\nfrobnicate\n", 4),
        ('import "policies/faramesh/stripe@latest"\n', 1),
        ("agent a {\n  budget b { max lots }\n}\n", 2),
        ("", 1),
    ],
)
def test_bad_input_is_a_finding_never_an_exception(text, line):
    p = materialize(text)
    assert not p.loads
    wanted = "no_policy" if not text else "parse_error"
    assert (wanted, line) in kinds(p)


def test_parse_keeps_going_after_an_error():
    doc = parse("agent a {\n  nonsense here\n}\nagent b {\n  permit y\n}\n")
    assert [e.line for e in doc.errors] == [2]
    assert [a.id for a in doc.agents] == ["b"]


def test_builtin_packs_are_the_registry_catalogue_verbatim():
    on_disk = {
        p.relative_to(DATA / "registry").as_posix(): p.read_text()
        for p in (DATA / "registry").rglob("*.fpl")
    }
    as_keys = {}
    for rel, text in on_disk.items():
        parts = rel.split("/")
        as_keys[f"{parts[0]}/{'/'.join(parts[1:-2])}@{parts[-2]}"] = text
    assert as_keys == PACKS and len(PACKS) == 14


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("stripe/*", "stripe/refund", True),
        ("stripe/*", "stripe/a/b", False),
        ("*", "a/b", False),
        ("[ab]c", "bc", True),
        ("[^ab]c", "bc", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("a?c", "a/c", False),
        ("*x", "yyx", True),
    ],
)
def test_path_match(pattern, name, expected):
    assert path_match(pattern, name) is expected
