"""Mirroring: a second, real Cloud registry served over HTTP on 127.0.0.1 (its own database,
seeded, with extra versions a test publisher key signed, one tampered, one by a key nobody
pinned, one provider with a hosted binary), and a local catalog checkout through the CLI a
person runs. Every signature is verified against the pinned keys before anything is served;
what fails is quarantined with its reason and answers 404 on the daemon API; re-runs store
nothing again."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from faramesh_cloud.cli.main import cli
from faramesh_cloud.log.memory import InMemoryLog
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.mirror import OFFICIAL_PIN
from faramesh_cloud.registry.seed import Origin, add_version
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.registry.signatures import (
    b64,
    binary_signature,
    fpl_signature_file,
    sign_manifest,
    signature_object,
)
from faramesh_cloud.registry.snapshot import SEED_DIR, SnapshotBinary, SnapshotVersion
from faramesh_cloud.registry.store import KeyRow
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.postgres import fresh_database
from tests.registry_support import T0, registry, served

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

UP = SigningKey(b"\x07" * 32)
ROGUE = SigningKey(b"\x09" * 32)
UP_PIN = f"acme-ed25519-1={b64(bytes(UP.verify_key))}"
OFFICIAL = f"{OFFICIAL_PIN.key_id}={b64(OFFICIAL_PIN.public_key)}"
FPL = b'agent "payments-bot" {\n  default deny\n  rules {\n    deny! shell/*\n  }\n}\n'
BINARY = b"\x7fELF provider bytes " * 64


def pack(name: str, body: bytes, signature: dict[str, str], key_id: str) -> SnapshotVersion:
    ns = name.split("/")[0]
    return SnapshotVersion(Kind.POLICY, name, ns, "1.0.0", f"{name} pack", "tool", "community", (), (), "first",
                           {}, signature, key_id, body=body)


async def publish(reg: Registry, v: SnapshotVersion, key: SigningKey, key_id: str, hosted: dict[str, str] | None = None
                  ) -> None:
    """A version in the upstream registry, stored as it is given (signature unchecked)."""
    async with reg._db.transaction() as conn:
        await reg.store.add_key(conn, KeyRow(key_id, "ed25519", bytes(key.verify_key), "acme", "mirror", "", T0, None))
    assert await add_version(reg._db, reg.store, reg.blobs, v, T0, Origin("publish"), hosted)


async def upstream_extras(reg: Registry) -> None:
    await publish(reg, pack("acme/payments", FPL, signature_object("acme-ed25519-1", UP, FPL), "acme-ed25519-1"),
                  UP, "acme-ed25519-1")
    tampered = FPL.replace(b"deny!", b"permit")
    await publish(reg, pack("acme/tampered", tampered, signature_object("acme-ed25519-1", UP, FPL), "acme-ed25519-1"),
                  UP, "acme-ed25519-1")
    await publish(reg, pack("rogue/x", FPL, signature_object("rogue-1", ROGUE, FPL), "rogue-1"), ROGUE, "rogue-1")
    digest = hashlib.sha256(BINARY).hexdigest()
    manifest = sign_manifest("acme-ed25519-1", UP, {
        "name": "acme/tool", "version": "1.0.0", "capabilities": ["SECRETS"],
        "downloads": {"linux_amd64": {"url": "file://bin/tool-linux_amd64", "sha256_hex": digest,
                                      "size": len(BINARY)}}})
    info = await reg.blobs.put_bytes(BINARY, max_size=1 << 20)
    await publish(reg, SnapshotVersion(
        Kind.PROVIDER, "acme/tool", "acme", "1.0.0", "a tool", "", "community", ("SECRETS",), (), "", {},
        manifest["signature"], "acme-ed25519-1", manifest=manifest,
        binaries=(SnapshotBinary("linux_amd64", digest, len(BINARY), binary_signature(UP, BINARY), None),)),
        UP, "acme-ed25519-1", {"linux_amd64": info.sha256})


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.connection() as conn:
        row = await (await conn.execute(
            "SELECT (SELECT count(*) FROM registry_versions), (SELECT count(*) FROM registry_log), "
            "(SELECT count(*) FROM registry_mirror_quarantine)")).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def blob_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


async def test_mirroring_a_cloud_registry_over_http_verifies_quarantines_and_is_idempotent(
        embedded_postgres: EmbeddedPostgres, pg_template: str, database: Database, postgres_log: Log,
        tmp_path: Path) -> None:
    with fresh_database(embedded_postgres, pg_template, prefix="up") as up_url:
        up_db = Database(up_url, max_size=4)
        await up_db.open()
        up_log = InMemoryLog()
        await up_log.start()
        upstream = registry(up_db, up_log, tmp_path / "upstream")
        here = registry(database, postgres_log, tmp_path / "here")
        await upstream.start()
        await here.start()
        try:
            await upstream_extras(upstream)
            async with served(upstream.http_app) as url, served(here.http_app) as mine:
                seen: list[tuple[int, int]] = []
                run = await here.mirror_now(url, (OFFICIAL, UP_PIN),
                                            on_progress=lambda p: seen.append((p.done, p.total)))
                assert (run.state, run.total, run.mirrored, run.unchanged, run.quarantined, run.failed) == \
                    ("finished", 21, 2, 17, 2, 0), run
                assert seen[-1] == (21, 21)
                reasons = dict(run.quarantines)
                assert "signature: ed25519 verification failed" in reasons["policy acme/tampered@1.0.0"]
                assert "'rogue-1', which is not a trusted registry key" in reasons["policy rogue/x@1.0.0"]

                async with httpx.AsyncClient() as http:
                    ok = await http.get(f"{mine}/v1/policies/acme%2Fpayments/versions/1.0.0")
                    assert ok.status_code == 200 and ok.json()["policy_fpl"] == FPL.decode()
                    assert ok.json()["signature"]["key_id"] == "acme-ed25519-1"
                    for refused in ("acme%2Ftampered", "rogue%2Fx"):
                        assert (await http.get(f"{mine}/v1/policies/{refused}/versions/1.0.0")).status_code == 404
                    tool = (await http.get(f"{mine}/v1/providers/acme%2Ftool/versions/1.0.0")).json()
                    binary = await http.get(tool["downloads"]["linux_amd64"]["url"])
                    assert binary.status_code == 200 and binary.content == BINARY
                    sig = await http.get(tool["downloads"]["linux_amd64"]["url"] + ".sig")
                    assert sig.text == binary_signature(UP, BINARY)
                mirrored = await here.store.version(Kind.POLICY, "acme/payments", "1.0.0")
                assert mirrored is not None and mirrored.source == "mirror"
                rows = await here.mirror.quarantined()
                assert {(q.name, q.source) for q in rows} == {("acme/tampered", url), ("rogue/x", url)}

                before, files = await counts(database), blob_files(tmp_path / "here" / "registry" / "blobs")
                again = await here.mirror_now(url, (OFFICIAL, UP_PIN))
                assert (again.mirrored, again.unchanged, again.quarantined) == (0, 19, 2)
                assert await counts(database) == before  # nothing stored, logged or quarantined twice
                assert blob_files(tmp_path / "here" / "registry" / "blobs") == files
                last = (await here.mirror.runs(1))[0]
                assert (last.run_id, last.state, last.done, last.total) == (again.run_id, "finished", 21, 21)
        finally:
            await here.stop()
            await upstream.stop()
            await up_log.close()
            await up_db.close()


def a_checkout(tmp_path: Path) -> Path:
    """The shipped catalog copied, with a new pack signed by the acme key, stripe's body
    changed and re-signed by it (a changed body for a version here), and github's body changed
    without re-signing."""
    root = tmp_path / "checkout"
    shutil.copytree(SEED_DIR, root / "catalog")
    catalog = root / "catalog"
    folder = catalog / "artifacts" / "policies" / "acme" / "local" / "1.0.0"
    folder.mkdir(parents=True)
    (folder / "policy.fpl").write_bytes(FPL)
    (folder / "policy.fpl.sig").write_bytes(fpl_signature_file("acme-ed25519-1", UP, FPL))
    index = json.loads((catalog / "catalog.json").read_text())
    index["policies"].append({"name": "acme/local", "description": "local pack", "trust_tier": "official",
                              "versions": {"1.0.0": "artifacts/policies/acme/local/1.0.0/policy.fpl"}})
    (catalog / "catalog.json").write_text(json.dumps(index))
    stripe = next(catalog.rglob("policies/faramesh/stripe/1.0.0/policy.fpl"))
    changed = stripe.read_bytes() + b"\n"
    stripe.write_bytes(changed)
    Path(f"{stripe}.sig").write_bytes(fpl_signature_file("acme-ed25519-1", UP, changed))
    github = next(catalog.rglob("policies/faramesh/github/*/policy.fpl"))
    github.write_bytes(github.read_bytes().replace(b"deny", b"permit", 1))
    return root


async def test_mirroring_a_local_checkout_through_the_cli(
        pg_url: str, database: Database, postgres_log: Log, tmp_path: Path) -> None:
    data = tmp_path / "data"
    here = registry(database, postgres_log, data)
    await here.start()
    await here.stop()
    checkout = a_checkout(tmp_path)

    def run() -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["registry", "mirror", str(checkout), "--pin", OFFICIAL, "--pin", UP_PIN,
                                          "--data-dir", str(data)], env={"FARAMESH_CLOUD_POSTGRES_URL": pg_url})
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(run)
    assert code == 1, out  # something was quarantined
    assert "18 version(s): 1 mirrored, 15 unchanged, 2 quarantined, 0 failed" in out, out
    assert "quarantined policy faramesh/stripe@1.0.0: policy faramesh/stripe@1.0.0: upstream's content differs" in out
    assert "quarantined policy faramesh/github@" in out and "does not verify against the official key" in out
    local = await here.store.version(Kind.POLICY, "acme/local", "1.0.0")
    assert local is not None and local.source == "mirror" and local.key_id == "acme-ed25519-1"
    artifact = await here.store.artifact(Kind.POLICY, "acme/local")
    assert artifact is not None and artifact.trust_tier == "community"  # only the official key makes "official"
    stripe = await here.store.version(Kind.POLICY, "faramesh/stripe", "1.0.0")
    assert stripe is not None and stripe.source == "seed"  # never overwritten
    keys = {k.key_id: k.origin for k in await here.store.keys()}
    assert keys["acme-ed25519-1"] == "mirror"

    _, out2 = await asyncio.to_thread(run)
    assert "0 mirrored, 16 unchanged, 2 quarantined" in out2, out2
    status = await asyncio.to_thread(lambda: CliRunner().invoke(
        cli, ["registry", "mirror-status", "--data-dir", str(data)], env={"FARAMESH_CLOUD_POSTGRES_URL": pg_url}))
    assert status.exit_code == 0, status.output
    assert "quarantined (2): never served" in status.output and "finished 18/18" in status.output
    # The log holds the mirrored version and each quarantine once, under a checkpoint.
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT action, subject->>'name' FROM registry_log WHERE action IN "
                                         "('mirrored', 'quarantined') ORDER BY seq")).fetchall()
        size = (await (await conn.execute("SELECT max(size) FROM registry_log_checkpoints")).fetchone() or (0,))[0]
        total = (await (await conn.execute("SELECT count(*) FROM registry_log")).fetchone() or (0,))[0]
    assert sorted(rows) == [("mirrored", "acme/local"), ("quarantined", "faramesh/github"),
                            ("quarantined", "faramesh/stripe")]
    assert size == total


async def test_the_scheduled_mirror_runs_from_the_settings(
        database: Database, postgres_log: Log, tmp_path: Path) -> None:
    """``FARAMESH_CLOUD_REGISTRY_MIRROR_SOURCES`` / ``_INTERVAL_S`` / ``_PINS`` reach the running
    registry (``registry_wiring.config``): the checkout is mirrored on the schedule, again and
    again, against the pinned keys."""
    from faramesh_cloud.blobstore.files import FileBlobStore
    from faramesh_cloud.config import ConfigError, Settings
    from faramesh_cloud.runtime import registry_wiring

    checkout = a_checkout(tmp_path)
    data = tmp_path / "data"
    settings = Settings.load({"FARAMESH_CLOUD_DATA_DIR": str(data),
                              "FARAMESH_CLOUD_REGISTRY_MIRROR_SOURCES": f" {checkout} ",
                              "FARAMESH_CLOUD_REGISTRY_MIRROR_INTERVAL_S": "1",
                              "FARAMESH_CLOUD_REGISTRY_MIRROR_PINS": f"{OFFICIAL}, {UP_PIN}"})
    config = registry_wiring.config(settings)
    assert (config.mirror_sources, config.mirror_interval_s, config.mirror_pins) == ((str(checkout),), 1.0,
                                                                                     (OFFICIAL, UP_PIN))
    here = Registry(database, postgres_log, FileBlobStore(data / "registry" / "blobs"), config)
    await here.start()
    try:
        for _ in range(600):  # until two scheduled runs finished (a bound, not a timing claim)
            async with database.connection() as conn:
                runs = await (await conn.execute(
                    "SELECT source, trigger, state, mirrored, pinned_keys FROM registry_mirror_runs "
                    "WHERE state <> 'running' ORDER BY ordinal")).fetchall()
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await here.stop()
    assert [(r[0], r[1], r[2]) for r in runs[:2]] == [(f"file://{checkout}/catalog", "schedule", "finished")] * 2
    assert [r[3] for r in runs[:2]] == [1, 0]  # the new pack once; the second run finds it there
    assert "acme-ed25519-1" in runs[0][4]
    local = await here.store.version(Kind.POLICY, "acme/local", "1.0.0")
    assert local is not None and local.source == "mirror"
    with pytest.raises(ConfigError, match="names no upstream"):
        Settings.load({"FARAMESH_CLOUD_REGISTRY_MIRROR_INTERVAL_S": "60"})
    with pytest.raises(ConfigError, match="not ID=BASE64"):
        Settings.load({"FARAMESH_CLOUD_REGISTRY_MIRROR_PINS": "nokey"})
