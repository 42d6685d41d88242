"""Report jobs: the compliance service takes queued reports one at a time (oldest first),
makes each with the injected :class:`ReportMaker` while writing its progress for the UI,
and finishes it with an event: ``ArtifactRecorded`` (the PDF entered in the evidence
library, the report done) or ``ReportFailed`` (why; nothing offered for download; a person
can retry it). A job that was running when the service stopped starts again from scratch
(its half-written files are in a scratch directory that is removed either way)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from faramesh_cloud.compliance.api import REPORT_COLUMNS, ComplianceApi, report_row
from faramesh_cloud.compliance.apply import record
from faramesh_cloud.compliance.changes import ReportFailed
from faramesh_cloud.compliance.domain import ReportView
from faramesh_cloud.consumer.tasks import until_woken
from faramesh_cloud.observability.catalogue import REPORT_DURATION, REPORT_JOBS
from faramesh_cloud.observability.setup import current
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_log = logging.getLogger(__name__)

Progress = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class MadeReport:
    path: Path  # the signed PDF, inside the scratch directory it was given
    title: str
    filename: str
    verification_hash: str
    parameters: dict[str, Any]


class ReportMaker(Protocol):
    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport: ...


class ReportJobs:
    def __init__(self, db: Database, api: ComplianceApi, maker: ReportMaker, *, idle_s: float = 2.0) -> None:
        self._db = db
        self._api = api
        self._maker = maker
        self._idle_s = idle_s
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wakeup.clear()
            try:
                busy = await self.run_once()
            except Exception:
                _log.warning("report job loop failed; retrying", exc_info=True)
                busy = False
            if busy:
                continue
            await until_woken(stopping, self._wakeup, self._idle_s)

    async def _next(self) -> tuple[str, Actor, ReportView] | None:
        async with self._db.transaction() as conn:  # across organisations: the job queue
            cur = await conn.execute(
                f"SELECT org_id, actor_type, actor_id, {REPORT_COLUMNS} FROM compliance_reports WHERE state IN ('queued', 'running') "
                "ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED")
            row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("UPDATE compliance_reports SET state = 'running', progress = 0, stage = 'starting' "
                               "WHERE report_id = %s", (row[3],))
        report = report_row(row[3:])
        return str(row[0]), Actor(ActorType(row[1]), row[2], report.requested_by), report

    async def run_once(self) -> bool:
        """Make the oldest queued report; False when there was none."""
        found = await self._next()
        if found is None:
            return False
        org_id, actor, report = found
        scratch = self._api.store.scratch()
        started, outcome = time.monotonic(), "failed"

        async def progress(fraction: float, stage: str) -> None:
            async with tenant_transaction(self._db, org_id) as conn:
                await conn.execute("UPDATE compliance_reports SET progress = %s, stage = %s WHERE report_id = %s "
                                   "AND state = 'running'", (max(0.0, min(1.0, fraction)), stage[:200],
                                                             report.report_id))
        try:
            made = await self._maker.make(org_id, report, scratch, progress)
            await progress(0.99, "filing in the evidence library")
            await self._api.add_artifact(org_id, "report", made.title, made.parameters, actor=actor, path=made.path,
                                         filename=made.filename, media_type="application/pdf",
                                         verification_hash=made.verification_hash, report_id=report.report_id)
            outcome = "done"
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:
            _log.warning("report %s failed", report.report_id, exc_info=True)
            await self._fail(org_id, report, _why(exc))
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(scratch, ignore_errors=True)
            telemetry = current()  # None when OpenTelemetry is off
            if telemetry is not None and outcome != "cancelled":
                telemetry.add(REPORT_JOBS, 1, {"outcome": outcome})
                telemetry.record(REPORT_DURATION, time.monotonic() - started, {"outcome": outcome})
        return True

    async def _fail(self, org_id: str, report: ReportView, error: str) -> None:
        async with tenant_transaction(self._db, org_id) as conn:
            await record(conn, ReportFailed(str(uuid.uuid4()), datetime.now(UTC), org_id, report.report_id,
                                            error[:1000]))


def _why(exc: Exception) -> str:
    """What a person reads about a failed report: the words of a failure the code expects (a
    service away, a refusal, a report that cannot be made), the type too of one it does not."""
    if isinstance(exc, ServiceUnavailable | ValueError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
