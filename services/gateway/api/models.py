"""Request and response bodies of the REST API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, Strict, StrictBool

from faramesh_cloud.identity.domain import ApiKey, Invitation, Member
from faramesh_cloud.identity.groups import Group
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.platform_audit.chain import AuditEntry, ChainReport

# Request bodies take JSON types as they are: ``"enabled": 0`` is not a boolean and
# ``"overlap_s": false`` not a number (pydantic's lax mode would take both).
StrictNumber = Annotated[float, Strict()]  # a JSON number (an integer too), never a boolean or a string


class OrgOut(BaseModel):
    id: str
    slug: str
    name: str


class MembershipOut(BaseModel):
    org: OrgOut
    role: Role


class MeOut(BaseModel):
    kind: str = Field(description="'user' (session) or 'api_key'")
    id: str
    label: str
    memberships: list[MembershipOut]
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token on writes made with the session cookie")


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    source: str
    joined_at: datetime
    stack_roles: dict[str, StackRole]

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return cls(user_id=m.user.user_id, email=m.user.email, name=m.user.name, role=m.role, source=m.source,
                   joined_at=m.joined_at, stack_roles=dict(m.stack_roles))


class RoleIn(BaseModel):
    role: Role


class StackRoleIn(BaseModel):
    role: StackRole


class InvitationIn(BaseModel):
    email: str
    role: Role


class InvitationOut(BaseModel):
    id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    state: str
    link: str | None = Field(None, description="only in the answer to the POST that created it")

    @classmethod
    def of(cls, i: Invitation, now: datetime, link: str | None = None) -> InvitationOut:
        return cls(id=i.invitation_id, email=i.email, role=i.role, created_at=i.created_at, expires_at=i.expires_at,
                   state=i.state(now), link=link)


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    key: str | None = Field(None, description="the plaintext key: only in the answer to the POST that created it")

    @classmethod
    def of(cls, k: ApiKey, plaintext: str | None = None) -> ApiKeyOut:
        return cls(id=k.key_id, name=k.name, role=k.role, prefix=k.prefix, created_at=k.created_at,
                   last_used_at=k.last_used_at, revoked_at=k.revoked_at, key=plaintext)


class OrgIn(BaseModel):
    name: str
    slug: str


class SsoIn(BaseModel):
    enabled: StrictBool
    issuer: str = ""
    client_id: str = ""
    client_secret: str | None = Field(None, description="omit to keep the stored secret")
    scopes: str = "openid email profile"
    role_claim: str = "groups"
    default_role: Role | None = None
    mappings: dict[str, Role] = Field(default_factory=dict, description="claim value -> role")


class SsoOut(BaseModel):
    enabled: bool
    issuer: str
    client_id: str
    has_client_secret: bool
    scopes: str
    role_claim: str
    default_role: Role | None
    mappings: dict[str, Role]
    redirect_uri: str


class AuditEntryOut(BaseModel):
    seq: int
    event_id: str
    occurred_at: datetime
    action: str
    actor: dict[str, str]
    target: dict[str, str]
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(seq=e.seq, event_id=e.event_id, occurred_at=e.occurred_at, action=e.action,
                   actor={"type": str(e.actor.type), "id": e.actor.id, "label": e.actor.label, "ip": e.actor.ip},
                   target={"type": e.target.type, "id": e.target.id}, details=dict(e.details),
                   prev_hash=e.prev_hash, entry_hash=e.entry_hash)


class ChainReportOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str | None
    problems: list[str]

    @classmethod
    def of(cls, r: ChainReport) -> ChainReportOut:
        return cls(ok=r.ok, entries=r.entries, head_seq=r.last_seq, head_hash=r.head_hash, problems=r.problems)


class GroupMemberOut(BaseModel):
    user_id: str
    email: str
    sources: list[str]


class GroupOut(BaseModel):
    group_id: str
    name: str
    description: str
    created_at: datetime
    members: list[GroupMemberOut]
    sso_groups: list[str]

    @classmethod
    def of(cls, g: Group) -> GroupOut:
        return cls(group_id=g.group_id, name=g.name, description=g.description, created_at=g.created_at,
                   members=[GroupMemberOut(user_id=m.user_id, email=m.email, sources=list(m.sources))
                            for m in g.members], sso_groups=list(g.sso_claims))


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)


class GroupMemberIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=100)


class GroupSsoIn(BaseModel):
    sso_groups: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(max_length=50)
