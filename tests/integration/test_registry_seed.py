"""Seeding from the shipped catalog snapshot, Cloud's registry key and its rotation, against
the real PostgreSQL and the file blob store."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from faramesh_cloud.events.topics import REGISTRY_EVENTS
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.events import decode
from faramesh_cloud.registry.keyring import ensure_cloud_key, trusted_keys
from faramesh_cloud.registry.keys import KeySource, RegistryKeyError
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.signatures import manifest_signed_bytes, verify_signature
from faramesh_cloud.registry.snapshot import SEED_DIR, SnapshotError, load_snapshot
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import read_topic
from tests.registry_support import T0, registry

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def _outbox(db: Database, log: Log) -> list[tuple[str, bytes]]:
    """The registry's events once its relay has moved them all onto the log."""
    for _ in range(200):
        async with db.connection() as conn:
            left = (await (await conn.execute("SELECT count(*) FROM registry_outbox")).fetchone() or (0,))[0]
        if not left:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the registry's outbox was not relayed")
    return [(m.headers["kind"].decode(), m.value) for m in await read_topic(log, REGISTRY_EVENTS)]


async def test_a_fresh_install_is_seeded_with_every_snapshot_version_verbatim(
        database: Database, postgres_log: Log, tmp_path: Path) -> None:
    reg = registry(database, postgres_log, tmp_path)
    await reg.start()
    try:
        store = reg.store
        keys = await store.keys()
        assert [(k.key_id, k.origin) for k in keys] == [("faramesh-ed25519-2026", "official"),
                                                          ("cloud-registry-ed25519-1", "cloud")]
        catalog = json.loads((SEED_DIR / "catalog.json").read_text())
        trusted = trusted_keys(keys)
        count = 0
        for section, kind in (("policies", Kind.POLICY), ("frameworks", Kind.FRAMEWORK), ("providers", Kind.PROVIDER)):
            for entry in catalog[section]:
                for version, rel in entry["versions"].items():
                    row = await store.version(kind, entry["name"], version)
                    assert row is not None and row.source == "seed" and row.key_id == "faramesh-ed25519-2026"
                    path = SEED_DIR / rel
                    if kind is Kind.PROVIDER:
                        manifest = json.loads(path.read_bytes())
                        assert row.manifest == manifest and row.signature == manifest["signature"]
                        verify_signature(row.signature, manifest_signed_bytes(row.manifest), trusted)
                        binaries = await store.binaries(entry["name"], version)
                        assert {b.platform for b in binaries} == set(manifest["downloads"])
                        for b in binaries:
                            assert not b.hosted and b.sha256 == manifest["downloads"][b.platform]["sha256_hex"]
                            sig = path.parent / manifest["downloads"][b.platform]["url"].removeprefix("file://")
                            assert b.signature_b64 == Path(str(sig) + ".sig").read_text()
                    else:
                        body = await reg.blobs.read_bytes(row.body_sha256 or "", max_size=1 << 20)
                        assert body == path.read_bytes()
                        assert row.signature == json.loads(Path(str(path) + ".sig").read_bytes())
                        verify_signature(row.signature, body, {"faramesh-ed25519-2026": trusted["faramesh-ed25519-2026"]})
                    count += 1
        assert count == 17
        stripe = await store.version(Kind.POLICY, "faramesh/stripe", "1.0.0")
        assert stripe is not None and stripe.meta["parameter_schema"]["refund_threshold"]["default"] == 500
        demo = await store.version(Kind.POLICY, "faramesh/demo", "0.1.0")
        assert demo is not None and demo.yaml_sha256 is not None
        events = await _outbox(database, postgres_log)
        assert [k for k, _ in events].count("VersionPublished") == 17
        assert [k for k, _ in events].count("KeyAdded") == 2
        published = [decode(k, v) for k, v in events if k == "VersionPublished"]
        assert {(e.kind, e.name) for e in published if e} >= {("policy", "faramesh/stripe"), ("provider", "faramesh/vault")}
    finally:
        await reg.stop()


async def test_a_second_start_stores_and_emits_nothing_more(database: Database, postgres_log: Log,
                                                             tmp_path: Path) -> None:
    for _ in range(2):
        reg = registry(database, postgres_log, tmp_path)
        await reg.start()
        await reg.stop()
    assert len(await _outbox(database, postgres_log)) == 17 + 2
    store = RegistryStore(database)
    assert await seed(database, store, reg.blobs, load_snapshot(), lambda: T0) == 0


async def test_a_tampered_snapshot_is_refused_naming_the_file_and_nothing_is_stored(
        database: Database, postgres_log: Log, tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(SEED_DIR, copy)
    fpl = copy / "artifacts/policies/faramesh/stripe/1.0.0/policy.fpl"
    fpl.write_bytes(fpl.read_bytes().replace(b"500", b"5000"))
    reg = registry(database, postgres_log, tmp_path / "data", seed_dir=copy)
    with pytest.raises(SnapshotError, match=r"artifacts/policies/faramesh/stripe/1.0.0/policy.fpl.sig: .*does not verify"):
        await reg.start()
    async with database.connection() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM registry_versions")).fetchone()) == (0,)
    assert not (tmp_path / "data" / "registry" / "blobs").exists() or not any(
        p.is_file() for p in (tmp_path / "data" / "registry" / "blobs").rglob("*"))


async def test_cloud_key_rotation_retires_the_old_key_which_stays_listed(database: Database, postgres_log: Log,
                                                                           tmp_path: Path) -> None:
    reg = registry(database, postgres_log, tmp_path)
    await reg.start()
    try:
        first = reg.signing_key
        assert first is not None
        second = await reg.rotate_key()
        assert second.key_id == "cloud-registry-ed25519-2" and second.public_key != first.public_key
        keys = {k.key_id: k for k in await reg.store.keys()}
        assert keys[first.key_id].retired_at is not None and keys[second.key_id].retired_at is None
        kinds = [k for k, _ in await _outbox(database, postgres_log) if k.startswith("Key")]  # one key: "keys"
        assert kinds == ["KeyAdded", "KeyAdded", "KeyRetired", "KeyAdded"]
    finally:
        await reg.stop()
    # A restart signs with the newest data-dir key and changes nothing.
    reg = registry(database, postgres_log, tmp_path)
    await reg.start()
    await reg.stop()
    assert reg.signing_key is not None and reg.signing_key.key_id == "cloud-registry-ed25519-2"


async def test_replaced_key_material_for_a_listed_key_id_is_refused(database: Database, postgres_log: Log,
                                                                     tmp_path: Path) -> None:
    store = RegistryStore(database)
    await ensure_cloud_key(database, store, KeySource(tmp_path / "a").current(), T0)
    with pytest.raises(RegistryKeyError, match="listed with another public key"):
        await ensure_cloud_key(database, store, KeySource(tmp_path / "b").current(), T0)
