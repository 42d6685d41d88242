"""``faramesh-cloud members``: the people of an organisation, as Settings → Members shows
them: list, invite, change a role, set or clear a per-stack role override, remove, revoke an
invitation. Members are named by email (or user id).

The commands act as the CLI operator (``cli:<OS user>``, Owner rights; see
:mod:`faramesh_cloud.cli.admin`) under the UI's rules: an organisation keeps at least one
Owner, and every change is in the platform audit log. Exit codes: 0 done, 2 refused (the
``error:`` line says why and what to do), as for every command (``cli/errors.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from faramesh_cloud.cli.admin import (
    Admin,
    cloud_addresses,
    find_stack,
    load_settings,
    operator_principal,
    org_option,
    resolve_org,
    run_admin,
)
from faramesh_cloud.cli.up import data_dir_option
from faramesh_cloud.identity.domain import Invitation, Member, NotFound
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.identity.rows import normal_email
from faramesh_cloud.stacks.domain import Org

ROLE = click.Choice([r.value for r in Role], case_sensitive=False)
# What ``stack-role`` accepts: a stack role, ``none`` (no access to the stack), or
# ``inherit`` (remove the override: the organisation role applies again).
INHERIT = "inherit"
STACK_ROLE = click.Choice([*(r.value for r in StackRole), INHERIT], case_sensitive=False)


@click.group()
def members() -> None:
    """Members: who may do what in an organisation (roles, per-stack overrides, invitations)."""


async def find_member(admin: Admin, org: Org, who: str) -> Member:
    """The member of ``org`` with this email (any case) or user id."""
    wanted = who.strip()
    email = wanted.lower()
    for person in await admin.identity.members.all(org.org_id):
        if person.user.email == email or person.user.user_id == wanted:
            return person
    raise NotFound(f"{who!r} is not a member of organisation {org.slug!r}; "
                   f"see: faramesh-cloud members list --org {org.slug}")


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class _Listing:
    org: Org
    people: list[Member]
    stack_names: dict[str, str]
    invitations: list[Invitation]


@members.command("list")
@org_option
@data_dir_option
def list_(org_slug: str | None, data_dir: Path | None) -> None:
    """List the organisation's members, their roles and stack overrides, and open invitations."""

    async def work(admin: Admin) -> _Listing:
        org = await resolve_org(admin, org_slug)
        names = {s.stack_id: s.name for s in await admin.stacks.list_stacks(org.org_id)}
        now = datetime.now(UTC)
        invitations = [i for i in await admin.identity.invitations.all(org.org_id) if i.state(now) == "pending"]
        return _Listing(org, await admin.identity.members.all(org.org_id), names, invitations)

    found = run_admin(load_settings(data_dir), work)
    if not found.people:
        click.echo(f"Organisation {found.org.slug!r} has no members yet: the first person signs up at the "
                   f"web UI's /setup, or invite one: faramesh-cloud members invite EMAIL --role owner "
                   f"--org {found.org.slug}")
    else:
        table = Table(title=f"Members of {found.org.slug}")
        for column in ("email", "name", "role", "stack overrides", "joined", "via"):
            table.add_column(column)
        for person in found.people:
            overrides = ", ".join(f"{found.stack_names.get(sid, sid)}={role.value}"
                                  for sid, role in sorted(person.stack_roles.items()))
            table.add_row(person.user.email, person.user.name or "—", person.role.label, overrides or "—",
                          _when(person.joined_at), person.source)
        Console(width=160).print(table)
    for invitation in found.invitations:
        click.echo(f"invited: {invitation.email} as {invitation.role.label}, until {_when(invitation.expires_at)} "
                   f"(id {invitation.invitation_id})")


