"""Reads of the registry's pack version alerts for people (the stack's Providers and Config
tabs, Home's attention panel): one organisation's open alerts, newest first, with what the
daemon did with each. ``RegistryApi`` answers the gateway's ``RegistryPort`` with these
(in process under ``up``; under ``serve gateway`` the registry's gRPC client, ``client.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud.sql.database import Database

LIMIT: Final = 200


@dataclass(frozen=True, slots=True)
class AlertView:
    alert_id: str
    stack_id: str
    kind: str
    name: str
    imported_version: str
    latest_version: str
    yanked: bool
    severity: str
    summary: str
    details_url: str
    raised_at: datetime
    handed_out: int
    delivered_at: datetime | None
    acked_at: datetime | None
    outcome: str
    message: str

    @property
    def delivery(self) -> str:
        """What the daemon did, in words."""
        if self.acked_at is not None:
            return f"acknowledged ({self.outcome})" + (f": {self.message}" if self.message else "")
        return "delivered, not acknowledged yet" if self.delivered_at is not None else "waiting for the daemon"


class AlertReads:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_alerts(self, org_id: str, stack_id: str | None = None, limit: int = LIMIT) -> list[AlertView]:
        """The organisation's open alerts (of one stack when given), newest first."""
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "SELECT alert_id::text, stack_id, kind, name, imported_version, latest_version, yanked, severity, "
                "summary, details_url, raised_at, handed_out, delivered_at, acked_at, outcome, message "
                "FROM registry_alerts WHERE org_id = %s AND closed_at IS NULL AND (%s::text IS NULL OR stack_id = %s) "
                "ORDER BY raised_at DESC, alert_id LIMIT %s", (org_id, stack_id, stack_id, limit))
            return [AlertView(*r) for r in await cur.fetchall()]
