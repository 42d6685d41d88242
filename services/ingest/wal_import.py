"""Backfill a stack from a daemon's ``faramesh.wal`` (or a JSONL export of it).

Every DPR frame's payload goes onto ``dpr.records.v1`` byte for byte, with
``Origin(source="wal-import", sequence=<frame byte offset or line number>,
buffer=<file identity>)``, exactly as if the daemon had pushed it; verification is the
audit projection's job, as for every way in. What is not a DPR is parked on the
dead-letter topic with its reason and position. Control frames (budget and rate counters)
are counted, not imported. A torn tail (a write cut short by a crash, never acknowledged
by the daemon) is reported and left alone.

Idempotent through the import ledger (:mod:`.feeds.import_ledger`): the file's identity is
its format and the record_hash of its first DPR, which stays the same while the daemon
appends, so importing the same file again appends nothing and a grown WAL appends only the
frames after the last imported one. (A compaction starts a new file with a new first
record, hence a new identity: it is imported whole, and projections dedupe the records.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from faramesh_cloud.dpr.wal import WalStop
from faramesh_cloud.events.dpr_items import (
    H_WAL_FILE,
    H_WAL_FRAME,
    H_WAL_OFFSET,
    dead_letter_record,
    dpr_log_record,
    dpr_problem,
)
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, Origin
from faramesh_cloud.ingest.feeds.import_ledger import ImportLedger, Progress
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.sources import DprSource, Item, open_source

SOURCE: Final = "wal-import"
BATCH: Final = 500

ProgressCallback = Callable[[int, int], None]  # (bytes read, file size)


@dataclass(frozen=True, slots=True)
class Malformed:
    where: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    path: Path
    format: str
    identity: str | None = None  # None: the file holds no DPR, nothing was imported
    resumed_after: int | None = None  # ledger position before this run (None: first import)
    records: int = 0  # DPRs appended by this run
    control_frames: int = 0  # control frames passed by this run
    malformed: list[Malformed] = field(default_factory=list)  # parked on the dead-letter topic
    skipped: int = 0  # items at or before the ledger position (imported earlier)
    stop: WalStop | None = None  # why reading stopped before the end (torn tail, corruption)
    total_records: int = 0  # DPRs of this file on the log for this stack, all runs

    @property
    def unit(self) -> str:
        return "byte offset" if self.format == "wal" else "line"


def _take(items: Iterator[Item], count: int) -> list[Item]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == count:
            break
    return chunk


def source_identity(source: DprSource) -> str | None:
    """``<format>:<record_hash of the first DPR>``, or None when there is no DPR."""
    items = iter(source)
    try:
        for item in items:
            record = item.record
            if item.control is not None or not isinstance(record, dict):
                continue
            if dpr_problem(item.raw, record) is None and isinstance(record.get("record_hash"), str):
                return f"{source.format}:{record['record_hash']}"
    finally:
        items.close()  # type: ignore[attr-defined]  # releases the view of the mapped file
    return None


class _Batch:
    def __init__(self) -> None:
        self.dprs: list[LogRecord] = []
        self.dead: list[LogRecord] = []
        self.progress = Progress(through=-1, records=0, control_frames=0, malformed=0)

    def covered(self, item: Item, *, record: int = 0, control: int = 0, malformed: int = 0) -> None:
        p = self.progress
        self.progress = Progress(item.position, p.records + record, p.control_frames + control,
                                 p.malformed + malformed)


class WalImporter:
    def __init__(self, log: Log, ledger: ImportLedger, *, batch_size: int = BATCH,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self._log = log
        self._ledger = ledger
        self._batch_size = batch_size
        self._wall_ns = wall_ns

    async def run(self, path: Path, org_id: str, stack_id: str,
                  on_progress: ProgressCallback | None = None) -> ImportReport:
        """Import ``path`` into the stack. Raises SourceError for a file that is not DPRs at
        all, ImportBusy when the same import runs elsewhere, LogUnavailable when the log
        fails (what was appended before stays recorded in the ledger)."""
        with open_source(path) as source:
            report = ImportReport(path=path, format=source.format)
            report.identity = await asyncio.to_thread(source_identity, source)
            if report.identity is None:
                report.stop = source.stop
                return report
            async with self._ledger.exclusive(org_id, stack_id, report.identity):
                entry = await self._ledger.entry(org_id, stack_id, report.identity)
                through = -1 if entry is None else entry.imported_through
                report.resumed_after = None if entry is None else through
                await self._append_all(source, report, org_id, stack_id, through, on_progress)
                final = await self._ledger.entry(org_id, stack_id, report.identity)
                report.total_records = 0 if final is None else final.records
            report.stop = source.stop
        return report

    async def _append_all(self, source: DprSource, report: ImportReport, org_id: str, stack_id: str,
                          through: int, on_progress: ProgressCallback | None) -> None:
        assert report.identity is not None
        items = iter(source)
        frame = 0
        try:
            while chunk := await asyncio.to_thread(_take, items, self._batch_size):
                batch = _Batch()
                received_ns = self._wall_ns()
                for item in chunk:
                    if item.position > through:
                        origin = Origin(org_id, stack_id, SOURCE, item.position, report.identity, received_ns)
                        self._add(batch, item, origin, frame, source, report)
                    else:
                        report.skipped += 1
                    frame += 1
                if batch.dprs:
                    await self._log.append(DPR_RECORDS, batch.dprs)
                if batch.dead:
                    await self._log.append(DEAD_LETTERS, batch.dead)
                if batch.progress.through >= 0:
                    await self._ledger.advance(org_id, stack_id, report.identity, str(source.path),
                                               batch.progress)
                if on_progress is not None:
                    on_progress(source.bytes_read, source.size)
        finally:
            items.close()  # type: ignore[attr-defined]

    def _add(self, batch: _Batch, item: Item, origin: Origin, frame: int, source: DprSource,
             report: ImportReport) -> None:
        kind = "control_frame" if item.index < 0 else "dpr_record"
        if item.control is not None:
            report.control_frames += 1
            batch.covered(item, control=1)
            return
        problem = item.error
        if problem is None and isinstance(item.record, dict):
            found = dpr_problem(item.raw, item.record)
            problem = None if found is None else found.message
        if problem is not None:
            report.malformed.append(Malformed(item.where, problem))
            reason = f"MALFORMED: {source.path.name} {item.where}: {problem}"
            batch.dead.append(dead_letter_record(origin, item.raw, kind, reason))
            batch.covered(item, malformed=1)
            return
        extra = None
        if source.format == "wal":
            extra = {H_WAL_FILE: source.path.name.encode(), H_WAL_OFFSET: str(item.position).encode(),
                     H_WAL_FRAME: str(frame).encode()}
        batch.dprs.append(dpr_log_record(origin, item.raw, extra))
        report.records += 1
        batch.covered(item, record=1)
