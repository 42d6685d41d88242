"""The retention sweep: per organisation, drop the (org, month) partitions its policies say
are due (``plan.py``), after storing a signed checkpoint per agent chain they cut.

Per organisation with something due, in this order (docs/retention.md, "Order and crash
safety"):

1. make sure its horizon row exists (own transaction);
2. one transaction: lock the horizon row FOR UPDATE (the DPR and summary sinks read it FOR
   SHARE first in every batch, so no batch of this org runs meanwhile) and the org's tail
   sequence row (waits out a batch that began before the horizon row existed); list, from
   ClickHouse, every DPR created before the new horizon; delete their chain-member rows and
   findings and find each chain's highest removed position; sign a checkpoint per chain;
   store horizon, checkpoints and the sweep, add ``RetentionSwept`` to the outbox and the
   platform audit entry; commit;
3. ``ALTER TABLE ... DROP PARTITION`` of every (org, month) before the horizon, in both
   tables. A crash before this leaves partitions below the stored horizon: the next run
   drops them (step 3 alone; dropping is idempotent).

Postponed while the chain verifier is behind (issue 18): the checkpoints are signed from the
chain members, which the verifier writes, and the search index makes a record searchable
before the verifier has it. So in step 2, under the horizon lock (the verifier reads it FOR
SHARE before each batch, so none of this organisation's batches is in flight), the sweep
reads the verifier's committed positions and asks ClickHouse whether any row it would remove
was indexed from a message at or past them. If one was, nothing is removed or stored and the
report says why (``SweepReport.postponed``); the next run tries again. Only the rows below
the horizon count, so a verifier a few batches behind on today's traffic postpones nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.audit_index.alert_state import OUTBOX
from faramesh_cloud.audit_index.domain import VERIFIER_PROJECTION
from faramesh_cloud.audit_index.retention import checkpoint, events, frameworks, store
from faramesh_cloud.audit_index.retention.events import Checkpoint, RetentionSwept
from faramesh_cloud.audit_index.retention.plan import (
    Partition,
    Plan,
    month_start,
    next_month,
    plan,
    to_ns,
)
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.verification_state import COVERED_SQL, Watermark
from faramesh_cloud.events.topics import AUDIT_RETENTION, DPR_RECORDS
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database

Clock = Callable[[], datetime]
_log = logging.getLogger(__name__)

_MONTHS = """
SELECT toYYYYMM(created_at) AS month, groupUniqArray(stack_id) AS stacks, count() AS n
FROM {table} WHERE org_id = {{org:String}} GROUP BY month ORDER BY month
"""
_REMOVED = """
SELECT stack_id, agent_id, record_hash, created_at_text, lamport_seq
FROM {table}
WHERE org_id = {{org:String}} AND created_at < fromUnixTimestamp64Nano({{horizon:Int64}}, 'UTC')
"""
# Rows the sweep would remove that the chain verifier has not checked yet
# (verification_state.COVERED_SQL negated).
_UNVERIFIED = """
SELECT count() FROM {table}
WHERE org_id = {{org:String}} AND created_at < fromUnixTimestamp64Nano({{horizon:Int64}}, 'UTC')
  AND NOT ({covered})
"""
_COUNT = """
SELECT count() FROM {table}
WHERE org_id = {{org:String}} AND created_at < fromUnixTimestamp64Nano({{horizon:Int64}}, 'UTC')
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _month_of(ns: int) -> int:
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    return moment.year * 100 + moment.month


@dataclass(slots=True)
class SweepReport:
    org_id: str
    plan: Plan
    swept: RetentionSwept | None = None
    dropped_months: list[int] = field(default_factory=list)  # partitions dropped by this run
    postponed: str | None = None  # why nothing was removed although something is due (the verifier is behind)


