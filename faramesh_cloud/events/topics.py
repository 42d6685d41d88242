"""Topics on the log: names, keys and header conventions every producer and consumer shares.

Every topic is versioned and keyed by stack (``"<org_id>/<stack_id>"``), so one stack's
events stay in order on one partition. Every record carries its tenant in headers
(``org``, ``stack``); consumers scope by them and never trust a body for tenancy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

# DPRs exactly as the daemon wrote them (the value is the raw Go-JSON record bytes).
DPR_RECORDS: Final = "dpr.records.v1"
# Decision summaries from the legacy Horizon feed (no hashes: stored as unverified).
LEGACY_DECISIONS: Final = "decisions.legacy.v1"
# Daemon -> Cloud sync items other than DPRs (value: the protobuf of the payload message;
# header ``kind`` names it): pending approvals, health, stack status, credential expiry,
# budget snapshots.
SYNC_ITEMS: Final = "sync.items.v1"
# Human and system actions on approvals (approve, deny, expire, withdraw).
APPROVAL_EVENTS: Final = "approvals.events.v1"
# Emergency commands (agent kill / isolate) and their acknowledgements.
EMERGENCY_COMMANDS: Final = "commands.emergency.v1"
# Damage a WAL import met that the records alone cannot show (a corrupt frame before the
# end of a daemon's WAL), for the audit index's chain-integrity findings
# (``faramesh_cloud.events.wal_problems``; value: JSON).
WAL_PROBLEMS: Final = "dpr.wal_problems.v1"
# The notifications service's events (``proto/faramesh_cloud_api/notifications/v1/events.proto``):
# routing changes people make, and what the service routed, queued, delivered or gave up
# on. Keyed ``"<org_id>/-"``: one organisation's events stay in commit order.
NOTIFICATION_EVENTS: Final = "notifications.events.v1"
# The audit index's chain-integrity alerts: raised, acknowledged by a person, retracted by
# a verifier fix (protobuf ``faramesh_cloud_api.audit_index.v1``; header ``kind`` names the
# message). Written through the index's outbox; read by notifications and by the index.
AUDIT_ALERTS: Final = "audit.alerts.v1"
# Retention policies set, legal holds, sweeps run with their signed chain checkpoints (JSON,
# services/audit_index/retention/events.py; header ``kind`` names the event). Written through
# the audit index's outbox; read back by the index (a rebuild restores them first).
AUDIT_RETENTION: Final = "audit.retention.v1"
# Pins and revocations of a stack's DPR signing keys (protobuf
# ``faramesh_cloud_api.stacks.v1``), through the stacks outbox; read by the audit index.
SIGNING_KEYS: Final = "stacks.signing_keys.v1"
# What the notifications service did with the alerts it handed on (protobuf
# ``faramesh_cloud_api.notifications.v1`` alert events): read back by itself on a rebuild.
NOTIFICATION_ALERTS: Final = "notifications.alerts.v1"
# The compliance service's events (``proto/faramesh_cloud_api/compliance/v1/events.proto``):
# frameworks declared, reports asked for and failed, artifacts in the evidence library,
# share links made and revoked. Keyed ``"<org_id>/-"``.
COMPLIANCE_EVENTS: Final = "compliance.events.v1"
# The registry's events (``proto/faramesh_cloud_api/registry/v1/events.proto``): versions
# published (seeded, approved, mirrored) and yanked, registry keys added and retired, pack
# alerts raised and closed. The catalog is global: keyed "<kind>/<name>" per artifact, "keys"
# for keys; a pack alert is an organisation's, keyed "<org_id>/<stack_id>" (the approvals
# service turns PackAlertRaised into a delivery for that stack's daemon).
REGISTRY_EVENTS: Final = "registry.events.v1"
# The fleet service's events (``proto/faramesh_cloud_api/fleet/v1/events.proto``): git
# connections made and deleted, stacks mapped and unmapped, drift checks. Keyed "<org_id>/-".
FLEET_EVENTS: Final = "fleet.events.v1"
# The billing service's events (``proto/faramesh_cloud_api/billing/v1/events.proto``): plans
# set by owners and monthly invoices issued (immutable; their lines on the event). Keyed
# ``"<org_id>/-"``.
BILLING_EVENTS: Final = "billing.events.v1"
# Where consumers park what they cannot process, with the reason in headers.
DEAD_LETTERS: Final = "deadletter.v1"

DEFAULT_PARTITIONS: Final[Mapping[str, int]] = {
    DPR_RECORDS: 8,
    LEGACY_DECISIONS: 4,
    SYNC_ITEMS: 4,
    APPROVAL_EVENTS: 4,
    EMERGENCY_COMMANDS: 2,
    WAL_PROBLEMS: 1,
    NOTIFICATION_EVENTS: 4,
    AUDIT_ALERTS: 2,
    AUDIT_RETENTION: 1,
    SIGNING_KEYS: 1,
    NOTIFICATION_ALERTS: 1,
    COMPLIANCE_EVENTS: 2,
    REGISTRY_EVENTS: 2,
    FLEET_EVENTS: 2,
    BILLING_EVENTS: 2,
    DEAD_LETTERS: 1,
}

# Header names.
H_ORG: Final = "org"
H_STACK: Final = "stack"
H_SOURCE: Final = "source"  # "sync", "wal-import", "legacy-feed", "webhook"
H_SEQUENCE: Final = "seq"  # daemon-assigned sequence, or the WAL frame offset for imports
H_BUFFER: Final = "buffer"  # the daemon's outbound buffer id (sync) or the WAL file name (import)
H_RECEIVED_NS: Final = "received_ns"
H_KIND: Final = "kind"
H_EVENT_ID: Final = "event-id"  # a service event's own id (consumers dedupe by it)


def stack_key(org_id: str, stack_id: str) -> bytes:
    return f"{org_id}/{stack_id}".encode()


def org_key(org_id: str) -> bytes:
    """The key of an organisation-level event (``"<org_id>/-"``)."""
    return f"{org_id}/-".encode()


class Origin(msgspec.Struct, frozen=True, gc=False):
    """Where a record on the log came from, read back from its headers (a frozen struct:
    every consumer builds one per record)."""

    org_id: str
    stack_id: str
    source: str
    sequence: int
    buffer: str
    received_ns: int

    def headers(self) -> dict[str, bytes]:
        return {
            H_ORG: self.org_id.encode(),
            H_STACK: self.stack_id.encode(),
            H_SOURCE: self.source.encode(),
            H_SEQUENCE: str(self.sequence).encode(),
            H_BUFFER: self.buffer.encode(),
            H_RECEIVED_NS: str(self.received_ns).encode(),
        }

    @classmethod
    def from_headers(cls, headers: Mapping[str, bytes]) -> Origin:
        """Raises KeyError / ValueError for a record without a complete origin."""
        return cls(
            org_id=headers[H_ORG].decode(),
            stack_id=headers[H_STACK].decode(),
            source=headers[H_SOURCE].decode(),
            sequence=int(headers[H_SEQUENCE]),
            buffer=headers.get(H_BUFFER, b"").decode(),
            received_ns=int(headers.get(H_RECEIVED_NS, b"0")),
        )
