"""``faramesh-cloud stacks``: register daemons, list them, label their environment, rotate
and revoke their keys, set their webhook secret, deregister them. Every command works inside
one organisation (``--org SLUG``; without it, the installation's only one). Only ``register``
creates an organisation (``default``, on an install that has none); the others, ``list``
among them, never create anything. What ``register`` and ``webhook-secret`` tell a daemon is
where the Cloud running from the data dir listens (``runtime/running.py``)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from faramesh_cloud.cli.admin import (
    Admin,
    NoOrganisation,
    cloud_addresses,
    find_stack,
    load_settings,
    operator_principal,
    org_option,
    parse_duration,
    resolve_org,
    run_admin,
)
from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.up import data_dir_option
from faramesh_cloud.config import Settings
from faramesh_cloud.fpl.snippets import runtime_block
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.runtime import running
from faramesh_cloud.stacks.domain import Org, Stack, StackError, StackKey, check_stack_name
from faramesh_cloud.stacks.keys import KEY_PREFIX
from faramesh_cloud.stacks.signing_keys import OUTBOX_TABLE as SIGNING_KEYS_OUTBOX
from faramesh_cloud.stacks.signing_keys import PinnedKey


@click.group()
def stacks() -> None:
    """Stacks: one per daemon, each with its own API keys."""


def _said_where(settings: Settings, where: running.RunningCloud) -> str:
    if running.find(settings.data_dir) is not None:
        return (f"These are the addresses of the Cloud running from {settings.data_dir} (pid {where.pid}): "
                f"web UI {where.http_url}, daemon sync {where.sync_address}.")
    return (f"No Cloud is running from {settings.data_dir}: these are the addresses its settings give "
            f"(web UI {where.http_url}, daemon sync {where.sync_address}), where faramesh-cloud up will listen.")


def _show_key(settings: Settings, key: str) -> None:
    click.echo("API key (shown once: store it now, Cloud keeps only its hash):")
    click.echo(f"  {key}")
    click.echo()
    click.echo("On the daemon host, put the key in the daemon's environment:")
    click.echo(f"  export FARAMESH_CLOUD_API_KEY='{key}'")


@stacks.command("register")
@click.argument("name")
@org_option
@click.option("--environment", default="", help="Environment label, e.g. production or staging.")
@data_dir_option
def register(name: str, org_slug: str | None, environment: str, data_dir: Path | None) -> None:
    """Register a daemon as stack NAME and print its API key (once). NAME is 1 to 64 letters,
    digits, '-', '_' and '.', starting with a letter or a digit."""
    try:
        check_stack_name(name)
    except StackError as exc:
        raise Refused(str(exc)) from None
    settings = load_settings(data_dir)

    async def work(admin: Admin) -> tuple[Org, Stack, str]:
        org = await resolve_org(admin, org_slug, create_default=True)
        stack, key = await admin.stacks.register_stack(org.org_id, name, environment)
        await admin.record(org, AuditAction.STACK_REGISTERED, Target("stack", stack.stack_id),
                           {"name": name, "environment": environment})
        return org, stack, key

    org, stack, key = run_admin(settings, work, create=True)
    where = cloud_addresses(settings)
    click.echo(f"Registered stack {stack.name!r} in organisation {org.slug!r} (stack id {stack.stack_id}).")
    click.echo()
    _show_key(settings, key)
    click.echo()
    click.echo("and add this block to its governance.fms:")
    click.echo()
    for line in runtime_block(f"https://{where.sync_address}").splitlines():
        click.echo(f"  {line}")
    if where.sync_ca is not None:
        click.echo()
        click.echo(f"This Cloud's sync certificate is self-signed: give the daemon its CA file, {where.sync_ca}")
    click.echo()
    click.echo("Today's daemon syncs through the legacy Horizon feed with the same key:")
    click.echo(f'  faramesh auth login --token "$FARAMESH_CLOUD_API_KEY" --horizon-url {where.http_url}')
    click.echo("  faramesh serve --sync-horizon ...")
    click.echo()
    click.echo(_said_where(settings, where))


def _active(keys: list[StackKey], now: dt.datetime) -> int:
    return sum(1 for k in keys if k.revoked_at is None and (k.expires_at is None or k.expires_at > now))


def _when(value: dt.datetime | None) -> str:
    return "never" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@stacks.command("list")
@org_option
@click.option("--all", "show_all", is_flag=True, help="Include deregistered stacks.")
@data_dir_option
def list_(org_slug: str | None, show_all: bool, data_dir: Path | None) -> None:
    """List the organisation's stacks with their keys."""

    async def work(admin: Admin) -> tuple[Org, list[tuple[Stack, list[StackKey]]]] | None:
        try:
            org = await resolve_org(admin, org_slug)
        except NoOrganisation as exc:
            click.echo(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return None
        rows = [(s, await admin.stacks.list_keys(org.org_id, s.stack_id))
                for s in await admin.stacks.list_stacks(org.org_id) if show_all or s.registered]
        return org, rows

    found = run_admin(load_settings(data_dir), work)
    if found is None:
        return
    org, rows = found
    if not rows:
        click.echo(f"Organisation {org.slug!r} has no stacks: faramesh-cloud stacks register NAME --org {org.slug}")
        return
    now = dt.datetime.now(dt.UTC)
    table = Table(title=f"Stacks of {org.slug}")
    for column in ("name", "environment", "stack id", "last seen", "status", "active keys"):
        table.add_column(column)
    for stack, keys in rows:
        status = "registered" if stack.registered else f"deregistered {_when(stack.deregistered_at)}"
        table.add_row(stack.name, stack.environment or "-", stack.stack_id, _when(stack.last_seen_at),
                      status, ", ".join(k.prefix for k in keys if _active([k], now)) or "none")
    Console(width=160).print(table)


@stacks.command("rotate-key")
@click.argument("name")
@org_option
@click.option("--overlap", default="24h", show_default=True,
              help="How long the keys in use now keep working (e.g. 0, 30m, 24h, 7d).")
@data_dir_option
def rotate_key(name: str, org_slug: str | None, overlap: str, data_dir: Path | None) -> None:
    """Issue a new key for stack NAME; the current keys stop after the overlap."""
    settings = load_settings(data_dir)
    overlap_s = parse_duration(overlap)

    async def work(admin: Admin) -> tuple[Stack, str]:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)
        key = await admin.stacks.rotate_key(stack.org_id, stack.stack_id, overlap_s)
        await admin.record(org, AuditAction.STACK_KEY_ROTATED, Target("stack", stack.stack_id),
                           {"overlap_s": round(overlap_s)})
        return stack, key

    stack, key = run_admin(settings, work)
    click.echo(f"New key for stack {stack.name!r}. The keys it used until now keep working for "
               f"{overlap} ({overlap_s:g} s), then stop: put the new key in place before that.")
    click.echo()
    _show_key(settings, key)


