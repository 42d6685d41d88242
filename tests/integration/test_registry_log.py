"""The registry log on real PostgreSQL, exported and verified through the CLI a person runs:
appends commit and roll back with the caller's transaction and stay dense under concurrency,
the tables are append-only, checkpoints are signed notes, and ``faramesh-cloud
verify-registry`` catches each way of tampering with an export (an edited body, a deleted
entry, a reorder, a checkpoint forged with another key, a log cut back after a checkpoint).

The registry's migrations (0002 is the log's) are in the test template like every service's."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.cli.main import cli
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.translog import Ed25519Signer
from faramesh_cloud.registry.translog_verify import verify_log
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.postgres import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

OLD = Ed25519Signer("cloud-registry-1", Ed25519PrivateKey.generate())
NEW = Ed25519Signer("cloud-registry-2", Ed25519PrivateKey.generate())
ACTOR = {"type": "member", "id": "u-1", "label": "Ada (acme)", "org_id": "7d5e0d1e-0000-4000-8000-000000000001"}


async def with_log(url: str) -> Database:
    db = Database(url, max_size=4)
    await db.open()
    return db


def pin(signer: Ed25519Signer) -> str:
    return f"{signer.key_id}={base64.b64encode(signer.public_key).decode()}"


async def command(db: Database, action: str, subject: dict[str, Any], body: dict[str, Any],
                  signer: Ed25519Signer | None = None) -> None:
    """One registry command as the service runs it: state and log entry in one transaction,
    then a checkpoint."""
    async with db.transaction() as conn:
        await translog.append(conn, action=action, subject=subject, actor=ACTOR, body=body)
    if signer is not None:
        async with db.transaction() as conn:
            await translog.checkpoint(conn, signer)


async def a_history(db: Database) -> None:
    """Seven entries: checkpoints by the old key at 3, by both at 5, by the new one at 6; the
    seventh is after the last checkpoint."""
    key = {"public_key_b64": base64.b64encode(OLD.public_key).decode()}
    await command(db, "key_added", {"key_id": OLD.key_id}, key)
    await command(db, "published", {"kind": "policy", "name": "acme/payments", "version": "1.0.0"},
                  {"body_sha256": "ab" * 32, "changelog": "Première version ✓"})
    await command(db, "approved", {"kind": "policy", "name": "acme/payments", "version": "1.0.0"},
                  {"signed_by": OLD.key_id}, OLD)
    await command(db, "key_added", {"key_id": NEW.key_id},
                  {"public_key_b64": base64.b64encode(NEW.public_key).decode()})
    await command(db, "key_retired", {"key_id": OLD.key_id}, {"reason": "rotation"}, OLD)
    async with db.transaction() as conn:
        await translog.checkpoint(conn, NEW)
    await command(db, "yanked", {"kind": "policy", "name": "acme/payments", "version": "1.0.0"},
                  {"reason": "CVE-2026-1"}, NEW)
    await command(db, "published", {"kind": "provider", "name": "acme/vault", "version": "0.1.0"}, {})


def cli_run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture(scope="module")
def exported(embedded_postgres: EmbeddedPostgres, pg_template: str) -> Iterator[Path]:
    """The export ``faramesh-cloud registry export-log`` wrote of :func:`a_history`."""
    scratch = Path(tempfile.mkdtemp(prefix="faramesh-test-reglog-"))
    try:
        with fresh_database(embedded_postgres, pg_template) as url:
            async def fill() -> None:
                db = await with_log(url)
                try:
                    await a_history(db)
                finally:
                    await db.close()

            asyncio.run(fill())
            out = scratch / "registry-log.json"
            result = cli_run("registry", "export-log", "--out", str(out), "--data-dir", str(scratch / "data"),
                             FARAMESH_CLOUD_POSTGRES_URL=url)
            assert result.exit_code == 0, result.output + result.stderr
            assert "wrote 7 entries and 4 checkpoint(s)" in result.output
            assert f"--key {pin(OLD)}" in result.output and f"--key {pin(NEW)}" in result.output
            yield out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def verify(path: Path, *extra: str) -> Result:
    return cli_run("verify-registry", str(path), "--key", pin(OLD), "--key", pin(NEW), *extra)


def tampered(exported: Path, tmp_path: Path, change: Any) -> Path:
    bundle = json.loads(exported.read_text())
    change(bundle)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(bundle))
    return path


def last_line(result: Result) -> str:
    return result.output.rstrip().splitlines()[-1]


def test_an_untouched_export_verifies_with_the_pinned_keys(exported: Path) -> None:
    result = verify(exported)
    assert result.exit_code == 0, result.output
    assert "OK: every entry, link and checkpoint verifies (6 of 7 entries under a signed checkpoint)" in result.output
    assert "note: entry 7 was logged after the last checkpoint" in result.output
    as_json = json.loads(verify(exported, "--json").output)
    assert as_json["ok"] and as_json["entries"] == 7 and as_json["covered_by_checkpoint"] == 6
    assert [(c["size"], c["key_id"], c["ok"]) for c in as_json["checkpoints"]] == [
        (3, OLD.key_id, True), (5, OLD.key_id, True), (5, NEW.key_id, True), (6, NEW.key_id, True)]
    grouped = cli_run("registry", "verify-registry", str(exported), "--key", pin(OLD), "--key", pin(NEW))
    assert grouped.exit_code == 0, grouped.output


def edit_body(b: dict[str, Any]) -> None:
    b["entries"][1]["body"]["body_sha256"] = "cd" * 32


def edit_body_and_rehash(b: dict[str, Any]) -> None:
    from faramesh_cloud.registry.translog_format import entry_from_json

    entry = b["entries"][3]
    entry["body"]["public_key_b64"] = base64.b64encode(b"\x07" * 32).decode()
    entry["entry_hash"] = entry_from_json(entry).computed_hash().hex()


def delete_entry(b: dict[str, Any]) -> None:
    del b["entries"][3]


def reorder(b: dict[str, Any]) -> None:
    b["entries"][1], b["entries"][2] = b["entries"][2], b["entries"][1]


def forge_checkpoint(b: dict[str, Any]) -> None:
    """Rewrite entry 6 and all after it, and sign a checkpoint of it with a key of one's own
    under the registry key's name (listing that key in the file too)."""
    from faramesh_cloud.registry.translog_format import Checkpoint, checkpoint_body, entry_from_json

    forger = Ed25519Signer(NEW.key_id, Ed25519PrivateKey.generate())
    entry = entry_from_json(b["entries"][5])
    entry = type(entry)(entry.seq, entry.logged_at, entry.action, entry.subject, entry.actor,
                        {"reason": "nothing to see"}, entry.prev_hash).sealed()
    b["entries"] = [*b["entries"][:5], entry.to_json()]
    body = checkpoint_body(b["origin"], 6, entry.entry_hash)
    b["checkpoints"][-1] = Checkpoint(b["origin"], 6, entry.entry_hash, forger.key_id, forger.sign(body)).to_json(
        forger.public_key)
    b["keys"] = [k if k["key_id"] != NEW.key_id else {**k, "public_key_b64": base64.b64encode(
        forger.public_key).decode()} for k in b["keys"]]


