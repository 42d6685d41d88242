"""``faramesh-cloud slack status | disconnect``: the Slack app of a running Cloud and the
organisation's connected workspaces, over the REST API with a platform API key (Owner or
Admin: ``org:integration:manage``). Connecting a workspace is Slack's OAuth consent in a
browser (Settings → Integrations → Slack), so there is no ``connect`` here.

Exit codes as every command (``cli/errors.py``): 2 refused (an unknown workspace, a workspace
still used by routing rules: the server's reason), 1 when the Cloud could not be reached or
said no (401/403/503)."""

from __future__ import annotations

from pathlib import Path

import click

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, connect, connection_options


def _org_base(api: Api) -> str:
    return api.base.removesuffix("/compliance")


@click.group()
def slack() -> None:
    """Slack workspaces connected for approval messages and approving from Slack."""


@slack.command()
@connection_options
def status(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Whether the Slack app is configured, its URLs, and the connected workspaces."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = api.call("GET", f"{_org_base(api)}/integrations/slack")
    finally:
        api.close()
    click.echo(f"Slack app: {'configured' if found['configured'] else 'not configured (set FARAMESH_CLOUD_SLACK_*)'}")
    click.echo(f"OAuth redirect URL: {found['redirect_url']}")
    click.echo(f"Interactivity request URL: {found['interactions_url']}")
    if not found["workspaces"]:
        click.echo("No workspace connected.")
    for w in found["workspaces"]:
        click.echo(f"{w['name']}\t{w['team_name'] or w['team_id']} ({w['team_id']})\t{w['channel']}\t"
                   f"{w['destination_id']}")


@slack.command()
@click.argument("name")
@connection_options
def disconnect(name: str, url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Remove the connected workspace NAME (or its destination id); its bot token is deleted
    from Cloud (revoke the app in Slack too)."""
    api = connect(url, api_key, org, data_dir)
    try:
        base = _org_base(api)
        found = [w for w in api.call("GET", f"{base}/integrations/slack")["workspaces"]
                 if name in (w["name"], w["destination_id"])]
        if not found:
            raise Refused(f"no connected Slack workspace named {name!r}; see: faramesh-cloud slack status")
        api.call("DELETE", f"{base}/notifications/destinations/{found[0]['destination_id']}")
    finally:
        api.close()
    click.echo(f"Disconnected {found[0]['name']} ({found[0]['team_name'] or found[0]['team_id']}).")