class RetentionSweeper:
    """Plans and runs retention for organisations. ``key``: the platform signing key
    (checkpoints are signed with it); without one, nothing is removed (a checkpoint must be
    signed) and the job says so."""

    def __init__(self, db: Database, olap: Olap, tables: AuditTables, key: Ed25519PrivateKey | None,
                 clock: Clock = _utc_now) -> None:
        self._db = db
        self._olap = olap
        self._tables = tables
        self._key = key
        self._clock = clock
        self._audit = PlatformAuditLog(db)

    # -- reading -------------------------------------------------------------------------

    def _partitions(self, org_id: str) -> list[Partition]:
        """The organisation's months in both tables: stacks with rows, DPRs, summaries."""
        stacks: dict[int, set[str]] = {}
        counts: dict[int, list[int]] = {}  # month -> [DPRs, summaries]
        for table, slot in ((self._tables.dpr, 0), (self._tables.summaries, 1)):
            for month, names, n in self._olap.query(_MONTHS.format(table=table), {"org": org_id}).rows:
                stacks.setdefault(int(month), set()).update(names)
                counts.setdefault(int(month), [0, 0])[slot] += int(n)
        return [Partition(m, frozenset(stacks[m]), *counts[m]) for m in sorted(stacks)]

    async def plan(self, org_id: str, *, policies: store.Policies | None = None,
                   now: datetime | None = None) -> Plan:
        """What a sweep of ``org_id`` would remove now (``policies``: a proposed change; the
        dry run), without removing anything."""
        async with self._db.connection() as conn:
            if policies is None:
                policies = await store.policies(conn, org_id)
            strictest = frameworks.strictest(await store.frameworks(conn, org_id))
        if strictest is not None:
            policies = replace(policies, floor_days=strictest.days)
        partitions = await asyncio.to_thread(self._partitions, org_id)
        return plan(partitions, policies, now or self._clock())

    # -- the job -------------------------------------------------------------------------

    async def run(self) -> list[SweepReport]:
        """One pass over every organisation with a retention setting; records the job's run."""
        async with self._db.connection() as conn:
            orgs = await store.organisations(conn)
        reports = [await self.sweep(org) for org in orgs]
        async with self._db.transaction() as conn:
            await store.record_job(conn, self._clock(), len(orgs), sum(len(r.dropped_months) for r in reports))
        return reports

    async def sweep(self, org_id: str, actor: Actor | None = None) -> SweepReport:
        """One organisation's run: the schedule's (``actor`` None: the system) or a person's "Run now"."""
        now = self._clock()
        the_plan = await self.plan(org_id, now=now)
        report = SweepReport(org_id, the_plan)
        async with self._db.transaction() as conn:
            await store.ensure_horizon(conn, org_id)
            stored = await store.lock_horizon(conn, org_id)
        if the_plan.horizon_ns > stored:
            if self._key is None:
                _log.warning("retention for %s is due but no platform signing key is configured: "
                             "nothing removed (checkpoints must be signed)", org_id)
                return report
            outcome = await self._checkpoint_and_record(org_id, the_plan, now, actor)
            if isinstance(outcome, RetentionSwept):
                report.swept = outcome
                stored = the_plan.horizon_ns
            else:
                report.postponed = outcome
                _log.warning("retention for %s postponed: %s", org_id, outcome)
        if stored > 0:
            report.dropped_months = await asyncio.to_thread(self._drop_below, org_id, stored)
        return report

    async def _checkpoint_and_record(self, org_id: str, the_plan: Plan, now: datetime,
                                     actor: Actor | None) -> RetentionSwept | str:
        """The sweep's transaction (step 2): the event stored, or why it was postponed."""
        assert self._key is not None
        horizon = the_plan.horizon_ns
        sweep_id = str(uuid.uuid4())
        async with self._db.transaction() as conn:
            await store.lock_horizon(conn, org_id)
            await conn.execute("SELECT next_seq FROM audit_org_sequences WHERE org_id = %s FOR UPDATE", (org_id,))
            behind = await self._unverified(conn, org_id, horizon)
            if behind:
                return (f"the chain verifier has not checked {behind} of the records to remove yet "
                        "(their checkpoints are signed from what it verified); the next run tries again")
            removed = await asyncio.to_thread(self._olap.query, _REMOVED.format(table=self._tables.dpr),
                                              {"org": org_id, "horizon": horizon})
            summaries = await asyncio.to_thread(self._olap.query, _COUNT.format(table=self._tables.summaries),
                                                {"org": org_id, "horizon": horizon})
            hashes: dict[tuple[str, str], list[str]] = {}
            created: dict[str, str] = {}
            for stack, agent, record_hash, created_text, _lamport in removed.rows:
                hashes.setdefault((stack, agent), []).append(record_hash)
                created[record_hash] = created_text
            tips = await store.forget_removed(conn, org_id, hashes)
            checkpoints: list[Checkpoint] = [
                checkpoint.sign(Checkpoint(org_id=org_id, stack_id=stack, agent_id=agent, chain_index=tip.chain_index,
                                           record_hash=tip.record_hash, record_id=tip.record_id,
                                           record_created_at=created.get(tip.record_hash, ""), removed_on=now,
                                           sweep_id=sweep_id), self._key)
                for (stack, agent), tip in sorted(tips.items())
            ]
            months = [d.month for d in the_plan.dropped]
            event = RetentionSwept(event_id=str(uuid.uuid4()), occurred_at=now, org_id=org_id, sweep_id=sweep_id,
                                   horizon_ns=horizon, months=months, records=len(removed.rows),
                                   summaries=int(summaries.rows[0][0]) if summaries.rows else 0,
                                   checkpoints=checkpoints)
            await store.save_sweep(conn, event)
            await OUTBOX.add(conn, AUDIT_RETENTION, [events.record(event)])
            await self._audit.append_in(
                conn, org_id, AuditAction.RETENTION_SWEPT, actor or Actor.system("faramesh-cloud retention"),
                target=Target("retention_sweep", sweep_id),
                details={"months": months, "records": event.records, "summaries": event.summaries,
                         "chains": len(checkpoints), "horizon": month_start(_month_of(horizon)).date().isoformat()})
        return event

    async def _unverified(self, conn: store.Conn, org_id: str, horizon_ns: int) -> int:
        """How many of the organisation's rows below ``horizon_ns`` the verifier has not
        checked (read under the horizon lock: its batches of this organisation wait)."""
        cur = await conn.execute(
            "SELECT partition, next_offset FROM audit_index_positions WHERE projection = %s AND topic = %s",
            (VERIFIER_PROJECTION, DPR_RECORDS))
        watermark = Watermark({int(p): int(o) for p, o in await cur.fetchall()})
        partitions = max(watermark.next_offsets, default=-1) + 1
        result = await asyncio.to_thread(
            self._olap.query, _UNVERIFIED.format(table=self._tables.dpr, covered=COVERED_SQL),
            {"org": org_id, "horizon": horizon_ns, "verifier": watermark.as_array(partitions)})
        return int(result.rows[0][0]) if result.rows else 0

    def _drop_below(self, org_id: str, horizon_ns: int) -> list[int]:
        """Drop the organisation's partitions of months wholly before ``horizon_ns`` (both tables)."""
        first_kept = _month_of(horizon_ns)
        dropped: set[int] = set()
        for table in (self._tables.dpr, self._tables.summaries):
            rows = self._olap.query(
                f"SELECT DISTINCT toYYYYMM(created_at) FROM {table} WHERE org_id = {{org:String}} "
                "AND created_at < fromUnixTimestamp64Nano({h:Int64}, 'UTC')", {"org": org_id, "h": horizon_ns}).rows
            for (month,) in rows:
                month = int(month)
                if month >= first_kept or to_ns(month_start(next_month(month))) > horizon_ns:
                    continue  # not wholly before the horizon: never (the horizon is a month start)
                self._olap.command(f"ALTER TABLE {table} DROP PARTITION ({_quote(org_id)}, {month})")
                dropped.add(month)
        return sorted(dropped)


def _quote(value: str) -> str:
    """A ClickHouse string literal (partition expressions take no bound parameters)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


__all__ = ["RetentionSweeper", "Sequence", "SweepReport"]
