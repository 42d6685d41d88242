"""Approver/operator seats: members whose organisation role may decide approvals (Owner,
Admin, Operator: ``approvals:request:decide``). Memberships are platform state (identity),
not on the log, so the meter is a snapshot: the month's highest count, taken by the meter
sweep (``billing_meter_interval_s``) for every organisation billing has seen and whenever an
owner reads usage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from faramesh_cloud.billing.domain import month_of
from faramesh_cloud.identity.members import MemberStore
from faramesh_cloud.identity.permissions import ROLE_PERMISSIONS, Permission
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

SEAT_ROLES: Final = frozenset(role for role, allowed in ROLE_PERMISSIONS.items()
                              if Permission.APPROVALS_REQUEST_DECIDE in allowed)


class SeatCounter:
    def __init__(self, db: Database, members: MemberStore, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._members = members
        self._clock = clock

    async def snapshot(self, org_id: str) -> int:
        """Count the organisation's seats now and keep the month's highest."""
        seats = sum(1 for m in await self._members.all(org_id) if m.role in SEAT_ROLES)
        now = self._clock()
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute(
                "INSERT INTO billing_seats (org_id, month, seats, taken_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (org_id, month) DO UPDATE SET seats = GREATEST(billing_seats.seats, EXCLUDED.seats), "
                "taken_at = EXCLUDED.taken_at", (org_id, month_of(now), seats, now))
        return seats

    async def sweep(self) -> int:
        """Snapshot every organisation billing has seen (usage, a plan or seats before)."""
        async with self._db.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT org_id::text FROM billing_usage_counts UNION SELECT org_id::text FROM billing_usage_items "
                "UNION SELECT org_id::text FROM billing_plans UNION SELECT org_id::text FROM billing_seats")).fetchall()
        for (org,) in rows:
            await self.snapshot(org)
        return 0  # nothing to wake