@stacks.command("set-environment")
@click.argument("name")
@click.argument("environment")
@org_option
@data_dir_option
def set_environment(name: str, environment: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Set stack NAME's environment label (e.g. production, staging; "" removes it)."""
    environment = environment.strip()
    if len(environment) > 100:
        raise click.BadParameter("an environment label is at most 100 characters", param_hint="ENVIRONMENT")

    async def work(admin: Admin) -> tuple[Stack, Stack]:
        org = await resolve_org(admin, org_slug)
        before = await find_stack(admin, org, name)
        after = await admin.stacks.set_environment(org.org_id, before.stack_id, environment)
        await admin.record(org, AuditAction.ORG_SETTINGS_CHANGED, Target("stack", before.stack_id),
                           {"field": "environment", "from": before.environment, "to": environment})
        return before, after

    before, after = run_admin(load_settings(data_dir), work)
    click.echo(f"Stack {after.name!r} is labelled {after.environment or '(none)'!s} now "
               f"(was {before.environment or '(none)'}).")


@stacks.command("revoke-key")
@click.argument("key_id")
@org_option
@data_dir_option
def revoke_key(key_id: str, org_slug: str | None, data_dir: Path | None) -> None:
    """End API key KEY_ID at once (its id, or its prefix fmc_sk_<id> as 'stacks list' shows it)."""
    wanted = key_id.removeprefix(KEY_PREFIX).split("_")[0]

    async def work(admin: Admin) -> StackKey:
        org = await resolve_org(admin, org_slug)
        key = await admin.stacks.revoke_key(org.org_id, wanted)
        await admin.record(org, AuditAction.STACK_KEY_REVOKED, Target("stack", key.stack_id),
                           {"key": key.prefix})
        return key

    key = run_admin(load_settings(data_dir), work)
    click.echo(f"Revoked {key.prefix} (stack {key.stack_id}): daemons using it are refused from now on.")


@stacks.command("deregister")
@click.argument("name")
@org_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
def deregister(name: str, org_slug: str | None, yes: bool, data_dir: Path | None) -> None:
    """Deregister stack NAME: all its keys stop at once; its history stays."""
    if not yes:
        click.confirm(f"Deregister stack {name!r}? Its daemon's keys stop working at once", abort=True)

    async def work(admin: Admin) -> Stack:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)
        done = await admin.stacks.deregister_stack(stack.org_id, stack.stack_id)
        await admin.record(org, AuditAction.STACK_DEREGISTERED, Target("stack", stack.stack_id),
                           {"name": stack.name, "historical_dprs": "kept"})
        return done

    stack = run_admin(load_settings(data_dir), work)
    click.echo(f"Deregistered stack {stack.name!r} ({stack.stack_id}); its keys are revoked, its records kept.")