def truncate(b: dict[str, Any]) -> None:
    b["entries"] = b["entries"][:4]


@pytest.mark.parametrize(("change", "first"), [
    (edit_body, "FAILED at seq 2: the entry's content does not match its hash (it was changed after it was written)"),
    (edit_body_and_rehash, "FAILED at seq 5: prev_hash is not the hash of entry 4: the chain is broken here"),
    (delete_entry, "FAILED at seq 5: entry 5 follows entry 3: entry 4 is missing (deleted)"),
    (reorder, "FAILED at seq 3: entry 3 follows entry 1: entries are out of order (entry 2 is elsewhere in the file)"),
    (forge_checkpoint, "FAILED: the file lists a public key for 'cloud-registry-2' that is not the pinned one"),
    (truncate, "FAILED at seq 5: checkpoint 2: it was signed for 5 entries but the log ends at entry 4: "
               "entries were removed after it was signed (truncated)"),
], ids=["edited-body", "edited-and-rehashed", "deleted-entry", "reordered", "forged-checkpoint", "truncated"])
def test_every_kind_of_tampering_fails_naming_the_first_problem(
        exported: Path, tmp_path: Path, change: Any, first: str) -> None:
    result = verify(tampered(exported, tmp_path, change))
    assert result.exit_code == 1, result.output
    assert last_line(result).startswith(first), result.output


