"""Tenant-scoped transactions: the application's backstop for "no query crosses an org".

:func:`tenant_transaction` opens a transaction that acts as the non-owner role
``faramesh_app`` (created by the identity migrations) with the organisation in the setting
``app.org_id`` and, optionally, the signed-in user in ``app.user_id``. Tables with row-level
security (policies on ``org_id = current_setting('app.org_id')``) then show and accept only
that organisation's rows, whatever a query's ``WHERE`` clause says. Both settings and the
role are transaction-local (``set_config(..., true)``), so nothing leaks to the next user of
a pooled connection.

Store code still puts ``org_id`` in every ``WHERE``: row-level security is the backstop,
not the mechanism.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import psycopg

from faramesh_cloud.sql.database import Database

APP_ROLE: Final = "faramesh_app"


def _as_uuid_text(value: str | None, what: str) -> str:
    if value is None:
        return ""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a valid id (a UUID)") from None


@asynccontextmanager
async def tenant_transaction(
    db: Database, org_id: str | None, *, user_id: str | None = None
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A transaction acting as ``faramesh_app`` for ``org_id`` (None: no organisation, so
    tenant tables show nothing; for global tables such as ``users``)."""
    org = _as_uuid_text(org_id, "organisation")
    user = _as_uuid_text(user_id, "user")
    async with db.transaction() as conn:
        await conn.execute(
            "SELECT set_config('role', %s, true), set_config('app.org_id', %s, true), "
            "set_config('app.user_id', %s, true)",
            (APP_ROLE, org, user),
        )
        yield conn


async def enter_org(conn: psycopg.AsyncConnection[Any], org_id: str) -> None:
    """Point an open tenant transaction at ``org_id`` (e.g. right after creating it)."""
    await conn.execute("SELECT set_config('app.org_id', %s, true)", (_as_uuid_text(org_id, "organisation"),))
