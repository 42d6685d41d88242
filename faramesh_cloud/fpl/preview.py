"""What the registry shows and checks about FPL artifacts. Pure: text in, values out.

* `pack_preview(fpl)`: does the daemon parse it (its own error words and line if not), and its
  rules in order with effect, tool, condition, line and the agent they belong to, counted.
* `config_checklist(meta)`: a pack's `parameter_schema` / a provider's `config_schema` as rows.
* `import_line(kind, name, version)` / `framework_snippet(...)`: what a stack writes to use it.
* `parse_imports(governance_fms)`: the registry imports of an applied governance.fms, each
  with the problem the daemon would have with it (`@latest`, no pin, unknown kind).
* `check_submission(kind, fpl)`: what a publisher's pack or profile must pass before review.

Facts: `../shared/interop/FPL.md` §2-§7, `REGISTRY_PROTOCOL.md` §3, upstream
`internal/registry/artifact.go` (`ParseImport`), `internal/core/fpl/parser_stack.go`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .lexer import FplSyntaxError, Kind, Token, tokenize
from .model import EFFECTS
from .strict import DaemonParseError, StrictDocument, StrictRule, parse_strict

REGISTRY_HOST = "github.com/faramesh/faramesh-registry"
#: A pack or profile larger than this is refused at submission (the catalogue's are < 1 KiB).
MAX_SUBMISSION_BYTES = 256 * 1024
KIND_PLURAL = {"policy": "policies", "framework": "frameworks", "provider": "providers"}
KIND_SINGULAR = {plural: kind for kind, plural in KIND_PLURAL.items()}
_EXPR_WORDS = frozenset({"matches", "==", "!=", "<", "<=", ">", ">=", "in", "contains",
                         "startsWith", "endsWith", "and", "or", "not"})


@dataclass(frozen=True, slots=True)
class Problem:
    """`severity` 'error' (refused) or 'warning' (shown to the reviewer); `line` 0 = whole file."""

    code: str
    message: str
    line: int = 0
    severity: str = "error"


@dataclass(frozen=True, slots=True)
class RulePreview:
    index: int  # position among the pack's rules, in evaluation order
    effect: str  # permit | deny | defer, or the word as written when the daemon has no such effect
    effect_word: str  # as written (`deny!`, `allow`, ...)
    tool: str
    line: int
    agent: str  # the agent block it sits in; "" for a top-level (agent-less) rule
    condition: str = ""
    notify: str = ""
    reason: str = ""
    network: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def applies_to(self) -> str:
        return f"agent {self.agent}" if self.agent else "every agent (top-level rule)"


@dataclass(frozen=True, slots=True)
class AgentPreview:
    id: str
    line: int
    default: str
    framework: str
    rule_count: int


@dataclass(slots=True)
class PackPreview:
    parses: bool
    error: Problem | None = None
    rules: list[RulePreview] = field(default_factory=list)
    agents: list[AgentPreview] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)

    def count(self, effect: str) -> int:
        return sum(1 for r in self.rules if r.effect == effect)

    @property
    def permit(self) -> int:
        return self.count("permit")

    @property
    def deny(self) -> int:
        return self.count("deny")

    @property
    def defer(self) -> int:
        return self.count("defer")

    def summary(self) -> dict[str, list[str]]:
        """Tools per effect, in rule order: the shape of a meta.json `rules_summary`."""
        out: dict[str, list[str]] = {}
        for rule in self.rules:
            out.setdefault(rule.effect, []).append(rule.tool)
        return out


def pack_preview(fpl_text: str) -> PackPreview:
    """Parse as the daemon does and summarise; a text it rejects `parses=False` with its error."""
    try:
        doc = parse_strict(fpl_text)
    except DaemonParseError as err:
        return PackPreview(False, Problem("parse_error", _with_hint(err.message), err.line))
    return _preview(doc)


def _preview(doc: StrictDocument) -> PackPreview:
    rules: list[RulePreview] = []
    agents = []
    for agent in doc.agents:
        agents.append(AgentPreview(agent.id, agent.line, agent.default, agent.framework, len(agent.rules)))
        rules += [_rule(len(rules) + i, rule, agent.id) for i, rule in enumerate(agent.rules)]
    rules += [_rule(len(rules) + i, rule, "") for i, rule in enumerate(doc.flat_rules)]
    return PackPreview(True, None, rules, agents, [imp.ref for imp in doc.imports])


def _rule(index: int, rule: StrictRule, agent: str) -> RulePreview:
    notes = []
    if rule.effect not in EFFECTS:
        notes.append(f"`{rule.effect}` is no effect the daemon knows (permit, deny, deny!, defer, ...)")
    for clause, value in rule.network:
        words = value.split()
        if words and words[0] in _EXPR_WORDS:
            notes.append(f"`{clause} {value}` is read as a `{clause}` network clause, not a condition "
                         f"(`{clause}` is a clause keyword; write `args.{clause}`)")
    if "$" in rule.condition.split():
        notes.append("`$` in a condition makes the daemon fail to load the policy (write `args.amount > N`)")
    return RulePreview(index, EFFECTS.get(rule.effect, rule.effect), rule.effect, rule.tool, rule.line,
                       agent, rule.condition, rule.notify, rule.reason, rule.network, tuple(notes))


def _with_hint(message: str) -> str:
    if message.endswith('unexpected character "~"'):
        return message + " (`=~` is not FPL: write `matches \"regex\"`)"
    return message


# ── configuration checklist ───────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ConfigItem:
    name: str
    type: str
    required: bool
    default: Any = None
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not None


def config_checklist(meta: Mapping[str, Any]) -> list[ConfigItem]:
    """Rows from `parameter_schema` (packs) or `config_schema` (providers), required first.

    Accepts upstream's flat form (`{name: {type, required, default, description}}`) and a
    JSON-Schema object (`{type: object, properties: {...}, required: [...]}`)."""
    schema = meta.get("parameter_schema") or meta.get("config_schema") or {}
    if not isinstance(schema, Mapping):
        return []
    required_names: set[str] = set()
    if isinstance(schema.get("properties"), Mapping):
        required_names = {str(n) for n in schema.get("required") or [] if isinstance(n, str)}
        schema = schema["properties"]
    items = []
    for name, spec in schema.items():
        spec = spec if isinstance(spec, Mapping) else {}
        required = bool(spec.get("required")) or name in required_names
        items.append(ConfigItem(str(name), str(spec.get("type") or "any"), required, spec.get("default"),
                                str(spec.get("description") or "")))
    return sorted(items, key=lambda item: not item.required)  # stable: source order within each group


# ── import lines and snippets ─────────────────────────────────────────────────────


def import_line(kind: str, name: str, version: str, alias: str = "") -> str:
    """`import "github.com/faramesh/faramesh-registry/<kinds>/<name>@<version>" [as <alias>]`."""
    plural = KIND_PLURAL.get(kind, kind)
    if plural not in KIND_SINGULAR:
        raise ValueError(f"unknown kind {kind!r} (want policy, framework or provider)")
    for what, value in (("name", name), ("version", version), ("alias", alias)):
        if any(ch.isspace() or ch in "\"'@" for ch in value):
            raise ValueError(f"{what} {value!r} cannot be written in an import line")
    if not name or not version:
        raise ValueError("an import needs a name and a pinned version")
    if version.lower() == "latest":
        raise ValueError("@latest is not allowed: pin a version")
    line = f'import "{REGISTRY_HOST}/{plural}/{name}@{version}"'
    return f"{line} as {alias}" if alias else line


def framework_snippet(name: str, version: str, agent: str = "app-agent") -> str:
    """A governance.fms that imports framework profile `name` and declares its own agent.

    The daemon enforces only the agent whose name sorts first (FPL.md §4); a profile's agent
    is `default`, so the snippet's agent must sort before it or the profile's `permit *` wins."""
    if not agent or agent >= "default":
        raise ValueError(f"agent {agent!r} sorts after the profile's `default` agent, which would then "
                         "be the one enforced: choose a name that sorts before `default`")
    return (
        f"{import_line('framework', name, version)}\n\n"
        "# Only the agent whose name sorts first is enforced: keep yours before the profile's \"default\".\n"
        f'agent "{agent}" {{\n'
        "  default deny\n"
        "  rules {\n"
        "    # defer every side-effecting tool until reviewed, e.g.\n"
        "    # defer stripe/refund reason: \"refunds need approval\"\n"
        "  }\n"
        "}\n"
    )


# ── imports of an applied governance.fms ──────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ImportRef:
    kind: str  # policy | framework | provider ("" when the ref names no kind)
    name: str
    version: str
    line: int
    import_path: str  # the reference exactly as written
    alias: str = ""
    host: str = REGISTRY_HOST
    problem: str = ""  # the daemon's objection, "" when it would resolve this import

    @property
    def ok(self) -> bool:
        return not self.problem


def parse_imports(governance_fms_text: str) -> list[ImportRef]:
    """Every top-level `import` of the text, in order. Never raises: a ref the daemon refuses
    carries its `problem`; other errors in the file do not hide the imports around them."""
    out = []
    tokens = _tokens(governance_fms_text)
    depth = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind is Kind.LBRACE:
            depth += 1
        elif tok.kind is Kind.RBRACE:
            depth = max(0, depth - 1)
        elif depth == 0 and tok.kind is Kind.IDENT and tok.val == "import":
            ref_tok = tokens[i + 1] if i + 1 < len(tokens) else Token(Kind.EOF, "", tok.line)
            if ref_tok.kind not in (Kind.STRING, Kind.IDENT, Kind.NUMBER):
                out.append(ImportRef("", "", "", tok.line, "", problem="import: expected registry reference string"))
            else:
                i += 1
                alias = ""
                if i + 2 < len(tokens) and tokens[i + 1].kind is Kind.IDENT and tokens[i + 1].val == "as":
                    alias = tokens[i + 2].val
                    i += 2
                out.append(parse_import_ref(ref_tok.val, tok.line, alias))
        i += 1
    return out


def _tokens(text: str) -> list[Token]:
    """Tokens of `text`; a character the lexer rejects is blanked so the rest still lexes."""
    for _ in range(200):
        try:
            return tokenize(text)
        except FplSyntaxError as err:
            lines = text.split("\n")
            if err.char:
                lines[err.line - 1] = lines[err.line - 1].replace(err.char, " ", 1)
            else:  # unterminated string: drop the rest of the file from that line
                lines = lines[: err.line - 1]
            text = "\n".join(lines)
    return []


def parse_import_ref(ref: str, line: int = 0, alias: str = "") -> ImportRef:
    """One import reference read as the daemon reads it (parser, then `registry.ParseImport`)."""
    def bad(problem: str, kind: str = "", name: str = "", version: str = "") -> ImportRef:
        return ImportRef(kind, name, version, line, ref, alias, REGISTRY_HOST, problem)

    if "@latest" in ref:
        return bad("import: version specifier @latest not permitted; use pinned version (e.g. @1.0.0)")
    text = ref.strip().strip('"')
    if text.lower().endswith("@latest"):
        return bad(f'import "{text}": @latest is not allowed')
    at = text.rfind("@")
    if at <= 0:
        return bad(f'import "{text}": missing @version pin')
    version, path = text[at + 1 :].strip(), text[:at].strip()
    if not version or not path:
        return bad(f'import "{text}": invalid ref')
    host, rest = REGISTRY_HOST, path
    if path.startswith(REGISTRY_HOST + "/"):
        rest = path[len(REGISTRY_HOST) + 1 :]
    elif "://" in path:
        host, rest = path.split("://", 1)
        rest = rest[1:] if rest.startswith("/") else rest
    else:
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "github.com":
            host, rest = "/".join(parts[:3]), "/".join(parts[3:])
    segments = rest.split("/")
    if len(segments) >= 2 and "." in segments[0] and segments[0] != "github.com":
        host, segments = segments[0], segments[1:]
    if len(segments) < 2:
        return bad(f'import "{text}": expected <kind>/<name>', version=version)
    kind = KIND_SINGULAR.get(segments[0], "")
    if not kind:
        return bad(f'import "{text}": unknown kind "{segments[0]}" (want providers, policies, or frameworks)',
                   version=version)
    name = "/".join(segments[1:])
    if not name:
        return bad(f'import "{text}": missing artifact name', kind, version=version)
    return ImportRef(kind, name, version, line, ref, alias, host, "")


# ── submission checks ─────────────────────────────────────────────────────────────


def check_submission(kind: str, fpl_text: str | bytes, name: str = "") -> list[Problem]:
    """Problems with a publisher's pack (`policy`) or profile (`framework`) before review.

    Errors refuse the submission: not UTF-8, empty, too large, not parsed as FPL by the daemon
    (sniffed as JSON/YAML, lexer/parser error such as `=~`), a rule effect the daemon does not
    know, `$` in a condition (the policy would not load), no agent (a profile), nothing to enforce.
    Warnings are for the reviewer: more than one agent, an agent that would take over the
    importing stack (`default` sorts before most names), a condition read as a network clause,
    imports inside the pack (the daemon does not resolve them), a profile's `framework` field
    naming another framework."""
    plural = KIND_PLURAL.get(kind, kind)
    if plural not in ("policies", "frameworks"):
        return [Problem("kind", f"kind {kind!r} is not an FPL artifact (want policy or framework)")]
    if isinstance(fpl_text, bytes):
        if len(fpl_text) > MAX_SUBMISSION_BYTES:
            return [Problem("too_large", f"{len(fpl_text)} bytes is over the {MAX_SUBMISSION_BYTES}-byte limit")]
        try:
            fpl_text = fpl_text.decode("utf-8")
        except UnicodeDecodeError as err:
            return [Problem("encoding", f"not UTF-8 text (byte {err.start})")]
    size = len(fpl_text.encode("utf-8"))
    if size > MAX_SUBMISSION_BYTES:
        return [Problem("too_large", f"{size} bytes is over the {MAX_SUBMISSION_BYTES}-byte limit")]
    if "\x00" in fpl_text:
        return [Problem("encoding", "contains a NUL byte")]
    if not any(line.strip() and not line.strip().startswith("#") for line in fpl_text.splitlines()):
        return [Problem("empty", "the file is empty (or only comments): there is nothing to enforce")]
    sniffed = _sniff(fpl_text)
    problems = []
    if sniffed != "fpl":
        problems.append(Problem("not_fpl", f"the daemon reads a file starting like this as {sniffed}, "
                                           f"not FPL ({'`{`' if sniffed == 'JSON' else '`---`'} on the first line)"))
    preview = pack_preview(fpl_text)
    if not preview.parses:
        assert preview.error is not None
        return [*problems, preview.error]
    doc = parse_strict(fpl_text)
    problems += _rule_problems(preview)
    if not preview.rules and not doc.agents:
        problems.append(Problem("no_rules", "no agent and no rule: the pack would add nothing"))
    if plural == "frameworks" and not doc.agents:
        problems.append(Problem("no_agent", "a framework profile declares an agent (like the official "
                                            "profiles' `agent \"default\"`)"))
    problems += _agent_warnings(plural, name, doc)
    for imp in doc.imports:
        problems.append(Problem("nested_import", f"import {imp.ref!r} inside a pack is not resolved by the "
                                                 "daemon when the pack is imported", imp.line, "warning"))
    return problems


def _sniff(text: str) -> str:
    """governance/parse/detect.go `sniffSyntax`: the first non-blank, non-# line decides."""
    for raw in text.split("\n"):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            return "JSON"
        return "YAML" if line.strip() == "---" else "fpl"
    return "fpl"


