"""Permissions (``scope:resource:action``), the five roles and the role table of the spec.

The spec (Settings → Members) grants:

* **Owner**: full access.
* **Admin**: everything except billing and SSO.
* **Operator**: approvals, audit, compliance, kill/isolate (and the fleet views those
  actions start from: an agent is killed from its Fleet detail page).
* **Auditor**: read-only on audit and compliance; can download reports and signed exports,
  and share them (auditor share links: the spec's Compliance section, "Auditor downloads and
  shares").
* **Viewer**: fleet health only.

Permissions are either *stack-scoped* (fleet, approvals, audit, compliance: they concern one
stack's agents and records) or *organisation-scoped* (settings, members, keys, billing, SSO,
the registry). A per-stack role override replaces the organisation role for the
stack-scoped permissions on that stack only, in either direction: ``viewer`` on an org of
operators isolates a stack; ``operator`` on that stack lets a viewer act there. The
override ``none`` hides the stack from the member entirely.

Choices the spec leaves open, made here and tested: the platform audit log (Settings) is
readable and exportable by Owner, Admin and Auditor ("read-only on audit"); registry browsing
is part of every role except Viewer and Auditor, whose grants the spec lists exhaustively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Permission(StrEnum):
    # Fleet (stack-scoped)
    FLEET_HEALTH_READ = "fleet:health:read"
    FLEET_STACK_READ = "fleet:stack:read"
    FLEET_AGENT_KILL = "fleet:agent:kill"
    FLEET_AGENT_ISOLATE = "fleet:agent:isolate"
    # Approvals (stack-scoped)
    APPROVALS_REQUEST_READ = "approvals:request:read"
    APPROVALS_REQUEST_DECIDE = "approvals:request:decide"
    APPROVALS_ROUTING_MANAGE = "approvals:routing:manage"
    # Audit: the DPR explorer (stack-scoped)
    AUDIT_RECORD_READ = "audit:record:read"
    AUDIT_RECORD_EXPORT = "audit:record:export"
    AUDIT_CHAIN_READ = "audit:chain:read"
    AUDIT_ALERT_ACKNOWLEDGE = "audit:alert:acknowledge"
    # Compliance (stack-scoped)
    COMPLIANCE_REPORT_READ = "compliance:report:read"
    COMPLIANCE_REPORT_DOWNLOAD = "compliance:report:download"
    COMPLIANCE_REPORT_GENERATE = "compliance:report:generate"
    COMPLIANCE_SHARE_MANAGE = "compliance:share:manage"
    # Registry (organisation-scoped)
    REGISTRY_ARTIFACT_READ = "registry:artifact:read"
    REGISTRY_ARTIFACT_PUBLISH = "registry:artifact:publish"
    REGISTRY_TRUST_MANAGE = "registry:trust:manage"  # the keys the organisation trusts (Owner, Admin)
    # Settings (organisation-scoped)
    ORG_SETTINGS_READ = "org:settings:read"
    ORG_SETTINGS_MANAGE = "org:settings:manage"
    ORG_MEMBER_READ = "org:member:read"
    ORG_MEMBER_MANAGE = "org:member:manage"
    ORG_APIKEY_MANAGE = "org:apikey:manage"
    ORG_STACK_MANAGE = "org:stack:manage"
    ORG_INTEGRATION_MANAGE = "org:integration:manage"
    ORG_RETENTION_MANAGE = "org:retention:manage"
    ORG_BILLING_READ = "org:billing:read"
    ORG_BILLING_MANAGE = "org:billing:manage"
    ORG_SSO_MANAGE = "org:sso:manage"
    ORG_AUDITLOG_READ = "org:auditlog:read"
    ORG_AUDITLOG_EXPORT = "org:auditlog:export"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# What a per-stack override may say: a role for that stack, or no access to it at all.
class StackRole(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    VIEWER = "viewer"
    NONE = "none"


P = Permission

STACK_SCOPES: Final = frozenset({"fleet", "approvals", "audit", "compliance"})

_BILLING_AND_SSO: Final = frozenset({P.ORG_BILLING_READ, P.ORG_BILLING_MANAGE, P.ORG_SSO_MANAGE})

ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = MappingProxyType({
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - _BILLING_AND_SSO,
    Role.OPERATOR: frozenset({
        P.FLEET_HEALTH_READ, P.FLEET_STACK_READ, P.FLEET_AGENT_KILL, P.FLEET_AGENT_ISOLATE,
        P.APPROVALS_REQUEST_READ, P.APPROVALS_REQUEST_DECIDE, P.APPROVALS_ROUTING_MANAGE,
        P.AUDIT_RECORD_READ, P.AUDIT_RECORD_EXPORT, P.AUDIT_CHAIN_READ, P.AUDIT_ALERT_ACKNOWLEDGE,
        P.COMPLIANCE_REPORT_READ, P.COMPLIANCE_REPORT_DOWNLOAD, P.COMPLIANCE_REPORT_GENERATE,
        P.COMPLIANCE_SHARE_MANAGE,
        P.REGISTRY_ARTIFACT_READ,
    }),
    Role.AUDITOR: frozenset({
        P.AUDIT_RECORD_READ, P.AUDIT_RECORD_EXPORT, P.AUDIT_CHAIN_READ,
        P.COMPLIANCE_REPORT_READ, P.COMPLIANCE_REPORT_DOWNLOAD, P.COMPLIANCE_SHARE_MANAGE,
        P.ORG_AUDITLOG_READ, P.ORG_AUDITLOG_EXPORT,
    }),
    Role.VIEWER: frozenset({P.FLEET_HEALTH_READ}),
})

_STACK_ROLE_PERMISSIONS: Final[Mapping[StackRole, frozenset[Permission]]] = MappingProxyType({
    StackRole.ADMIN: ROLE_PERMISSIONS[Role.ADMIN],
    StackRole.OPERATOR: ROLE_PERMISSIONS[Role.OPERATOR],
    StackRole.AUDITOR: ROLE_PERMISSIONS[Role.AUDITOR],
    StackRole.VIEWER: ROLE_PERMISSIONS[Role.VIEWER],
    StackRole.NONE: frozenset(),
})

# Higher rank = more power; used to refuse granting more than one holds.
ROLE_RANK: Final[Mapping[Role, int]] = MappingProxyType({
    Role.OWNER: 5, Role.ADMIN: 4, Role.OPERATOR: 3, Role.AUDITOR: 2, Role.VIEWER: 1,
})


def is_stack_scoped(permission: Permission) -> bool:
    return permission.value.split(":", 1)[0] in STACK_SCOPES


def role_permissions(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


@dataclass(frozen=True, slots=True)
class Access:
    """What one member (or API key) may do in one organisation.

    ``stack_roles`` maps stack ids to overrides; other stacks follow the organisation role.
    """

    role: Role
    stack_roles: Mapping[str, StackRole] = field(default_factory=dict)

    def allows(self, permission: Permission, stack_id: str | None = None) -> bool:
        """Whether ``permission`` is granted: on ``stack_id`` when given (overrides apply to
        stack-scoped permissions), else organisation-wide by the organisation role."""
        if stack_id is not None and is_stack_scoped(permission):
            override = self.stack_roles.get(str(stack_id))
            if override is not None:
                return permission in _STACK_ROLE_PERMISSIONS[override]
        return permission in ROLE_PERMISSIONS[self.role]

    def allows_anywhere(self, permission: Permission) -> bool:
        """Granted organisation-wide or on at least one stack by an override (whether a
        section belongs in this member's navigation)."""
        if self.allows(permission):
            return True
        return is_stack_scoped(permission) and any(
            permission in _STACK_ROLE_PERMISSIONS[r] for r in self.stack_roles.values()
        )

    def stacks_with(self, permission: Permission, stack_ids: Iterable[str]) -> list[str]:
        """The stacks among ``stack_ids`` on which ``permission`` is granted (what a
        cross-stack list view such as the approvals queue may show)."""
        return [s for s in stack_ids if self.allows(permission, str(s))]

    def permissions(self, stack_id: str | None = None) -> frozenset[Permission]:
        return frozenset(p for p in Permission if self.allows(p, stack_id))

    def may_grant(self, role: Role) -> bool:
        """Only an owner grants or takes away Owner; nobody grants more than they hold."""
        if role is Role.OWNER:
            return self.role is Role.OWNER
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
