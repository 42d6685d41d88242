"""FPL exactly as the daemon's `fpl.ParseDocument` accepts it: all or nothing.

`parse.py` is tolerant (it resumes after an error so that the rest of a governance.fms can be
shown). This module is the gate: `parse_strict(text)` accepts what the daemon's parser
(`internal/core/fpl/parser.go`, `parser_stack.go`, `parser_agent_ext.go`, `manifest_line.go`)
accepts, rejects what it rejects, and raises `DaemonParseError` whose `message` is the text the
daemon prints (`line 6: unexpected character "~"`, Go's `%q` quoting, its line numbering, even
its `expected 3` for a token kind). `line` is the line in the file (the daemon does not count a
newline inside a quoted string; its message keeps its own number).

It keeps what a rule preview needs: imports, agents with their rules, flat rules, each with the
line it starts on; and the values a generated snippet must read back as (Config Assistant):
runtime and provider fields as the daemon types them (`ConfigValue`), budgets, trust lines.
Pure: text in, values out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .lexer import FplSyntaxError, Kind, Token, go_quote, tokenize
from .model import UNIT_SUFFIXES

# The daemon's token kinds are Go iota constants without a String method: `expected %v`
# prints their number.
_GO_KIND = {Kind.IDENT: 0, Kind.STRING: 1, Kind.NUMBER: 2, Kind.LBRACE: 3, Kind.RBRACE: 4,
            Kind.LPAREN: 5, Kind.RPAREN: 6, Kind.EQ: 7, Kind.COLON: 8, Kind.BANG: 9,
            Kind.DOLLAR: 10, Kind.LBRACKET: 11, Kind.RBRACKET: 12, Kind.EOF: 13}
_EFFECT_WORDS = ("permit", "allow", "approve", "deny", "block", "reject", "defer", "deny!")
_CLAUSES = frozenset({"when", "notify", "reason", "host", "port", "method", "path", "query",
                      "header", "headers"})
_TOP_LEVEL = frozenset({"import", "runtime", "provider", "identity", "trust", "agent", "system",
                        "manifest", *_EFFECT_WORDS})
_CREDENTIAL_KEYS = frozenset({"scope", "max_scope", "backend", "path", "ttl"})
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = re.compile(r"[+-]?(?:inf|infinity|nan)", re.I)
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+")
_INT = re.compile(r"[+-]?\d+")
_INT64 = 2**63


class DaemonParseError(Exception):
    """The daemon rejects the text: `message` is its own words, `line` the line in the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """A runtime/provider/identity field value as the daemon types it (`fpl.ConfigValue`):
    kind `string`, `number`, `bool`, `ident` or `env` (text = the variable name)."""

    kind: str
    text: str
    number: float = 0.0


@dataclass(frozen=True, slots=True)
class StrictBudget:
    id: str
    max_usd: float | None = None
    daily_usd: float | None = None
    max_calls: int | None = None
    warn_at: float | None = None
    on_exceed: str = ""


@dataclass(frozen=True, slots=True)
class StrictRule:
    effect: str
    tool: str
    line: int
    condition: str = ""
    notify: str = ""
    reason: str = ""
    network: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class StrictAgent:
    id: str
    line: int
    default: str = ""
    framework: str = ""
    model: str = ""
    rules: list[StrictRule] = field(default_factory=list)
    budgets: list[StrictBudget] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StrictImport:
    ref: str
    line: int
    alias: str = ""


@dataclass(slots=True)
class StrictDocument:
    imports: list[StrictImport] = field(default_factory=list)
    agents: list[StrictAgent] = field(default_factory=list)
    flat_rules: list[StrictRule] = field(default_factory=list)
    has_runtime: bool = False
    providers: list[str] = field(default_factory=list)
    runtime: dict[str, ConfigValue] = field(default_factory=dict)  # the last runtime block
    provider_fields: dict[str, dict[str, ConfigValue]] = field(default_factory=dict)
    trust_lines: list[str] = field(default_factory=list)  # tokens re-joined with single spaces


