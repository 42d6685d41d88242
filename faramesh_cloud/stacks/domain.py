"""What the stack store hands out: plain immutable values, and the stack-name rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final


class StackError(ValueError):
    """A stack or key operation cannot be done as asked; the message says what to do."""


# The one rule for a stack's name, wherever a stack is named (CLI, REST, the Settings form,
# the store): 1 to 64 ASCII letters, digits, '-', '_' and '.', starting with a letter or a
# digit. So a name is safe as a path segment, a file name and a command-line argument: no
# '/' or '\\', no spaces, never '.' or '..' or a hidden-file name, never read as an option.
STACK_NAME_MAX: Final = 64
STACK_NAME_PATTERN: Final = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
STACK_NAME_RULE: Final = ("1 to 64 letters, digits, '-', '_' and '.', starting with a letter or a digit "
                          "(e.g. payments-prod, eu.payments_2)")
_STACK_NAME: Final = re.compile(STACK_NAME_PATTERN)


def check_stack_name(name: str) -> str:
    """``name`` when it follows the stack-name rule; else ``StackError`` saying the rule."""
    if not name:
        raise StackError(f"give the stack a name: a stack name is {STACK_NAME_RULE}")
    if _STACK_NAME.fullmatch(name) is None:
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise StackError(f"{shown!r} is not a valid stack name: a stack name is {STACK_NAME_RULE}")
    return name


@dataclass(frozen=True, slots=True)
class Org:
    org_id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Stack:
    org_id: str
    stack_id: str
    name: str
    environment: str
    created_at: datetime
    last_seen_at: datetime | None
    deregistered_at: datetime | None

    @property
    def registered(self) -> bool:
        return self.deregistered_at is None


@dataclass(frozen=True, slots=True)
class StackKey:
    """A key's metadata (never its secret)."""

    key_id: str
    org_id: str
    stack_id: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StackIdentity:
    """Who is calling, as established from an API key alone (never from a message)."""

    org_id: str
    stack_id: str
    key_id: str
    key_expires_at: datetime | None
