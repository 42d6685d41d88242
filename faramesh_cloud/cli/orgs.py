"""``faramesh-cloud orgs``: create, list and rename organisations (platform operator commands)."""

from __future__ import annotations

from pathlib import Path

import click

from faramesh_cloud.cli.admin import (
    Admin,
    load_settings,
    operator_principal,
    resolve_org,
    run_admin,
)
from faramesh_cloud.cli.up import data_dir_option
from faramesh_cloud.identity.domain import OrgRef
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.stacks.domain import Org


@click.group()
def orgs() -> None:
    """Organisations: the tenant boundary every stack, key and record belongs to."""


@orgs.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Acme Inc.'.")
@data_dir_option
def create(slug: str, name: str, data_dir: Path | None) -> None:
    """Create organisation SLUG (lower-case letters, digits and inner hyphens)."""

    async def work(admin: Admin) -> Org:
        org = await admin.stacks.create_org(slug, name)
        await admin.record(org, AuditAction.ORG_CREATED, Target("org", org.org_id), {"slug": slug, "name": name})
        return org

    org = run_admin(load_settings(data_dir), work, create=True)
    click.echo(f"Created organisation {org.slug!r} ({org.name}), id {org.org_id}.")
    click.echo(f"Next: faramesh-cloud stacks register NAME --org {org.slug}")


@orgs.command("list")
@data_dir_option
def list_(data_dir: Path | None) -> None:
    """List every organisation of this Cloud."""

    async def work(admin: Admin) -> list[Org]:
        return await admin.orgs.list_orgs()

    found = run_admin(load_settings(data_dir), work)
    if not found:
        click.echo("No organisations yet: faramesh-cloud orgs create SLUG --name NAME")
    for org in found:
        click.echo(f"{org.slug:<24} {org.org_id}  {org.name}")


@orgs.command("rename")
@click.argument("slug")
@click.option("--name", default=None, help="New display name.")
@click.option("--slug", "new_slug", default=None, help="New slug (sign-in links and URLs change with it).")
@data_dir_option
def rename(slug: str, name: str | None, new_slug: str | None, data_dir: Path | None) -> None:
    """Change organisation SLUG's display name or slug (Settings → Organization)."""
    if name is None and new_slug is None:
        raise click.UsageError("give --name, --slug or both")

    async def work(admin: Admin) -> OrgRef:
        org = await resolve_org(admin, slug)
        return await admin.identity.orgs.update(org.org_id, name=org.name if name is None else name,
                                                slug=org.slug if new_slug is None else new_slug,
                                                by=operator_principal(org))

    done = run_admin(load_settings(data_dir), work)
    click.echo(f"Organisation {done.slug!r} is called {done.name!r} now.")
