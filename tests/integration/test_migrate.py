"""The migration runner against a real PostgreSQL, with throwaway migration packages."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import MigrationError, migrate

pytestmark = pytest.mark.postgres


class Component:
    """A package ``<random>`` on sys.path whose ``migrations/`` folder the test writes."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.package = f"mig_{uuid.uuid4().hex[:12]}"
        self.folder = root / self.package / "migrations"
        self.folder.mkdir(parents=True)
        (root / self.package / "__init__.py").write_text("")
        monkeypatch.syspath_prepend(str(root))

    def write(self, name: str, sql: str) -> None:
        (self.folder / name).write_text(sql)


@pytest.fixture
def make_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[Component]:
    class Bound(Component):
        def __init__(self) -> None:
            super().__init__(tmp_path, monkeypatch)

    return Bound


async def _tables(db: Database) -> set[str]:
    async with db.connection() as conn:
        rows = await (
            await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).fetchall()
    return {r[0] for r in rows}


async def test_pending_migrations_apply_in_order_and_are_recorded(
    database: Database, make_component: type[Component]
) -> None:
    comp = make_component()
    comp.write("0002_add_note.sql", "ALTER TABLE widgets ADD COLUMN note text;")
    comp.write(
        "0001_create_widgets.sql", "CREATE TABLE widgets (id int);\nCREATE INDEX ON widgets (id);"
    )
    applied = await migrate(database, [("widgets", comp.package)])
    assert applied == ["widgets/0001_create_widgets.sql", "widgets/0002_add_note.sql"]
    async with database.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT version, name, length(checksum) FROM schema_migrations "
                "WHERE component = 'widgets' ORDER BY version"
            )
        ).fetchall()
        await conn.execute("INSERT INTO widgets (id, note) VALUES (1, 'ok')")
    assert rows == [(1, "0001_create_widgets.sql", 64), (2, "0002_add_note.sql", 64)]


async def test_running_again_applies_only_new_files(
    database: Database, make_component: type[Component]
) -> None:
    comp = make_component()
    comp.write("0001_create_gadgets.sql", "CREATE TABLE gadgets (id int);")
    assert await migrate(database, [("gadgets", comp.package)]) == [
        "gadgets/0001_create_gadgets.sql"
    ]
    assert await migrate(database, [("gadgets", comp.package)]) == []
    comp.write("0002_create_parts.sql", "CREATE TABLE parts (id int);")
    assert await migrate(database, [("gadgets", comp.package)]) == ["gadgets/0002_create_parts.sql"]


async def test_the_log_tables_are_already_in_a_test_database(database: Database) -> None:
    assert await migrate(database, [("log", "faramesh_cloud.log")]) == []
    assert {"log_topics", "log_partitions", "log_records", "log_group_offsets"} <= await _tables(
        database
    )


async def test_each_component_has_its_own_sequence(
    database: Database, make_component: type[Component]
) -> None:
    one, two = make_component(), make_component()
    one.write("0001_create_apples.sql", "CREATE TABLE apples (id int);")
    two.write("0001_create_pears.sql", "CREATE TABLE pears (id int);")
    applied = await migrate(database, [("apples", one.package), ("pears", two.package)])
    assert applied == ["apples/0001_create_apples.sql", "pears/0001_create_pears.sql"]
    assert {"apples", "pears"} <= await _tables(database)


async def test_an_applied_file_that_changed_is_an_error_naming_it(
    database: Database, make_component: type[Component]
) -> None:
    comp = make_component()
    comp.write("0001_create_bolts.sql", "CREATE TABLE bolts (id int);")
    await migrate(database, [("bolts", comp.package)])
    comp.write("0001_create_bolts.sql", "CREATE TABLE bolts (id bigint);")
    comp.write("0002_create_nuts.sql", "CREATE TABLE nuts (id int);")
    with pytest.raises(MigrationError, match=r"bolts/0001_create_bolts\.sql was changed"):
        await migrate(database, [("bolts", comp.package)])
    assert "nuts" not in await _tables(database)


async def test_a_failing_file_is_rolled_back_named_and_can_be_fixed(
    database: Database, make_component: type[Component]
) -> None:
    comp = make_component()
    comp.write("0001_create_cogs.sql", "CREATE TABLE cogs (id int);")
    comp.write("0002_create_gears.sql", "CREATE TABLE gears (id int);\nSELECT no_such_function();")
    comp.write("0003_create_axles.sql", "CREATE TABLE axles (id int);")
    with pytest.raises(MigrationError, match=r"cogs/0002_create_gears\.sql failed"):
        await migrate(database, [("cogs", comp.package)])
    tables = await _tables(database)
    assert "cogs" in tables
    assert "gears" not in tables  # its first statement was rolled back with the rest
    assert "axles" not in tables
    comp.write("0002_create_gears.sql", "CREATE TABLE gears (id int);")
    assert await migrate(database, [("cogs", comp.package)]) == [
        "cogs/0002_create_gears.sql",
        "cogs/0003_create_axles.sql",
    ]


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        (
            ["0001_create_things.sql", "2_create_more.sql"],
            r"2_create_more\.sql: .*NNNN_<verb>_<noun>",
        ),
        (
            ["0001_create_things.sql", "0003_create_more.sql"],
            r"0003_create_more\.sql: expected version 0002",
        ),
        (["0001_create_things.sql", "0001_create_more.sql"], r"expected version 0002"),
    ],
)
async def test_badly_numbered_or_named_files_are_refused(
    database: Database, make_component: type[Component], files: list[str], complaint: str
) -> None:
    comp = make_component()
    for index, name in enumerate(files):
        comp.write(name, f"CREATE TABLE t{index} (id int);")
    with pytest.raises(MigrationError, match=complaint):
        await migrate(database, [("things", comp.package)])
    assert not {"t0", "t1"} & await _tables(database)


async def test_a_missing_package_is_a_clear_error(database: Database) -> None:
    with pytest.raises(MigrationError, match="not importable"):
        await migrate(database, [("ghost", "no_such_package_for_migrations")])


async def test_concurrent_runs_apply_each_file_once(
    database: Database, make_component: type[Component]
) -> None:
    comp = make_component()
    for version in range(1, 6):
        # CREATE TABLE without IF NOT EXISTS: a second run of any file would fail.
        comp.write(
            f"{version:04d}_create_table{version}.sql", f"CREATE TABLE race{version} (id int);"
        )
    results = await asyncio.gather(*(migrate(database, [("race", comp.package)]) for _ in range(3)))
    applied = [label for result in results for label in result]
    assert sorted(applied) == [f"race/{v:04d}_create_table{v}.sql" for v in range(1, 6)]
