"""The registry's own commands write the registry log: a fresh install's seed (each version
and the official key) and Cloud's key (added; on rotation retired and the next one added), each
in the transaction of its state and event, with a checkpoint signed by the key that signs now.
Checked the way an operator does: ``registry export-log`` then ``verify-registry`` with the
pinned Cloud keys, on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.keys import CloudKey
from faramesh_cloud.registry.snapshot import SEED_DIR
from faramesh_cloud.sql.database import Database
from tests.registry_support import registry

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def cli_run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def pin(key: CloudKey) -> str:
    return f"{key.key_id}={key.public_key_b64}"


async def export(pg_url: str, tmp_path: Path, name: str) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / name
    result = await asyncio.to_thread(cli_run, "registry", "export-log", "--out", str(out), "--data-dir",
                                     str(tmp_path / "cli"), FARAMESH_CLOUD_POSTGRES_URL=pg_url)
    assert result.exit_code == 0, result.output
    return out, json.loads(out.read_text())


def catalog_versions() -> set[str]:
    catalog = json.loads((SEED_DIR / "catalog.json").read_text())
    return {f"{kind} {e['name']}@{v}" for section, kind in (("policies", "policy"), ("frameworks", "framework"),
                                                            ("providers", "provider"))
            for e in catalog[section] for v in e["versions"]}


async def test_the_seed_and_key_rotation_are_logged_and_verify_with_the_pinned_cloud_keys(
        pg_url: str, database: Database, postgres_log: Log, tmp_path: Path) -> None:
    reg = registry(database, postgres_log, tmp_path)
    await reg.start()
    try:
        first = reg.signing_key
        assert first is not None
        path, bundle = await export(pg_url, tmp_path, "log-1.json")
        actions = [(e["action"], e["subject"]) for e in bundle["entries"]]
        assert actions[0] == ("key_added", {"key_id": "faramesh-ed25519-2026"})
        assert actions[-1] == ("key_added", {"key_id": first.key_id})
        seeded = [e for e in bundle["entries"] if e["action"] == "seeded"]
        assert {f"{e['subject']['kind']} {e['subject']['name']}@{e['subject']['version']}" for e in seeded} \
            == catalog_versions()
        stripe = next(e for e in seeded if e["subject"]["name"] == "faramesh/stripe")
        assert stripe["body"]["key_id"] == "faramesh-ed25519-2026" and len(stripe["body"]["body_sha256"]) == 64
        assert bundle["checkpoints"][-1]["size"] == len(bundle["entries"])
        assert bundle["checkpoints"][-1]["key_id"] == first.key_id

        result = await asyncio.to_thread(cli_run, "verify-registry", str(path), "--key", pin(first), "--entries")
        assert result.exit_code == 0, result.output
        assert "OK: every entry, link and checkpoint verifies" in result.output
        assert "seeded  policy faramesh/stripe@1.0.0" in result.output

        second = await reg.rotate_key()
        path2, bundle2 = await export(pg_url, tmp_path, "log-2.json")
        new = [(e["action"], e["subject"], e["body"]) for e in bundle2["entries"][len(bundle["entries"]):]]
        assert new == [("key_retired", {"key_id": first.key_id}, {"replaced_by": second.key_id}),
                       ("key_added", {"key_id": second.key_id}, {"origin": "cloud",
                                                                 "public_key_b64": second.public_key_b64})]
        last = bundle2["checkpoints"][-1]
        assert last["key_id"] == second.key_id and last["size"] == len(bundle2["entries"])
        ok = await asyncio.to_thread(cli_run, "verify-registry", str(path2), "--key", pin(first), "--key", pin(second))
        assert ok.exit_code == 0, ok.output
        # The checkpoint after the rotation is the new key's: the old key alone does not cover it.
        old_only = await asyncio.to_thread(cli_run, "verify-registry", str(path2), "--key", pin(first))
        assert old_only.exit_code == 1, old_only.output
    finally:
        await reg.stop()
