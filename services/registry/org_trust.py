"""Per-organisation trust: which of the registry's listed keys an organisation trusts.

"Verified" for an organisation means a signature valid under a listed key (``signatures``'s
strict check) AND that key in the organisation's trust set. Without a choice of its own an
organisation trusts :data:`DEFAULT_ORIGINS` (the official key and Cloud's registry keys, retired
ones included); a key a mirror pinned (origin ``mirror``) counts only once the organisation adds
it. Owners and Admins change the set (``registry:trust:manage``); every change is one row in
``registry_org_trust`` and one platform-audit entry, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry.store import KeyRow, RegistryStore
from faramesh_cloud.sql.database import Database

DEFAULT_ORIGINS: Final = frozenset({"official", "cloud"})
AUDIT_ACTION: Final = "registry:trust:change"
UNTRUSTED_BY_ORG: Final = "org-untrusted"  # the verdict: valid under a listed key the organisation does not trust


class TrustRefused(ValueError):
    """The trust set cannot be saved; the message says why (nothing was written)."""


def default_trust(keys: Iterable[KeyRow]) -> frozenset[str]:
    return frozenset(k.key_id for k in keys if k.origin in DEFAULT_ORIGINS)


async def trusted_ids(db: Database, org_id: str, keys: Sequence[KeyRow]) -> frozenset[str]:
    """The key ids ``org_id`` trusts (its own choice, else the default set of ``keys``)."""
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT key_ids FROM registry_org_trust WHERE org_id = %s",
                                        (org_id,))).fetchone()
    return default_trust(keys) if row is None else frozenset(row[0])


async def set_trusted(db: Database, store: RegistryStore, audit: PlatformAuditLog, org_id: str,
                      key_ids: Iterable[str], actor: Actor, at: datetime) -> frozenset[str]:
    """Replace ``org_id``'s trust set with ``key_ids`` (each a listed key; at least one)."""
    wanted = frozenset(k.strip() for k in key_ids if k.strip())
    if not wanted:
        raise TrustRefused("trust at least one key: with none, no import of any stack verifies")
    async with db.transaction() as conn:
        keys = await store.keys(conn)
        unknown = sorted(wanted - {k.key_id for k in keys})
        if unknown:
            raise TrustRefused(f"not a key this registry lists: {', '.join(unknown)} (see Registry → Trust keys)")
        row = await (await conn.execute("SELECT key_ids FROM registry_org_trust WHERE org_id = %s FOR UPDATE",
                                        (org_id,))).fetchone()
        before = default_trust(keys) if row is None else frozenset(row[0])
        await conn.execute(
            "INSERT INTO registry_org_trust (org_id, key_ids, updated_at, updated_by) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (org_id) DO UPDATE SET key_ids = EXCLUDED.key_ids, updated_at = EXCLUDED.updated_at, "
            "updated_by = EXCLUDED.updated_by", (org_id, sorted(wanted), at, actor.label))
        if wanted != before:
            await audit.append_in(conn, org_id, AUDIT_ACTION, actor, target=Target("registry_trust", org_id),
                                  details={"added": sorted(wanted - before), "removed": sorted(before - wanted),
                                           "trusted": sorted(wanted)})
    return wanted
