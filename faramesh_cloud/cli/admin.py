"""What the admin commands (``orgs``, ``stacks``, ``members``, ``import-wal``) share: opening
the platform as ``up`` does, minus chDB, resolving ``--org`` and stack names, and the operator
principal every command acts as.

The operator: whoever runs ``faramesh-cloud`` on the installation's host can read its data
dir and database, so the CLI acts with Owner rights, as the *system* principal
``cli:<OS user>`` (label ``faramesh-cloud CLI (<user>@<host>)``). Every change a command makes
is written to the organisation's platform audit log under that actor, as the UI's are under
the signed-in member; the member rules (at least one Owner, ...) apply to it unchanged.

Opening skips the OLAP store: these commands need only PostgreSQL and the log, and chDB
allows one process per data dir. So they work beside a running ``faramesh-cloud up`` on
the same embedded data dir (the embedded PostgreSQL is shared between processes: the one
that started it keeps it running while others use it) and against configured URLs alike.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.identity.domain import IdentityError, OrgRef, Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Access, Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.port import LogUnavailable
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.platform import Platform, open_platform
from faramesh_cloud.sql.database import DatabaseUnavailable
from faramesh_cloud.sql.embedded import EmbeddedPostgresError
from faramesh_cloud.stacks.domain import Org, Stack, StackError
from faramesh_cloud.stacks.orgs import DEFAULT_SLUG, OrgStore
from faramesh_cloud.stacks.store import StackStore

T = TypeVar("T")

_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_S: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

org_option = click.option(
    "--org", "org_slug", default=None, metavar="SLUG",
    help=f"Organisation slug (default: {DEFAULT_SLUG!r}, created on first use for single-org installs).",
)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        return f"uid-{os.getuid()}"


def operator_principal(org: Org) -> Principal:
    """The CLI's principal in ``org``: Owner rights, recorded as the system actor ``cli:<user>``."""
    user = os_user()
    return Principal(PrincipalKind.SYSTEM, OrgRef(org.org_id, org.slug, org.name), Access(Role.OWNER),
                     f"cli:{user}", f"faramesh-cloud CLI ({user}@{socket.gethostname()})", ip="local")


@dataclass
class Admin:
    settings: Settings
    platform: Platform
    stacks: StackStore
    orgs: OrgStore
    identity: Identity

    async def record(self, org: Org, action: str, target: Target, details: Mapping[str, Any]) -> None:
        """Write one CLI action to ``org``'s platform audit log."""
        await self.identity.audit.append(org.org_id, action, operator_principal(org).actor, target=target,
                                         details=details)


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``24h``, ``7d`` or plain seconds."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration; write e.g. 0, 90s, 30m, 24h or 7d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def load_settings(data_dir: Path | None) -> Settings:
    try:
        return Settings.load(data_dir=data_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@asynccontextmanager
async def admin_session(settings: Settings) -> AsyncIterator[Admin]:
    platform = await open_platform(settings, with_olap=False)
    try:
        stacks = StackStore(platform.db)
        await stacks.start()
        identity = Identity(platform.db, PlatformAuditLog(platform.db))
        await identity.start()
        yield Admin(settings, platform, stacks, OrgStore(platform.db), identity)
    finally:
        await platform.close()


def run_admin(settings: Settings, work: Callable[[Admin], Awaitable[T]]) -> T:
    """Run ``work`` in an admin session; known failures become one line and exit code 1."""

    async def main() -> T:
        async with admin_session(settings) as admin:
            return await work(admin)

    try:
        return asyncio.run(main())
    except (StackError, ConfigError, IdentityError) as exc:
        raise click.ClickException(str(exc)) from None
    except (EmbeddedPostgresError, DatabaseUnavailable, LogUnavailable) as exc:
        raise click.ClickException(f"{exc}") from None


async def resolve_org(admin: Admin, slug: str | None) -> Org:
    """The organisation named by ``--org``; ``default`` is created on first use."""
    if slug is None or slug == DEFAULT_SLUG:
        org, created = await admin.orgs.ensure_default(admin.stacks)
        if created:
            await admin.record(org, AuditAction.ORG_CREATED, Target("org", org.org_id),
                               {"slug": org.slug, "name": org.name, "reason": "first use of the CLI"})
            click.echo(f"note: created organisation {DEFAULT_SLUG!r} (first use; a single-organisation "
                       "install needs no other, pass --org SLUG to use another)", err=True)
        return org
    found = await admin.orgs.find_by_slug(slug)
    if found is None:
        raise StackError(f"no organisation {slug!r}; create it with: faramesh-cloud orgs create {slug} --name NAME")
    return found


async def find_stack(admin: Admin, org: Org, name: str) -> Stack:
    """The live (registered) stack called ``name`` in ``org``."""
    for stack in await admin.stacks.list_stacks(org.org_id):
        if stack.name == name and stack.registered:
            return stack
    raise StackError(f"organisation {org.slug!r} has no registered stack named {name!r}; "
                     f"see: faramesh-cloud stacks list --org {org.slug}")
