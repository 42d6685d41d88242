"""Cloud's registry keys in ``registry_keys``: listed next to the official key, rotated.

:func:`ensure_cloud_key` runs on start: the key that signs now (``keys.KeySource``) is listed
if it is not (with its ``KeyAdded`` event), and any other active Cloud key is retired (with
``KeyRetired``), in one transaction. A listed key id whose stored public key differs from the
key material found is refused (the data dir's key was replaced: signatures made with the
listed key would stop matching the key the registry signs with). :func:`rotate` makes the next
data-dir key and does the same. Retired keys stay listed and keep verifying.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.events import OUTBOX, TOPIC, KeyAdded, KeyRetired, encode, new_event_id
from faramesh_cloud.registry.keys import CloudKey, KeySource, RegistryKeyError
from faramesh_cloud.registry.signatures import TrustedKey
from faramesh_cloud.registry.store import KeyRow, RegistryStore
from faramesh_cloud.sql.database import Database

KEY_ACTOR: Final = Actor.system("registry-keys")


async def ensure_cloud_key(db: Database, store: RegistryStore, key: CloudKey, now: datetime,
                           actor: Actor = KEY_ACTOR) -> CloudKey:
    async with db.transaction() as conn:
        await conn.execute("LOCK TABLE registry_keys IN SHARE ROW EXCLUSIVE MODE")
        listed = {k.key_id: k for k in await store.keys(conn)}
        mine = listed.get(key.key_id)
        if mine is not None and mine.public_key != key.public_key:
            raise RegistryKeyError(f"registry key {key.key_id} is listed with another public key than the key material "
                                   "found; restore the original key file (or configure the original secret)")
        for other in listed.values():
            if other.origin == "cloud" and other.retired_at is None and other.key_id != key.key_id:
                await store.retire_key(conn, other.key_id, now)
                await OUTBOX.add(conn, TOPIC, [encode(KeyRetired(new_event_id(), now, actor, other.key_id, key.key_id))])
        if mine is None:
            await store.add_key(conn, KeyRow(key.key_id, "ed25519", key.public_key, "faramesh-cloud", "cloud",
                                             "signs artifacts Cloud's reviewers approve", now, None))
            await OUTBOX.add(conn, TOPIC, [encode(KeyAdded(new_event_id(), now, actor, key.key_id, "cloud",
                                                            key.public_key_b64))])
        elif mine.retired_at is not None:
            raise RegistryKeyError(f"registry key {key.key_id} was retired; it signs no more. Rotate to a new key")
    return key


async def rotate(db: Database, store: RegistryStore, source: KeySource, clock: Callable[[], datetime],
                 actor: Actor = KEY_ACTOR) -> CloudKey:
    """A new Cloud key signs from now on; the previous one is retired (still listed and verifying)."""
    return await ensure_cloud_key(db, store, source.rotate(), clock(), actor)


def trusted_keys(rows: list[KeyRow]) -> dict[str, TrustedKey]:
    """Every listed key (official and Cloud's, retired ones included: they verify what they signed)."""
    return {k.key_id: TrustedKey(k.key_id, k.public_key) for k in rows}
