"""WebhookSecretStore: the per-stack secrets daemons sign webhooks with (PostgreSQL).

Management calls take ``org_id`` and put it in their ``WHERE`` clause. The one exception is
:meth:`WebhookSecretStore.verification_secrets`, which serves an unauthenticated request:
its job is to find which organisation the stack in the URL belongs to (stack ids are
random and globally unique), and the request is trusted only if its signature then
verifies under that stack's secret.

Secrets are ``fmc_whsec_`` + 32 random bytes (base64url), generated here and shown once;
``set_secret`` also takes a secret an operator already configured in the daemon.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Final

from psycopg import errors as pg_errors

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.domain import StackError

COMPONENT: Final = ("ingest_feeds", "faramesh_cloud.ingest.feeds")
SECRET_PREFIX: Final = "fmc_whsec_"
MIN_SECRET: Final = 16
MAX_SECRET: Final = 512


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StackError(f"{what} {value!r} is not a valid id (a UUID); check the value passed") from None


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    """Who a webhook URL's stack belongs to and the secrets valid for it right now."""

    org_id: str
    stack_id: str
    secrets: tuple[bytes, ...]


class WebhookSecretStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        """Apply the ``ingest_feeds`` migrations (the ``stacks`` ones must be applied)."""
        await migrate(self._db, [COMPONENT])

    async def set_secret(self, org_id: str, stack_id: str, secret: str | None = None,
                         *, overlap_s: float = 0.0) -> str:
        """Set or rotate a stack's webhook secret and return it (generated when None). The
        previous secret keeps verifying for ``overlap_s`` more seconds (0: not at all)."""
        if overlap_s < 0:
            raise StackError(f"overlap must be 0 or more seconds, got {overlap_s}")
        value = new_secret() if secret is None else secret
        if not MIN_SECRET <= len(value) <= MAX_SECRET:
            raise StackError(f"a webhook secret is {MIN_SECRET}-{MAX_SECRET} characters; got {len(value)}")
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        try:
            async with self._db.transaction() as conn:
                row = await (await conn.execute(
                    "SELECT deregistered_at FROM stacks WHERE org_id = %s AND stack_id = %s FOR UPDATE",
                    (org, stack),
                )).fetchone()
                if row is None:
                    raise StackError(f"organisation {org_id} has no stack {stack_id}; check the stack")
                if row[0] is not None:
                    raise StackError(f"stack {stack_id} was deregistered; it takes no webhooks")
                await conn.execute(
                    "INSERT INTO webhook_secrets (org_id, stack_id, secret) VALUES (%s, %s, %s) "
                    "ON CONFLICT (org_id, stack_id) DO UPDATE SET "
                    "previous_secret = CASE WHEN %s > 0 THEN webhook_secrets.secret END, "
                    "previous_expires_at = CASE WHEN %s > 0 "
                    "THEN now() + make_interval(secs => %s) END, "
                    "secret = EXCLUDED.secret, rotated_at = now()",
                    (org, stack, value, overlap_s, overlap_s, overlap_s),
                )
        except pg_errors.CheckViolation:
            raise StackError("the webhook secret was rejected by the database; use 16-512 characters") from None
        return value

    async def remove(self, org_id: str, stack_id: str) -> bool:
        """Stop accepting webhooks for the stack. True when it had a secret."""
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM webhook_secrets WHERE org_id = %s AND stack_id = %s",
                (_uuid(org_id, "organisation"), _uuid(stack_id, "stack")),
            )
        return cur.rowcount > 0

    async def has_secret(self, org_id: str, stack_id: str) -> bool:
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT 1 FROM webhook_secrets WHERE org_id = %s AND stack_id = %s",
                (_uuid(org_id, "organisation"), _uuid(stack_id, "stack")),
            )).fetchone()
        return row is not None

    async def verification_secrets(self, stack_id: str) -> WebhookKeys | None:
        """The live secrets of a registered stack, or None (unknown or malformed id, no
        secret set, or the stack was deregistered)."""
        try:
            stack = uuid.UUID(stack_id)
        except ValueError:
            return None
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT w.org_id, w.secret, CASE WHEN w.previous_expires_at > now() "
                "THEN w.previous_secret END "
                "FROM webhook_secrets w JOIN stacks s ON s.org_id = w.org_id AND s.stack_id = w.stack_id "
                "WHERE w.stack_id = %s AND s.deregistered_at IS NULL",
                (stack,),
            )).fetchone()
        if row is None:
            return None
        live = tuple(s.encode() for s in (row[1], row[2]) if s)
        return WebhookKeys(str(row[0]), str(stack), live)
