"""The posture sweep: for every organisation that declared frameworks, measure the evidence
queries its controls name, check the policy rules against each stack's enforced policy, and
store each control's status (``compliance_posture``: with ``since``, when it last changed)
and the day's status (``compliance_posture_days``: the chart of posture over time; the last
evaluation of a day is that day's status). The service runs it when something changes and
on an interval, never on a page load: pages read what it stored."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from faramesh_cloud.compliance.evidence import catalogue
from faramesh_cloud.compliance.frameworks import Framework, load_frameworks
from faramesh_cloud.compliance.measure import Measurer
from faramesh_cloud.compliance.posture import FrameworkPosture, PolicyResults, evaluate
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_log = logging.getLogger(__name__)

# org_id -> rule name -> stack id -> check (``policy.py``)
PolicyChecks = Callable[[str], Awaitable[PolicyResults]]


class Sweep:
    def __init__(self, db: Database, measurer: Measurer, policy: PolicyChecks, clock: Callable[[], datetime], *,
                 policy_words: Mapping[str, str] | None = None,
                 frameworks: Mapping[str, Framework] | None = None) -> None:
        self._db = db
        self._measurer = measurer
        self._policy = policy
        self._clock = clock
        self._words = dict(policy_words or {})
        self._frameworks = dict(frameworks) if frameworks is not None else load_frameworks()
        self._queries = catalogue()

    async def _declared(self) -> dict[str, list[str]]:
        async with self._db.transaction() as conn:  # across organisations: who declared what
            cur = await conn.execute("SELECT org_id::text, framework FROM compliance_frameworks ORDER BY 1, 2")
            out: dict[str, list[str]] = {}
            for org_id, framework in await cur.fetchall():
                out.setdefault(org_id, []).append(framework)
            return out

    async def run_once(self, orgs: Collection[str] | None = None) -> int:
        """Evaluate ``orgs`` (None: every organisation that declared frameworks)."""
        done = 0
        for org_id, slugs in (await self._declared()).items():
            if orgs is not None and org_id not in orgs:
                continue
            try:
                await self.evaluate(org_id, slugs)
                done += 1
            except Exception:
                _log.warning("posture of organisation %s could not be evaluated; next round", org_id, exc_info=True)
        return done

    async def postures(self, org_id: str, slugs: list[str], now: datetime) -> list[FrameworkPosture]:
        """The posture of ``slugs`` now (measured and checked, not stored)."""
        frameworks = [self._frameworks[s] for s in slugs if s in self._frameworks]
        names = {q for f in frameworks for c in f.controls for q in c.evidence}
        measured = await self._measurer.measure(org_id, [self._queries[n] for n in sorted(names)], now)
        policy = await self._policy(org_id)
        return [evaluate(f, measured, policy, queries=self._queries, policy_words=self._words) for f in frameworks]

    async def posture(self, org_id: str, slug: str) -> FrameworkPosture:
        return (await self.postures(org_id, [slug], self._clock()))[0]

    async def evaluate(self, org_id: str, slugs: list[str]) -> None:
        now = self._clock()
        rows: list[tuple[str, str, str, dict[str, Any]]] = []
        for posture in await self.postures(org_id, slugs, now):
            rows += [(posture.slug, c.control_id, c.status.value, c.detail()) for c in posture.controls]
        async with tenant_transaction(self._db, org_id) as conn:
            for slug, control, status, detail in rows:
                await conn.execute(
                    "INSERT INTO compliance_posture (org_id, framework, control_id, status, detail, since, "
                    "evaluated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, framework, control_id) "
                    "DO UPDATE SET detail = EXCLUDED.detail, evaluated_at = EXCLUDED.evaluated_at, "
                    "since = CASE WHEN compliance_posture.status = EXCLUDED.status THEN compliance_posture.since "
                    "ELSE EXCLUDED.since END, status = EXCLUDED.status",
                    (org_id, slug, control, status, Jsonb(detail), now, now))
                await conn.execute(
                    "INSERT INTO compliance_posture_days (org_id, framework, day, control_id, status) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (org_id, framework, day, control_id) "
                    "DO UPDATE SET status = EXCLUDED.status", (org_id, slug, now.date(), control, status))
            await conn.execute("DELETE FROM compliance_posture WHERE org_id = %s AND NOT framework = ANY(%s)",
                               (org_id, slugs))