def _rule_problems(preview: PackPreview) -> list[Problem]:
    out = []
    for rule in preview.rules:
        if rule.effect_word not in EFFECTS:
            out.append(Problem("unknown_effect", f"`{rule.effect_word} {rule.tool}`: `{rule.effect_word}` is "
                                                 "not an effect (permit, allow, approve, deny, deny!, block, "
                                                 "reject, defer)", rule.line))
        if "$" in rule.condition.split():
            out.append(Problem("dollar_in_condition", f"`when {rule.condition}`: `$` in a condition makes the "
                                                      "daemon fail to load the policy; write the number alone",
                               rule.line))
        for clause, value in rule.network:
            words = value.split()
            if words and words[0] in _EXPR_WORDS:
                out.append(Problem("condition_misread", f"`{clause} {value}` is read as a `{clause}` network "
                                                        f"clause, not a condition: write `when args.{clause} "
                                                        f"{value}`", rule.line, "warning"))
    return out


def _agent_warnings(plural: str, name: str, doc: StrictDocument) -> list[Problem]:
    out = []
    if len(doc.agents) > 1:
        out.append(Problem("several_agents", f"{len(doc.agents)} agents: the daemon enforces only the one whose "
                                             "name sorts first in the importing stack", doc.agents[1].line,
                           "warning"))
    for agent in doc.agents:
        if plural == "policies":
            out.append(Problem("agent_takeover", f"agent {agent.id!r}: its rules reach the daemon only if no "
                                                 "agent of the importing stack sorts before it, and then they "
                                                 "replace that stack's own agent", agent.line, "warning"))
        if plural == "frameworks" and name and agent.framework and agent.framework != name.split("/")[-1]:
            out.append(Problem("framework_mismatch", f"agent {agent.id!r} says framework {agent.framework!r} "
                                                     f"in profile {name!r}", agent.line, "warning"))
    return out
