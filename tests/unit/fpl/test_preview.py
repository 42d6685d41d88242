"""The registry's view of FPL artifacts: parse exactly as the daemon does, preview, checklist,
import lines, imports of an applied governance.fms, submission checks. Data: the real registry
snapshot and upstream parser outputs (tests/data/interop/registry, PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faramesh_cloud.fpl.preview import (
    MAX_SUBMISSION_BYTES,
    check_submission,
    config_checklist,
    framework_snippet,
    import_line,
    pack_preview,
    parse_imports,
)
from faramesh_cloud.fpl.strict import DaemonParseError, parse_strict

DATA = Path(__file__).resolve().parents[2] / "data" / "interop" / "registry"
ARTIFACTS = DATA / "catalog" / "artifacts"
VECTORS = json.loads((DATA / "fpl_parse_vectors.json").read_text())["cases"]


def snapshot(rel: str) -> str:
    return (ARTIFACTS / rel).read_text()


def meta(rel: str) -> dict:
    return json.loads((ARTIFACTS / rel).read_text())


# What each snapshot artifact is, read off the files by hand: (permit, deny, defer) and parse status.
EXPECTED = {
    "policies/faramesh/demo/0.1.0/policy.fpl": (1, 1, 0),
    "policies/faramesh/github/1.0.0/policy.fpl": (4, 2, 1),
    "policies/faramesh/openai/1.0.0/policy.fpl": (2, 1, 0),
    "policies/faramesh/shell/1.0.0/policy.fpl": (1, 2, 0),
    "policies/faramesh/stripe/1.0.0/policy.fpl": (2, 0, 1),
    "policies/faramesh/mcp/1.0.0/policy.fpl": None,  # `=~` does not lex
    **{f"frameworks/{n}/1.0.0/profile.fpl": (1, 0, 0) for n in (
        "bedrock", "claude-code", "crewai", "cursor", "langchain", "langgraph", "mcp", "openai-agents")},
}


def test_every_snapshot_artifact_is_covered() -> None:
    found = {str(p.relative_to(ARTIFACTS)) for p in ARTIFACTS.rglob("*.fpl")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_snapshot_preview_counts(rel: str) -> None:
    preview = pack_preview(snapshot(rel))
    if EXPECTED[rel] is None:
        assert not preview.parses and preview.rules == []
    else:
        assert preview.parses and preview.error is None
        assert (preview.permit, preview.deny, preview.defer) == EXPECTED[rel]


def test_mcp_pack_fails_as_the_daemon_says() -> None:
    """REGISTRY_PROTOCOL.md §3 step 5: `parse fpl: line 6: unexpected character "~"`."""
    preview = pack_preview(snapshot("policies/faramesh/mcp/1.0.0/policy.fpl"))
    assert preview.error is not None
    assert preview.error.line == 6
    assert preview.error.message.startswith('line 6: unexpected character "~"')
    assert "matches" in preview.error.message  # the hint


def test_rules_in_order_with_tool_effect_condition_line_and_agent() -> None:
    preview = pack_preview(snapshot("policies/faramesh/stripe/1.0.0/policy.fpl"))
    got = [(r.index, r.line, r.agent, r.effect, r.tool, r.condition, r.notify) for r in preview.rules]
    assert got == [
        (0, 4, "payment-bot", "permit", "stripe/charge", "amount <= 2000", ""),
        (1, 5, "payment-bot", "permit", "stripe/refund", "amount <= 500", ""),
        (2, 6, "payment-bot", "defer", "stripe/charge", "amount > 2000", "#payments"),
    ]
    assert preview.rules[0].applies_to == "agent payment-bot"
    assert [(a.id, a.default) for a in preview.agents] == [("payment-bot", "deny")]
    github = pack_preview(snapshot("policies/faramesh/github/1.0.0/policy.fpl"))
    assert [(r.effect_word, r.effect) for r in github.rules][-2:] == [("deny!", "deny"), ("deny!", "deny")]


def test_shell_packs_condition_is_really_a_path_clause() -> None:
    """FPL.md §7: `when path matches "x"` is an empty condition plus a `path` network clause."""
    rule = pack_preview(snapshot("policies/faramesh/shell/1.0.0/policy.fpl")).rules[2]
    assert (rule.tool, rule.condition, rule.network) == ("shell/read", "", (("path", 'matches "/tmp/*"'),))
    assert rule.notes and "network clause" in rule.notes[0]


def test_flat_rules_apply_to_every_agent_and_come_after_agent_rules() -> None:
    preview = pack_preview("deny! shell/*\nagent a {\n rules { permit x }\n}\ndefer y\n")
    assert [(r.tool, r.agent) for r in preview.rules] == [("x", "a"), ("shell/*", ""), ("y", "")]
    assert preview.rules[1].applies_to == "every agent (top-level rule)"


@pytest.mark.parametrize("rel", ["policies/faramesh/demo/0.1.0", "policies/faramesh/shell/1.0.0",
                                 "policies/faramesh/stripe/1.0.0"])
def test_meta_rules_summary_agrees_with_the_parser(rel: str) -> None:
    """Where meta.json carries a rules_summary, the snapshot's agree with the preview (tools per effect)."""
    summary = meta(f"{rel}/meta.json")["rules_summary"]
    assert pack_preview(snapshot(f"{rel}/policy.fpl")).summary() == summary