def test_a_forged_checkpoint_fails_on_its_signature_even_when_the_file_keys_are_left_alone(
        exported: Path, tmp_path: Path) -> None:
    def forge_keep_keys(b: dict[str, Any]) -> None:
        keys = b["keys"]
        forge_checkpoint(b)
        b["keys"] = keys

    result = verify(tampered(exported, tmp_path, forge_keep_keys))
    assert result.exit_code == 1
    assert ("checkpoint 4: the signature names key 'cloud-registry-2' but was made with another key "
            "(its key hash does not match the trusted one): a forged checkpoint") in result.output
    assert "seq 6: the entry's content" not in result.output  # rehashed: only the signature gives it away


def test_keys_only_the_file_lists_are_not_trusted_unless_asked(exported: Path) -> None:
    unpinned = cli_run("verify-registry", str(exported), "--key", pin(NEW))
    assert unpinned.exit_code == 1
    assert (f"signed by key {OLD.key_id!r}, which only the file lists: it is not pinned "
            f"(pass --key {OLD.key_id}=<base64>") in unpinned.output
    trusting = cli_run("verify-registry", str(exported), "--trust-file-keys")
    assert trusting.exit_code == 0, trusting.output
    assert f"note: key {OLD.key_id!r} trusted because the file lists it (--trust-file-keys)" in trusting.output


def test_a_log_cut_back_with_its_checkpoints_still_fails_against_a_saved_checkpoint(
        exported: Path, tmp_path: Path) -> None:
    saved = tmp_path / "checkpoint.note"
    saved.write_text(json.loads(exported.read_text())["checkpoints"][-1]["note"])

    def cut(b: dict[str, Any]) -> None:
        b["entries"] = b["entries"][:3]
        b["checkpoints"] = b["checkpoints"][:1]

    path = tampered(exported, tmp_path, cut)
    assert verify(path).exit_code == 0  # self-consistent on its own ...
    result = verify(path, "--checkpoint", str(saved))
    assert result.exit_code == 1  # ... but not with what a witness kept
    assert last_line(result).startswith(f"FAILED at seq 6: {saved}: it was signed for 6 entries but the log ends "
                                        "at entry 3"), result.output


