"""``faramesh-cloud billing usage | invoices | invoice MONTH``: usage per meter and the
monthly invoices over a running Cloud's REST API (``/api/v1/orgs/{org}/billing``), with a
platform API key of the Owner role (``--api-key`` or ``FARAMESH_CLOUD_API_KEY``). ``invoice``
issues the month's invoice when it has not been issued yet (a finished month only) and, with
``--out``, writes its PDF or CSV (by the file's extension, or ``--format``).

Exit codes as every command (``cli/errors.py``): 2 when refused (a month not finished, not
YYYY-MM; the server's reason), 1 when the Cloud could not be reached or said no (401/403/503)."""

from __future__ import annotations

from pathlib import Path

import click

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, check, connect, connection_options

METERS = (("stacks", "stacks"), ("decisions", "decisions"), ("reports", "reports"),
          ("registry_bytes", "registry bytes"), ("seats", "seats"))


def _base(api: Api) -> str:
    return api.base.rsplit("/", 1)[0] + "/billing"  # the organisation's API root, then billing


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


@click.group()
def billing() -> None:
    """Usage per meter and monthly invoices (Owner; over the REST API, with an API key)."""


@billing.command()
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 24),
              help="How many months, ending with the current one.")
@connection_options
def usage(months: int, url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Each meter per month (UTC), oldest first; the last month is still running."""
    api = connect(url, api_key, org, data_dir)
    try:
        rows = api.call("GET", f"{_base(api)}/usage", params={"months": months})
    finally:
        api.close()
    click.echo("month    " + "".join(f"{label:>16}" for _, label in METERS))
    for row in rows:
        click.echo(f"{row['month']:<9}" + "".join(f"{row['meters'].get(m, 0):>16,}" for m, _ in METERS))


@billing.command("invoices")
@connection_options
def list_invoices(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """The invoices issued, newest month first."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = api.call("GET", f"{_base(api)}/invoices")
    finally:
        api.close()
    if not found:
        click.echo("No invoice issued yet.", err=True)
    for i in found:
        click.echo(f"{i['month']}  {i['invoice_number']}  {i['plan_name']:<12} {_money(i['total_cents'], i['currency'])}"
                   f"  issued {i['issued_at']} by {i['issued_by']}")


def _format(out: Path | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if out is not None and out.suffix.lower() in (".csv", ".pdf"):
        return out.suffix.lower()[1:]
    return "pdf"


@billing.command()
@click.argument("month")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the invoice document here.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "csv"]), help="Default: by --out's extension, else pdf.")
@connection_options
def invoice(month: str, out: Path | None, fmt: str | None, url: str | None, api_key: str | None, org: str | None,
            data_dir: Path | None) -> None:
    """Issue MONTH's invoice (YYYY-MM, a finished month) unless issued already; show its lines."""
    api = connect(url, api_key, org, data_dir)
    try:
        made = api.call("POST", f"{_base(api)}/invoices", json={"month": month})
        said = "issued now" if made["issued_now"] else "issued before"
        click.echo(f"Invoice {made['invoice_number']} for {made['month']} ({made['plan_name']}), {said}:", err=True)
        for line in made["lines"]:
            click.echo(f"  {line['description']:<40} {line['quantity']:>14,}  {_money(line['amount_cents'], made['currency'])}")
        click.echo(f"  {'Total':<40} {'':>14}  {_money(made['total_cents'], made['currency'])}")
        if out is not None:
            kind = _format(out, fmt)
            answer = api._send("GET", f"{_base(api)}/invoices/{month}", params={"format": kind})
            check(answer)
            try:
                out.write_bytes(answer.content)
            except OSError as exc:
                raise Refused(f"cannot write {out}: {exc.strerror}") from None
            click.echo(f"Wrote {out} ({len(answer.content):,} bytes, {kind.upper()}).", err=True)
    finally:
        api.close()
