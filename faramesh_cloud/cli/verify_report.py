"""``faramesh-cloud verify-report REPORT.pdf [--platform-key K] [--certificate C]``: check a
compliance report offline, beyond every anchor: the PDF signature, the appendix's signature,
every DPR in it, the certified chain heads and the verification hash
(``faramesh_cloud.compliance.report.check`` lists the checks). No Cloud, no network.
Exit 0 when everything holds, 1 naming the first check that failed, 2 when the input is unreadable.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from faramesh_cloud.signing.keys import SigningKeyError, load_public_key


@click.command("verify-report")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--platform-key", "platform_key", default=None,
              help="The platform's ed25519 public key (file or key) that signed the appendix: "
                   "GET /api/v1/platform/signing-key?format=pem. Without it the appendix signature is not checked.")
@click.option("--certificate", "certificate", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The platform document certificate (PEM) to trust for the PDF signature; without it the "
                   "certificate the PDF carries is the trust root (and the output says so).")
def verify_report(report: Path, platform_key: str | None, certificate: Path | None) -> None:
    """Verify a compliance report PDF and its embedded DPR appendix without Cloud."""
    from faramesh_cloud.compliance.report.check import UnreadableReport, check_report

    try:
        key = load_public_key(platform_key) if platform_key is not None else None
    except SigningKeyError as exc:
        click.echo(f"error: --platform-key: {exc}", err=True)
        sys.exit(2)
    if certificate is not None and not certificate.is_file():
        click.echo(f"error: --certificate: {certificate} is not a file", err=True)
        sys.exit(2)
    try:
        result = check_report(report, platform_key=key, certificate=certificate)
    except UnreadableReport as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ValueError as exc:  # a certificate that is not PEM/DER
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{report}:")
    for check in result.checks:
        click.echo(f"  {'ok' if check.ok else 'FAILED'}  {check.name}: {check.detail}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    failed = result.first_failure
    if failed is None:
        click.echo("OK: the report, its appendix and every DPR in it verify")
        sys.exit(0)
    click.echo(f"FAILED: {failed.name}: {failed.detail}")
    sys.exit(1)
