"""How PostgresLog reports a database it cannot reach."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg_pool import PoolTimeout

from faramesh_cloud.log.port import LogUnavailable
from faramesh_cloud.sql.database import Database, redact

# Failures that mean "the database is not reachable right now", as opposed to bugs.
CONNECTION_ERRORS = (psycopg.OperationalError, PoolTimeout)


def unavailable_error(action: str, db: Database, exc: BaseException, hint: str) -> LogUnavailable:
    return LogUnavailable(
        f"{action} failed: PostgreSQL at {redact(db.url)} is unavailable ({exc}); {hint}"
    )


@contextlib.contextmanager
def unavailable(action: str, db: Database) -> Iterator[None]:
    """Turn connection-level failures into LogUnavailable with a next step."""
    try:
        yield
    except CONNECTION_ERRORS as exc:
        raise unavailable_error(
            action, db, exc, "nothing was acknowledged, retry once the database is reachable"
        ) from exc
