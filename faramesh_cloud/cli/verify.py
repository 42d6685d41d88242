"""``faramesh-cloud verify FILE``: check a JSONL export or a binary faramesh.wal offline.

A WAL is verified in its own order (write order, authoritative). A JSONL export has no
order of its own (upstream's ``faramesh audit export`` writes newest first), so its records
are verified in chain order (``dpr/ordering.py``), and the report says how the file held them.

Exit 0 when every chain holds, 1 when there is any finding, 2 when the input is unreadable
or holds no DPR at all.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from faramesh_cloud.dpr.chain import ChainVerifier, Finding
from faramesh_cloud.dpr.ordering import FileOrder
from faramesh_cloud.dpr.wal import StopKind
from faramesh_cloud.sources import Item, SourceError, open_source

_ORDER_TEXT = {
    FileOrder.WRITE: "write order (oldest first)",
    FileOrder.REVERSED: "reversed (newest first, as `faramesh audit export` writes); verified in chain order",
    FileOrder.MIXED: "mixed (neither oldest nor newest first); verified in chain order",
    FileOrder.UNKNOWN: "one record per chain, nothing to order",
}


def _load_keys(values: tuple[str, ...]) -> set[str] | None:
    keys: set[str] = set()
    for value in values:
        text = Path(value).read_text().strip() if Path(value).is_file() else value.strip()
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise click.BadParameter(f"{value!r} is not a base64 Ed25519 public key (32 bytes) nor a file holding one",
                                     param_hint="--public-key")
        keys.add(text)
    return keys or None


def _short(h: str) -> str:
    return h[:12] + "…" if len(h) > 12 else h


@click.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--public-key", "public_keys", multiple=True,
              help="Trusted Ed25519 public key (base64, or a file holding it). Repeat for several. "
                   "Signatures by any other key are findings.")
@click.option("--hmac-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The daemon's faramesh.hmac.key, to check hmac_signature too.")
@click.option("--skip-signatures", is_flag=True, help="Check hashes and links only (much faster).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--max-findings", default=50, show_default=True, help="Findings to print (all are counted).")
def verify(file: Path, public_keys: tuple[str, ...], hmac_key_file: Path | None, skip_signatures: bool,
           as_json: bool, max_findings: int) -> None:
    """Verify every per-agent DPR chain in FILE (JSONL export or faramesh.wal)."""
    verifier = ChainVerifier(
        check_signatures=not skip_signatures,
        trusted_keys=_load_keys(public_keys),
        hmac_key=hmac_key_file.read_bytes() if hmac_key_file else None,
    )
    started = time.perf_counter()
    controls = 0
    order = "write order (a WAL is authoritative)"
    try:
        with open_source(file, lean=True) as source:
            def other(item: Item) -> None:
                nonlocal controls
                if item.control is not None:
                    controls += 1
                else:
                    verifier.malformed(item.index, item.where, f"not a DPR: {item.error}")

            source.verify_into(verifier, other)  # the hot loop (a million items a file)
            if source.file_order is not None:
                order = _ORDER_TEXT[source.file_order]
            fmt, stop, size = source.format, source.stop, source.size
            if stop is not None and stop.kind is StopKind.CORRUPT:
                verifier.wal_corrupt(stop.offset, stop.reason, stop.unread_bytes)
    except SourceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    findings = verifier.finish()
    if verifier.records == 0 and not findings:
        what = f"only {controls} control frame(s)" if controls else "nothing but blank space" if size else "nothing"
        click.echo(f"error: {file} holds no DPR records ({what}); nothing to verify", err=True)
        sys.exit(2)
    elapsed = time.perf_counter() - started
    report = _report(file, fmt, size, verifier, findings, controls, stop, elapsed)
    report["order"] = order
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        _print(report, findings, max_findings)
    sys.exit(1 if findings else 0)


def _report(file: Path, fmt: str, size: int, verifier: ChainVerifier, findings: list[Finding], controls: int,
            stop: Any, elapsed: float) -> dict[str, Any]:
    chains = []
    for chain in sorted(verifier.chains.values(), key=lambda c: c.agent_id):
        chains.append({
            "agent_id": chain.agent_id,
            "records": chain.length,
            "segments": chain.segments,
            "head": chain.tip,
            "first_created_at": chain.first_created_at,
            "last_created_at": chain.last_created_at,
            "signatures": dict(sorted(chain.signatures.items())),
            "findings": chain.findings,
            "ok": chain.findings == 0,
        })
    return {
        "file": str(file),
        "format": fmt,
        "bytes": size,
        "records": verifier.records,
        "control_frames": controls,
        "agents": len(chains),
        "ok": not findings,
        "findings_total": len(findings),
        "findings": [
            {"kind": f.kind.value, "agent_id": f.agent_id, "record_id": f.record_id, "index": f.index,
             "where": f.where, "message": f.message}
            for f in findings
        ],
        "chains": chains,
        "wal_tail": None if stop is None else {
            "kind": stop.kind.value, "offset": stop.offset, "reason": stop.reason, "unread_bytes": stop.unread_bytes,
        },
        "seconds": round(elapsed, 3),
        "records_per_second": round(verifier.records / elapsed) if elapsed > 0 else None,
    }


def _print(report: dict[str, Any], findings: list[Finding], max_findings: int) -> None:
    echo = click.echo
    echo(f"{report['file']}: {report['format'].upper()}, {report['records']} records, "
         f"{report['agents']} agent chain(s)"
         + (f", {report['control_frames']} control frame(s) skipped" if report["control_frames"] else ""))
    echo(f"order: {report['order']}")
    tail = report["wal_tail"]
    if tail:
        if tail["kind"] == StopKind.TORN_TAIL.value:
            echo(f"note: torn tail at byte offset {tail['offset']} ({tail['unread_bytes']} bytes: {tail['reason']}); "
                 "read up to the last complete frame, as the daemon does on start-up")
    for chain in report["chains"]:
        sigs = ", ".join(f"{n} {k}" for k, n in chain["signatures"].items()) or "not checked"
        status = click.style("OK", fg="green") if chain["ok"] else click.style(f"{chain['findings']} finding(s)", fg="red")
        echo(f"  {chain['agent_id']}: {chain['records']} records, {chain['segments']} segment(s), "
             f"head {_short(chain['head'] or '')}, signatures: {sigs} — {status}")
    for f in findings[:max_findings]:
        who = f" agent {f.agent_id!r}" if f.agent_id else ""
        rid = f" record {f.record_id}" if f.record_id else ""
        echo(click.style(f"  [{f.kind.value}]", fg="red") + f"{who}{rid} at {f.where}: {f.message}")
    if len(findings) > max_findings:
        echo(f"  … and {len(findings) - max_findings} more (use --json for all)")
    verdict = "every chain holds" if report["ok"] else f"{report['findings_total']} finding(s)"
    echo(f"result: {verdict} ({report['records_per_second'] or 0:,} records/s)")
