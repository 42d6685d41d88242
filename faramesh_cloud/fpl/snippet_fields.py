"""The Config Assistant's form fields and the checks that make every generated snippet read back
as written (FPL.md §2, §7; emit.go as `materialize` models it).

A field is validated on the server with the same rule the HTML form states (`pattern`,
`maxlength`, `required`, `min`/`max`); a failure is a `SnippetError` naming the field. The
quoting and condition helpers here encode what the daemon's lexer keeps verbatim:

* a string token is kept as written, backslashes included (nothing is unescaped), so a value is
  written inside `"…"` (or `'…'` when it holds a `"`) exactly when scanning it finds no early
  closing quote and no trailing lone backslash;
* rule `notify`/`reason` are re-written by `faramesh apply` with Go's `%q` (emit.go) and read
  back verbatim, so a `"` or `\\` in them would reach DPRs escaped: refused;
* Go's `%q` also escapes characters Go does not print (`strconv.IsPrint`: letters, marks,
  numbers, punctuation, symbols, ASCII space), so only those are accepted in any text field.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .lexer import FplSyntaxError, Kind, tokenize
from .model import CLAUSE_KEYWORDS, TOP_LEVEL_KEYWORDS
from .strict import format_expr


class SnippetError(ValueError):
    """A field the form cannot turn into a snippet: `field` is its name, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One form field. `pattern` is checked with `re.fullmatch` here and given to the browser as
    the HTML `pattern` attribute (written to compile under the `v` flag: `-` and `/` escaped)."""

    name: str
    label: str
    required: bool = False
    max_len: int = 200
    pattern: str = ""
    choices: tuple[str, ...] = ()  # a select (multi: checkboxes); "" in choices = "not set"
    default: str = ""
    help: str = ""
    multi: bool = False
    number: tuple[float, float, float] | None = None  # (min, max, step) for <input type=number>
    input_type: str = "text"
    placeholder: str = ""


ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
IDENT_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
AMOUNT = r"[0-9]{1,9}(\.[0-9]{1,2})?"


def printable(ch: str) -> bool:
    """Go's strconv.IsPrint: what `%q` writes as itself."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def clean(spec: FieldSpec, raw: str | list[str] | None) -> str | list[str]:
    """The field's value after the checks every field gets (the HTML attributes' rules)."""
    if spec.multi:
        values = raw if isinstance(raw, list) else [v for v in (raw or "").split(",")]
        picked = [v.strip() for v in values if v.strip()]
        for v in picked:
            if v not in spec.choices:
                raise SnippetError(spec.name, f"{v!r} is not one of {', '.join(spec.choices)}")
        if spec.required and not picked:
            raise SnippetError(spec.name, f"pick at least one of {', '.join(spec.choices)}")
        return list(dict.fromkeys(picked))
    if isinstance(raw, list):
        raise SnippetError(spec.name, "one value, not a list")
    value = (raw if raw is not None else spec.default).strip()
    if not value:
        if spec.required:
            raise SnippetError(spec.name, f"{spec.label} is required")
        return ""
    if len(value) > spec.max_len:
        raise SnippetError(spec.name, f"at most {spec.max_len} characters")
    bad = next((ch for ch in value if not printable(ch)), None)
    if bad is not None:
        raise SnippetError(spec.name, f"one line of printable characters (not U+{ord(bad):04X})")
    if spec.choices and value not in spec.choices:
        raise SnippetError(spec.name, f"one of {', '.join(c for c in spec.choices if c)}")
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        raise SnippetError(spec.name, spec.help or f"does not match {spec.pattern}")
    if spec.number is not None:
        low, high, _ = spec.number
        number = float(value)  # the pattern admitted only digits and a dot
        if not low <= number <= high:
            raise SnippetError(spec.name, f"between {low:g} and {high:g}")
    return value


def _verbatim(value: str, quote: str) -> bool:
    """The lexer, scanning `value` after an opening `quote`, stops exactly at its end."""
    i = 0
    while i < len(value):
        if value[i] == quote:
            return False
        i += 2 if value[i] == "\\" else 1
    return i == len(value)  # i > len: a trailing backslash would swallow the closing quote


def fpl_string(value: str, field: str) -> str:
    """`value` as a string token the daemon reads back unchanged."""
    for quote in ('"', "'"):
        if _verbatim(value, quote):
            return f"{quote}{value}{quote}"
    raise SnippetError(field, "cannot be written as an FPL string (it holds both quote characters, "
                              "or ends in a backslash)")


def plain_text(value: str, field: str) -> str:
    """A rule notify/reason: refused if `faramesh apply`'s Go quoting would change it."""
    for ch in ('"', "\\"):
        if ch in value:
            raise SnippetError(field, f"no {ch} here: `faramesh apply` re-writes this text with Go quoting, "
                                      f"so the daemon would record it escaped")
    return value


def condition(text: str, field: str = "condition") -> str:
    """The condition as the daemon re-joins it (`formatExprParts`), refused when the daemon would
    end it early, re-write it differently each time, or fail to load it (`$`)."""
    try:
        tokens = tokenize(text)[:-1]
    except FplSyntaxError as err:
        hint = " (=~ is not FPL: use matches)" if err.char == "~" else ""
        raise SnippetError(field, f"{err.message}{hint}") from None
    parts: list[str] = []
    for tok in tokens:
        if tok.kind is Kind.DOLLAR:
            raise SnippetError(field, "no $ in a condition (the daemon fails to load it): write args.amount > 500")
        if tok.kind in (Kind.LBRACE, Kind.RBRACE):
            raise SnippetError(field, "a brace ends the condition: remove it")
        if tok.kind is Kind.EQ:
            raise SnippetError(field, "a single = is not a comparison: write ==")
        if tok.kind is Kind.IDENT and tok.val in CLAUSE_KEYWORDS:
            raise SnippetError(field, f"{tok.val!r} is a rule clause keyword and would end the condition: "
                                      f"write args.{tok.val}")
        if tok.kind is Kind.IDENT and tok.val in TOP_LEVEL_KEYWORDS:
            raise SnippetError(field, f"{tok.val!r} is an FPL keyword and would end the condition")
        parts.append(f'"{tok.val}"' if tok.kind is Kind.STRING else tok.val)
    out = format_expr(parts)
    if condition_again(out) != out:
        raise SnippetError(field, "the daemon would not read this condition back as written")
    return out


def condition_again(text: str) -> str:
    try:
        toks = tokenize(text)[:-1]
    except FplSyntaxError:
        return ""
    return format_expr([f'"{t.val}"' if t.kind is Kind.STRING else t.val for t in toks])
