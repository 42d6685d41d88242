"""``faramesh-cloud registry search | show | verify`` against a real registry served on
127.0.0.1 (its daemon API, as ``faramesh registry search`` reads it): strict verification of
a governance.fms's imports against the trusted keys, whatever key an answer carries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from nacl.signing import SigningKey

from faramesh_cloud.cli.main import cli
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.signatures import signature_object
from faramesh_cloud.sql.database import Database
from tests.integration.test_registry_mirror import FPL, pack, publish
from tests.registry_support import T0, registry, served

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ROGUE = SigningKey(b"\x0b" * 32)
REG = "github.com/faramesh/faramesh-registry"


async def run(*args: str) -> Result:
    return await asyncio.to_thread(lambda: CliRunner().invoke(cli, list(args)))


async def test_search_show_and_strict_verify_of_a_governance_file(
        database: Database, postgres_log: Log, tmp_path: Path) -> None:
    reg = registry(database, postgres_log, tmp_path)
    await reg.start()
    try:
        await publish(reg, pack("acme/rogue", FPL, signature_object("rogue-2", ROGUE, FPL), "rogue-2"), ROGUE, "rogue-2")
        async with database.transaction() as conn:
            assert await reg.store.mark_yanked(conn, Kind.POLICY, "faramesh/demo", "0.1.0", T0, "ops", "broken")
        async with served(reg.http_app) as url:
            found = await run("registry", "search", "stripe", "--url", url)
            assert found.exit_code == 0 and "faramesh/stripe" in found.output and "1 artifact(s)" in found.output
            providers = await run("registry", "search", "--kind", "provider", "--url", url)
            assert "faramesh/vault" in providers.output and "faramesh/stripe" not in providers.output
            shown = await run("registry", "show", "policy", "faramesh/stripe", "1.0.0", "--url", url)
            assert shown.exit_code == 0 and "signed by: faramesh-ed25519-2026" in shown.output, shown.output
            assert "agent" in shown.output
            missing = await run("registry", "show", "policy", "faramesh/nope", "--url", url)
            assert missing.exit_code == 2 and "policy faramesh/nope not found" in missing.output

            fms = tmp_path / "governance.fms"
            fms.write_text(f'import "{REG}/policies/faramesh/stripe@1.0.0"\n'
                           f'import "{REG}/providers/faramesh/vault@1.0.0"\n'
                           f'import "{REG}/policies/acme/rogue@1.0.0"\n'
                           f'import "{REG}/policies/faramesh/nope@1.0.0"\n'
                           f'import "{REG}/policies/faramesh/demo@0.1.0"\n'
                           f'import "{REG}/policies/faramesh/stripe@latest"\n')
            result = await run("registry", "verify", str(fms), "--url", url)
            assert result.exit_code == 1, result.output
            lines = result.output.splitlines()
            assert "stripe@1.0.0  verified (signed by faramesh-ed25519-2026)" in lines[0]
            assert "vault@1.0.0  verified (manifest signed by faramesh-ed25519-2026)" in lines[1]
            assert "rogue@1.0.0  unverified (signature: signed by key 'rogue-2', which is not a trusted" in lines[2]
            assert "nope@1.0.0  not in registry" in lines[3]
            assert "demo@0.1.0  yanked (policy faramesh/demo@0.1.0 was yanked: broken)" in lines[4]
            assert "@latest  unverified" in lines[5]
            assert "6 import(s), 2 verified, 4 not verified" in result.output
            # The organisation trusting that key (pinned) makes it verified.
            pin = f"rogue-2={signature_object('rogue-2', ROGUE, b'x')['public_key_b64']}"
            fms.write_text(f'import "{REG}/policies/faramesh/stripe@1.0.0"\nimport "{REG}/policies/acme/rogue@1.0.0"\n')
            trusted = await run("registry", "verify", str(fms), "--url", url, "--pin", pin)
            assert trusted.exit_code == 0, trusted.output
    finally:
        await reg.stop()
