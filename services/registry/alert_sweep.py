"""Registry pack version alerts, the evaluator (issue 15 item 6; the pure part is
``alerts.py``).

1. :meth:`AlertEvaluator.refresh` reads which artifact versions an organisation's stacks
   import: each stack's applied governance.fms, through the fleet's port (its in-process
   query under ``up``, its gRPC client with the registry's certificate otherwise: the fleet
   admits the ``registry`` caller to ``ListStacks`` and ``GetConfigText`` only), parsed for its
   imports; stored in ``registry_stack_imports`` (one organisation's rows replaced at once).
2. :meth:`AlertEvaluator.raise_due` compares those imports with the catalog
   (``registry_versions``) and, in one transaction per organisation, inserts the alerts due
   that are not raised yet with their ``PackAlertRaised`` events in the registry's outbox,
   and closes (``PackAlertClosed``) the open alerts no longer due: superseded by a newer
   version's alert, or the stack no longer imports that version. An alert already raised is
   found by its id (uuid5 of its key) and never raised again, however often this runs; two
   evaluators racing insert it once (``ON CONFLICT DO NOTHING RETURNING``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from psycopg import AsyncConnection

from faramesh_cloud.events.topics import REGISTRY_EVENTS
from faramesh_cloud.registry.alerts import (
    NOT_IMPORTED,
    SUPERSEDED,
    Alert,
    Imported,
    closed_record,
    decide,
    imports_in,
    message,
    raised_record,
)
from faramesh_cloud.registry.domain import Version
from faramesh_cloud.registry.events import OUTBOX
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)
Conn = AsyncConnection[Any]


class FleetTexts(Protocol):
    """What the evaluator reads of the fleet (``FleetQuery`` and ``FleetQueryClient``)."""

    async def stacks(self, org_id: str) -> Sequence[Any]: ...

    async def config_text(self, org_id: str, stack_id: str, sha256: str) -> Any | None: ...


ImportParser = Callable[[str], list[Imported]]

_DUE = """
SELECT i.stack_id, i.kind, i.name, i.version, i.import_path, v.state = 'yanked', l.version
  FROM registry_stack_imports i
  JOIN registry_versions v ON v.kind = i.kind AND v.name = i.name AND v.version = i.version
  LEFT JOIN LATERAL (
       SELECT version, major, minor, patch FROM registry_versions l
        WHERE l.kind = i.kind AND l.name = i.name AND l.state = 'published' AND l.prerelease = ''
        ORDER BY l.major DESC, l.minor DESC, l.patch DESC LIMIT 1) l ON true
 WHERE i.org_id = %s
 ORDER BY i.stack_id, i.kind, i.name, i.version