def test_same_line_effect_word_ends_a_condition() -> None:
    """Upstream stops a condition at any effect word (isTopLevelKeyword), not only on a later line."""
    preview = pack_preview("agent a { rules { permit x when amount <= 2000 deny y } }")
    assert [(r.effect, r.tool, r.condition) for r in preview.rules] == [
        ("permit", "x", "amount <= 2000"), ("deny", "y", "")]


# ── the daemon's parser, case by case ───────────────────────────────────────────────


@pytest.mark.parametrize("case", VECTORS, ids=[f"v{i}" for i in range(len(VECTORS))])
def test_strict_parser_matches_upstream(case: dict) -> None:
    if "error" in case:
        with pytest.raises(DaemonParseError) as err:
            parse_strict(case["fpl"])
        assert err.value.message == case["error"]
    else:
        doc = parse_strict(case["fpl"])
        rules = [[a.id, r.effect, r.tool, r.condition, r.notify, r.reason] for a in doc.agents for r in a.rules]
        rules += [["", r.effect, r.tool, r.condition, r.notify, r.reason] for r in doc.flat_rules]
        assert rules == case["rules"]


def test_vectors_cover_accepts_and_many_error_shapes() -> None:
    assert sum("error" in c for c in VECTORS) >= 40 and sum("rules" in c for c in VECTORS) >= 20


def test_error_line_is_the_files_even_after_a_multiline_string() -> None:
    """The daemon does not count a newline inside a string: its message says line 4, the file's line is 5."""
    with pytest.raises(DaemonParseError) as err:
        parse_strict('agent a {\n rules { permit x when y == "multi\nline" }\n}\n~')
    assert err.value.message == 'line 4: unexpected character "~"'
    assert err.value.line == 5


_TOKENS = st.sampled_from(["agent", "a", "{", "}", "rules", "permit", "deny", "deny!", "defer", "x/*",
                           "when", "amount", "<=", "5", '"s"', "notify", "reason", ":", "=", "\n", "budget",
                           "max", "$", "import", '"p@1"', "runtime", "path", "matches", "(", ")", "[", "]"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=30))
def test_preview_never_raises_and_agrees_with_the_strict_parser(tokens: list[str]) -> None:
    text = " ".join(tokens)
    preview = pack_preview(text)
    try:
        doc = parse_strict(text)
    except DaemonParseError as err:
        assert not preview.parses and preview.error is not None and preview.error.line == err.line
    else:
        assert preview.parses
        assert len(preview.rules) == sum(len(a.rules) for a in doc.agents) + len(doc.flat_rules)
        assert preview.permit + preview.deny + preview.defer <= len(preview.rules)


# ── configuration checklist ─────────────────────────────────────────────────────────


def test_checklist_from_a_provider_config_schema_required_first() -> None:
    items = config_checklist(meta("providers/faramesh/vault/1.0.0/manifest.json"))
    assert [(i.name, i.type, i.required, i.default) for i in items] == [
        ("addr", "string", True, None), ("token", "string", True, None),
        ("mount", "string", False, "secret"), ("namespace", "string", False, None)]
    assert items[1].description == "Vault token (use env() in governance.fms)"
    assert items[2].has_default and not items[3].has_default


