"""Seeding a fresh install from the shipped catalog snapshot (``snapshot.py``), idempotently.

On every start: the snapshot is read and every signature verified against the pinned official
key first (a file that fails stops the start, named; nothing is stored). Then the official key
is listed, the ``faramesh`` publisher made (no organisation, confirmed), and each version not
stored yet is added: its blobs put first (FPL body, YAML sidecar, README, any hosted binary),
then one transaction with its artifact row, version row (signature verbatim), binary rows
and its ``VersionPublished`` event. If that transaction fails, the blobs it would have named
are deleted unless another row names them. A version already there is left as it is
(versions are immutable; a second start stores nothing and emits nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.domain import OFFICIAL_NAMESPACE
from faramesh_cloud.registry.events import (
    OUTBOX,
    TOPIC,
    KeyAdded,
    VersionPublished,
    encode,
    new_event_id,
)
from faramesh_cloud.registry.signatures import b64
from faramesh_cloud.registry.snapshot import Snapshot, SnapshotVersion
from faramesh_cloud.registry.store import ArtifactRow, BinaryRow, KeyRow, RegistryStore, VersionRow
from faramesh_cloud.sql.database import Database

SEED_ACTOR: Final = Actor.system("registry-seed")
MAX_SEED_BLOB: Final = 64 * 1024 * 1024
_log = logging.getLogger(__name__)


def _instant(text: str, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback


async def seed(db: Database, store: RegistryStore, blobs: BlobStore, snapshot: Snapshot,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    """Store what of ``snapshot`` is not stored yet; the number of versions added."""
    now = clock()
    async with db.transaction() as conn:
        for key in snapshot.keys:
            row = KeyRow(key.key_id, "ed25519", key.public_key, key.owner, "official", key.purpose,
                         _instant(key.created_at, now), None)
            if await store.add_key(conn, row):
                await OUTBOX.add(conn, TOPIC, [encode(KeyAdded(new_event_id(), now, SEED_ACTOR, key.key_id,
                                                                "official", b64(key.public_key)))])
        await store.ensure_publisher(conn, OFFICIAL_NAMESPACE, None, "Faramesh", "confirmed", now, SEED_ACTOR.label)
    existing = await _existing(db)
    added = 0
    for v in snapshot.versions:
        if (v.kind.value, v.name, v.version) in existing:
            continue
        if await _add(db, store, blobs, v, now):
            added += 1
    if added:
        _log.info("registry: seeded %d artifact versions from the shipped catalog snapshot", added)
    return added


async def _existing(db: Database) -> set[tuple[str, str, str]]:
    async with db.connection() as conn:
        rows = await (await conn.execute("SELECT kind, name, version FROM registry_versions")).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


async def _add(db: Database, store: RegistryStore, blobs: BlobStore, v: SnapshotVersion, now: datetime) -> bool:
    put: list[str] = []

    async def keep(data: bytes | None) -> str | None:
        if data is None:
            return None
        info = await blobs.put_bytes(data, max_size=MAX_SEED_BLOB)
        put.append(info.sha256)
        return info.sha256

    try:
        body, yaml, readme = await keep(v.body), await keep(v.yaml), await keep(v.readme)
        hosted = {b.platform: await keep(b.data) for b in v.binaries}
        async with db.transaction() as conn:
            await store.ensure_publisher(conn, v.namespace, None, v.namespace, "confirmed", now, SEED_ACTOR.label)
            await store.ensure_artifact(conn, ArtifactRow(v.kind.value, v.name, v.namespace, v.description, v.category,
                                                          v.domains, v.trust_tier, v.capabilities, now))
            added = await store.add_version(conn, VersionRow(
                v.kind.value, v.name, v.version, "published", now, SEED_ACTOR.label, "seed", v.changelog,
                readme, v.meta, body, len(v.body) if v.body is not None else None, yaml, v.manifest, v.signature,
                v.key_id))
            if not added:
                return False
            for b in v.binaries:
                await store.add_binary(conn, BinaryRow(v.name, v.version, b.platform, b.sha256, b.size,
                                                       b.signature_b64, hosted[b.platform] is not None))
            await OUTBOX.add(conn, TOPIC, [encode(VersionPublished(
                new_event_id(), now, SEED_ACTOR, v.kind.value, v.name, v.version, "seed", v.trust_tier, v.key_id,
                body or ""))])
        put.clear()
        return True
    finally:
        await _forget(db, store, blobs, put)


async def _forget(db: Database, store: RegistryStore, blobs: BlobStore, digests: list[str]) -> None:
    """Delete the blobs a failed command put, unless a row names them."""
    if not digests:
        return
    async with db.connection() as conn:
        for digest in set(digests):
            if not await store.blob_referenced(conn, digest):
                await blobs.delete(digest)
