"""What the stack store hands out: plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class StackError(ValueError):
    """A stack or key operation cannot be done as asked; the message says what to do."""


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
