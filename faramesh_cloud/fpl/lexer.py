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
    dline: int = 0  # the line as the daemon's lexer counts it (it skips newlines inside strings)


class FplSyntaxError(Exception):
    """Something the daemon's lexer or parser rejects; `line` is 1-based in the source."""

    def __init__(self, line: int, message: str, dline: int = 0, char: str = "") -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.char = char  # the character the lexer rejected, if that is the error
        self.dline = dline or line  # the line number the daemon's own message gives


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
    dline = 1  # the daemon does not count a newline inside a string
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if ch == "\n":
            line += 1
            dline += 1
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            while i < n and src[i] != "\n":
                i += 1
        elif ch == "=":
            if nxt == "=":
                out.append(Token(Kind.IDENT, "==", line, dline=dline))
                i += 2
            else:
                out.append(Token(Kind.EQ, "=", line, dline=dline))
                i += 1
        elif ch == "!" and nxt == "=":
            out.append(Token(Kind.IDENT, "!=", line, dline=dline))
            i += 2
        elif ch == "!" and (nxt == "" or nxt in " \t\n\r"):
            out.append(Token(Kind.BANG, "!", line, dline=dline))
            i += 1
        elif ch == "!":
            j = i
            while j < n and is_ident_cont(src[j]):
                j += 1
            if j == i:  # "!" followed by a character no identifier continues with
                j = i + 1
            out.append(Token(Kind.IDENT, src[i:j], line, dline=dline))
            i = j
        elif ch in "<>":
            if nxt == "=":
                out.append(Token(Kind.IDENT, ch + "=", line, dline=dline))
                i += 2
            else:
                out.append(Token(Kind.IDENT, ch, line, dline=dline))
                i += 1
        elif ch in "\"'":
            start_line, start_dline = line, dline
            j = i + 1
            while j < n and src[j] != ch:
                if src[j] == "\\":
                    j += 1
                if j < n and src[j] == "\n":
                    line += 1
                j += 1
            if j >= n:
                raise FplSyntaxError(start_line, "unterminated string", start_dline)
            out.append(Token(Kind.STRING, src[i + 1 : j], start_line, ch, start_dline))
            i = j + 1
        elif (ch.isascii() and ch.isdigit()) or (ch == "-" and nxt.isascii() and nxt.isdigit()):
            j = i + 1
            while j < n and src[j].isascii() and (src[j].isdigit() or src[j] == "."):
                j += 1
            out.append(Token(Kind.NUMBER, src[i:j], line, dline=dline))
            i = j
        elif ch in _SINGLE:
            out.append(Token(_SINGLE[ch], ch, line, dline=dline))
            i += 1
        elif is_ident_start(ch):
            j = i
            while j < n and is_ident_cont(src[j]):
                j += 1
            out.append(Token(Kind.IDENT, src[i:j], line, dline=dline))
            i = j
        else:
            raise FplSyntaxError(line, f"unexpected character {go_quote_byte(ch)}", dline, ch)
    out.append(Token(Kind.EOF, "", line, dline=dline))
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


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """`text` quoted as Go's `%q` / strconv.Quote writes it (the daemon's error messages)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable() and not (0xD800 <= code <= 0xDFFF):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def go_quote_byte(ch: str) -> str:
    """How the daemon's byte-wise lexer names a character it rejects: `%q` of `string(byte)`,
    i.e. the first UTF-8 byte of `ch` read as a code point."""
    first = ch.encode("utf-8", "surrogatepass")[0]
    return go_quote(chr(first))