class _Fail(Exception):
    """A daemon error message (`text`), raised at token `at` (for the file line)."""

    def __init__(self, text: str, at: Token) -> None:
        super().__init__(text)
        self.text = text
        self.at = at


def parse_strict(text: str) -> StrictDocument:
    """Parse `text` as the daemon does; raise DaemonParseError when it would refuse it."""
    try:
        tokens = tokenize(text)
    except FplSyntaxError as err:
        raise DaemonParseError(err.line, f"line {err.dline}: {err.message}") from None
    try:
        return _Strict(tokens).document()
    except _Fail as fail:
        raise DaemonParseError(fail.at.line, fail.text) from None


def go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64), None where Go returns an error."""
    if _DECIMAL.fullmatch(text) or _SPECIAL.fullmatch(text):
        value = float(text)
        if math.isinf(value) and not _SPECIAL.fullmatch(text):
            return None  # out of range
        return value
    if _HEX.fullmatch(text):
        return float.fromhex(text)
    return None


def go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64) (and Atoi on 64-bit), None where Go returns an error."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -_INT64 <= value < _INT64 else None


def _int_error(func: str, text: str) -> str:
    reason = "value out of range" if _INT.fullmatch(text) else "invalid syntax"
    return f"strconv.{func}: parsing {go_quote(text)}: {reason}"


class _Strict:
    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.pos = 0

    # ── helpers (the daemon's peek/next/expect/stringOrIdent) ─────────────────────
    def peek(self) -> Token:
        return self.t[self.pos]

    def next(self) -> Token:
        tok = self.t[self.pos]
        if tok.kind is not Kind.EOF:
            self.pos += 1
        return tok

    def fail(self, text: str, at: Token | None = None) -> _Fail:
        return _Fail(text, at or self.peek())

    def expect(self, kind: Kind) -> Token:
        tok = self.next()
        if tok.kind is not kind:
            raise self.fail(f"line {tok.dline}: expected {_GO_KIND[kind]}, got {go_quote(tok.val)}", tok)
        return tok

    def expect_ident(self, val: str) -> None:
        tok = self.next()
        if tok.kind is not Kind.IDENT or tok.val != val:
            raise self.fail(f"line {tok.dline}: expected {go_quote(val)}, got {go_quote(tok.val)}", tok)

    def peek_ident(self) -> str:
        tok = self.peek()
        return tok.val if tok.kind is Kind.IDENT else ""

    def string_or_ident(self) -> str:
        tok = self.peek()
        if tok.kind in (Kind.STRING, Kind.IDENT):
            self.next()
            return tok.val
        if tok.kind is Kind.NUMBER:
            self.next()
            unit = self.peek()
            if unit.kind is Kind.IDENT and unit.val.lower() in UNIT_SUFFIXES:
                self.next()
                return tok.val + unit.val
            return tok.val
        raise self.fail(f"line {tok.dline}: expected string or identifier, got {go_quote(tok.val)}", tok)

    def skip_equals(self) -> None:
        if self.peek().kind is Kind.EQ:
            self.next()

    def wrap(self, prefix: str, fail: _Fail) -> _Fail:
        return _Fail(f"{prefix}{fail.text}", fail.at)

    def block_end(self, what: str) -> None:
        try:
            self.expect(Kind.RBRACE)
        except _Fail as fail:
            raise self.wrap(what, fail) from None

    def collect_line(self) -> str:
        line = self.peek().dline
        parts: list[str] = []
        while self.peek().kind is not Kind.EOF and self.peek().dline == line:
            parts.append(self.next().val)
        return " ".join(parts)

    # ── top level ─────────────────────────────────────────────────────────────────
    def document(self) -> StrictDocument:
        doc = StrictDocument()
        while self.peek().kind is not Kind.EOF:
            tok = self.peek()
            if tok.kind is not Kind.IDENT:
                raise self.fail(f"line {tok.dline}: unexpected token {go_quote(tok.val)}")
            kw = tok.val
            if kw == "import":
                doc.imports.append(self.import_decl())
            elif kw == "runtime":
                self.next()
                self.expect(Kind.LBRACE)
                doc.runtime = self.config_fields()
                self.expect(Kind.RBRACE)
                doc.has_runtime = True
            elif kw in ("provider", "identity"):
                self.next()
                name = self.string_or_ident()
                self.expect(Kind.LBRACE)
                values = self.config_fields()
                self.expect(Kind.RBRACE)
                if kw == "provider":
                    doc.providers.append(name)
                    doc.provider_fields[name] = values
            elif kw == "trust":
                self.next()
                self.expect(Kind.LBRACE)
                while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
                    doc.trust_lines.append(self.collect_line())
                self.expect(Kind.RBRACE)
            elif kw == "agent":
                doc.agents.append(self.agent())
            elif kw == "system":
                self.system()
            elif kw == "manifest":
                self.manifest(tok)
            elif kw in _EFFECT_WORDS:
                doc.flat_rules.append(self.rule())
            else:
                raise self.fail(f"line {tok.dline}: unexpected keyword {go_quote(kw)}")
        return doc

    def import_decl(self) -> StrictImport:
        head = self.next()
        try:
            ref = self.string_or_ident()
        except _Fail:
            raise self.fail(f"line {head.dline}: import: expected registry reference string", head) from None
        if "@latest" in ref:
            raise self.fail(f"line {head.dline}: import: version specifier @latest not permitted; "
                            "use pinned version (e.g. @1.0.0)", head)
        alias = ""
        if self.peek().kind is Kind.IDENT and self.peek().val == "as":
            self.next()
            alias = self.string_or_ident()
        return StrictImport(ref, head.line, alias)

    def manifest(self, head: Token) -> None:
        line = self.collect_line().strip()
        if not line.startswith("manifest "):
            return
        problem = _manifest_problem(line.split())
        if problem:
            raise self.fail(f"{problem}: {go_quote(line)}", head)

    def config_fields(self) -> dict[str, ConfigValue]:
        out: dict[str, ConfigValue] = {}
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            key = self.peek()
            if key.kind is not Kind.IDENT:
                raise self.fail(f"line {key.dline}: expected field name in block", key)
            self.next()
            self.skip_equals()
            try:
                out[key.val] = self.config_value()
            except _Fail as fail:
                raise self.wrap(f"line {key.dline}: field {go_quote(key.val)}: ", fail) from None
        return out

    def config_value(self) -> ConfigValue:
        tok = self.peek()
        if tok.kind is Kind.STRING:
            self.next()
            return ConfigValue("string", tok.val)
        if tok.kind is Kind.NUMBER:
            number = go_parse_float(self.next().val)
            if number is None:
                raise self.fail(f"line {tok.dline}: invalid number", tok)
            return ConfigValue("number", tok.val, number)
        if tok.kind is Kind.DOLLAR:
            self.next()
            if self.peek().kind is not Kind.NUMBER:
                raise self.fail(f"line {tok.dline}: expected amount after $", tok)
            num = self.next()
            number = go_parse_float(num.val)
            if number is None:
                raise self.fail(f"strconv.ParseFloat: parsing {go_quote(num.val)}: invalid syntax", num)
            return ConfigValue("number", num.val, number)
        if tok.kind is Kind.IDENT:
            self.next()
            if tok.val == "env":
                return ConfigValue("env", self.env_call(tok))
            return ConfigValue("bool" if tok.val in ("true", "false") else "ident", tok.val)
        raise self.fail(f"line {tok.dline}: unexpected value token {go_quote(tok.val)}", tok)

    def env_call(self, head: Token) -> str:
        line = self.peek().dline
        if self.next().kind is not Kind.LPAREN:
            raise self.fail(f"line {line}: env: expected '('", head)
        if self.peek().kind is not Kind.STRING:
            raise self.fail(f"line {line}: env: expected variable name in quotes", head)
        name = self.next().val
        if self.next().kind is not Kind.RPAREN:
            raise self.fail(f"line {line}: env: expected ')'", head)
        if not name.strip():
            raise self.fail(f"line {line}: env: variable name must not be empty", head)
        return name

    # ── rules ────────────────────────────────────────────────────────────────────
    def rule(self) -> StrictRule:
        eff = self.next()
        effect = eff.val
        if effect == "deny" and self.peek().kind is Kind.BANG:
            self.next()
            effect = "deny!"
        try:
            tool = self.string_or_ident()
        except _Fail as fail:
            raise self.wrap(f"line {eff.dline}: rule tool: ", fail) from None
        condition = notify = reason = ""
        network: list[tuple[str, str]] = []
        while self.peek().kind is not Kind.EOF:
            kw = self.peek_ident()
            if kw == "when":
                self.next()
                condition = self.until_keyword()
            elif kw in ("notify", "reason"):
                self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                value = self.string_or_ident()
                if kw == "notify":
                    notify = value
                else:
                    reason = value
            elif kw in ("host", "port", "method", "path"):
                self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                network.append((kw, self.until_keyword().strip()))
            elif kw in ("query", "header", "headers"):
                self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                raw = self.until_keyword()
                key, sep, value = raw.strip().partition("=")
                problem = ("expected key=value" if not sep else "empty key" if not key.strip()
                           else "empty value" if not value.strip() else "")
                if problem:
                    name = "query" if kw == "query" else "header"
                    raise self.fail(f"line {self.peek().dline}: {name} clause: {problem}", eff)
                network.append(("query" if kw == "query" else "header", f"{key.strip()}={value.strip()}"))
            else:
                break
        return StrictRule(effect, tool, eff.line, condition, notify, reason, tuple(network))

    def until_keyword(self) -> str:
        start = self.peek().dline
        parts: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind in (Kind.EOF, Kind.LBRACE, Kind.RBRACE):
                break
            if tok.kind is Kind.IDENT and (
                tok.val in _CLAUSES or (tok.val in _EFFECT_WORDS and tok.dline != start)
                or tok.val in _TOP_LEVEL
            ):
                break
            self.next()
            parts.append(f'"{tok.val}"' if tok.kind is Kind.STRING else tok.val)
        return format_expr(parts)

    # ── agent and its blocks ──────────────────────────────────────────────────────
    def agent(self) -> StrictAgent:
        head = self.next()
        ag = StrictAgent(self.string_or_ident(), head.line)
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw in ("default", "model", "framework", "version"):
                self.next()
                value = self.string_or_ident()
                if kw == "default":
                    ag.default = value
                elif kw == "framework":
                    ag.framework = value
                elif kw == "model":
                    ag.model = value
            elif kw == "var":
                self.next()
                self.string_or_ident()
                self.var_value()
            elif kw == "budget":
                ag.budgets.append(self.budget())
            elif kw == "phase":
                self.phase()
            elif kw == "rules":
                self.next()
                self.expect(Kind.LBRACE)
                while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
                    ag.rules.append(self.rule())
                self.expect(Kind.RBRACE)
            elif kw == "delegate":
                self.keyed_block("delegate", ("scope", "ttl", "ceiling"), named=True)
            elif kw == "ambient":
                self.ambient()
            elif kw == "selector":
                self.keyed_block("selector", ("source", "cache", "on_unavailable", "on_timeout"), named=True)
            elif kw == "credential":
                self.credential()
            elif kw == "rate_limit":
                self.rate_limit()
            elif kw == "redact":
                self.redact()
            elif kw == "egress":
                self.egress()
            elif kw == "model_policy":
                self.model_policy()
            elif kw in ("session", "spawn", "enforcement", "alert"):
                self.next()
                self.expect(Kind.LBRACE)
                self.config_fields()
                self.expect(Kind.RBRACE)
            elif kw == "completion_gate":
                self.completion_gate()
            elif kw in _EFFECT_WORDS:
                ag.rules.append(self.rule())
            else:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in agent block")
        self.block_end(f"agent {ag.id}: ")
        return ag

    def var_value(self) -> None:
        tok = self.peek()
        if tok.kind in (Kind.STRING, Kind.NUMBER, Kind.IDENT):
            self.next()
        elif tok.kind is Kind.DOLLAR:
            self.next()
            self.next()
        else:
            raise self.fail(f"line {tok.dline}: expected value, got {go_quote(tok.val)}", tok)

    def keyed_block(self, kind: str, keys: tuple[str, ...], *, named: bool) -> None:
        self.expect_ident(kind)
        ident = self.string_or_ident() if named else ""
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw not in keys:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in {kind} block")
            self.next()
            self.string_or_ident()
        self.block_end(f"{kind} {ident}: ")

    def budget(self) -> StrictBudget:
        self.next()
        ident = self.string_or_ident()
        self.expect(Kind.LBRACE)
        amounts: dict[str, float] = {}  # max, daily, warn_at
        calls: int | None = None
        on_exceed = ""
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw in ("max", "daily"):
                self.next()
                if self.peek().kind is Kind.DOLLAR:
                    self.next()
                num = self.next()
                amount = go_parse_float(num.val)
                if amount is None:
                    raise self.fail(f"line {num.dline}: expected number, got {go_quote(num.val)}", num)
                amounts[kw] = amount
            elif kw == "max_calls":
                self.next()
                num = self.next()
                calls = go_parse_int(num.val)
                if calls is None:
                    raise self.fail(f"line {num.dline}: max_calls: {_int_error('ParseInt', num.val)}", num)
            elif kw == "on_exceed":
                self.next()
                on_exceed = self.string_or_ident()
            elif kw == "warn_at":
                self.next()
                self.skip_equals()
                num = self.next()
                warn = go_parse_float(num.val)
                if warn is None:
                    text = f"strconv.ParseFloat: parsing {go_quote(num.val)}: invalid syntax"
                    raise self.fail(f"line {num.dline}: warn_at: {text}", num)
                amounts[kw] = warn
            else:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in budget block")
        self.block_end(f"budget {ident}: ")
        return StrictBudget(ident, amounts.get("max"), amounts.get("daily"), calls, amounts.get("warn_at"), on_exceed)

    def phase(self) -> None:
        self.next()
        ident = self.string_or_ident()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw in _EFFECT_WORDS:
                self.rule()
            elif kw in ("duration", "next"):
                self.next()
                self.string_or_ident()
            else:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in phase block")
        self.block_end(f"phase {ident}: ")

    def ambient(self) -> None:
        self.next()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            if not self.peek_ident():
                raise self.fail(f"line {self.peek().dline}: unexpected token in ambient block")
            self.next()
            self.string_or_ident()
        self.expect(Kind.RBRACE)

    def credential(self) -> None:
        self.next()
        ident = self.string_or_ident()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw == "scope":
                self.next()
                while self.peek().kind in (Kind.IDENT, Kind.STRING):
                    if self.peek().kind is Kind.IDENT and self.peek().val in _CREDENTIAL_KEYS:
                        break
                    self.next()
            elif kw in ("max_scope", "backend", "path", "ttl"):
                self.next()
                self.string_or_ident()
            else:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in credential block")
        self.block_end(f"credential {ident}: ")

    def rate_limit(self) -> None:
        head = self.next()
        line = head.dline
        try:
            self.string_or_ident()
        except _Fail:
            raise self.fail(f"line {line}: rate_limit: expected tool pattern", head) from None
        if self.peek().kind is not Kind.COLON:
            raise self.fail(f"line {line}: rate_limit: expected ':' after pattern", head)
        self.next()
        limit = self.next()
        if go_parse_int(limit.val) is None:
            raise self.fail(f"line {line}: rate_limit: invalid limit {go_quote(limit.val)}", head)
        per = self.next()
        if per.kind is not Kind.IDENT or per.val != "per":
            raise self.fail(f"line {line}: rate_limit: expected 'per <window>'", head)
        self.string_or_ident()

    def redact(self) -> None:
        head = self.next()
        self.string_or_ident()
        args = self.next()
        if args.kind is not Kind.IDENT or args.val != "args":
            raise self.fail(f"line {head.dline}: redact: expected 'args:'", head)
        if self.peek().kind is Kind.COLON:
            self.next()
        try:
            self.string_list()
        except _Fail as fail:
            raise self.wrap(f"line {head.dline}: redact: ", fail) from None

    def egress(self) -> None:
        self.next()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            if self.peek().kind is not Kind.IDENT:
                raise self.fail(f"line {self.peek().dline}: expected field name in egress block")
            self.next()
            self.skip_equals()
            self.string_list()
        self.expect(Kind.RBRACE)

    def model_policy(self) -> None:
        self.next()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            self.expect_ident("allow")
            self.skip_equals()
            if self.peek().kind is Kind.LBRACKET:
                self.string_list()
            else:
                self.string_or_ident()
        self.expect(Kind.RBRACE)

    def completion_gate(self) -> None:
        self.next()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            if self.peek_ident() != "require":
                raise self.fail(f"line {self.peek().dline}: completion_gate: expected 'require <condition>'")
            self.next()
            self.string_or_ident()
        self.expect(Kind.RBRACE)

    def string_list(self) -> None:
        self.expect(Kind.LBRACKET)
        while self.peek().kind not in (Kind.RBRACKET, Kind.EOF):
            if self.peek().kind not in (Kind.STRING, Kind.IDENT):
                raise self.fail(f"line {self.peek().dline}: expected string in list")
            self.next()
            if self.peek().kind is Kind.IDENT and self.peek().val == ",":
                self.next()
        self.expect(Kind.RBRACKET)

    def system(self) -> None:
        self.next()
        ident = self.string_or_ident()
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            kw = self.peek_ident()
            if kw in ("version", "on_policy_load_failure", "kill_switch_default"):
                self.next()
                self.string_or_ident()
            elif kw == "max_output_bytes":
                self.next()
                num = self.next()
                if go_parse_int(num.val) is None:
                    raise self.fail(f"line {num.dline}: max_output_bytes: {_int_error('Atoi', num.val)}", num)
            else:
                raise self.fail(f"line {self.peek().dline}: unexpected keyword {go_quote(kw)} in system block")
        self.block_end(f"system {ident}: ")


def format_expr(parts: list[str]) -> str:
    """Condition tokens re-joined as the daemon does (`formatExprParts`)."""
    out = ""
    for i, part in enumerate(parts):
        if i == 0:
            out = part
        elif part in ("(", ")", ","):
            out += part
        elif part == "=" and parts[i - 1] == "=":
            continue
        elif parts[i - 1] == "(":
            out += part
        else:
            out += " " + part
    return out


_GRANT_USAGE = "manifest grant: want manifest grant <orch> to <target> max <n> [approval]"


def _manifest_problem(f: list[str]) -> str:
    """The daemon's `parseManifestLine` error for one `manifest …` line, or ''."""
    if len(f) < 2 or f[0] != "manifest":
        return "expected manifest line"
    if f[1] == "orchestrator":
        if len(f) != 5 or f[3] != "undeclared":
            return "manifest orchestrator: want manifest orchestrator <id> undeclared deny|defer"
        if f[4].lower() not in ("deny", "defer"):
            return "manifest orchestrator: undeclared policy must be deny or defer"
        return ""
    if f[1] == "grant":
        if len(f) not in (7, 8) or f[3] != "to" or f[5] != "max":
            return _GRANT_USAGE
        count = go_parse_int(f[6])
        if count is None or count < 0:
            return f"manifest grant: invalid max {go_quote(f[6])}"
        if len(f) == 8 and f[7].lower() != "approval":
            return "manifest grant: expected approval as final token"
        return ""
    return f"unknown manifest kind {go_quote(f[1])}"
