"""governance.fms as the daemon enforces it: parse, materialise, findings, coverage snippets."""

from .lexer import FplSyntaxError, is_bare_ident, tokenize
from .materialize import (
    DeclaredAgent,
    EnforcedBudget,
    EnforcedPolicy,
    EnforcedRule,
    materialize,
    split_ref,
)
from .model import Document, Finding, Rule
from .parser import parse, parse_rules_line
from .pathmatch import covers, match_tool, path_match

__all__ = [
    "DeclaredAgent",
    "Document",
    "EnforcedBudget",
    "EnforcedPolicy",
    "EnforcedRule",
    "Finding",
    "FplSyntaxError",
    "Rule",
    "covers",
    "is_bare_ident",
    "match_tool",
    "materialize",
    "parse",
    "parse_rules_line",
    "path_match",
    "split_ref",
    "tokenize",
]
