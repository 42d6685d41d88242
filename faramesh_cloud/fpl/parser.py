"""A tolerant parser of governance.fms with line numbers, following the daemon's
`fpl.ParseDocument` (FPL.md §2-§9): what it accepts, and how it reads rules and conditions.

`parse(text) -> Document` never raises: a lexer or parser error becomes a `parse_error`
Finding in `Document.errors` (the daemon would reject the whole file) and parsing resumes
at the next top-level item, so the rest can still be shown. Conditions the daemon reads
differently from what was written are recorded on the rule (`Rule.misreads`).
"""

from __future__ import annotations

from .lexer import FplSyntaxError, Kind, Token, tokenize
from .model import (
    CLAUSE_KEYWORDS,
    EFFECTS,
    NETWORK_CLAUSES,
    TOP_LEVEL_KEYWORDS,
    UNIT_SUFFIXES,
    Agent,
    Budget,
    Document,
    FieldBlock,
    Finding,
    Import,
    Item,
    Rule,
    System,
)

_EXPR_TAIL_OPERATORS = frozenset(
    {"and", "or", "not", "&&", "||", "==", "!=", "<", "<=", ">", ">=", "in", "matches",
     "contains", "startsWith", "endsWith", "(", ","}
)
_AGENT_GENERIC_BLOCKS = frozenset(
    {"delegate", "ambient", "selector", "credential", "egress", "model_policy", "session",
     "spawn", "completion_gate", "enforcement", "alert"}
)
_BLOCK_KEYS = frozenset(
    {"scope", "max_scope", "backend", "path", "ttl", "source", "cache", "on_unavailable",
     "on_timeout", "ceiling", "allow", "deny", "max_duration", "idle_timeout", "max_concurrent",
     "require", "on", "notify", "max_customers_per_day", "max_calls_per_day", "max_data_volume",
     "on_exceed", "mcp_proxy_port"}
)
_MAX_LEX_REPAIRS = 50


def parse(text: str) -> Document:
    """Parse governance.fms text; never raises (errors are `parse_error` findings)."""
    doc = Document(end_line=text.count("\n") + 1)
    tokens = _lex_tolerant(text, doc)
    _Parser(tokens, doc).document()
    return doc


def parse_rules_line(text: str) -> list[Rule]:
    """Parse `text` as the body of a `rules { }` block (used to re-check snippets)."""
    doc = parse("agent _ {\nrules {\n" + text + "\n}\n}\n")
    if doc.errors:
        raise FplSyntaxError(doc.errors[0].line - 2, doc.errors[0].message)
    return doc.agents[0].rules


def _lex_tolerant(text: str, doc: Document) -> list[Token]:
    src = text
    for _ in range(_MAX_LEX_REPAIRS):
        try:
            return tokenize(src)
        except FplSyntaxError as err:
            doc.errors.append(Finding("parse_error", err.line, err.message))
            if err.message == "unterminated string":
                # drop the rest of that line so parsing can go on
                lines = src.split("\n")
                lines[err.line - 1] = ""
                src = "\n".join(lines)
                continue
            lines = src.split("\n")
            lines[err.line - 1] = lines[err.line - 1].replace(err.char, " ", 1)
            src = "\n".join(lines)
    return [Token(Kind.EOF, "", doc.end_line)]


