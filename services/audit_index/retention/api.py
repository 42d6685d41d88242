"""What people do with retention (the gateway calls it through the index): set how long DPRs
stay (the organisation's, or a stack's), put a stack on legal hold or release it, see what a
change would remove (dry run) and what the job did and will do.

A change is checked against the frameworks the organisation declared (``frameworks.py``: a
setting below a declared framework's minimum is refused with the framework, the minimum and
the citation, and nothing is written), then applied with the same ``store.apply`` the
retention consumer uses, its event added to the index's outbox and the platform audit entry
appended: one tenant transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from faramesh_cloud.audit_index.alert_state import OUTBOX
from faramesh_cloud.audit_index.retention import events, frameworks, store
from faramesh_cloud.audit_index.retention.events import (
    LegalHoldChanged,
    RetentionEvent,
    RetentionPolicySet,
)
from faramesh_cloud.audit_index.retention.plan import Plan, Policies
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper, SweepReport
from faramesh_cloud.events.topics import AUDIT_RETENTION
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

MAX_DAYS: Final = 36_500  # a hundred years
MAX_REASON: Final = 500
Clock = Callable[[], datetime]


class RetentionRefused(ValueError):
    """A setting below a declared framework's minimum; the message names it and its citation."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"retention must be a whole number of days from 1 to {MAX_DAYS}, not {days!r}")
    return days


@dataclass(frozen=True, slots=True)
class RetentionStatus:
    org_id: str
    policies: Policies
    frameworks: list[str]
    minimum: frameworks.Minimum | None
    plan: Plan  # what a sweep would do now
    last_run: datetime | None
    next_run: datetime | None
    sweeps: list[store.SweepRow] = field(default_factory=list)


class RetentionApi:
    def __init__(self, db: Database, sweeper: RetentionSweeper, interval_s: float = 3600.0,
                 clock: Clock = _utc_now) -> None:
        self._db = db
        self._sweeper = sweeper
        self._interval = interval_s
        self._clock = clock
        self._audit = PlatformAuditLog(db)

    async def _record(self, org_id: str, event: RetentionEvent, action: AuditAction, actor: Actor,
                      target: Target, details: dict[str, object], days: int | None = None) -> None:
        async with tenant_transaction(self._db, org_id) as conn:
            if days is not None:
                refusal = frameworks.check(days, await store.frameworks(conn, org_id))
                if refusal is not None:
                    raise RetentionRefused(refusal.reason())
            await store.apply(conn, event)
            await OUTBOX.add(conn, AUDIT_RETENTION, [events.record(event)])
            await self._audit.append_in(conn, org_id, action, actor, target=target, details=details)

    async def set_retention(self, org_id: str, days: int, actor: Actor, *, stack_id: str = "") -> None:
        """The organisation's retention (``stack_id`` empty) or a stack's, in days.
        ``ValueError`` for a bad value; ``RetentionRefused`` below a declared framework's minimum."""
        check_days(days)
        event = RetentionPolicySet(event_id=str(uuid.uuid4()), occurred_at=self._clock(), org_id=org_id,
                                   stack_id=stack_id, days=days, actor=actor.label)
        await self._record(org_id, event, AuditAction.RETENTION_SET, actor,
                           Target("stack" if stack_id else "org", stack_id or org_id),
                           {"days": days, "stack_id": stack_id}, days=days)

    async def clear_stack_retention(self, org_id: str, stack_id: str, actor: Actor) -> None:
        """The stack follows the organisation's retention again."""
        if not stack_id:
            raise ValueError("name the stack whose own retention to clear")
        event = RetentionPolicySet(event_id=str(uuid.uuid4()), occurred_at=self._clock(), org_id=org_id,
                                   stack_id=stack_id, days=0, actor=actor.label)
        await self._record(org_id, event, AuditAction.RETENTION_SET, actor, Target("stack", stack_id),
                           {"days": None, "stack_id": stack_id})

    async def set_hold(self, org_id: str, stack_id: str, actor: Actor, *, held: bool, reason: str = "") -> None:
        """Put a stack on legal hold (``reason`` required) or release it."""
        reason = reason.strip()
        if not stack_id:
            raise ValueError("a legal hold is per stack: name the stack")
        if held and not reason:
            raise ValueError("say why the stack is on legal hold (the matter, a ticket)")
        if len(reason) > MAX_REASON:
            raise ValueError(f"the reason is at most {MAX_REASON} characters")
        event = LegalHoldChanged(event_id=str(uuid.uuid4()), occurred_at=self._clock(), org_id=org_id,
                                 stack_id=stack_id, held=held, reason=reason, actor=actor.label)
        await self._record(org_id, event, AuditAction.LEGAL_HOLD_SET if held else AuditAction.LEGAL_HOLD_RELEASED,
                           actor, Target("stack", stack_id), {"stack_id": stack_id, "reason": reason})

    async def dry_run(self, org_id: str, *, days: int | None = None, stack_id: str = "") -> Plan:
        """What a sweep would remove now if ``days`` were set (on the org, or ``stack_id``);
        ``days`` None: under the current settings. Refused like the change itself would be."""
        async with self._db.connection() as conn:
            current = await store.policies(conn, org_id)
            declared = await store.frameworks(conn, org_id)
        proposed = current
        if days is not None:
            check_days(days)
            refusal = frameworks.check(days, declared)
            if refusal is not None:
                raise RetentionRefused(refusal.reason())
            if stack_id:
                proposed = replace(current, stack_days={**current.stack_days, stack_id: days})
            else:
                proposed = replace(current, org_days=days)
        return await self._sweeper.plan(org_id, policies=proposed, now=self._clock())

    async def sweep_now(self, org_id: str, actor: Actor) -> SweepReport:
        """Run the job for ``org_id`` now (what the schedule would do at its next run), as ``actor``."""
        return await self._sweeper.sweep(org_id, actor)

    async def status(self, org_id: str) -> RetentionStatus:
        async with self._db.connection() as conn:
            policies = await store.policies(conn, org_id)
            declared = await store.frameworks(conn, org_id)
            last = await store.job_ran_at(conn)
            sweeps = await store.sweeps(conn, org_id)
        the_plan = await self._sweeper.plan(org_id, policies=policies, now=self._clock())
        next_run = last + timedelta(seconds=self._interval) if last is not None else None
        # The last run that removed something may be a person's "Run now", after the schedule's.
        ran = max((t for t in (last, sweeps[0].ran_at if sweeps else None) if t is not None), default=None)
        return RetentionStatus(org_id, policies, declared, frameworks.strictest(declared), the_plan, ran,
                               next_run, sweeps)
