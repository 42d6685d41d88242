"""What the platform audit log records (pure): actions, who did them, to what.

Actions are ``scope:resource:action`` strings. :class:`AuditAction` names the ones this
code base emits today; other components may append their own (``approvals:request:decide``
from the approvals service, say) as long as they follow the pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

ACTION_PATTERN: Final = re.compile(r"^[a-z][a-z_]*:[a-z][a-z_]*:[a-z][a-z_]*$")


class AuditAction(StrEnum):
    # Sign-in
    SESSION_LOGIN = "identity:session:login"
    SESSION_LOGIN_FAILED = "identity:session:login_failed"
    SESSION_LOCKED_OUT = "identity:session:locked_out"
    SESSION_LOGOUT = "identity:session:logout"
    # People and roles
    ORG_CREATED = "org:org:create"
    MEMBER_ADDED = "identity:member:add"
    MEMBER_ROLE_CHANGED = "identity:member:role_change"
    MEMBER_REMOVED = "identity:member:remove"
    STACK_OVERRIDE_SET = "identity:stack_override:set"
    STACK_OVERRIDE_REMOVED = "identity:stack_override:remove"
    INVITATION_CREATED = "identity:invitation:create"
    INVITATION_ACCEPTED = "identity:invitation:accept"
    INVITATION_REVOKED = "identity:invitation:revoke"
    GROUP_CREATED = "identity:group:create"
    GROUP_DELETED = "identity:group:delete"
    GROUP_MEMBER_ADDED = "identity:group_member:add"
    GROUP_MEMBER_REMOVED = "identity:group_member:remove"
    GROUP_SSO_MAPPING_CHANGED = "identity:group_sso_mapping:update"
    # Platform API keys
    API_KEY_CREATED = "identity:apikey:create"
    API_KEY_REVOKED = "identity:apikey:revoke"
    # Settings
    ORG_SETTINGS_CHANGED = "org:settings:update"
    SSO_SETTINGS_CHANGED = "org:sso:update"
    SSO_MAPPING_CHANGED = "org:sso_mapping:update"
    # Stacks (Settings → Stacks)
    STACK_REGISTERED = "fleet:stack:register"
    STACK_DEREGISTERED = "fleet:stack:deregister"
    STACK_KEY_ROTATED = "fleet:stack_key:rotate"
    STACK_KEY_REVOKED = "fleet:stack_key:revoke"
    STACK_SIGNING_KEY_PINNED = "fleet:stack_signing_key:pin"
    STACK_SIGNING_KEY_UNPINNED = "fleet:stack_signing_key:unpin"
    STACK_WEBHOOK_SECRET_SET = "fleet:stack_webhook_secret:set"
    WAL_IMPORTED = "audit:record:import"  # a daemon WAL file backfilled (faramesh-cloud import-wal)
    WAL_CORRUPTION_FOUND = "audit:wal:corruption_found"  # an import met a corrupt frame before a WAL's end
    # Later sections
    APPROVAL_DECIDED = "approvals:request:decide"
    AGENT_KILL_ISSUED = "fleet:agent:kill"
    AGENT_ISOLATE_ISSUED = "fleet:agent:isolate"
    # The log itself
    AUDIT_LOG_EXPORTED = "org:auditlog:export"
    AUDIT_LOG_VERIFIED = "org:auditlog:verify"
    DPR_EXPORTED = "audit:record:export"  # a DPR search exported as a signed bundle
    ALERT_ACKNOWLEDGED = "audit:alert:acknowledge"  # a chain-integrity alert acknowledged with a note
    FINDING_RETRACTED = "audit:finding:retract"  # a verifier fix found earlier findings do not hold
    RETENTION_SET = "audit:retention:set"  # how long DPRs stay (org or stack) set or cleared
    LEGAL_HOLD_SET = "audit:legal_hold:set"  # a stack's deletion suspended
    LEGAL_HOLD_RELEASED = "audit:legal_hold:release"
    RETENTION_SWEPT = "audit:retention:sweep"  # retention removed an organisation's old partitions


class ActorType(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a user (id = user id, label = email), an API key (id = key id, label =
    key name), the system, or an anonymous caller (a failed sign-in)."""

    type: ActorType
    id: str
    label: str
    ip: str = ""

    @classmethod
    def system(cls, label: str = "faramesh-cloud") -> Actor:
        return cls(ActorType.SYSTEM, "", label)


@dataclass(frozen=True, slots=True)
class Target:
    """What the action was about (``("member", user_id)``, ``("api_key", key_id)``, ...)."""

    type: str
    id: str


NO_TARGET: Final = Target("", "")


def check_action(action: str) -> str:
    if ACTION_PATTERN.match(action) is None:
        raise ValueError(f"audit action {action!r} must look like scope:resource:action (lower case)")
    return str(action)
