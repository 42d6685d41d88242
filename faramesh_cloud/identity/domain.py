"""What the identity stores hand out: plain immutable values, and their errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from faramesh_cloud.identity.permissions import Access, Role, StackRole
from faramesh_cloud.platform_audit.events import Actor, ActorType


class IdentityError(ValueError):
    """An identity operation cannot be done as asked; the message says what to do next."""


class NotFound(IdentityError):
    """No such thing in this organisation (also when it exists in another one)."""


class Forbidden(IdentityError):
    """The caller may not do this; the message names the permission or rule."""


class LoginLocked(IdentityError):
    """Too many failed sign-ins for this email from this address."""

    def __init__(self, message: str, locked_until: datetime) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True, slots=True)
class OrgRef:
    org_id: str
    slug: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.org_id, "slug": self.slug, "name": self.name}


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    email: str
    name: str
    created_at: datetime
    has_password: bool

    @property
    def display(self) -> str:
        return self.name or self.email


@dataclass(frozen=True, slots=True)
class Member:
    org_id: str
    user: User
    role: Role
    source: str
    joined_at: datetime
    stack_roles: Mapping[str, StackRole] = field(default_factory=dict)

    @property
    def access(self) -> Access:
        return Access(self.role, dict(self.stack_roles))


@dataclass(frozen=True, slots=True)
class Membership:
    """One organisation a user belongs to (the org switcher)."""

    org: OrgRef
    role: Role


@dataclass(frozen=True, slots=True)
class Invitation:
    invitation_id: str
    org_id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "pending"


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    org_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    auth_method: str
    created_at: datetime
    expires_at: datetime


class PrincipalKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"  # the operator of the installation at its console (``faramesh-cloud`` CLI)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, in which organisation, allowed to do what. Built by the gateway from
    a session cookie or an API key, per request."""

    kind: PrincipalKind
    org: OrgRef
    access: Access
    subject_id: str  # user id or API key id
    label: str  # email or key name
    ip: str = ""
    user: User | None = None

    @property
    def actor(self) -> Actor:
        kind = {PrincipalKind.USER: ActorType.USER, PrincipalKind.API_KEY: ActorType.API_KEY,
                PrincipalKind.SYSTEM: ActorType.SYSTEM}[self.kind]
        return Actor(kind, self.subject_id, self.label, self.ip)