class _Parser:
    def __init__(self, tokens: list[Token], doc: Document) -> None:
        self.t = tokens
        self.pos = 0
        self.doc = doc

    # ── token helpers ────────────────────────────────────────────────────────────
    def peek(self, ahead: int = 0) -> Token:
        i = min(self.pos + ahead, len(self.t) - 1)
        return self.t[i]

    def next(self) -> Token:
        tok = self.peek()
        if tok.kind is not Kind.EOF:
            self.pos += 1
        return tok

    def expect(self, kind: Kind) -> Token:
        tok = self.next()
        if tok.kind is not kind:
            raise FplSyntaxError(tok.line, f"expected {kind.value}, got {tok.val!r}")
        return tok

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
        raise FplSyntaxError(tok.line, f"expected string or identifier, got {tok.val!r}")

    def skip_equals(self) -> None:
        if self.peek().kind is Kind.EQ:
            self.next()

    def number(self, what: str) -> float:
        tok = self.next()
        try:
            return float(tok.val)
        except ValueError:
            raise FplSyntaxError(tok.line, f"{what}: expected number, got {tok.val!r}") from None

    # ── top level ────────────────────────────────────────────────────────────────
    def document(self) -> None:
        while self.peek().kind is not Kind.EOF:
            start = self.pos
            try:
                self.top_item()
            except FplSyntaxError as err:
                self.doc.errors.append(Finding("parse_error", err.line, err.message))
                self.recover(start)

    def recover(self, start: int) -> None:
        """Skip to the next top-level keyword outside any braces after the failed item."""
        self.pos = start + 1
        depth = 0
        while self.peek().kind is not Kind.EOF:
            tok = self.peek()
            if tok.kind is Kind.LBRACE:
                depth += 1
            elif tok.kind is Kind.RBRACE:
                depth = max(0, depth - 1)
            elif depth == 0 and tok.kind is Kind.IDENT and tok.val in TOP_LEVEL_KEYWORDS:
                return
            self.pos += 1

    def top_item(self) -> None:
        tok = self.peek()
        if tok.kind is not Kind.IDENT:
            raise FplSyntaxError(tok.line, f"unexpected token {tok.val!r}")
        kw = tok.val
        if kw == "import":
            self.next()
            try:
                ref = self.string_or_ident()
            except FplSyntaxError:
                raise FplSyntaxError(tok.line, "import: expected registry reference string") from None
            if "@latest" in ref:
                raise FplSyntaxError(
                    tok.line, "import: version specifier @latest not permitted; use pinned version"
                )
            imp = Import(ref=ref, line=tok.line)
            if self.peek_ident() == "as":
                self.next()
                imp.alias = self.string_or_ident()
            self.doc.imports.append(imp)
        elif kw == "runtime":
            self.next()
            self.expect(Kind.LBRACE)
            self.doc.runtime = FieldBlock("runtime", "", tok.line, self.config_fields())
            self.expect(Kind.RBRACE)
        elif kw in ("provider", "identity"):
            self.next()
            name = self.string_or_ident()
            self.expect(Kind.LBRACE)
            block = FieldBlock(kw, name, tok.line, self.config_fields())
            self.expect(Kind.RBRACE)
            (self.doc.providers if kw == "provider" else self.doc.identities).append(block)
        elif kw == "trust":
            self.next()
            self.expect(Kind.LBRACE)
            lines: list[tuple[int, str]] = []
            while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
                line = self.peek().line
                lines.append((line, self.collect_line()))
            self.expect(Kind.RBRACE)
            self.doc.trust, self.doc.trust_line = lines, tok.line
        elif kw == "agent":
            self.doc.agents.append(self.agent())
        elif kw == "system":
            self.doc.systems.append(self.system())
        elif kw == "manifest":
            self.doc.manifests.append((tok.line, self.collect_line()))
        elif kw in EFFECTS:
            self.doc.flat_rules.append(self.rule())
        else:
            raise FplSyntaxError(tok.line, f"unexpected keyword {kw!r}")

    def collect_line(self) -> str:
        line = self.peek().line
        parts: list[str] = []
        while self.peek().kind is not Kind.EOF and self.peek().line == line:
            parts.append(self.next().val)
        return " ".join(parts)

    def config_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            key = self.peek()
            if key.kind is not Kind.IDENT:
                raise FplSyntaxError(key.line, "expected field name in block")
            self.next()
            self.skip_equals()
            val = self.peek()
            if val.kind in (Kind.STRING, Kind.NUMBER):
                out[key.val] = self.next().val
            elif val.kind is Kind.DOLLAR:
                self.next()
                if self.peek().kind is not Kind.NUMBER:
                    raise FplSyntaxError(val.line, "expected amount after $")
                out[key.val] = self.next().val
            elif val.kind is Kind.IDENT:
                self.next()
                if val.val == "env":
                    self.expect(Kind.LPAREN)
                    name = self.next()
                    if name.kind is not Kind.STRING or not name.val:
                        raise FplSyntaxError(name.line, "env(): expected a quoted variable name")
                    self.expect(Kind.RPAREN)
                    out[key.val] = f"env({name.val})"
                else:
                    out[key.val] = val.val
            else:
                raise FplSyntaxError(val.line, f"field {key.val!r}: unexpected value token {val.val!r}")
        return out

    # ── rules ────────────────────────────────────────────────────────────────────
    def rule(self) -> Rule:
        eff = self.next()
        effect = eff.val
        if effect == "deny" and self.peek().kind is Kind.BANG:
            self.next()
            effect = "deny!"
        try:
            tool = self.string_or_ident()
        except FplSyntaxError as err:
            raise FplSyntaxError(eff.line, f"rule tool: {err.message}") from None
        rule = Rule(effect_word=effect, tool=tool, line=eff.line)
        while self.peek().kind is not Kind.EOF:
            kw = self.peek_ident()
            if kw == "when":
                when = self.next()
                start_line = self.peek().line
                cond, stop, parts = self.until_keyword()
                rule.condition = cond
                _check_condition(rule, when, start_line, cond, parts, stop)
            elif kw in ("notify", "reason"):
                self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                setattr(rule, kw, self.string_or_ident())
            elif kw in NETWORK_CLAUSES:
                clause = self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                value, _, parts = self.until_keyword()
                if not rule.misreads and parts and parts[0] in _EXPR_TAIL_OPERATORS:
                    rule.misreads.append(
                        f"`{clause.val} {value}` was read as a `{clause.val}` network clause, "
                        f"not as a condition on `{clause.val}` (it is a clause keyword; write "
                        f"`args.{clause.val}`)"
                    )
                if kw in ("query", "header", "headers"):
                    key, sep, val = value.strip().partition("=")
                    if not sep or not key.strip() or not val.strip():
                        raise FplSyntaxError(clause.line, f"{kw} clause: expected key=value")
                    rule.network[f"{kw}:{key.strip()}"] = val.strip()
                else:
                    rule.network[kw] = value.strip()
            else:
                break
        return rule

    def until_keyword(self) -> tuple[str, Token, list[str]]:
        start_line = self.peek().line
        parts: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind in (Kind.EOF, Kind.LBRACE, Kind.RBRACE):
                break
            if tok.kind is Kind.IDENT and (
                tok.val in CLAUSE_KEYWORDS
                or (tok.val in EFFECTS and tok.line != start_line)
                or tok.val in TOP_LEVEL_KEYWORDS - frozenset(EFFECTS)
            ):
                break
            self.next()
            parts.append(f'"{tok.val}"' if tok.kind is Kind.STRING else tok.val)
        return _format_expr(parts), self.peek(), parts

    # ── agent ────────────────────────────────────────────────────────────────────
    def agent(self) -> Agent:
        head = self.next()
        ag = Agent(id=self.string_or_ident(), line=head.line)
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            tok = self.peek()
            kw = self.peek_ident()
            if kw in ("default", "model", "framework", "version"):
                self.next()
                setattr(ag, kw, self.string_or_ident())
                if kw == "default":
                    ag.default_line = tok.line
            elif kw == "var":
                self.next()
                name = self.string_or_ident()
                if self.peek().kind is Kind.DOLLAR:
                    self.next()
                ag.vars[name] = self.string_or_ident()
                ag.items.append(Item("var", name, tok.line))
            elif kw == "budget":
                ag.budgets.append(self.budget())
            elif kw == "phase":
                ag.items.append(self.phase())
            elif kw == "rules":
                self.next()
                self.expect(Kind.LBRACE)
                while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
                    ag.rules.append(self.rule())
                close = self.expect(Kind.RBRACE)
                ag.rules_blocks.append((tok.line, close.line))
            elif kw == "rate_limit":
                self.next()
                pattern = self.string_or_ident()
                if self.peek().kind is not Kind.COLON:
                    raise FplSyntaxError(tok.line, "rate_limit: expected ':' after pattern")
                self.next()
                limit = self.next()
                if limit.kind is not Kind.NUMBER or not limit.val.lstrip("-").isdigit():
                    raise FplSyntaxError(tok.line, f"rate_limit: invalid limit {limit.val!r}")
                if self.peek_ident() != "per":
                    raise FplSyntaxError(tok.line, "rate_limit: expected 'per <window>'")
                self.next()
                window = self.string_or_ident()
                ag.items.append(Item("rate_limit", pattern, tok.line, {"limit": limit.val, "window": window}))
            elif kw == "redact":
                self.next()
                target = self.string_or_ident()
                if self.peek_ident() != "args":
                    raise FplSyntaxError(tok.line, "redact: expected 'args:'")
                self.next()
                if self.peek().kind is Kind.COLON:
                    self.next()
                ag.items.append(Item("redact", target, tok.line, {"args": self.string_list()}))
            elif kw in _AGENT_GENERIC_BLOCKS:
                ag.items.append(self.generic_block())
            elif kw in EFFECTS:
                ag.rules.append(self.rule())
            else:
                raise FplSyntaxError(tok.line, f"unexpected keyword {kw or tok.val!r} in agent block")
        close = self.expect(Kind.RBRACE)
        ag.end_line = close.line
        return ag

    def string_list(self) -> str:
        self.expect(Kind.LBRACKET)
        items: list[str] = []
        while self.peek().kind is not Kind.RBRACKET:
            tok = self.next()
            if tok.kind is Kind.EOF:
                raise FplSyntaxError(tok.line, "unterminated list")
            if tok.kind is Kind.IDENT and tok.val == ",":
                continue
            if tok.kind not in (Kind.STRING, Kind.IDENT, Kind.NUMBER):
                raise FplSyntaxError(tok.line, f"unexpected {tok.val!r} in list")
            items.append(tok.val.strip(","))
        self.next()
        return ",".join(items)

    def generic_block(self) -> Item:
        head = self.next()
        ident = ""
        if self.peek().kind is not Kind.LBRACE:
            ident = self.string_or_ident()
        self.expect(Kind.LBRACE)
        item = Item(head.val, ident, head.line)
        depth = 1
        current_line = -1
        key = ""
        while depth:
            tok = self.next()
            if tok.kind is Kind.EOF:
                raise FplSyntaxError(tok.line, f"{head.val}: missing '}}'")
            if tok.kind is Kind.LBRACE:
                depth += 1
            elif tok.kind is Kind.RBRACE:
                depth -= 1
            elif depth == 1 and (tok.line != current_line or (tok.kind is Kind.IDENT and tok.val in _BLOCK_KEYS)):
                current_line, key = tok.line, tok.val
                item.fields.setdefault(key, "")
            elif depth == 1 and tok.kind is not Kind.EQ:
                item.fields[key] = (item.fields[key] + " " + tok.val).strip()
        return item

    def budget(self) -> Budget:
        head = self.next()
        bud = Budget(id=self.string_or_ident(), line=head.line)
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            tok = self.peek()
            kw = self.peek_ident()
            self.next()
            if kw in ("max", "daily"):
                if self.peek().kind is Kind.DOLLAR:
                    self.next()
                setattr(bud, "max_usd" if kw == "max" else "daily_usd", self.number(kw))
            elif kw == "max_calls":
                val = self.next()
                if not val.val.lstrip("-").isdigit():
                    raise FplSyntaxError(val.line, f"max_calls: invalid {val.val!r}")
                bud.max_calls = int(val.val)
            elif kw == "on_exceed":
                bud.on_exceed = self.string_or_ident()
            elif kw == "warn_at":
                self.skip_equals()
                bud.warn_at = self.number("warn_at")
            else:
                raise FplSyntaxError(tok.line, f"unexpected keyword {kw or tok.val!r} in budget block")
        self.expect(Kind.RBRACE)
        return bud

    def phase(self) -> Item:
        head = self.next()
        item = Item("phase", self.string_or_ident(), head.line)
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            tok = self.peek()
            kw = self.peek_ident()
            if kw in EFFECTS:
                item.rules.append(self.rule())
            elif kw in ("duration", "next"):
                self.next()
                item.fields[kw] = self.string_or_ident()
            else:
                raise FplSyntaxError(tok.line, f"unexpected keyword {kw or tok.val!r} in phase block")
        self.expect(Kind.RBRACE)
        return item

    def system(self) -> System:
        head = self.next()
        sysb = System(id=self.string_or_ident(), line=head.line)
        self.expect(Kind.LBRACE)
        while self.peek().kind not in (Kind.RBRACE, Kind.EOF):
            tok = self.peek()
            kw = self.peek_ident()
            if kw in ("version", "on_policy_load_failure", "kill_switch_default"):
                self.next()
                sysb.fields[kw] = self.string_or_ident()
            elif kw == "max_output_bytes":
                self.next()
                val = self.next()
                if not val.val.lstrip("-").isdigit():
                    raise FplSyntaxError(val.line, f"max_output_bytes: invalid {val.val!r}")
                sysb.fields[kw] = val.val
            else:
                raise FplSyntaxError(tok.line, f"unexpected keyword {kw or tok.val!r} in system block")
        self.expect(Kind.RBRACE)
        return sysb