"""


class AlertEvaluator:
    def __init__(self, db: Database, fleet: FleetTexts, clock: Callable[[], datetime], *, base_url: str = "",
                 parse: ImportParser = imports_in) -> None:
        self._db = db
        self._fleet = fleet
        self._parse = parse
        self._clock = clock
        self._base_url = base_url

    async def organisations(self) -> list[str]:
        """Every organisation (the periodic sweep's scope)."""
        async with self._db.connection() as conn:
            return [str(r[0]) for r in await (await conn.execute("SELECT org_id FROM orgs ORDER BY org_id")).fetchall()]

    async def importing(self) -> list[str]:
        """The organisations with a stack importing a registry artifact (what a catalog change
        re-evaluates; no fleet read)."""
        async with self._db.connection() as conn:
            cur = await conn.execute("SELECT DISTINCT org_id FROM registry_stack_imports ORDER BY org_id")
            return [str(r[0]) for r in await cur.fetchall()]

    async def _imports(self, org_id: str) -> dict[tuple[str, str, str, str], tuple[str, str]]:
        found: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        for stack in await self._fleet.stacks(org_id):
            sha = getattr(stack, "config_text_sha256", "")
            text = await self._fleet.config_text(org_id, stack.stack_id, sha) if sha else None
            if text is None:
                continue  # never sent its text: nothing known about its imports
            for imp in self._parse(text.text):  # never raises: an import the daemon refuses names nothing
                found[(stack.stack_id, imp.kind, imp.name, imp.version)] = (imp.import_path, sha)
        return found

    async def refresh(self, org_id: str) -> int:
        """Store what the organisation's stacks import now (from the fleet); how many imports."""
        found = await self._imports(org_id)
        now = self._clock()
        async with self._db.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT stack_id, kind, name, version FROM registry_stack_imports WHERE org_id = %s FOR UPDATE",
                (org_id,))).fetchall()
            for gone in {tuple(r) for r in rows} - set(found):
                await conn.execute("DELETE FROM registry_stack_imports WHERE org_id = %s AND stack_id = %s "
                                   "AND kind = %s AND name = %s AND version = %s", (org_id, *gone))
            for (stack_id, kind, name, version), (path, sha) in sorted(found.items()):
                await conn.execute(
                    "INSERT INTO registry_stack_imports (org_id, stack_id, kind, name, version, import_path, "
                    "config_sha256, seen_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT "
                    "(org_id, stack_id, kind, name, version) DO UPDATE SET import_path = EXCLUDED.import_path, "
                    "config_sha256 = EXCLUDED.config_sha256, seen_at = EXCLUDED.seen_at",
                    (org_id, stack_id, kind, name, version, path, sha, now))
        return len(found)

    async def raise_due(self, orgs: Iterable[str] | None = None) -> int:
        """Raise the alerts due and close those no longer due, for ``orgs`` (None: every
        organisation with imports); how many alerts were raised now."""
        raised = 0
        for org_id in (await self.importing() if orgs is None else orgs):
            try:
                raised += await self._raise_org(org_id)
            except Exception:
                _log.warning("registry alerts of organisation %s could not be evaluated; next round", org_id,
                             exc_info=True)
        return raised

    async def _raise_org(self, org_id: str) -> int:
        now = self._clock()
        async with self._db.transaction() as conn:
            due: list[Alert] = []
            for stack_id, kind, name, version, path, yanked, latest in await (
                    await conn.execute(_DUE, (org_id,))).fetchall():
                newer = latest if latest and Version.parse(latest) > Version.parse(version) else None
                alert = decide(org_id, stack_id, Imported(kind, name, version, path), bool(yanked), newer,
                               latest or "", self._base_url, now)
                if alert is not None:
                    due.append(alert)
            raised = [a for a in due if await self._insert(conn, a)]
            if raised:
                await OUTBOX.add(conn, REGISTRY_EVENTS, [raised_record(org_id, a.stack_id, message(a))
                                                               for a in raised])
            await self._close(conn, org_id, due, now)
        return len(raised)

    async def _insert(self, conn: Conn, a: Alert) -> bool:
        imp = a.imported
        cur = await conn.execute(
            "INSERT INTO registry_alerts (alert_id, org_id, stack_id, kind, name, imported_version, latest_version, "
            "yanked, severity, summary, details_url, import_path, raised_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING alert_id",
            (a.alert_id, a.org_id, a.stack_id, imp.kind, imp.name, imp.version, a.latest_version, a.yanked,
             a.severity, a.summary, a.details_url, imp.import_path, a.raised_at))
        return await cur.fetchone() is not None

    async def _close(self, conn: Conn, org_id: str, due: Sequence[Alert], now: datetime) -> None:
        keep = [a.alert_id for a in due]
        still = {(a.stack_id, a.imported.kind, a.imported.name, a.imported.version) for a in due}
        cur = await conn.execute(
            "UPDATE registry_alerts SET closed_at = %s, closed_reason = 'pending' WHERE org_id = %s "
            "AND closed_at IS NULL AND NOT (alert_id = ANY(%s::uuid[])) RETURNING alert_id, stack_id, kind, name, "
            "imported_version", (now, org_id, keep))
        closed = []
        for alert_id, stack_id, kind, name, version in await cur.fetchall():
            reason = SUPERSEDED if (stack_id, kind, name, version) in still else NOT_IMPORTED
            await conn.execute("UPDATE registry_alerts SET closed_reason = %s WHERE org_id = %s AND alert_id = %s",
                               (reason, org_id, alert_id))
            closed.append(closed_record(org_id, stack_id, str(alert_id), reason, now))
        if closed:
            await OUTBOX.add(conn, REGISTRY_EVENTS, closed)