@dataclass(frozen=True)
class _Secret:
    stack: Stack
    secret: str


@stacks.command("webhook-secret")
@click.argument("name")
@org_option
@click.option("--overlap", default="0", show_default=True,
              help="How long the previous secret keeps verifying (e.g. 1h) while the daemon is re-applied.")
@click.option("--from-env", "from_env", metavar="VAR", default=None,
              help="Use the secret in environment variable VAR (one the daemon already has) instead of a new one.")
@data_dir_option
def webhook_secret(name: str, org_slug: str | None, overlap: str, from_env: str | None,
                   data_dir: Path | None) -> None:
    """Set or rotate the secret stack NAME's daemon signs its webhooks with, and print the
    daemon's webhook configuration."""
    settings = load_settings(data_dir)
    overlap_s = parse_duration(overlap)
    given = None
    if from_env is not None:
        given = os.environ.get(from_env)
        if not given:
            raise click.BadParameter(f"environment variable {from_env} is not set", param_hint="--from-env")

    async def work(admin: Admin) -> _Secret:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)
        store = WebhookSecretStore(admin.platform.db)
        await store.start()
        secret = await store.set_secret(stack.org_id, stack.stack_id, given, overlap_s=overlap_s)
        await admin.record(org, AuditAction.STACK_WEBHOOK_SECRET_SET, Target("stack", stack.stack_id),
                           {"overlap_s": round(overlap_s), "source": "environment" if given else "generated"})
        return _Secret(stack, secret)

    result = run_admin(settings, work)
    click.echo(f"Webhook secret of stack {result.stack.name!r} set"
               + (f"; the previous one keeps verifying for {overlap}." if overlap_s > 0 else "."))
    click.echo("Add this to the daemon's policy document" + (" (the secret is shown once):" if given is None else ":"))
    click.echo()
    click.echo("  webhooks:")
    click.echo(f"    url: {cloud_addresses(settings).http_url}/v1/webhooks/faramesh/{result.stack.stack_id}")
    click.echo("    events: [permit, deny, defer]")
    click.echo(f"    secret: {result.secret if given is None else '<the value of $' + str(from_env) + '>'}")


# -- pinned DPR signing keys ------------------------------------------------------------------


def _cli_actor(org: Org) -> str:
    return f"system:{operator_principal(org).label}"[:300]


async def _relay_pins(admin: Admin) -> None:
    """Put the change's event (in the stacks outbox since its commit) on the log now, so the
    audit index learns of it even when no gateway runs to relay it; at least once, so a
    gateway relaying at the same time only takes turns with this."""
    await OutboxRelay(admin.platform.db, admin.platform.log, SIGNING_KEYS_OUTBOX).relay_once()


