"""OrgStore: reading organisations (the ``orgs`` table of the ``stacks`` component).

:class:`~faramesh_cloud.stacks.store.StackStore` creates organisations; this reads them:
by id (what an API key resolves to) and by slug (what an operator types). ``ensure_default``
gives single-organisation embedded installs their organisation ``default`` on first use.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.domain import Org, StackError
from faramesh_cloud.stacks.store import StackStore

DEFAULT_SLUG: Final = "default"
DEFAULT_NAME: Final = "Default organisation"


def _org(row: tuple[Any, ...]) -> Org:
    return Org(str(row[0]), row[1], row[2])


class OrgStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_org(self, org_id: str) -> Org | None:
        try:
            org = uuid.UUID(str(org_id))
        except ValueError:
            return None
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT org_id, slug, name FROM orgs WHERE org_id = %s", (org,))).fetchone()
        return None if row is None else _org(row)

    async def find_by_slug(self, slug: str) -> Org | None:
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT org_id, slug, name FROM orgs WHERE slug = %s", (slug,))).fetchone()
        return None if row is None else _org(row)

    async def list_orgs(self) -> list[Org]:
        """Every organisation: for the platform operator's CLI only, never a tenant's view."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT org_id, slug, name FROM orgs ORDER BY created_at, slug")).fetchall()
        return [_org(r) for r in rows]

    async def ensure_default(self, stacks: StackStore) -> tuple[Org, bool]:
        """The organisation ``default``, created when missing; True when just created."""
        found = await self.find_by_slug(DEFAULT_SLUG)
        if found is not None:
            return found, False
        try:
            return await stacks.create_org(DEFAULT_SLUG, DEFAULT_NAME), True
        except StackError:  # created by another process meanwhile
            found = await self.find_by_slug(DEFAULT_SLUG)
            if found is None:
                raise
            return found, False
