"""``faramesh-cloud groups list | create | add | remove | delete | sso``: groups of members
(Settings → Members → Groups) over a running Cloud's REST API (``/api/v1/orgs/{org}/groups``)
with a platform API key (``--api-key`` or ``FARAMESH_CLOUD_API_KEY``; Owner or Admin change
groups, every role that reads members lists them; ``sso`` is Owner only, like SSO settings).
A group is named by its name or id, a member by email or user id.

Exit codes as every command (``cli/errors.py``): 2 when refused (an unknown group or member,
a name in use: the server's reason), 1 when the Cloud could not be reached or said no."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, connect, connection_options


@click.group()
def groups() -> None:
    """Groups of members that routing rules and escalation steps can notify (REST API, API key)."""


def find_group(api: Api, which: str) -> dict[str, Any]:
    wanted = which.strip()
    for group in api.call("GET", f"{api.org_base}/groups"):
        if group["group_id"] == wanted or group["name"].lower() == wanted.lower():
            return dict(group)
    raise Refused(f"no group {which!r}; see: faramesh-cloud groups list")


def find_member(api: Api, who: str) -> str:
    wanted = who.strip()
    for person in api.call("GET", f"{api.org_base}/members"):
        if person["email"] == wanted.lower() or person["user_id"] == wanted:
            return str(person["user_id"])
    raise Refused(f"{who!r} is not a member of this organisation; see: faramesh-cloud members list")


def _show(group: dict[str, Any]) -> None:
    members = ", ".join(f"{m['email']} ({'+'.join(m['sources'])})" for m in group["members"]) or "nobody"
    click.echo(f"{group['name']} ({group['group_id']}): {members}")


@groups.command("list")
@connection_options
def list_(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """List the groups, their members (and how each is in: manual, sso) and SSO sync."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = api.call("GET", f"{api.org_base}/groups")
    finally:
        api.close()
    table = Table("group", "id", "members", "synced from IdP groups", title="Groups")
    for g in found:
        table.add_row(g["name"], g["group_id"],
                      "\n".join(f"{m['email']} ({'+'.join(m['sources'])})" for m in g["members"]) or "—",
                      ", ".join(g["sso_groups"]) or "—")
    Console(width=200).print(table)


@groups.command()
@click.argument("name")
@click.option("--description", default="", help="What the group is for.")
@connection_options
def create(name: str, description: str, url: str | None, api_key: str | None, org: str | None,
           data_dir: Path | None) -> None:
    """Create a group."""
    api = connect(url, api_key, org, data_dir)
    try:
        made = api.call("POST", f"{api.org_base}/groups", json={"name": name, "description": description})
    finally:
        api.close()
    click.echo(f"Group {made['name']} created: {made['group_id']}")


@groups.command()
@click.argument("group")
@click.argument("member")
@connection_options
def add(group: str, member: str, url: str | None, api_key: str | None, org: str | None,
        data_dir: Path | None) -> None:
    """Add MEMBER (email or user id) to GROUP (name or id)."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = find_group(api, group)
        _show(api.call("POST", f"{api.org_base}/groups/{found['group_id']}/members",
                       json={"user_id": find_member(api, member)}))
    finally:
        api.close()


@groups.command()
@click.argument("group")
@click.argument("member")
@connection_options
def remove(group: str, member: str, url: str | None, api_key: str | None, org: str | None,
           data_dir: Path | None) -> None:
    """Remove MEMBER's manual membership of GROUP (synced ones follow the identity provider)."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = find_group(api, group)
        _show(api.call("DELETE", f"{api.org_base}/groups/{found['group_id']}/members/{find_member(api, member)}"))
    finally:
        api.close()


@groups.command()
@click.argument("group")
@connection_options
def delete(group: str, url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Delete GROUP."""
    api = connect(url, api_key, org, data_dir)
    try:
        gone = api.call("DELETE", f"{api.org_base}/groups/{find_group(api, group)['group_id']}")
    finally:
        api.close()
    click.echo(f"Group {gone['name']} deleted.")


@groups.command()
@click.argument("group")
@click.argument("idp_groups", nargs=-1)
@connection_options
def sso(group: str, idp_groups: tuple[str, ...], url: str | None, api_key: str | None, org: str | None,
        data_dir: Path | None) -> None:
    """Sync GROUP from these IdP group names at each SSO sign-in (none: stop syncing)."""
    api = connect(url, api_key, org, data_dir)
    try:
        found = find_group(api, group)
        changed = api.call("PUT", f"{api.org_base}/groups/{found['group_id']}/sso",
                           json={"sso_groups": list(idp_groups)})
    finally:
        api.close()
    click.echo(f"{changed['name']} is synced from: {', '.join(changed['sso_groups']) or 'nothing'}")
