"""The audit index's API for people: the commands they give it (today: acknowledging an alert).

A command checks the rules against the index's own state (``alert_events``, pure), applies
the event with the same ``alert_state.apply`` the index's consumer of ``audit.alerts.v1``
uses, adds the event to the index's outbox and writes the platform audit entry: one tenant
transaction, so all of it commits or none. Of two people acknowledging at once exactly one
wins (the alert's row lock); the other is told who did.

The gateway calls it in process (``runtime/audit_reader.py``, behind its ``AuditReader`` port).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from faramesh_cloud.audit_index import alert_state, integrity
from faramesh_cloud.audit_index.alert_events import AlertState, clean_note, decide_acknowledgement
from faramesh_cloud.audit_index.views import Alert
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def state_of(alert: Alert) -> AlertState:
    return AlertState(key=alert_state.key_of(alert), alert_id=alert.alert_id, acknowledged=alert.acknowledged,
                      acknowledged_at=alert.acknowledged_at, acknowledged_by=alert.acknowledged_by)


class AuditIndexApi:
    def __init__(self, db: Database, audit: PlatformAuditLog, clock: Clock = utc_now) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def acknowledge_alert(self, org_id: str, alert_id: int, note: str, actor: Actor) -> Alert:
        """A person acknowledges one of ``org_id``'s alerts with a note. ``ValueError`` without
        a note (or one too long); ``LookupError`` when the organisation has no such alert;
        ``AlreadyAcknowledged`` naming who did, when someone did before."""
        note = clean_note(note)
        async with tenant_transaction(self._db, org_id) as conn:
            found = await integrity.alert_in(conn, org_id, alert_id, lock=True)
            if found is None:
                raise LookupError(f"no audit alert {alert_id} in this organisation")
            event = decide_acknowledgement(state_of(found), note, actor.type.value, actor.id, actor.label,
                                           self._clock())
            await alert_state.record(conn, [event])
            await self._audit.append_in(
                conn, org_id, AuditAction.ALERT_ACKNOWLEDGED, actor, target=Target("audit_alert", str(alert_id)),
                details={"stack_id": found.stack_id, "agent_id": found.agent_id, "kind": found.kind,
                         "record_id": found.record_id, "note": event.note})
            done = await integrity.alert_in(conn, org_id, alert_id)
        assert done is not None
        return done
