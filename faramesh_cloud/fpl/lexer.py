"""The governance.fms lexer, as the daemon's (FPL.md §2): tokens carry the line they start on.

Pure: text in, tokens out. A character the daemon's lexer rejects raises `FplSyntaxError`
with its line; the parser turns that into a `parse_error` finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    IDENT = "ident"
    STRING = "string"
    NUMBER = "number"
    LBRACE = "{"
    RBRACE = "}"
    LPAREN = "("
    RPAREN = ")"
    EQ = "="
    COLON = ":"
    BANG = "!"
    DOLLAR = "$"
    LBRACKET = "["
    RBRACKET = "]"
    EOF = "eof"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    val: str
    line: int
    quote: str = ""  # the quote character of a STRING token ('"' or "'")


class FplSyntaxError(Exception):
    """Something the daemon's lexer or parser rejects; `line` is 1-based in the source."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_[],/*+&|")
_IDENT_CONT = _IDENT_START | frozenset("0123456789-.!@%^")
_SINGLE = {
    "{": Kind.LBRACE,
    "}": Kind.RBRACE,
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ":": Kind.COLON,
    "$": Kind.DOLLAR,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
}


def is_ident_start(ch: str) -> bool:
    return ch in _IDENT_START


def is_ident_cont(ch: str) -> bool:
    return ch in _IDENT_CONT


def tokenize(src: str) -> list[Token]:
    """Tokens of `src` ending with an EOF token. Raises FplSyntaxError like the daemon's lexer.

    As in the daemon's lexer, `[`/`]` are their own tokens at the start of a token but
    continue an identifier (`a[b]` is one identifier); a string keeps its text verbatim (a backslash only skips the next character
    while scanning). Lines are counted in the file (a newline inside a string counts too).
    """
    out: list[Token] = []
    line = 1
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            while i < n and src[i] != "\n":
                i += 1
        elif ch == "=":
            if nxt == "=":
                out.append(Token(Kind.IDENT, "==", line))
                i += 2
            else:
                out.append(Token(Kind.EQ, "=", line))
                i += 1
        elif ch == "!" and nxt == "=":
            out.append(Token(Kind.IDENT, "!=", line))
            i += 2
        elif ch == "!" and (nxt == "" or nxt in " \t\n\r"):
            out.append(Token(Kind.BANG, "!", line))
            i += 1
        elif ch == "!":
            j = i
            while j < n and is_ident_cont(src[j]):
                j += 1
            if j == i:  # "!" followed by a character no identifier continues with
                j = i + 1
            out.append(Token(Kind.IDENT, src[i:j], line))
            i = j
        elif ch in "<>":
            if nxt == "=":
                out.append(Token(Kind.IDENT, ch + "=", line))
                i += 2
            else:
                out.append(Token(Kind.IDENT, ch, line))
                i += 1
        elif ch in "\"'":
            start_line = line
            j = i + 1
            while j < n and src[j] != ch:
                if src[j] == "\\":
                    j += 1
                if j < n and src[j] == "\n":
                    line += 1
                j += 1
            if j >= n:
                raise FplSyntaxError(start_line, "unterminated string")
            out.append(Token(Kind.STRING, src[i + 1 : j], start_line, ch))
            i = j + 1
        elif (ch.isascii() and ch.isdigit()) or (ch == "-" and nxt.isascii() and nxt.isdigit()):
            j = i + 1
            while j < n and src[j].isascii() and (src[j].isdigit() or src[j] == "."):
                j += 1
            out.append(Token(Kind.NUMBER, src[i:j], line))
            i = j
        elif ch in _SINGLE:
            out.append(Token(_SINGLE[ch], ch, line))
            i += 1
        elif is_ident_start(ch):
            j = i
            while j < n and is_ident_cont(src[j]):
                j += 1
            out.append(Token(Kind.IDENT, src[i:j], line))
            i = j
        else:
            raise FplSyntaxError(line, f"unexpected character {ch!r}")
    out.append(Token(Kind.EOF, "", line))
    return out


def is_bare_ident(text: str) -> bool:
    """True when `text` lexes as exactly one identifier token equal to itself."""
    if not text:
        return False
    try:
        toks = tokenize(text)
    except FplSyntaxError:
        return False
    return len(toks) == 2 and toks[0].kind is Kind.IDENT and toks[0].val == text
