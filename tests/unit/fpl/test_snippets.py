"""Config Assistant snippets: every block type, with representative and edge values, is parsed by
the strict parser (the daemon's `fpl.ParseDocument` rules) and reads back the values entered;
rules, agents and budgets also survive `faramesh apply`'s materialisation (`materialize`).
Bad fields are refused naming the field. A Hypothesis property covers any valid form input."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faramesh_cloud.fpl import materialize, split_ref
from faramesh_cloud.fpl.materialize import FATAL_KINDS
from faramesh_cloud.fpl.snippet_fields import SnippetError, printable
from faramesh_cloud.fpl.snippets import BLOCKS, REGISTRY, generate, in_context, runtime_block
from faramesh_cloud.fpl.strict import ConfigValue, StrictDocument, parse_strict

KEY32 = base64.b64encode(bytes(range(32))).decode()


def strict(block: str, text: str) -> StrictDocument:
    return parse_strict(in_context(block, text))


def enforced(block: str, text: str) -> Any:
    """The policy the daemon enforces from the snippet placed in a minimal governance.fms."""
    if block == "rule":
        doc = f'agent "a" {{\n  default deny\n  rules {{\n    {text}\n  }}\n}}\n'
    elif block == "budget":
        doc = f'agent "a" {{\n  default deny\n{text}\n  rules {{ permit x }}\n}}\n'
    else:
        doc = text + "\n"
    policy = materialize(doc)
    bad = [f for f in policy.findings if f.kind in FATAL_KINDS | {"tool_mangled", "condition_misread"}]
    assert policy.loads and not bad, (doc, policy.findings)
    return policy


def check_round_trip(block: str, fields: dict[str, Any]) -> None:
    """generate → strict parse → the same values (and, where it applies, the same enforced values)."""
    snippet = generate(block, fields)
    v = snippet.values
    if block == "runtime":
        doc = strict(block, snippet.text)
        want = {k: ConfigValue("string", v[k]) for k in ("mode", "wal_dir", "log_level") if v[k]}
        want |= {"cloud_url": ConfigValue("string", v["cloud_url"]), "cloud_api_key": ConfigValue("env", v["api_key_env"])}
        assert doc.runtime == want
    elif block == "agent":
        ag = strict(block, snippet.text).agents[0]
        assert (ag.id, ag.default, ag.model, ag.framework) == (v["id"], v["default"], v["model"], v["framework"])
        assert enforced(block, snippet.text + '\n').default_effect == v["default"]
    elif block == "rule":
        rule = strict(block, snippet.text).agents[0].rules[0]
        assert (rule.effect, rule.tool, rule.notify, rule.reason) == (v["effect"], v["tool"], v["notify"], v["reason"])
        assert rule.condition == v["condition"].strip() or rule.condition == snippet.text.split(" when ", 1)[1].split(
            " notify: ")[0].split(" reason: ")[0]
        er = enforced(block, snippet.text).rules[0]
        assert (er.effect_word, er.tool, er.condition, er.notify, er.reason) == (
            rule.effect, rule.tool, rule.condition, rule.notify, rule.reason)
    elif block == "budget":
        b = strict(block, snippet.text).agents[0].budgets[0]
        assert b.id == (v["id"] or "session") and b.on_exceed == v["on_exceed"]
        for got, name in ((b.max_usd, "max"), (b.daily_usd, "daily"), (b.warn_at, "warn_at")):
            assert got == (float(Decimal(v[name])) if v[name] else None)
        eb = enforced(block, snippet.text).budget
        assert (eb.session_usd, eb.daily_usd) == (b.max_usd or 0.0, b.daily_usd or 0.0)
    elif block == "provider":
        doc = strict(block, snippet.text)
        want = {"type": ConfigValue("string", v["type"])}
        if v["source"]:
            want["source"] = ConfigValue("string", v["source"])
        for i in range(1, 4):
            if v[f"setting{i}_key"]:
                kind = "env" if v[f"setting{i}_env"] else "string"
                want[v[f"setting{i}_key"]] = ConfigValue(kind, v[f"setting{i}_value"])
        assert doc.provider_fields == {v["name"]: want}
    elif block == "pack":
        imp = strict(block, snippet.text).imports[0]
        assert split_ref(imp.ref) == (v["kind"], v["name"], v["version"]) and imp.alias == v["alias"]
        assert imp.ref == f"{REGISTRY}/{v['kind']}/{v['name']}@{v['version']}"
    elif block == "trust":
        key = base64.b64encode(base64.b64decode(v["public_key"].removeprefix("ed25519:"))).decode()
        assert strict(block, snippet.text).trust_lines == [f"key {v['registry']} ed25519:{key}"]
    elif block == "webhooks":
        assert snippet.language == "yaml"
        want = {"url": v["url"], "events": v["events"]}
        if v["timeout_ms"]:
            want["timeout_ms"] = int(v["timeout_ms"])
        assert yaml.safe_load(snippet.text) == {"webhooks": want}
    else:  # pragma: no cover - a new block type must be added here
        raise AssertionError(block)


REPRESENTATIVE: list[tuple[str, dict[str, Any]]] = [
    ("runtime", {"cloud_url": "https://sync.cloud.example:8443"}),
    ("runtime", {"cloud_url": "https://sync.example/eu", "api_key_env": "MY_KEY", "mode": "shadow",
                 "wal_dir": "C:\\faramesh\\wal dir", "log_level": "debug"}),
    ("runtime", {"cloud_url": "https://s.example", "wal_dir": 'it\'s a \\"dir\\" \\x'}),
    ("agent", {"id": "payments-bot"}),
    ("agent", {"id": "_9.x-y", "default": "permit", "model": "gpt-4o 'mini'", "framework": "Lang\"graph"}),
    ("rule", {"effect": "defer", "tool": "stripe/charge", "condition": "args.amount > 500", "notify": "#payments",
              "reason": "charges over 500 USD need approval"}),
    ("rule", {"effect": "deny!", "tool": "shell/*", "condition": 'cmd matches "rm -rf|mkfs"'}),
    ("rule", {"effect": "permit", "tool": "*"}),
    ("rule", {"effect": "deny", "tool": "db/[abc]*", "condition": "time.hour < 8 or time.hour > 18",
              "reason": "Zahlungen über 500 € — 夜間は承認が必要 🚫"}),
    ("rule", {"effect": "defer", "tool": "mcp/tools.call", "condition": "contains(args.to, 'x@y.z') && !args.ok",
              "notify": "ops@example.com"}),
    ("budget", {"max": "20"}),
    ("budget", {"id": "daily_2", "daily": "2000.50", "warn_at": "0.8", "on_exceed": "defer"}),
    ("budget", {"max": "0.01", "daily": "999999999.99", "warn_at": "1", "on_exceed": "deny"}),
    ("budget", {"max": "1.5", "warn_at": ".25"}),
    ("provider", {"name": "vault", "type": "vault", "setting1_key": "addr", "setting1_value": "https://vault:8200",
                  "setting2_key": "token", "setting2_value": "VAULT_TOKEN", "setting2_env": "on"}),
    ("provider", {"name": "aws.sm", "type": "aws-secrets", "source": "/opt/p/provider",
                  "setting1_key": "region", "setting1_value": "eu-west-1",
                  "setting3_key": "note", "setting3_value": "café \"quoted\" c:\\dir\\"[:-1]}),
    ("pack", {"kind": "policies", "name": "faramesh/stripe", "version": "1.0.0"}),
    ("pack", {"kind": "frameworks", "name": "langgraph", "version": "1.0.0-rc.1+b2", "alias": "lg"}),
    ("pack", {"kind": "providers", "name": "faramesh/vault", "version": "2.3.4"}),
    ("trust", {"public_key": KEY32}),
    ("trust", {"registry": "registry.internal/team", "public_key": "ed25519:" + KEY32}),
    ("webhooks", {"url": "https://hooks.example.com/faramesh?x=1&y=2", "events": ["deny", "defer"]}),
    ("webhooks", {"url": "http://10.0.0.5:8080/h", "events": "permit,deny,defer", "timeout_ms": "60000"}),
]


@pytest.mark.parametrize(("block", "fields"), REPRESENTATIVE, ids=lambda x: x if isinstance(x, str) else "")
def test_each_block_parses_back_to_the_values_entered(block: str, fields: dict[str, Any]) -> None:
    check_round_trip(block, fields)


def test_every_block_type_is_covered() -> None:
    assert {b for b, _ in REPRESENTATIVE} == set(BLOCKS) == {
        "runtime", "agent", "rule", "budget", "provider", "pack", "trust", "webhooks"}


def test_condition_is_written_as_the_daemon_reads_it() -> None:
    text = generate("rule", {"effect": "defer", "tool": "x", "condition": "f( a , 'b' )  and  c==d"}).text
    assert text == 'defer x when f(a, "b") and c == d'
    assert strict("rule", text).agents[0].rules[0].condition == 'f(a, "b") and c == d'


def test_the_stack_page_runtime_block_is_this_generator() -> None:
    assert runtime_block("https://sync.example:8443") == (
        'runtime {\n  cloud_url     = "https://sync.example:8443"\n  cloud_api_key = env("FARAMESH_CLOUD_API_KEY")\n}')
    assert generate("runtime", {"cloud_url": "https://sync.example:8443"}).text == runtime_block("https://sync.example:8443")


REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("nope", {}, "block", "one of"),
    ("runtime", {}, "cloud_url", "required"),
    ("runtime", {"cloud_url": "http://plain.example"}, "cloud_url", "https"),
    ("runtime", {"cloud_url": 'https://x.example/"'}, "cloud_url", "https"),
    ("runtime", {"cloud_url": "https://x.example", "api_key_env": "9BAD"}, "api_key_env", "environment variable"),
    ("runtime", {"cloud_url": "https://x.example", "mode": "loud"}, "mode", "one of"),
    ("runtime", {"cloud_url": "https://x.example", "wal_dir": "a\nb"}, "wal_dir", "printable"),
    ("runtime", {"cloud_url": "https://x.example", "wal_dir": "both ' and \""}, "wal_dir", "both quote"),
    ("runtime", {"cloud_url": "https://x.example", "wal_dir": "ends\\"}, "wal_dir", "backslash"),
    ("runtime", {"cloud_url": "https://x.example", "colour": "red"}, "colour", "not a field"),
    ("agent", {"id": "has space"}, "id", "letters"),
    ("agent", {"id": "0day"}, "id", "starting with a letter"),
    ("agent", {"id": "defer"}, "id", "keyword"),
    ("agent", {"id": "x" * 65}, "id", "at most 64"),
    ("agent", {"id": "a", "model": "nb\u00a0sp"}, "model", "printable"),
    ("rule", {"effect": "allowish", "tool": "x"}, "effect", "one of"),
    ("rule", {"tool": ""}, "tool", "required"),
    ("rule", {"effect": "deny", "tool": "mcp:fs.write"}, "tool", "letter"),
    ("rule", {"effect": "deny", "tool": "1password/read"}, "tool", "letter"),
    ("rule", {"effect": "deny", "tool": "defer"}, "tool", "keyword"),
    ("rule", {"effect": "defer", "tool": "x", "condition": "args.amount > $500"}, "condition", "no $"),
    ("rule", {"effect": "defer", "tool": "x", "condition": 'tool =~ "write"'}, "condition", "matches"),
    ("rule", {"effect": "defer", "tool": "x", "condition": 'path matches "/tmp"'}, "condition", "args.path"),
    ("rule", {"effect": "defer", "tool": "x", "condition": "a = 1"}, "condition", "=="),
    ("rule", {"effect": "defer", "tool": "x", "condition": "a == 1 deny"}, "condition", "keyword"),
    ("rule", {"effect": "defer", "tool": "x", "condition": "a == '\"'"}, "condition", "read this condition back"),
    ("rule", {"effect": "defer", "tool": "x", "condition": "{a}"}, "condition", "brace"),
    ("rule", {"effect": "defer", "tool": "x", "reason": 'say "no"'}, "reason", "Go quoting"),
    ("rule", {"effect": "defer", "tool": "x", "notify": "a\\b"}, "notify", "Go quoting"),
    ("budget", {}, "max", "per-session"),
    ("budget", {"max": "-5"}, "max", "amount"),
    ("budget", {"max": "1.234"}, "max", "amount"),
    ("budget", {"max": "0"}, "max", "between"),
    ("budget", {"max": "1e3"}, "max", "amount"),
    ("budget", {"max": "5", "warn_at": "1.5"}, "warn_at", "fraction"),
    ("budget", {"max": "5", "warn_at": "0"}, "warn_at", "fraction"),
    ("budget", {"max": "5", "warn_at": "0.00"}, "warn_at", "between"),
    ("budget", {"max": "5", "warn_at": "0.125"}, "warn_at", "rounds to two"),
    ("budget", {"max": "5", "on_exceed": "explode"}, "on_exceed", "one of"),
    ("provider", {"name": "v", "type": "Vault"}, "type", "lower-case"),
    ("provider", {"name": "v", "type": "vault", "setting1_value": "orphan"}, "setting1_key", "name the setting"),
    ("provider", {"name": "v", "type": "vault", "setting1_key": "type", "setting1_value": "x"}, "setting1_key",
     "elsewhere"),
    ("provider", {"name": "v", "type": "vault", "setting1_key": "t", "setting1_value": "not env",
                  "setting1_env": "on"}, "setting1_value", "environment variable"),
    ("pack", {"kind": "policies", "name": "faramesh/stripe", "version": "latest"}, "version", "pin"),
    ("pack", {"kind": "policies", "name": "faramesh/stripe", "version": "LATEST"}, "version", "pin"),
    ("pack", {"kind": "frameworks", "name": "a/b", "version": "1"}, "name", "bare"),
    ("pack", {"kind": "themes", "name": "a", "version": "1"}, "kind", "one of"),
    ("pack", {"kind": "policies", "name": "Faramesh/Stripe", "version": "1"}, "name", "lower-case"),
    ("trust", {"public_key": "not base64!"}, "public_key", "base64"),
    ("trust", {"public_key": base64.b64encode(b"short").decode()}, "public_key", "32 bytes"),
    ("webhooks", {"url": "https://h.example", "events": []}, "events", "at least one"),
    ("webhooks", {"url": "https://h.example", "events": ["kill_switch"]}, "events", "not one of"),
    ("webhooks", {"url": "ftp://h.example", "events": ["deny"]}, "url", "http"),
    ("webhooks", {"url": "https://h.example", "events": ["deny"], "timeout_ms": "0"}, "timeout_ms", "between"),
]


@pytest.mark.parametrize(("block", "fields", "field", "words"), REFUSED,
                         ids=[f"{b}-{f}-{i}" for i, (b, _, f, _w) in enumerate(REFUSED)])
def test_bad_fields_are_refused_naming_the_field(block: str, fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SnippetError) as err:
        generate(block, fields)
    assert err.value.field == field and words in err.value.message, err.value


# ── any valid form input parses back to the same values ──────────────────────────────────────────

TEXT = st.text(st.characters(codec="utf-8").filter(printable), min_size=1, max_size=40).map(str.strip).filter(bool)
PLAIN = TEXT.filter(lambda s: '"' not in s and "\\" not in s)
SAFE_QUOTES = TEXT.filter(lambda s: not ('"' in s and "'" in s) and not s.endswith("\\"))
IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
AMOUNT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2).map(str)
TOOL_WORDS = {"when", "notify", "reason", "host", "port", "method", "path", "query", "header", "headers", "import",
              "runtime", "provider", "identity", "trust", "agent", "system", "manifest", "permit", "allow", "approve",
              "deny", "block", "reject", "defer"}
TOOL = st.from_regex(r"[a-z_*][a-z0-9_*]{0,10}(/[a-z0-9_.*-]{1,10}){0,3}", fullmatch=True).filter(
    lambda t: t not in TOOL_WORDS)
OPERAND = st.one_of(st.integers(0, 10**6).map(str), IDENT.map(lambda i: f"args.{i}"),
                    PLAIN.filter(lambda s: "'" not in s).map(lambda s: f'"{s}"'))
COMPARE = st.tuples(OPERAND, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), OPERAND).map(" ".join)
CONDITION = st.lists(COMPARE, min_size=1, max_size=3).flatmap(
    lambda cs: st.lists(st.sampled_from(["and", "or", "&&", "||"]), min_size=len(cs) - 1, max_size=len(cs) - 1).map(
        lambda ops: " ".join(c + (f" {ops[i]}" if i < len(ops) else "") for i, c in enumerate(cs))))
OPTIONAL = lambda s: st.one_of(st.just(""), s)  # noqa: E731

VALID: dict[str, Any] = {
    "runtime": st.fixed_dictionaries({
        "cloud_url": st.from_regex(r"https://[a-z0-9]{1,10}(\.[a-z0-9]{1,8}){0,2}(:[0-9]{2,5})?(/[a-z0-9_.-]{0,8})?",
                                   fullmatch=True),
        "api_key_env": IDENT, "mode": st.sampled_from(["", "enforce", "shadow", "audit"]),
        "wal_dir": OPTIONAL(SAFE_QUOTES), "log_level": st.sampled_from(["", "debug", "info", "warn", "error"])}),
    "agent": st.fixed_dictionaries({
        "id": st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(lambda i: i not in TOOL_WORDS),
        "default": st.sampled_from(["deny", "permit"]), "model": OPTIONAL(SAFE_QUOTES),
        "framework": OPTIONAL(SAFE_QUOTES)}),
    "rule": st.fixed_dictionaries({
        "effect": st.sampled_from(["permit", "deny", "deny!", "defer"]), "tool": TOOL,
        "condition": OPTIONAL(CONDITION), "notify": OPTIONAL(PLAIN), "reason": OPTIONAL(PLAIN)}),
    "budget": st.fixed_dictionaries({
        "id": OPTIONAL(IDENT), "max": AMOUNT, "daily": OPTIONAL(AMOUNT),
        "warn_at": OPTIONAL(st.integers(1, 100).map(lambda n: str(Decimal(n) / 100))),
        "on_exceed": st.sampled_from(["deny", "defer"])}),
    "provider": st.fixed_dictionaries({
        "name": st.from_regex(r"[a-z0-9_][a-z0-9_.-]{0,15}", fullmatch=True),
        "type": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True), "source": OPTIONAL(SAFE_QUOTES),
        "setting1_key": st.just("addr"), "setting1_value": SAFE_QUOTES,
        "setting2_key": st.just("token"), "setting2_value": IDENT, "setting2_env": st.just("on"),
        "setting3_key": st.just(""), "setting3_value": st.just("")}),
    "pack": st.fixed_dictionaries({
        "kind": st.sampled_from(["policies", "providers"]),
        "name": st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}(/[a-z0-9][a-z0-9_.-]{0,10}){0,2}", fullmatch=True),
        "version": st.from_regex(r"[0-9][0-9A-Za-z.+_-]{0,12}", fullmatch=True), "alias": OPTIONAL(IDENT)}),
    "trust": st.fixed_dictionaries({
        "public_key": st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())}),
    "webhooks": st.fixed_dictionaries({
        "url": st.from_regex(r"https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9._~%&=/-]{0,20})?", fullmatch=True),
        "events": st.lists(st.sampled_from(["permit", "deny", "defer"]), min_size=1, unique=True),
        "timeout_ms": OPTIONAL(st.integers(1, 60000).map(str))}),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)).flatmap(lambda b: st.tuples(st.just(b), VALID[b])))
def test_any_valid_form_input_parses_back_to_the_same_values(case: tuple[str, dict[str, Any]]) -> None:
    block, fields = case
    check_round_trip(block, fields)


ANY_BASE: dict[str, dict[str, Any]] = {
    "rule": {"effect": "defer", "tool": "x"}, "runtime": {"cloud_url": "https://a.example"},
    "provider": {"name": "p", "type": "t", "setting1_key": "k"}, "agent": {"id": "a"}, "budget": {"max": "5"},
    "pack": {"kind": "policies", "name": "a/b", "version": "1"}, "trust": {"public_key": KEY32},
    "webhooks": {"url": "https://h.example", "events": ["deny"]}}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(ANY_BASE)).flatmap(lambda b: st.tuples(
    st.just(b), st.dictionaries(st.sampled_from([s.name for s in BLOCKS[b].fields]), st.text(max_size=30),
                                max_size=4))))
def test_any_input_is_refused_or_reads_back(case: tuple[str, dict[str, str]]) -> None:
    """Arbitrary text in any field of any block: a SnippetError naming a field, or a snippet that reads back."""
    block, raw = case
    try:
        check_round_trip(block, {**ANY_BASE[block], **raw})
    except SnippetError as err:
        assert err.field in {s.name for s in BLOCKS[block].fields}


def test_amounts_are_written_as_money_and_read_back_exactly() -> None:
    text = generate("budget", {"max": "1.5", "daily": "2000", "warn_at": "0.80"}).text
    assert text == "budget session {\n  max $1.50\n  daily $2000\n  warn_at 0.8\n  on_exceed deny\n}"
    b = strict("budget", text).agents[0].budgets[0]
    assert (b.max_usd, b.daily_usd, b.warn_at) == (1.5, 2000.0, 0.8)


def test_values_that_change_which_agent_is_enforced_are_warned_about() -> None:
    late = generate("agent", {"id": "support-bot"})
    assert len(late.warnings) == 1 and '"support-bot" sorts after "default"' in late.warnings[0]
    assert generate("agent", {"id": "app-agent"}).warnings == ()
    assert "framework pack brings agent" in generate(
        "pack", {"kind": "frameworks", "name": "langgraph", "version": "1.0.0"}).warnings[0]
    assert generate("pack", {"kind": "policies", "name": "faramesh/stripe", "version": "1.0.0"}).warnings == ()
    assert generate("rule", {"effect": "permit", "tool": "*"}).warnings
    assert generate("rule", {"effect": "permit", "tool": "*", "condition": "amount < 5"}).warnings == ()
