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

from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.identity.domain import IdentityError, OrgRef, Principal, PrincipalKind
from faramesh_cloud.identity.permissions import Access, Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.port import LogUnavailable
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.runtime import running
from faramesh_cloud.runtime.platform import Platform, open_platform
from faramesh_cloud.sql.database import DatabaseUnavailable
from faramesh_cloud.sql.embedded import EmbeddedPostgres, EmbeddedPostgresError
from faramesh_cloud.stacks.domain import Org, Stack, StackError
from faramesh_cloud.stacks.orgs import DEFAULT_SLUG, OrgStore
from faramesh_cloud.stacks.store import StackStore

T = TypeVar("T")

_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_S: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

org_option = click.option(
    "--org", "org_slug", default=None, metavar="SLUG",
    help="Organisation slug (default: the installation's only organisation; required when there are several).",
)


class NoOrganisation(StackError):
    """The installation has no organisation yet (and the command creates none)."""


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


def cloud_addresses(settings: Settings) -> running.RunningCloud:
    """The addresses to give a daemon or a person: those of the Cloud running from the data
    dir (``up`` records them, ``runtime/running.py``), else those the settings configure
    (where ``faramesh-cloud up`` will listen)."""
    return running.find(settings.data_dir) or running.addresses(settings)


def load_settings(data_dir: Path | None) -> Settings:
    try:
        return Settings.load(data_dir=data_dir)
    except ConfigError as exc:
        raise Refused(str(exc)) from None


@asynccontextmanager
async def admin_session(settings: Settings, *, create: bool = False) -> AsyncIterator[Admin]:
    """The platform as ``up`` opens it, minus chDB. Only a command that creates (``create``:
    ``stacks register``, ``orgs create``) may create the embedded database in a data dir that
    has none; the others, reads first, refuse instead of leaving a cluster behind."""
    if settings.postgres_url is None and not create and not EmbeddedPostgres(settings.data_dir).pgdata.is_dir():
        raise ConfigError(f"there is no Cloud in {settings.data_dir} yet: nothing to read or change there. "
                          "Start one with faramesh-cloud up --data-dir DIR (or register a stack), or pass the "
                          "--data-dir of the Cloud you mean")
    platform = await open_platform(settings, with_olap=False)
    try:
        stacks = StackStore(platform.db, region=platform.region)
        await stacks.start()
        identity = Identity(platform.db, PlatformAuditLog(platform.db), region=platform.region)
        await identity.start()
        yield Admin(settings, platform, stacks, OrgStore(platform.db), identity)
    finally:
        await platform.close()


def run_admin(settings: Settings, work: Callable[[Admin], Awaitable[T]], *, create: bool = False) -> T:
    """Run ``work`` in an admin session. A refusal (unknown organisation or stack, a name not
    allowed or taken, a member rule) becomes ``error: ...`` and exit code 2; a database or
    log that cannot be reached, exit code 1 (``cli/errors.py``)."""

    async def main() -> T:
        async with admin_session(settings, create=create) as admin:
            return await work(admin)

    try:
        return asyncio.run(main())
    except (StackError, ConfigError, IdentityError) as exc:
        raise Refused(str(exc)) from None
    except (EmbeddedPostgresError, DatabaseUnavailable, LogUnavailable, ServiceUnavailable) as exc:
        raise Failed(f"{exc}") from None


async def resolve_org(admin: Admin, slug: str | None, *, create_default: bool = False) -> Org:
    """The organisation a command works in: the one ``--org`` names; without it, the
    installation's only organisation (so on a single-organisation install, the first
    owner's). With several, ``--org`` is required. A fresh install has none: only
    ``create_default`` (``stacks register``) makes one, ``default``, which the first-owner
    page then offers to adopt; every other command (``stacks list`` and the other reads
    among them) creates nothing and says so (``NoOrganisation``)."""
    if slug is not None and not (create_default and slug == DEFAULT_SLUG):
        found = await admin.orgs.find_by_slug(slug)
        if found is None:
            raise StackError(f"no organisation {slug!r}; see: faramesh-cloud orgs list, or create it with: "
                             f"faramesh-cloud orgs create {slug} --name NAME")
        return found
    if slug is None:
        orgs = await admin.orgs.list_orgs()
        if len(orgs) == 1:
            return orgs[0]
        if orgs:
            raise StackError(f"this Cloud has {len(orgs)} organisations ({', '.join(o.slug for o in orgs)}): "
                             "say which with --org SLUG")
        if not create_default:
            raise NoOrganisation("this Cloud has no organisation yet: create the first owner in the web UI, or "
                                 "register a stack (faramesh-cloud stacks register NAME creates organisation "
                                 f"{DEFAULT_SLUG!r})")
    org, created = await admin.orgs.ensure_default(admin.stacks)
    if created:
        await admin.record(org, AuditAction.ORG_CREATED, Target("org", org.org_id),
                           {"slug": org.slug, "name": org.name, "reason": "first stack registered with the CLI"})
        click.echo(f"note: created organisation {DEFAULT_SLUG!r} (this Cloud had none; creating the first "
                   "owner in the web UI offers to adopt it)", err=True)
    return org


async def find_stack(admin: Admin, org: Org, name: str) -> Stack:
    """The live (registered) stack called ``name`` in ``org``."""
    for stack in await admin.stacks.list_stacks(org.org_id):
        if stack.name == name and stack.registered:
            return stack
    raise StackError(f"organisation {org.slug!r} has no registered stack named {name!r}; "
                     f"see: faramesh-cloud stacks list --org {org.slug}")
