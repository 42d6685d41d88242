"""``faramesh-cloud verify-bundle FILE --public-key KEY``: check a signed JSON bundle offline.

Checks the ed25519 signature with the key given (never one found in the file), then the
content by kind: for ``platform-audit-log``, every entry's hash and the links of the chain;
for ``dpr-search-export``, every record's hash recomputed from its raw bytes and the links
between consecutive records of an agent.
Exit 0 when everything holds, 1 when anything does not, 2 when the input is unreadable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.platform_audit.chain import BUNDLE_KIND
from faramesh_cloud.platform_audit.export import verify_bundle as verify_audit_bundle
from faramesh_cloud.signing.bundle import BundleError, BundleReport, check_signature
from faramesh_cloud.signing.dpr_bundle import KIND as DPR_KIND
from faramesh_cloud.signing.dpr_bundle import verify_dpr_bundle
from faramesh_cloud.signing.integrity_bundle import KIND as INTEGRITY_KIND
from faramesh_cloud.signing.integrity_bundle import verify_integrity_bundle
from faramesh_cloud.signing.keys import SigningKeyError, load_public_key


def _verify(bundle: dict[str, Any], key: Any) -> BundleReport:
    if bundle.get("kind") == BUNDLE_KIND:
        return verify_audit_bundle(bundle, key)
    if bundle.get("kind") == DPR_KIND:
        return verify_dpr_bundle(bundle, key)
    if bundle.get("kind") == INTEGRITY_KIND:
        return verify_integrity_bundle(bundle, key)
    ok, why = check_signature(bundle, key)
    entries = bundle.get("entries")
    report = BundleReport(str(bundle.get("kind")), len(entries) if isinstance(entries, list) else 0, ok)
    if not ok:
        report.problems.append(why)
    report.notes.append(f"kind {bundle.get('kind')!r}: only the signature was checked by this version")
    return report


@click.command("verify-bundle")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--public-key", "public_key", required=True,
              help="The platform's ed25519 public key: a file (PEM, or base64/hex of the 32 bytes) or the "
                   "key itself. Get it from /api/v1/platform/signing-key.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_bundle(file: Path, public_key: str, as_json: bool) -> None:
    """Verify a signed bundle (platform audit log export, ...) without Cloud."""
    try:
        key = load_public_key(public_key)
    except SigningKeyError as exc:
        click.echo(f"error: --public-key: {exc}", err=True)
        sys.exit(2)
    try:
        bundle = json.loads(file.read_bytes())
        if not isinstance(bundle, dict):
            raise BundleError("the file holds JSON but not an object")
        report = _verify(bundle, key)
    except OSError as exc:
        click.echo(f"error: cannot read {file}: {exc.strerror}; check the path", err=True)
        sys.exit(2)
    except (ValueError, BundleError) as exc:
        click.echo(f"error: {file} is not a signed bundle: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "kind": report.kind, "entries": report.entries,
                               "signature_ok": report.signature_ok, "problems": report.problems,
                               "notes": report.notes}, indent=2))
    else:
        click.echo(f"{file}: {report.kind}, {report.entries} entries")
        click.echo(f"signature: {'valid' if report.signature_ok else 'INVALID'}")
        for problem in report.problems:
            click.echo(f"  problem: {problem}")
        for note in report.notes:
            click.echo(f"  note: {note}")
        click.echo("OK: the bundle is intact" if report.ok else f"FAILED: {len(report.problems)} problem(s)")
    sys.exit(0 if report.ok else 1)
