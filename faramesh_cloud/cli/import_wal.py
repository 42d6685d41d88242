"""``faramesh-cloud import-wal FILE --stack NAME``: backfill a stack from a daemon's WAL.

Exit codes: 0 imported (or nothing new); 1 some entries were not DPRs (parked on the
dead-letter topic, listed) or the WAL is corrupt before its end, or another import of the
file is running; 2 refused: the file cannot be read as DPRs at all, an unknown organisation or
stack, a usage error (``cli/errors.py``).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn

from faramesh_cloud.cli.admin import (
    Admin,
    find_stack,
    load_settings,
    org_option,
    resolve_org,
    run_admin,
)
from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.cli.up import data_dir_option
from faramesh_cloud.dpr.wal import StopKind
from faramesh_cloud.ingest.feeds.import_ledger import ImportBusy, ImportLedger
from faramesh_cloud.ingest.wal_import import ImportReport, Mode, WalImporter
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.sources import SourceError
from faramesh_cloud.stacks.domain import Org, Stack

MAX_LISTED = 20


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _how_skipped(report: ImportReport, stack: Stack) -> list[str]:
    unit = report.unit
    if report.mode is Mode.RESUMED:
        return [f"Imported earlier into stack {stack.name!r} through {unit} {report.resumed_after}, and the "
                f"file still starts with the {report.previous_end} bytes imported then: "
                f"{_plural(report.skipped, 'entry')} already on the log, skipped."]
    if report.mode is Mode.FIRST:
        if not report.skipped:
            return []
        return [f"{_plural(report.skipped, 'entry')} of this file had been imported into stack {stack.name!r} "
                "from another file (same record id and hash): skipped."]
    if report.previous_end == 0:
        why = "the ledger kept no fingerprint of the bytes imported then (an import by an earlier version)"
    elif report.size < report.previous_end:
        why = (f"the file is shorter than the {report.previous_end} bytes imported then "
               f"({report.size} bytes now)")
    else:
        why = f"its first {report.previous_end} bytes are not the ones imported then"
    where = "" if report.rewritten_at is None else f" at {unit} {report.rewritten_at}"
    return [f"The WAL was truncated{where} and rewritten since the last import: {why}. A daemon truncates "
            "its WAL at a corrupt frame when it starts and writes on from there; compaction rewrites it.",
            f"Checked every entry by identity (record id and hash) instead of by position: imported "
            f"{_plural(report.records, 'new record')} by identity, skipped "
            f"{_plural(report.skipped, 'entry')} imported before."]


def _stop_lines(report: ImportReport) -> list[str]:
    stop = report.stop
    if stop is None:
        return []
    if stop.kind is StopKind.TORN_TAIL:
        return [f"Torn tail at byte offset {stop.offset} ({stop.reason}): {stop.unread_bytes} bytes not "
                "imported. A write cut short by a crash; the daemon truncates it when it next "
                "opens the WAL, and nothing it acknowledged is lost."]
    if report.identity is None:
        recorded = "Not recorded: there is no DPR before it to attach it to."
    elif report.problem_new:
        recorded = ("Recorded in the import ledger, the organisation's audit log and the stack's chain "
                    "integrity (Audit → Chain integrity).")
    else:
        recorded = ("Met before at this offset: already in the import ledger, the audit log and the stack's "
                    "chain integrity.")
    return [f"CORRUPT WAL at byte offset {stop.offset} ({stop.reason}): {stop.unread_bytes} bytes "
            "after it could not be read and were not imported. Keep a copy of the file for "
            "investigation.", recorded]


def _summary(report: ImportReport, org: Org, stack: Stack) -> list[str]:
    lines: list[str] = []
    if report.identity is None:
        return [f"{report.path} holds no DPR: nothing imported, nothing recorded.", *_stop_lines(report)]
    lines += _how_skipped(report, stack)
    new = report.records + report.control_frames + len(report.malformed)
    if report.mode is Mode.RESUMED and new == 0:
        lines.append("Nothing new: this run appended nothing.")
    else:
        lines.append(f"Appended {_plural(report.records, 'record')} to stack {stack.name!r} "
                     f"(organisation {org.slug!r}).")
    if report.control_frames:
        lines.append(f"Passed {_plural(report.control_frames, 'control frame')} (budget and rate "
                     "counters, not DPRs: not imported).")
    if report.malformed:
        lines.append(f"{_plural(len(report.malformed), 'entry')} not a DPR, parked on the dead-letter topic:")
        for bad in report.malformed[:MAX_LISTED]:
            lines.append(f"  {bad.where}: {bad.reason}")
        if len(report.malformed) > MAX_LISTED:
            lines.append(f"  ... and {len(report.malformed) - MAX_LISTED} more")
    lines += _stop_lines(report)
    lines.append(f"This file ({report.identity[:24]}...) now has {_plural(report.total_records, 'record')} "
                 f"on the log for this stack; importing it again appends only what is new.")
    return lines


@click.command("import-wal")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--stack", "stack_name", required=True, metavar="NAME", help="The registered stack to backfill.")
@org_option
@data_dir_option
def import_wal(file: Path, stack_name: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Backfill a stack from FILE, a daemon's faramesh.wal or a JSONL export of its DPRs.

    Records go to the log byte for byte, to be verified like records the daemon syncs.
    Safe to repeat: a ledger remembers how far each file was imported, so a second run
    appends nothing and a WAL that grew appends only its new frames. A WAL the daemon
    truncated and wrote on (or compacted) since is checked record by record, and only the
    records not imported before are appended."""
    settings = load_settings(data_dir)
    console = Console(stderr=True)
    size = file.stat().st_size if file.is_file() else 0

    async def work(admin: Admin) -> tuple[Org, Stack, ImportReport]:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, stack_name)
        ledger = ImportLedger(admin.platform.db)
        await ledger.start()
        importer = WalImporter(admin.platform.log, ledger)
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"Importing {file.name}", total=size or None)
            report = await importer.run(file, org.org_id, stack.stack_id,
                                        lambda done, total: progress.update(task, completed=done, total=total))
            progress.update(task, completed=size)
        await admin.record(org, AuditAction.WAL_IMPORTED, Target("stack", stack.stack_id),
                           {"file": file.name, "format": report.format, "records": report.records,
                            "skipped": report.skipped, "malformed": len(report.malformed),
                            "mode": report.mode.value})
        stop = report.stop
        if report.problem_new and stop is not None:
            boundary = report.boundary
            await admin.record(org, AuditAction.WAL_CORRUPTION_FOUND, Target("stack", stack.stack_id),
                               {"file": file.name, "file_identity": report.identity, "byte_offset": stop.offset,
                                "reason": stop.reason, "unread_bytes": stop.unread_bytes,
                                "after_record_id": boundary.record_id if boundary else None,
                                "after_agent_id": boundary.agent_id if boundary else None})
        return org, stack, report

    try:
        org, stack, report = run_admin(settings, work)
    except SourceError as exc:
        raise Refused(str(exc)) from None
    except ImportBusy as exc:
        raise Failed(str(exc)) from None
    for line in _summary(report, org, stack):
        click.echo(line)
    corrupt = report.stop is not None and report.stop.kind is StopKind.CORRUPT
    if report.malformed or corrupt:
        raise SystemExit(1)
