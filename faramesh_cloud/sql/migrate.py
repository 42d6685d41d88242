"""Schema migrations: one numbered sequence of SQL files per component.

A component (``"log"``, ``"ingest"``, ...) keeps its migrations in the ``migrations/``
folder of a package, named ``NNNN_<verb>_<noun>.sql`` and numbered 0001, 0002, ... without
gaps. They are read with :mod:`importlib.resources`, so they work from an installed wheel.

:func:`migrate` applies what is missing, each file in its own transaction together with its
row in ``schema_migrations``, while holding a PostgreSQL advisory lock so that processes
starting at the same time do not race. A file that was applied and has changed since is an
error naming it: migrations are append-only; add a new file instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from faramesh_cloud.sql.database import Database

# Session advisory lock key for the migration runner: "faramesh" "mgr" in ASCII.
MIGRATION_LOCK_KEY = 0x6661_7261_6D67_72

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<verb>[a-z]+)_(?P<noun>[a-z0-9_]+)\.sql$")

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(RuntimeError):
    """A migration set is malformed, was edited after it was applied, or failed to apply."""


@dataclass(frozen=True, slots=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.component}/{self.name}"


def load_migrations(component: str, package: str) -> list[Migration]:
    """The migrations of ``component`` from ``<package>/migrations/``, in order."""
    try:
        folder = resources.files(package) / "migrations"
    except ModuleNotFoundError as exc:
        raise MigrationError(
            f"component {component!r}: package {package!r} is not importable; "
            "check the package name passed to migrate()"
        ) from exc
    if not folder.is_dir():
        raise MigrationError(
            f"component {component!r}: {package} has no migrations/ folder; "
            "add one with 0001_<verb>_<noun>.sql or drop the component"
        )
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(
                f"{component}/{entry.name}: migration files must be named "
                "NNNN_<verb>_<noun>.sql (lower case, e.g. 0001_create_topics.sql); rename it"
            )
        data = entry.read_bytes()
        found.append(
            Migration(
                component=component,
                version=int(match["version"]),
                name=entry.name,
                sql=data.decode("utf-8"),
                checksum=hashlib.sha256(data).hexdigest(),
            )
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.label}: expected version {expected:04d} here; migrations are "
                "numbered 0001, 0002, ... with no gaps or duplicates, renumber the new file"
            )
    return found


async def migrate(db: Database, components: Sequence[tuple[str, str]]) -> list[str]:
    """Apply the missing migrations of each ``(component, package)``, in the given order.

    Returns the labels (``component/file``) applied now; an empty list when the database
    was already up to date.
    """
    wanted = [(name, load_migrations(name, package)) for name, package in components]
    applied_now: list[str] = []
    async with db.connection() as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            await conn.execute(_BOOTSTRAP)
            for component, migrations in wanted:
                rows = await (
                    await conn.execute(
                        "SELECT version, name, checksum FROM schema_migrations "
                        "WHERE component = %s",
                        (component,),
                    )
                ).fetchall()
                done = {int(v): (str(n), str(c)) for v, n, c in rows}
                _verify(component, migrations, done)
                for migration in migrations:
                    if migration.version in done:
                        continue
                    try:
                        async with conn.transaction():
                            await conn.execute(migration.sql.encode())
                            await conn.execute(
                                "INSERT INTO schema_migrations "
                                "(component, version, name, checksum) VALUES (%s, %s, %s, %s)",
                                (component, migration.version, migration.name, migration.checksum),
                            )
                    except Exception as exc:
                        raise MigrationError(
                            f"{migration.label} failed and was rolled back: {exc}; fix the file "
                            "(it was not applied) and run the migrations again"
                        ) from exc
                    applied_now.append(migration.label)
        finally:
            if not conn.broken:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def _verify(
    component: str, migrations: Sequence[Migration], done: dict[int, tuple[str, str]]
) -> None:
    known = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(done.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"{component}/{name} is applied in this database but missing from the code; "
                "run a version of Faramesh Cloud at least as new as the one that applied it"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.label} was changed after it was applied (checksum in database "
                f"{checksum[:12]}, in code {migration.checksum[:12]}); restore the original "
                "file and put the change in a new migration"
            )
