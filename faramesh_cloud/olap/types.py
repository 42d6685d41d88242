"""ClickHouse type names, parsed into a small tree (``Array(Nullable(String))`` and so on).

Used by the chDB adapter to turn text results into Python values and to format bound
parameters the way the placeholder's declared type expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

_NAMED_ELEMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s+(\S.*)$", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")
_WRAPPERS = frozenset({"Nullable", "LowCardinality"})


@dataclass(frozen=True, slots=True)
class TypeNode:
    """One ClickHouse type: its name and arguments (nested types, or raw literals)."""

    name: str
    args: tuple[TypeNode | str, ...] = ()

    def type_args(self) -> list[TypeNode]:
        return [a for a in self.args if isinstance(a, TypeNode)]

    def literal_args(self) -> list[str]:
        return [a for a in self.args if isinstance(a, str)]

    def unwrapped(self) -> TypeNode:
        """The type without ``Nullable``/``LowCardinality`` wrappers."""
        node = self
        while node.name in _WRAPPERS and node.type_args():
            node = node.type_args()[0]
        return node

    def timezone(self, default: tzinfo) -> tzinfo:
        """For DateTime/DateTime64: the declared timezone, else ``default``."""
        for literal in self.literal_args():
            if literal[:1] == "'":
                name = literal.strip("'")
                return UTC if name in ("UTC", "Etc/UTC") else ZoneInfo(name)
        return default


def parse_type(text: str) -> TypeNode:
    """Parse a ClickHouse type name such as ``DateTime64(9, 'UTC')``."""
    text = text.strip()
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        return TypeNode(text)
    name = text[:open_at].strip()
    return TypeNode(name, tuple(_parse_arg(a) for a in _split_top_level(text[open_at + 1 : -1])))


def placeholder_types(sql: str) -> dict[str, TypeNode]:
    """The declared type of each ``{name:Type}`` placeholder in ``sql``."""
    return {m.group(1): parse_type(m.group(2)) for m in _PLACEHOLDER.finditer(sql)}


def _parse_arg(arg: str) -> TypeNode | str:
    arg = arg.strip()
    if not arg or arg[0] in "'\"`-" or arg[0].isdigit():
        return arg
    named = _NAMED_ELEMENT.match(arg)
    if named and "(" not in arg.split(None, 1)[0]:
        return parse_type(named.group(1))
    return parse_type(arg)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p for p in (part.strip() for part in parts) if p]
