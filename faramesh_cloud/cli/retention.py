"""``faramesh-cloud retention show | set | hold | release | dry-run | run``: how long DPRs stay in
a running Cloud (``/api/v1/orgs/{org}/retention``), with a platform API key of an Owner or
Admin (``--api-key`` or ``FARAMESH_CLOUD_API_KEY``). A stack is named by its name or id.

Exit codes as every command (``cli/errors.py``): 2 when refused (below a declared framework's
minimum, with the citation; an unknown stack; a bad value), 1 when the Cloud could not be
reached or said no (401/403/503)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, connect, connection_options


def _base(api: Api) -> str:
    return api.base.rsplit("/", 1)[0]  # /api/v1/orgs/<slug>


def _stack_id(api: Api, name: str) -> str:
    stacks = api.call("GET", f"{_base(api)}/stacks")
    for stack in stacks:
        if name in (stack["name"], stack["stack_id"]):
            return str(stack["stack_id"])
    raise Refused(f"no stack {name!r} in this organisation; `faramesh-cloud stacks list` names them")


def _show(status: dict[str, Any]) -> None:
    days = status["days"]
    click.echo(f"retention: {days} days" if days else "retention: none set (nothing is removed)")
    for stack, stack_days in sorted(status["stacks"].items()):
        click.echo(f"  stack {stack}: {stack_days} days")
    for stack, reason in sorted(status["legal_holds"].items()):
        click.echo(f"  legal hold on stack {stack}: {reason}")
    minimum = status["minimum"]
    if minimum:
        click.echo(f"minimum: {minimum['days']} days ({minimum['name']}: {minimum['citation']})")
    click.echo(f"last run: {status['last_run'] or 'never'}; next run: {status['next_run'] or 'on schedule'}")
    _plan(status["plan"])


def _plan(plan: dict[str, Any]) -> None:
    for month in plan["removes"]:
        click.echo(f"removes {month['month']}: {month['records']} DPRs, {month['summaries']} summaries")
    if not plan["removes"]:
        click.echo("removes nothing now")
    if plan["next"]:
        click.echo(f"next: {plan['next']['month']} on {plan['next']['due_at'][:10]}")


@click.group()
def retention() -> None:
    """How long DPRs stay in Cloud: settings, legal holds, dry run, the job."""


@retention.command()
@connection_options
def show(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """The retention, holds, declared minimum and what the job does next."""
    api = connect(url, api_key, org, data_dir)
    try:
        _show(api.call("GET", f"{_base(api)}/retention"))
    finally:
        api.close()


@retention.command("set")
@click.argument("days", type=click.IntRange(1, 36_500))
@click.option("--stack", help="Set it for this stack only (name or id).")
@click.option("--clear", is_flag=True, help="With --stack: the stack follows the organisation again (DAYS ignored).")
@connection_options
def set_retention(days: int, stack: str | None, clear: bool, url: str | None, api_key: str | None, org: str | None,
                  data_dir: Path | None) -> None:
    """Keep DPRs DAYS days (refused below a declared framework's minimum)."""
    api = connect(url, api_key, org, data_dir)
    try:
        base = f"{_base(api)}/retention"
        if stack is None:
            status = api.call("PUT", base, json={"days": days})
        elif clear:
            status = api.call("DELETE", f"{base}/stacks/{_stack_id(api, stack)}")
        else:
            status = api.call("PUT", f"{base}/stacks/{_stack_id(api, stack)}", json={"days": days})
        _show(status)
    finally:
        api.close()


@retention.command()
@click.argument("stack")
@click.option("--reason", required=True, help="Why (the matter, a ticket).")
@connection_options
def hold(stack: str, reason: str, url: str | None, api_key: str | None, org: str | None,
         data_dir: Path | None) -> None:
    """Put STACK on legal hold: nothing of it is removed until released."""
    api = connect(url, api_key, org, data_dir)
    try:
        api.call("PUT", f"{_base(api)}/retention/holds/{_stack_id(api, stack)}", json={"reason": reason})
        click.echo(f"legal hold on {stack}: {reason}")
    finally:
        api.close()


@retention.command()
@click.argument("stack")
@connection_options
def release(stack: str, url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Release STACK's legal hold."""
    api = connect(url, api_key, org, data_dir)
    try:
        api.call("DELETE", f"{_base(api)}/retention/holds/{_stack_id(api, stack)}")
        click.echo(f"legal hold on {stack} released")
    finally:
        api.close()


@retention.command("dry-run")
@click.option("--days", type=click.IntRange(1, 36_500), help="The retention to try (default: the current).")
@click.option("--stack", help="Try it on this stack (name or id).")
@connection_options
def dry_run(days: int | None, stack: str | None, url: str | None, api_key: str | None, org: str | None,
            data_dir: Path | None) -> None:
    """What the job would remove now (with --days: if that were set). Removes nothing."""
    api = connect(url, api_key, org, data_dir)
    try:
        params: dict[str, Any] = {}
        if days is not None:
            params["days"] = days
        if stack:
            params["stack_id"] = _stack_id(api, stack)
        _plan(api.call("GET", f"{_base(api)}/retention/dry-run", params=params))
    finally:
        api.close()


@retention.command("run")
@connection_options
def run(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Run the job for the organisation now."""
    api = connect(url, api_key, org, data_dir)
    try:
        done = api.call("POST", f"{_base(api)}/retention/sweep")
        removed = ", ".join(done["removed_months"]) or "nothing"
        click.echo(f"removed {removed}: {done['records']} DPRs; {done['chains_checkpointed']} chains checkpointed")
    finally:
        api.close()
