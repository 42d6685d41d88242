"""The role table against the spec's Members table (Settings → Members)."""

from __future__ import annotations

import re

import pytest

from faramesh_cloud.identity.permissions import (
    ROLE_PERMISSIONS,
    Access,
    Permission,
    Role,
    StackRole,
    is_stack_scoped,
)

P = Permission
STACK = "7d1f3f0e-6f43-4b8e-9f0c-3c1f1a2b3c4d"
OTHER = "0b5e2c39-3a7f-4d0e-8f5e-1d2c3b4a5f6e"


def perms(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def test_permissions_are_scope_resource_action() -> None:
    for p in Permission:
        assert re.fullmatch(r"[a-z]+:[a-z_]+:[a-z_]+", p.value), p


def test_owner_has_full_access() -> None:
    assert perms(Role.OWNER) == frozenset(Permission)


def test_admin_has_everything_but_billing_and_sso() -> None:
    missing = frozenset(Permission) - perms(Role.ADMIN)
    assert missing == {P.ORG_BILLING_READ, P.ORG_BILLING_MANAGE, P.ORG_SSO_MANAGE}


def test_operator_approves_audits_reports_and_kills_but_manages_nothing() -> None:
    operator = perms(Role.OPERATOR)
    assert {P.APPROVALS_REQUEST_DECIDE, P.AUDIT_RECORD_READ, P.COMPLIANCE_REPORT_GENERATE,
            P.FLEET_AGENT_KILL, P.FLEET_AGENT_ISOLATE} <= operator
    assert not {p for p in operator if p.value.startswith("org:")}


def test_auditor_is_read_only_on_audit_and_compliance_and_downloads_and_shares_reports() -> None:
    auditor = perms(Role.AUDITOR)
    # the spec's Members table: "Auditor downloads and shares" (issue #14: auditor share links)
    assert {P.AUDIT_RECORD_READ, P.COMPLIANCE_REPORT_READ, P.COMPLIANCE_REPORT_DOWNLOAD,
            P.COMPLIANCE_SHARE_MANAGE} <= auditor
    writes = {P.APPROVALS_REQUEST_DECIDE, P.FLEET_AGENT_KILL, P.FLEET_AGENT_ISOLATE, P.COMPLIANCE_REPORT_GENERATE,
              P.ORG_MEMBER_MANAGE, P.ORG_SETTINGS_MANAGE, P.ORG_APIKEY_MANAGE}
    assert not auditor & writes
    assert not {p for p in auditor if p.value.split(":")[0] in ("fleet", "approvals", "registry")}


def test_viewer_sees_fleet_health_only() -> None:
    assert perms(Role.VIEWER) == {P.FLEET_HEALTH_READ}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.OPERATOR])
def test_kill_and_isolate_belong_to_owner_admin_operator(role: Role) -> None:
    assert {P.FLEET_AGENT_KILL, P.FLEET_AGENT_ISOLATE} <= perms(role)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.VIEWER])
def test_kill_and_isolate_are_denied_to_auditor_viewer(role: Role) -> None:
    assert not {P.FLEET_AGENT_KILL, P.FLEET_AGENT_ISOLATE} & perms(role)


def test_roles_are_ordered_by_what_they_grant() -> None:
    assert perms(Role.VIEWER) < perms(Role.OPERATOR) < perms(Role.ADMIN) < perms(Role.OWNER)
    assert perms(Role.AUDITOR) < perms(Role.ADMIN)


def test_stack_override_elevates_only_on_that_stack_and_only_stack_permissions() -> None:
    access = Access(Role.VIEWER, {STACK: StackRole.OPERATOR})
    assert access.allows(P.APPROVALS_REQUEST_DECIDE, STACK)
    assert not access.allows(P.APPROVALS_REQUEST_DECIDE, OTHER)
    assert not access.allows(P.APPROVALS_REQUEST_DECIDE)
    assert not access.allows(P.ORG_MEMBER_MANAGE, STACK)  # organisation settings never change
    assert access.allows_anywhere(P.APPROVALS_REQUEST_DECIDE)
    assert access.stacks_with(P.APPROVALS_REQUEST_DECIDE, [STACK, OTHER]) == [STACK]


def test_stack_override_restricts_for_cross_stack_isolation() -> None:
    access = Access(Role.OPERATOR, {STACK: StackRole.VIEWER, OTHER: StackRole.NONE})
    assert not access.allows(P.FLEET_AGENT_KILL, STACK)
    assert access.allows(P.FLEET_HEALTH_READ, STACK)
    assert not access.allows(P.FLEET_HEALTH_READ, OTHER)
    assert access.allows(P.FLEET_AGENT_KILL)  # organisation-wide role unchanged


def test_stack_scoped_permissions_are_the_four_stack_sections() -> None:
    scoped = {p.value.split(":")[0] for p in Permission if is_stack_scoped(p)}
    assert scoped == {"fleet", "approvals", "audit", "compliance"}


def test_nobody_grants_more_than_they_hold() -> None:
    assert Access(Role.OWNER).may_grant(Role.OWNER)
    assert not Access(Role.ADMIN).may_grant(Role.OWNER)
    assert Access(Role.ADMIN).may_grant(Role.ADMIN)
    assert not Access(Role.OPERATOR).may_grant(Role.ADMIN)