def test_checklist_from_a_pack_parameter_schema() -> None:
    items = config_checklist(meta("policies/faramesh/stripe/1.0.0/meta.json"))
    assert [(i.name, i.type, i.required, i.default) for i in items] == [
        ("refund_threshold", "number", False, 500), ("charge_threshold", "number", False, 2000)]


def test_checklist_json_schema_form_and_nothing() -> None:
    schema = {"parameter_schema": {"type": "object", "required": ["b"],
                                   "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}
    assert [(i.name, i.required) for i in config_checklist(schema)] == [("b", True), ("a", False)]
    assert config_checklist(meta("providers/faramesh/dev-kms/1.0.0/manifest.json")) == []
    assert config_checklist({"config_schema": "nonsense"}) == []


# ── import lines and snippets ───────────────────────────────────────────────────────


def test_import_line_exact() -> None:
    assert import_line("policy", "faramesh/stripe", "1.0.0") == \
        'import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"'
    assert import_line("frameworks", "langgraph", "1.0.0", alias="lg") == \
        'import "github.com/faramesh/faramesh-registry/frameworks/langgraph@1.0.0" as lg'
    assert import_line("provider", "faramesh/vault", "1.0.0").endswith('/providers/faramesh/vault@1.0.0"')


@pytest.mark.parametrize(("kind", "name", "version"), [
    ("pack", "x", "1.0.0"), ("policy", "", "1.0.0"), ("policy", "a", ""), ("policy", "a", "latest"),
    ("policy", 'a"b', "1.0.0"), ("policy", "a b", "1.0.0"), ("policy", "a", "1@2")])
def test_import_line_refuses_what_cannot_be_imported(kind: str, name: str, version: str) -> None:
    with pytest.raises(ValueError):
        import_line(kind, name, version)


def test_import_lines_round_trip_through_parse_imports() -> None:
    text = "\n".join([import_line("policy", "faramesh/stripe", "1.0.0"),
                      import_line("framework", "langgraph", "1.0.0", alias="lg"),
                      import_line("provider", "faramesh/vault", "1.2.3-rc.1")])
    refs = parse_imports(text)
    assert [(r.kind, r.name, r.version, r.line, r.alias, r.ok) for r in refs] == [
        ("policy", "faramesh/stripe", "1.0.0", 1, "", True),
        ("framework", "langgraph", "1.0.0", 2, "lg", True),
        ("provider", "faramesh/vault", "1.2.3-rc.1", 3, "", True)]


def test_framework_snippet_parses_and_keeps_its_agent_primary() -> None:
    snippet = framework_snippet("langgraph", "1.0.0")
    assert snippet.startswith('import "github.com/faramesh/faramesh-registry/frameworks/langgraph@1.0.0"\n')
    doc = parse_strict(snippet)
    assert [a.id for a in doc.agents] == ["app-agent"] and sorted(["app-agent", "default"])[0] == "app-agent"
    with pytest.raises(ValueError):
        framework_snippet("langgraph", "1.0.0", agent="support-bot")  # sorts after "default"


# ── imports of an applied governance.fms ────────────────────────────────────────────


def test_parse_imports_fpl_md_example() -> None:
    text = ('import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"\n'
            'import "github.com/faramesh/faramesh-registry/frameworks/langgraph@1.0.0"\n\n'
            'agent "billing-agent" {\n  default deny\n  rules {\n    permit stripe/customers/read\n  }\n}\n')
    refs = parse_imports(text)
    assert [(r.kind, r.name, r.version, r.line) for r in refs] == [
        ("policy", "faramesh/stripe", "1.0.0", 1), ("framework", "langgraph", "1.0.0", 2)]
    assert refs[0].import_path == "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"


def test_parse_imports_reports_problems_without_crashing() -> None:
    text = ('import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@latest"\n'
            'import "policies/faramesh/shell"\n'
            'import "github.com/faramesh/faramesh-registry/packs/x@1.0.0"\n'
            'import "policies/faramesh/openai@1.0.0"\n'
            'import "registry.example.com/providers/acme/kms@2.0.0"\n'
            'agent a { rules { defer x when tool =~ "w" } }\n'
            'import "frameworks/mcp@@"\n'
            'import {\n')
    refs = parse_imports(text)
    problems = [(r.line, r.problem.split(":")[-1].strip()[:30]) for r in refs]
    assert [r.line for r in refs] == [1, 2, 3, 4, 5, 7, 8]
    assert "@latest not permitted" in refs[0].problem
    assert "missing @version pin" in refs[1].problem
    assert 'unknown kind "packs"' in refs[2].problem
    assert refs[3].ok and (refs[3].kind, refs[3].name) == ("policy", "faramesh/openai")
    assert refs[4].ok and refs[4].host == "registry.example.com" and refs[4].name == "acme/kms"
    assert not refs[5].ok and "invalid ref" in refs[5].problem  # version empty after the last @
    assert refs[6].problem == "import: expected registry reference string", problems


def test_parse_imports_ignores_imports_inside_blocks_and_comments() -> None:
    text = '# import "policies/x@1"\nagent a {\n  import "policies/y@1"\n}\nimport \'policies/z@2\'\n'
    assert [(r.name, r.line) for r in parse_imports(text)] == [("z", 5)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_imports_never_raises(text: str) -> None:
    for ref in parse_imports(text):
        assert ref.ok == (ref.problem == "")


# ── submissions ─────────────────────────────────────────────────────────────────────


def codes(problems: list) -> list[tuple[str, str]]:
    return [(p.severity, p.code) for p in problems]


@pytest.mark.parametrize("rel", sorted(r for r, v in EXPECTED.items() if v is not None))
def test_every_parsing_snapshot_artifact_passes_submission(rel: str) -> None:
    kind = "framework" if rel.startswith("frameworks/") else "policy"
    name = rel.split("/")[1] if kind == "framework" else ""
    assert [p for p in check_submission(kind, snapshot(rel), name) if p.severity == "error"] == []


def test_mcp_pack_is_refused_at_submission() -> None:
    problems = check_submission("policy", snapshot("policies/faramesh/mcp/1.0.0/policy.fpl").encode())
    assert codes(problems) == [("error", "parse_error")] and problems[0].line == 6


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty"), ("   \n# only a comment\n", "empty"),
    (b"\xff\xfeagent", "encoding"), ("agent a {\x00}", "encoding"),
    ("x" * (MAX_SUBMISSION_BYTES + 1), "too_large"),
    ("{\n}", "not_fpl"), ("---\nrules: []\n", "not_fpl"),
    ("agent a { rules { foo bar } }", "unknown_effect"),
    ("agent a { rules { defer x when amount > $500 } }", "dollar_in_condition"),
    ('runtime { mode = "enforce" }', "no_rules"),
])
def test_submission_errors(text: str | bytes, code: str) -> None:
    problems = check_submission("policy", text)
    assert ("error", code) in codes(problems), problems


def test_profile_without_agent_is_refused_and_mismatched_framework_warned() -> None:
    assert ("error", "no_agent") in codes(check_submission("framework", "permit *\n"))
    profile = snapshot("frameworks/langgraph/1.0.0/profile.fpl")
    assert ("warning", "framework_mismatch") in codes(check_submission("framework", profile, "crewai"))
    assert ("warning", "framework_mismatch") not in codes(check_submission("framework", profile, "langgraph"))


def test_submission_warnings_for_the_reviewer() -> None:
    shell = check_submission("policy", snapshot("policies/faramesh/shell/1.0.0/policy.fpl"))
    assert ("warning", "condition_misread") in codes(shell)
    assert ("warning", "agent_takeover") in codes(shell)
    two = check_submission("policy", 'import "policies/a/b@1"\nagent a { permit x }\nagent b { permit y }\n')
    assert {("warning", "several_agents"), ("warning", "nested_import")} <= set(codes(two))


def test_submission_of_a_provider_is_not_fpl() -> None:
    assert codes(check_submission("provider", "agent a {}")) == [("error", "kind")]


def test_tolerant_parser_recovers_past_characters_the_lexer_rejects() -> None:
    """compliance's tolerant parse blanks each rejected character and goes on (also `\\` and non-ASCII,
    which the daemon's messages quote Go's way)."""
    from faramesh_cloud.fpl import parse

    doc = parse('agent a {\n rules { permit x when y =~ 1 \\ é }\n}\n')
    assert [e.message for e in doc.errors] == [
        'unexpected character "~"', 'unexpected character "\\\\"', 'unexpected character "Ã"']
    assert [(a.id, [r.tool for r in a.rules]) for a in doc.agents] == [("a", ["x"])]
