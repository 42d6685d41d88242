"""``faramesh-cloud snippet BLOCK -f name=value …``: the Config Assistant over the REST API
(``/api/v1/orgs/{org}/config-assistant``) with a platform API key (Owner or Admin: the keys that
read organisation settings). Prints the governance.fms text on stdout (notes on stderr), ready
to append to a stack's file; ``--list`` shows the block types and their fields. Cloud stores
and pushes nothing: commit the text and run ``faramesh apply``.

Exit codes as every command (``cli/errors.py``): 2 when a field is refused (the server names
it and says why), 1 when the Cloud could not be reached or said no (401/403/503)."""

from __future__ import annotations

from pathlib import Path

import click

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, connect, connection_options


def _org_base(api: Api, org: str | None) -> str:
    if org is None:
        memberships = api.call("GET", "/api/v1/me").get("memberships") or []
        if not memberships:
            raise Refused("this API key belongs to no organisation; make one under Settings → API keys")
        org = str(memberships[0]["org"]["slug"])
    return f"/api/v1/orgs/{org}/config-assistant"


def _fields(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise Refused(f"-f {pair!r}: write NAME=VALUE (faramesh-cloud snippet --list names the fields)")
        name = name.strip()
        before = out.get(name)
        # a name given twice is a multi-choice field (webhooks events): its values are a list
        out[name] = value if before is None else [*([before] if isinstance(before, str) else before), value]
    return out


@click.command()
@click.argument("block", required=False)
@click.option("-f", "--field", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A form field (repeat; a multi-choice field: repeat its name).")
@click.option("--list", "list_blocks", is_flag=True, help="List the block types and their fields.")
@connection_options
def snippet(block: str | None, pairs: tuple[str, ...], list_blocks: bool, url: str | None, api_key: str | None,
            org: str | None, data_dir: Path | None) -> None:
    """Generate a governance.fms block with the Config Assistant (runtime, agent, rule, budget,
    provider, pack, trust, webhooks); Cloud never pushes it: commit it and run `faramesh apply`."""
    if not list_blocks and not block:
        raise Refused("name a block type (runtime, agent, rule, budget, provider, pack, trust, webhooks) or "
                      "pass --list")
    api = connect(url, api_key, org, data_dir)
    try:
        base = _org_base(api, org)
        if list_blocks:
            for b in api.call("GET", f"{base}/blocks"):
                click.echo(f"{b['block']}: {b['title']} ({b['where']})")
                for f in b["fields"]:
                    rule = " | ".join(c or "(unset)" for c in f["choices"]) if f["choices"] else f["help"]
                    click.echo(f"  {f['name']}{' (required)' if f['required'] else ''}: {f['label']}"
                               f"{'. ' + rule if rule else ''}")
            return
        made = api.call("POST", f"{base}/snippets", json={"block": block, "fields": _fields(pairs)})
    finally:
        api.close()
    click.echo(made["text"])
    click.echo(f"Put it {made['where']}.", err=True)
    for warning in made.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    for note in made["notes"]:
        click.echo(f"note: {note}", err=True)