def _format_expr(parts: list[str]) -> str:
    """Re-join condition tokens the way the daemon does (`formatExprParts`)."""
    out = ""
    for i, part in enumerate(parts):
        if i == 0:
            out = part
            continue
        prev = parts[i - 1]
        if part in ("(", ")", ","):
            out += part
        elif part == "=" and prev == "=":
            continue
        elif prev == "(":
            out += part
        else:
            out += " " + part
    return out


def _check_condition(
    rule: Rule, when: Token, start_line: int, cond: str, parts: list[str], stop: Token
) -> None:
    """Record on `rule` why the daemon reads this `when` differently from what was written."""
    stop_kw = stop.val if stop.kind is Kind.IDENT else ""
    if stop_kw in NETWORK_CLAUSES and (not parts or parts[-1] in _EXPR_TAIL_OPERATORS):
        rule.misreads.append(
            f"the condition stops at `{stop_kw}`, a clause keyword: the daemon reads the "
            f"condition as {f'`{cond}`' if cond else 'empty'} and the rest as a `{stop_kw}` "
            f"network clause (write `args.{stop_kw}`)"
        )
    elif not parts:
        rule.misreads.append("`when` with an empty condition: the rule applies unconditionally")
    elif stop_kw in TOP_LEVEL_KEYWORDS - frozenset(EFFECTS) and stop.line == start_line:
        rule.misreads.append(f"the condition stops at `{stop_kw}`, a top-level keyword")
    if "$" in parts:
        rule.misreads.append(
            "`$` inside a condition becomes `$ N`, an expression compile error: the daemon "
            "fails to load the whole policy (write `args.amount > N`)"
        )
    absorbed = [p for p in parts if p in EFFECTS]
    if absorbed:
        rule.misreads.append(
            f"`{absorbed[0]}` on the same line was swallowed into the condition (an effect "
            "keyword ends a condition only on a later line)"
        )
    if any(p.startswith(("session.sum", "selectors.")) for p in parts):
        rule.misreads.append(
            "`session.sum(...)` / `selectors.*` are documented in fpl-lang but not valid in the "
            "daemon's expression environment: the policy fails to load"
        )
    del when