def test_unreadable_input_and_bad_keys_exit_2(exported: Path, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    assert cli_run("verify-registry", str(tmp_path / "x.json"), "--key", pin(NEW)).exit_code == 2
    (tmp_path / "y.json").write_text('{"format": "something-else"}')
    other = cli_run("verify-registry", str(tmp_path / "y.json"))
    assert other.exit_code == 2 and "not a registry log export" in other.stderr
    bad_key = cli_run("verify-registry", str(exported), "--key", "cloud-registry-2=AAAA")
    assert bad_key.exit_code == 2 and "an Ed25519 public key is 32 bytes in base64" in bad_key.stderr


async def test_an_append_commits_and_rolls_back_with_its_transaction_and_seq_stays_dense(pg_url: str) -> None:
    db = await with_log(pg_url)
    try:
        async with db.transaction() as conn:
            first = await translog.append(conn, action="published", subject={"name": "a"}, actor=ACTOR, body={})
        with pytest.raises(RuntimeError, match="the command failed"):
            async with db.transaction() as conn:
                await translog.append(conn, action="published", subject={"name": "b"}, actor=ACTOR, body={})
                raise RuntimeError("the command failed")
        async with db.transaction() as conn:
            second = await translog.append(conn, action="yanked", subject={"name": "a"}, actor=ACTOR, body={})
            entries = await translog.read_entries(conn)
        assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.entry_hash
        assert [e.subject["name"] for e in entries] == ["a", "a"]
        assert entries == [first, second]  # what PostgreSQL gives back hashes the same
        async with db.connection() as conn:
            with pytest.raises(RuntimeError, match="inside the caller's open transaction"):
                await translog.append(conn, action="published", subject={}, actor=ACTOR, body={})
    finally:
        await db.close()


async def test_refused_input_writes_nothing(pg_url: str) -> None:
    db = await with_log(pg_url)
    try:
        async with db.transaction() as conn:
            with pytest.raises(ValueError, match="'renamed' is not a registry log action"):
                await translog.append(conn, action="renamed", subject={}, actor=ACTOR, body={})
            with pytest.raises(ValueError, match=r"registry log body: \$.size: floating-point"):
                await translog.append(conn, action="published", subject={}, actor=ACTOR, body={"size": 1.5})
            assert await translog.read_entries(conn) == []
    finally:
        await db.close()


async def test_concurrent_appends_make_one_dense_chain(pg_url: str) -> None:
    db = await with_log(pg_url)
    try:
        async def one(n: int) -> int:
            async with db.transaction() as conn:
                return (await translog.append(conn, action="published", subject={"name": f"p{n}"},
                                              actor=ACTOR, body={"n": n})).seq

        seqs = await asyncio.gather(*(one(n) for n in range(24)))
        assert sorted(seqs) == list(range(1, 25))
        async with db.transaction() as conn:
            await translog.checkpoint(conn, NEW)
        bundle = await translog.export_log(db, now=datetime.now(UTC))
        assert verify_log(bundle, pinned={NEW.key_id: NEW.public_key}).ok
    finally:
        await db.close()


async def test_a_checkpoint_is_signed_once_per_size_and_key(pg_url: str) -> None:
    db = await with_log(pg_url)
    try:
        async with db.transaction() as conn:
            entry = await translog.append(conn, action="key_added", subject={"key_id": NEW.key_id}, actor=ACTOR,
                                          body={})
            made = await translog.checkpoint(conn, NEW)
            again = await translog.checkpoint(conn, NEW)
        assert made == again and (made.size, made.head_hash) == (1, entry.entry_hash)
        async with db.transaction() as conn:
            latest = await translog.latest_checkpoint(conn)
            count = await (await conn.execute("SELECT count(*) FROM registry_log_checkpoints")).fetchone()
        assert latest == (made, NEW.public_key) and count == (1,)

        class Liar(Ed25519Signer):
            @property
            def public_key(self) -> bytes:
                return OLD.public_key

        with pytest.raises(ValueError, match="does not sign with the public key it reports"):
            async with db.transaction() as conn:
                await translog.checkpoint(conn, Liar("liar", Ed25519PrivateKey.generate()))
    finally:
        await db.close()


@pytest.mark.parametrize("statement", [
    "UPDATE registry_log SET body = '{}'", "DELETE FROM registry_log", "TRUNCATE registry_log",
    "UPDATE registry_log_checkpoints SET size = 9", "DELETE FROM registry_log_checkpoints",
    "TRUNCATE registry_log_checkpoints",
])
async def test_the_tables_are_append_only(pg_url: str, statement: str) -> None:
    db = await with_log(pg_url)
    try:
        async with db.transaction() as conn:
            await translog.append(conn, action="published", subject={}, actor=ACTOR, body={})
            await translog.checkpoint(conn, NEW)
        with pytest.raises(psycopg.errors.RaiseException, match="the registry log is append-only"):
            async with db.transaction() as conn:
                await conn.execute(statement)
    finally:
        await db.close()
