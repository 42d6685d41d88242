"""``faramesh-cloud verify-registry FILE --key ID=BASE64``: verify an exported registry log
offline (no Cloud, no database): every entry's hash, every link of the chain, every signed
checkpoint against the pinned registry keys, and that the checkpoints agree with the entries
(``faramesh_cloud.registry.translog_verify`` lists the checks; docs/registry-log.md).

Exit 0 when everything holds; 1 when anything does not (the first problem is named with its
seq); 2 when the input is unreadable (not JSON, not a registry log export, a malformed --key).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli.errors import Refused


def _pins(values: tuple[str, ...]) -> dict[str, bytes]:
    from faramesh_cloud.registry.translog_verify import parse_key_b64

    pins: dict[str, bytes] = {}
    for value in values:
        key_id, sep, b64 = value.partition("=")
        try:
            if not sep or not key_id:
                raise ValueError("write it as ID=BASE64")
            pins[key_id] = parse_key_b64(b64)
        except ValueError as exc:
            raise Refused(f"--key {value!r}: {exc}; the registry's keys are listed at /registry/v1/trust/keys") from None
    return pins


def _short(raw: bytes) -> str:
    return raw.hex()[:16] + "…"


@click.command("verify-registry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "keys", multiple=True, metavar="ID=BASE64",
              help="A registry key to trust: its id and its Ed25519 public key in base64 (from "
                   "/registry/v1/trust/keys or your own records). Repeat for several (rotated keys).")
@click.option("--trust-file-keys", is_flag=True,
              help="Also trust the keys the file itself lists (only proves the file is self-consistent).")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A signed checkpoint saved earlier (a note file); the log must still agree with it. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_registry(file: Path, keys: tuple[str, ...], trust_file_keys: bool, checkpoints: tuple[Path, ...],
                    as_json: bool) -> None:
    """Verify an exported registry log (faramesh-cloud registry export-log) without Cloud."""
    from faramesh_cloud.registry.translog_verify import NotALogExport, verify_log

    pins = _pins(keys)
    try:
        bundle = json.loads(file.read_bytes())
        notes = [(str(p), p.read_text("utf-8")) for p in checkpoints]
    except OSError as exc:
        raise Refused(f"cannot read {exc.filename}: {exc.strerror}; check the path") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"{file} is not JSON ({exc}); pass the file export-log wrote") from None
    try:
        report = verify_log(bundle, pinned=pins, trust_file_keys=trust_file_keys, extra_notes=notes)
    except NotALogExport as exc:
        raise Refused(f"{file}: {exc}") from None
    if as_json:
        click.echo(json.dumps(_as_json(report), indent=2))
    else:
        _print(file, report)
    sys.exit(0 if report.ok else 1)


def _as_json(report: Any) -> dict[str, Any]:
    first = report.first_problem
    return {
        "ok": report.ok, "origin": report.origin, "entries": report.entries, "head_seq": report.head_seq,
        "head_hash": report.head_hash.hex(), "covered_by_checkpoint": report.covered,
        "first_problem": None if first is None else {"seq": first.seq, "reason": first.reason},
        "problems": [{"seq": p.seq, "reason": p.reason} for p in report.problems],
        "checkpoints": [{"where": c.where, "size": c.size, "key_id": c.key_id, "ok": c.ok, "detail": c.detail}
                        for c in report.checkpoints],
        "notes": report.notes,
    }


def _print(file: Path, report: Any) -> None:
    echo = click.echo
    ok, failed = click.style("ok", fg="green"), click.style("FAILED", fg="red")
    echo(f"{file}: registry log {report.origin!r}, {report.entries} entries, "
         f"{len(report.checkpoints)} checkpoint(s)")
    chain_problems = [p for p in report.problems if p.part == "chain"]
    echo(f"  {failed if chain_problems else ok}  chain: {report.entries} entries, their order, hashes and links"
         + (f", head entry {report.head_seq} {_short(report.head_hash)}" if report.head_seq else ""))
    for c in report.checkpoints:
        echo(f"  {ok if c.ok else failed}  {c.where} (size {c.size}, key {c.key_id}): {c.detail}")
    for problem in report.problems:
        echo(click.style("  problem: ", fg="red") + str(problem))
    for note in report.notes:
        echo(f"  note: {note}")
    first = report.first_problem
    if first is None:
        echo(click.style("OK", fg="green") + f": every entry, link and checkpoint verifies "
             f"({report.covered} of {report.entries} entries under a signed checkpoint)")
    else:
        where = f" at seq {first.seq}" if first.seq is not None else ""
        echo(click.style("FAILED", fg="red") + f"{where}: {first.reason}")
