"""Backfill a stack from a daemon's ``faramesh.wal`` (or a JSONL export of it).

Every DPR frame's payload goes onto ``dpr.records.v1`` byte for byte, with
``Origin(source="wal-import", sequence=<frame byte offset or line number>,
buffer=<file identity>)``, exactly as if the daemon had pushed it; verification is the
audit projection's job, as for every way in. What is not a DPR is parked on the
dead-letter topic with its reason and position. Control frames (budget and rate counters)
are counted, not imported. A torn tail (a write cut short by a crash, never acknowledged
by the daemon) is reported and left alone.

Idempotent through the import ledger (:mod:`.feeds.import_ledger`). A file's identity is its
format and the record_hash of its first DPR, which stays the same while the daemon appends.
Which entries an import appends (:class:`Mode`):

* ``first``: the ledger does not know the file. Every entry is appended, except one whose
  identity, (record_id, record_hash), an import already put on the log for this stack from
  another file (a JSONL export of the same records, the records a compaction kept as they
  were).
* ``resumed`` (the fast path): the file still starts with exactly the bytes imported last
  time (their SHA-256 is in the ledger). The entries they hold are skipped by position;
  what follows is appended. So a second import appends nothing and a grown WAL only its new
  frames.
* ``rewritten``: the file no longer starts with those bytes, or is shorter. A daemon that
  meets a corrupt frame truncates its WAL there when it next starts and writes on from that
  point (upstream ``OpenWAL``), and compaction rewrites the file: the bytes after the old
  position are then *new* records, and skipping by position would lose them. So every entry
  is checked by identity instead, and those imported before are skipped;
  ``rewritten_at`` is where the first entry not imported before sits.

After compaction the same record_id comes back re-chained from genesis with a new
record_hash (FARAMESH_FORMATS 1.6.4): a different version of the record, so it is appended,
and the audit index reports the re-genesis, as it does for the daemon's sync.

A corrupt frame before the end of a WAL (not a torn tail) is recorded in the ledger
(``wal_import_problems``) and, the first time, appended to ``dpr.wal_problems.v1`` with the
last good DPR before it: the audit index makes it a ``wal_corrupt`` chain-integrity finding.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from faramesh_cloud.dpr.wal import StopKind, WalStop
from faramesh_cloud.events.dpr_items import (
    H_WAL_FILE,
    H_WAL_FRAME,
    H_WAL_OFFSET,
    dead_letter_record,
    dpr_log_record,
    dpr_problem,
)
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, WAL_PROBLEMS, Origin
from faramesh_cloud.events.wal_problems import WalCorruptionFound, wal_problem_record
from faramesh_cloud.ingest.feeds.import_ledger import EntryId, ImportLedger, Progress
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.sources import DprSource, Item, open_source

SOURCE: Final = "wal-import"
BATCH: Final = 500
_MAX_ID: Final = 1000  # longest record_id the ledger keeps as is (longer ones go by content hash)
_MAX_HASH: Final = 200

ProgressCallback = Callable[[int, int], None]  # (bytes read, file size)


class Mode(StrEnum):
    FIRST = "first"  # the ledger did not know the file
    RESUMED = "resumed"  # the file starts with the bytes imported before: skipped by position
    REWRITTEN = "rewritten"  # it does not (truncated and written on, compacted): by identity


@dataclass(frozen=True, slots=True)
class Malformed:
    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class Boundary:
    """The last good DPR before a stop."""

    agent_id: str
    record_id: str
    record_hash: str
    created_at: str


@dataclass(slots=True)
class ImportReport:
    path: Path
    format: str
    size: int = 0  # bytes in the file
    identity: str | None = None  # None: the file holds no DPR, nothing was imported
    resumed_after: int | None = None  # ledger position before this run (None: first import)
    mode: Mode = Mode.FIRST
    previous_end: int = 0  # bytes the ledger had verified before this run
    rewritten_at: int | None = None  # REWRITTEN: position of the first entry not imported before
    records: int = 0  # DPRs appended by this run
    control_frames: int = 0  # control frames passed by this run
    malformed: list[Malformed] = field(default_factory=list)  # parked on the dead-letter topic
    skipped: int = 0  # entries imported earlier (by position, or by identity when rewritten)
    stop: WalStop | None = None  # why reading stopped before the end (torn tail, corruption)
    problem_new: bool = False  # a corrupt frame this file never showed before (now recorded)
    boundary: Boundary | None = None  # the last good DPR before the stop
    total_records: int = 0  # DPRs of this file on the log for this stack, all runs

    @property
    def unit(self) -> str:
        return "byte offset" if self.format == "wal" else "line"

    @property
    def corrupt(self) -> bool:
        return self.stop is not None and self.stop.kind is StopKind.CORRUPT


def _take(items: Iterator[Item], count: int) -> list[Item]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == count:
            break
    return chunk


def _dpr(item: Item) -> dict[str, Any] | None:
    """The record of a DPR item Cloud can store, else None."""
    record = item.record
    if item.control is not None or item.error is not None or not isinstance(record, dict):
        return None
    if dpr_problem(item.raw, record) is not None or not isinstance(record.get("record_hash"), str):
        return None
    return record


def source_identity(source: DprSource) -> str | None:
    """``<format>:<record_hash of the first DPR>``, or None when there is no DPR."""
    items = iter(source)
    try:
        for item in items:
            record = _dpr(item)
            if record is not None:
                return f"{source.format}:{record['record_hash']}"
    finally:
        items.close()  # type: ignore[attr-defined]  # releases the view of the mapped file
    return None


def entry_id(item: Item, record: dict[str, Any] | None) -> EntryId | None:
    """What the ledger knows an entry by: a DPR by (record_id, record_hash); anything else
    that is appended somewhere (a malformed entry, parked) by the SHA-256 of its bytes;
    a control frame (not appended) by nothing."""
    if item.control is not None:
        return None
    if record is not None:
        rid, rhash = str(record.get("record_id", "")), str(record["record_hash"])
        if rid and len(rid) <= _MAX_ID and 0 < len(rhash) <= _MAX_HASH and "\x00" not in rid + rhash:
            return rid, rhash
    return "", "sha256:" + hashlib.sha256(item.raw).hexdigest()


class _Batch:
    def __init__(self) -> None:
        self.dprs: list[LogRecord] = []
        self.dead: list[LogRecord] = []
        self.handled: list[EntryId] = []
        self.through = -1
        self.end = 0
        self.records = self.control_frames = self.malformed = 0

    def covered(self, item: Item, *, record: int = 0, control: int = 0, malformed: int = 0) -> None:
        self.through, self.end = item.position, item.end
        self.records += record
        self.control_frames += control
        self.malformed += malformed


class _Prefix:
    """SHA-256 of the file's first ``end`` bytes, extended as entries are handled."""

    def __init__(self, source: DprSource) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.end = 0

    def through(self, end: int) -> str:
        if end > self.end:
            self._hash.update(self._source.read(self.end, end))
            self.end = end
        return self._hash.hexdigest()


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
            report = ImportReport(path=path, format=source.format, size=source.size)
            report.identity = await asyncio.to_thread(source_identity, source)
            if report.identity is None:
                report.stop = source.stop
                return report
            async with self._ledger.exclusive(org_id, stack_id, report.identity):
                entry = await self._ledger.entry(org_id, stack_id, report.identity)
                prefix = _Prefix(source)
                through = -1
                if entry is not None:
                    report.resumed_after = entry.imported_through
                    report.previous_end = entry.verified_end
                    report.mode = Mode.REWRITTEN
                    if entry.prefix_sha256 and 0 < entry.verified_end <= source.size:
                        digest = await asyncio.to_thread(prefix.through, entry.verified_end)
                        if digest == entry.prefix_sha256:  # skipping by position skips what was imported
                            report.mode = Mode.RESUMED
                            through = entry.imported_through
                    if report.mode is Mode.REWRITTEN:
                        prefix = _Prefix(source)
                await self._append_all(source, report, org_id, stack_id, through, prefix, on_progress)
                report.stop = source.stop
                if report.corrupt:
                    await self._record_corruption(source, report, org_id, stack_id)
                final = await self._ledger.entry(org_id, stack_id, report.identity)
                report.total_records = 0 if final is None else final.records
        return report

    async def _append_all(self, source: DprSource, report: ImportReport, org_id: str, stack_id: str,
                          through: int, prefix: _Prefix, on_progress: ProgressCallback | None) -> None:
        assert report.identity is not None
        # A JSONL export holds no write order (upstream's is newest first): its records go on
        # the log in chain order, as the audit index verifies them in arrival order. Until the
        # last of them is on the log no prefix of the file is imported, so its batches record
        # identities only (position 0: a re-run goes by identity), and the position moves once,
        # at the end.
        chain_ordered = source.format == "jsonl"
        items = source.in_chain_order()
        frame = 0
        by_identity = report.mode is not Mode.RESUMED
        covered = Progress(0, 0, 0, 0)  # JSONL: the last line handled, and the end of the file
        try:
            while chunk := await asyncio.to_thread(_take, items, self._batch_size):
                batch = _Batch()
                received_ns = self._wall_ns()
                fresh: list[tuple[Item, dict[str, Any] | None, EntryId | None, int]] = []
                for item in chunk:
                    record = _dpr(item)
                    if record is not None:
                        report.boundary = Boundary(str(record.get("agent_id", "")), str(record.get("record_id", "")),
                                                   str(record["record_hash"]), str(record.get("created_at", "")))
                    if item.position > through:
                        fresh.append((item, record, entry_id(item, record), frame))
                    else:
                        report.skipped += 1
                    frame += 1
                known: set[EntryId] = set()
                if by_identity:
                    known = await self._ledger.imported(org_id, stack_id, (i for _, _, i, _ in fresh if i))
                for item, record, ident, ordinal in fresh:
                    if ident is not None and ident in known:
                        report.skipped += 1
                        batch.covered(item)
                        continue
                    if ident is not None:
                        known.add(ident)  # an exact repeat later in the file is skipped too
                        batch.handled.append(ident)
                        if report.mode is Mode.REWRITTEN and report.rewritten_at is None:
                            report.rewritten_at = item.position
                    origin = Origin(org_id, stack_id, SOURCE, item.position, report.identity, received_ns)
                    self._add(batch, item, record, origin, ordinal, source, report)
                if batch.dprs:
                    await self._log.append(DPR_RECORDS, batch.dprs)
                if batch.dead:
                    await self._log.append(DEAD_LETTERS, batch.dead)
                if batch.through >= 0:
                    if chain_ordered:
                        covered = Progress(max(covered.through, batch.through), 0, 0, 0, max(covered.verified_end,
                                                                                            batch.end))
                        progress = Progress(0, batch.records, batch.control_frames, batch.malformed)
                    else:
                        digest = await asyncio.to_thread(prefix.through, batch.end)
                        progress = Progress(batch.through, batch.records, batch.control_frames, batch.malformed,
                                            batch.end, digest)
                    await self._ledger.advance(org_id, stack_id, report.identity, str(source.path), progress,
                                               batch.handled)
                if on_progress is not None:
                    on_progress(source.bytes_read, source.size)
            if chain_ordered and covered.through > 0:  # every line handled: the file is imported through its end
                digest = await asyncio.to_thread(prefix.through, covered.verified_end)
                await self._ledger.advance(org_id, stack_id, report.identity, str(source.path),
                                           Progress(covered.through, 0, 0, 0, covered.verified_end, digest))
        finally:
            items.close()  # type: ignore[attr-defined]

    def _add(self, batch: _Batch, item: Item, record: dict[str, Any] | None, origin: Origin, frame: int,
             source: DprSource, report: ImportReport) -> None:
        kind = "control_frame" if item.index < 0 else "dpr_record"
        if item.control is not None:
            report.control_frames += 1
            batch.covered(item, control=1)
            return
        if record is None:
            problem = item.error
            if problem is None and isinstance(item.record, dict):
                found = dpr_problem(item.raw, item.record)
                problem = "no record_hash" if found is None else found.message
            problem = problem or "not a DPR"
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

    async def _record_corruption(self, source: DprSource, report: ImportReport, org_id: str,
                                 stack_id: str) -> None:
        """A corrupt frame before the end: onto ``dpr.wal_problems.v1`` (for the audit
        index's findings) the first time, then into the ledger (commit after sink: a crash
        in between appends the event again, and the index keeps one finding)."""
        stop, boundary, identity = report.stop, report.boundary, report.identity
        assert stop is not None and identity is not None
        known = {p.offset for p in await self._ledger.problems(org_id, stack_id, identity)}
        if stop.offset not in known and boundary is not None:
            event = WalCorruptionFound(
                file_name=source.path.name, file_identity=identity, offset=stop.offset, reason=stop.reason,
                unread_bytes=stop.unread_bytes, agent_id=boundary.agent_id, record_id=boundary.record_id,
                record_hash=boundary.record_hash, record_created_at=boundary.created_at)
            origin = Origin(org_id, stack_id, SOURCE, stop.offset, identity, self._wall_ns())
            await self._log.append(WAL_PROBLEMS, [wal_problem_record(origin, event)])
        report.problem_new = await self._ledger.record_problem(
            org_id, stack_id, identity, str(source.path), stop.offset, stop.reason, stop.unread_bytes)