@members.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=ROLE, help="The role the person gets on accepting.")
@org_option
@data_dir_option
def invite(email: str, role: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Invite EMAIL and print the one-time invitation link (shown once)."""
    settings = load_settings(data_dir)

    async def work(admin: Admin) -> tuple[Invitation, str]:
        org = await resolve_org(admin, org_slug)
        return await admin.identity.invitations.create(org.org_id, email, Role(role.lower()),
                                                       operator_principal(org))

    invitation, token = run_admin(settings, work)
    click.echo(f"Invited {invitation.email} as {invitation.role.label}; the link works once, until "
               f"{_when(invitation.expires_at)}. Send it to them (it is shown only now):")
    click.echo(f"  {cloud_addresses(settings).http_url}/invitations/{token}")


@members.command("change-role")
@click.argument("member")
@click.argument("role", type=ROLE)
@org_option
@data_dir_option
def change_role(member: str, role: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Give MEMBER (email or user id) the organisation role ROLE."""

    async def work(admin: Admin) -> tuple[Member, Member]:
        org = await resolve_org(admin, org_slug)
        before = await find_member(admin, org, member)
        after = await admin.identity.members.change_role(org.org_id, before.user.user_id, Role(role.lower()),
                                                         operator_principal(org))
        return before, after

    before, after = run_admin(load_settings(data_dir), work)
    if before.role is after.role:
        click.echo(f"{after.user.email} is {after.role.label} already; nothing changed.")
    else:
        click.echo(f"{after.user.email} is now {after.role.label} (was {before.role.label}).")


@members.command("stack-role")
@click.argument("member")
@click.argument("stack")
@click.argument("role", type=STACK_ROLE)
@org_option
@data_dir_option
def stack_role(member: str, stack: str, role: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Override MEMBER's role on stack STACK (name): admin, operator, auditor, viewer, none (no
    access to the stack), or inherit (remove the override)."""
    wanted = None if role.lower() == INHERIT else StackRole(role.lower())

    async def work(admin: Admin) -> Member:
        org = await resolve_org(admin, org_slug)
        person = await find_member(admin, org, member)
        target = await find_stack(admin, org, stack)
        return await admin.identity.members.set_stack_role(org.org_id, person.user.user_id, target.stack_id,
                                                           wanted, operator_principal(org))

    changed = run_admin(load_settings(data_dir), work)
    if wanted is None:
        click.echo(f"{changed.user.email} follows their organisation role ({changed.role.label}) on {stack!r} again.")
    elif wanted is StackRole.NONE:
        click.echo(f"{changed.user.email} has no access to stack {stack!r} now (organisation role: "
                   f"{changed.role.label}).")
    else:
        click.echo(f"{changed.user.email} is {wanted.value} on stack {stack!r} (organisation role: "
                   f"{changed.role.label}).")


@members.command("remove")
@click.argument("member")
@org_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
def remove(member: str, org_slug: str | None, yes: bool, data_dir: Path | None) -> None:
    """Remove MEMBER (email or user id) from the organisation; their sessions lose access at once."""
    if not yes:
        click.confirm(f"Remove {member!r} from the organisation?", abort=True)

    async def work(admin: Admin) -> Member:
        org = await resolve_org(admin, org_slug)
        person = await find_member(admin, org, member)
        await admin.identity.members.remove(org.org_id, person.user.user_id, operator_principal(org))
        return person

    gone = run_admin(load_settings(data_dir), work)
    click.echo(f"Removed {gone.user.email} ({gone.role.label}) from the organisation.")


@members.command("revoke-invitation")
@click.argument("email")
@org_option
@data_dir_option
def revoke_invitation(email: str, org_slug: str | None, data_dir: Path | None) -> None:
    """Revoke the open invitation of EMAIL: its link stops working."""

    async def work(admin: Admin) -> Invitation:
        org = await resolve_org(admin, org_slug)
        address = normal_email(email)
        now = datetime.now(UTC)
        for invitation in await admin.identity.invitations.all(org.org_id):
            if invitation.email == address and invitation.state(now) == "pending":
                return await admin.identity.invitations.revoke(org.org_id, invitation.invitation_id,
                                                               operator_principal(org))
        raise NotFound(f"no open invitation for {address} in organisation {org.slug!r}")

    revoked = run_admin(load_settings(data_dir), work)
    click.echo(f"Revoked the invitation of {revoked.email}.")