@stacks.command("pin-key")
@click.argument("name")
@click.argument("public_key")
@org_option
@click.option("--label", default="", help="A note shown next to the key, e.g. 'prod daemon 2026'.")
@data_dir_option
def pin_key(name: str, public_key: str, org_slug: str | None, label: str, data_dir: Path | None) -> None:
    """Pin PUBLIC_KEY as a DPR signing key of stack NAME. PUBLIC_KEY is the base64 of the raw
    32-byte Ed25519 key (the daemon's faramesh.ed25519.pub), 'ed25519:<base64>', a PEM block,
    or @FILE to read any of those from a file. Once a stack has pins, records signed by other
    keys are reported as "untrusted signer"."""
    if public_key.startswith("@"):
        try:
            public_key = Path(public_key[1:]).read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {public_key[1:]}: {exc}") from None

    async def work(admin: Admin) -> tuple[Stack, PinnedKey]:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)

        async def audited(conn: Any, pinned: PinnedKey) -> None:  # in the pin's transaction
            await admin.identity.audit.append_in(
                conn, org.org_id, AuditAction.STACK_SIGNING_KEY_PINNED, operator_principal(org).actor,
                target=Target("stack", stack.stack_id),
                details={"key_id": pinned.key_id, "public_key": pinned.public_key, "label": pinned.label})

        pinned = await admin.stacks.signing_keys.pin(org.org_id, stack.stack_id, public_key,
                                                     added_by=_cli_actor(org), label=label, with_change=audited)
        await _relay_pins(admin)
        return stack, pinned

    stack, pinned = run_admin(load_settings(data_dir), work)
    click.echo(f"Pinned {pinned.public_key} (key id {pinned.key_id}) for stack {stack.name!r}.")


@stacks.command("unpin-key")
@click.argument("name")
@click.argument("key")
@org_option
@data_dir_option
def unpin_key(name: str, key: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Revoke pinned signing KEY (its key id as 'stacks keys' shows it, or the key itself) of
    stack NAME: records it signs that Cloud receives from now on are "untrusted"."""

    async def work(admin: Admin) -> tuple[Stack, PinnedKey]:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)

        async def audited(conn: Any, revoked: PinnedKey) -> None:  # in the revocation's transaction
            await admin.identity.audit.append_in(
                conn, org.org_id, AuditAction.STACK_SIGNING_KEY_UNPINNED, operator_principal(org).actor,
                target=Target("stack", stack.stack_id), details={"key_id": revoked.key_id})

        revoked = await admin.stacks.signing_keys.revoke(org.org_id, stack.stack_id, key,
                                                         revoked_by=_cli_actor(org), with_change=audited)
        await _relay_pins(admin)
        return stack, revoked

    stack, revoked = run_admin(load_settings(data_dir), work)
    click.echo(f"Revoked signing key {revoked.key_id} of stack {stack.name!r}.")


@stacks.command("keys")
@click.argument("name")
@org_option
@data_dir_option
def keys(name: str, org_slug: str | None, data_dir: Path | None) -> None:
    """List the DPR signing keys pinned for stack NAME (revoked ones too)."""

    async def work(admin: Admin) -> tuple[Stack, list[PinnedKey]]:
        org = await resolve_org(admin, org_slug)
        stack = await find_stack(admin, org, name)
        return stack, await admin.stacks.signing_keys.list(org.org_id, stack.stack_id)

    stack, pins = run_admin(load_settings(data_dir), work)
    if not pins:
        click.echo(f"Stack {stack.name!r} has no pinned signing key: any valid signature is accepted.")
        return
    table = Table("key id", "public key", "label", "added", "status")
    for pin in pins:
        status = "pinned" if pin.active else f"revoked {_when(pin.revoked_at)} by {pin.revoked_by}"
        table.add_row(pin.key_id, pin.public_key, pin.label or "-", f"{_when(pin.added_at)} by {pin.added_by}",
                      status)
    Console(width=240).print(table)
