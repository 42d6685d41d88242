"""``faramesh-cloud git connections | connect | map | drift``: git provider connections, stack
mappings and drift against the main branch over a running Cloud's REST API
(``/api/v1/orgs/{org}/git``), with a platform API key (``--api-key`` or
``FARAMESH_CLOUD_API_KEY``; connect/map: Owner or Admin; ``drift --check``: Operator too).
``connect`` reads the token from ``--token-file`` or standard input (never an argument: shell
history and process lists would keep it).

Exit codes as every command (``cli/errors.py``): 2 when the request was refused (a token that
cannot read the path, an unknown stack: the server's reason), 1 when the Cloud could not be
reached or said no (401/403/503), and 1 from ``drift`` when the stack differs from its branch."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.cli.reports import Api, connect, connection_options


def _base(api: Api) -> str:
    return api.base.removesuffix("/compliance") + "/git"


@click.group()
def git() -> None:
    """Git providers: connections, stack mappings and drift (over the REST API, with an API key)."""


@git.command("connections")
@connection_options
def list_connections(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """List the organisation's git connections (never their tokens)."""
    api = connect(url, api_key, org, data_dir)
    try:
        for c in api.call("GET", f"{_base(api)}/connections"):
            click.echo(f"{c['connection_id']}  {c['name']}  {c['provider']}  {c['base_url']}  token …{c['token_hint']}")
    finally:
        api.close()


@git.command("connect")
@click.argument("name")
@click.option("--provider", required=True, type=click.Choice(["github", "gitlab", "bitbucket", "azure_devops"]))
@click.option("--base-url", default="", help="The API root (empty: the provider's public one; Azure DevOps: "
                                             "https://dev.azure.com/ORG).")
@click.option("--username", default="", help="Bitbucket app passwords only: the user name.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding the token (default: read from standard input).")
@connection_options
def connect_provider(name: str, provider: str, base_url: str, username: str, token_file: Path | None,
                     url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Connect a git provider with a token that can read the governance repository."""
    token = (token_file.read_text() if token_file is not None else sys.stdin.read()).strip()
    if not token:
        raise Refused("give the token on standard input or with --token-file")
    api = connect(url, api_key, org, data_dir)
    try:
        made = api.call("POST", f"{_base(api)}/connections", json={
            "name": name, "provider": provider, "base_url": base_url, "token": token, "username": username})
    finally:
        api.close()
    click.echo(f"connected {made['name']} ({made['connection_id']}); the token is sealed and not shown again")


@git.command("map")
@click.argument("stack_id")
@click.option("--connection", "connection_id", required=True, help="The connection's id (git connections).")
@click.option("--repository", required=True, help="owner/repo, group/project, workspace/repo or project/repo.")
@click.option("--path", default="governance.fms", show_default=True)
@click.option("--branch", default="main", show_default=True)
@connection_options
def map_stack(stack_id: str, connection_id: str, repository: str, path: str, branch: str, url: str | None,
              api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Map a stack to a repository path and main branch (the token must read it now)."""
    api = connect(url, api_key, org, data_dir)
    try:
        m = api.call("PUT", f"{_base(api)}/mappings/{stack_id}", json={
            "connection_id": connection_id, "repository": repository, "path": path, "branch": branch})
    finally:
        api.close()
    click.echo(f"mapped {m['stack_id']} to {m['path']} on {m['branch']} of {m['repository']}")


@git.command("drift")
@click.argument("stack_id")
@click.option("--check", is_flag=True, help="Fetch the branch head now (else: the last check).")
@connection_options
def drift(stack_id: str, check: bool, url: str | None, api_key: str | None, org: str | None,
          data_dir: Path | None) -> None:
    """The stack's applied governance.fms against the head of its mapped branch; exit 1 when
    they differ (the unified diff is printed)."""
    api = connect(url, api_key, org, data_dir)
    try:
        state = api.call("POST" if check else "GET", f"{_base(api)}/drift/{stack_id}" + ("/check" if check else ""))
    finally:
        api.close()
    if state["error"]:
        click.echo(f"the last check failed: {state['error']}", err=True)
    click.echo(f"{state['path']} on {state['branch']} of {state['repository']} at {state['head_commit'][:12] or '?'}: "
               f"{state['status']}")
    if state["status"] == "differs":
        click.echo(state["diff"])
        raise Failed(f"differs from {state['branch']} (+{state['added']} -{state['removed']})")
