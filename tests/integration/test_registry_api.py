"""``RegistryApi`` (the gateway's read port) on the seeded catalog, and the daemon API reached
through the gateway's ``/registry`` forwarding as under ``serve gateway``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.runtime import registry_wiring
from tests.registry_support import (
    free_port,
    registry,
    seeded_pg_url,  # noqa: F401  (pg_url: the catalog seeded once per run)
    served,
)

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
async def reg(database, postgres_log: Log, tmp_path: Path) -> AsyncIterator[Registry]:  # type: ignore[no-untyped-def]
    r = registry(database, postgres_log, tmp_path)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


async def test_search_pages_and_filters(reg: Registry) -> None:
    api = reg.api
    everything = await api.search()
    assert everything.total == 17
    page = await api.search(limit=5, offset=5)
    assert page.total == 17 and len(page.items) == 5 and page.items[0] == everything.items[5]
    assert [a.name for a in (await api.search(category="payments")).items] == ["faramesh/stripe"]
    assert [a.name for a in (await api.search(Kind.PROVIDER, capability="kms")).items] == \
        ["faramesh/dev-kms"]
    assert [a.name for a in (await api.search(text="guardrails")).items] == \
        ["faramesh/openai", "faramesh/stripe"]
    assert (await api.search(tier="community")).total == 0
    linux = await api.search(Kind.PROVIDER, platform="linux_arm64")
    assert linux.total == 3 and all("linux_arm64" in a.platforms for a in linux.items)
    assert (await api.search(platform="windows_amd64")).total == 0
    assert (await api.search(Kind.FRAMEWORK)).total == 8


async def test_artifact_and_version_detail(reg: Registry) -> None:
    detail = await reg.api.artifact(Kind.PROVIDER, "faramesh/vault")
    assert detail is not None and detail.artifact.latest_version == "1.0.0"
    assert [v.version for v in detail.versions] == ["1.0.0"] and detail.versions[0].source == "seed"
    version = await reg.api.version(Kind.PROVIDER, "faramesh/vault", "1.0.0")
    assert version is not None and version.manifest is not None and version.fpl is None
    assert {b.platform: b.hosted for b in version.binaries} == dict.fromkeys(
        ("darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"), False)
    assert version.signature_status.verified and version.signature_status.key_origin == "official"
    assert "addr" in version.meta["config_schema"] and version.readme
    stripe = await reg.api.version(Kind.POLICY, "faramesh/stripe", "1.0.0")
    assert stripe is not None and stripe.fpl is not None and "payment-bot" in stripe.fpl
    assert stripe.signature_status.verified and stripe.signature_status.key_id == "faramesh-ed25519-2026"
    assert await reg.api.version(Kind.POLICY, "faramesh/stripe", "2.0.0") is None
    assert await reg.api.artifact(Kind.POLICY, "faramesh/nope") is None


async def test_a_stored_body_that_no_longer_matches_its_signature_shows_unverified(reg: Registry) -> None:
    row = await reg.store.version(Kind.POLICY, "faramesh/shell", "1.0.0")
    assert row is not None
    other = await reg.blobs.put_bytes(b"agent x { rules { permit * } }\n", max_size=1024)
    async with reg.store._db.transaction() as conn:
        await conn.execute("UPDATE registry_versions SET body_sha256 = %s WHERE name = 'faramesh/shell'", (other.sha256,))
    status = (await reg.api.version(Kind.POLICY, "faramesh/shell", "1.0.0"))
    assert status is not None and not status.signature_status.verified
    assert "verification failed" in status.signature_status.problem


async def test_lookup_gives_a_version_with_its_artifact_in_one_call(reg: Registry) -> None:
    found = await reg.store.lookup(Kind.POLICY, "faramesh/stripe", "1.0.0")
    assert found is not None and found.version is not None
    assert found.version == await reg.store.version(Kind.POLICY, "faramesh/stripe", "1.0.0")
    artifact = await reg.store.artifact(Kind.POLICY, "faramesh/stripe")
    assert artifact is not None
    assert (found.description, found.trust_tier, found.capabilities) == (
        artifact.description, artifact.trust_tier, artifact.capabilities)
    vault = await reg.store.lookup(Kind.PROVIDER, "faramesh/vault", "1.0.0")
    assert vault is not None and vault.capabilities == ("SECRETS",) and vault.version is not None
    missing = await reg.store.lookup(Kind.POLICY, "faramesh/stripe", "9.9.9")
    assert missing is not None and missing.version is None and missing.trust_tier == "official"
    assert await reg.store.lookup(Kind.POLICY, "faramesh/nope", "1.0.0") is None
    assert await reg.store.lookup(Kind.FRAMEWORK, "faramesh/stripe", "1.0.0") is None  # another kind's name


async def test_trust_keys_carry_their_snippet(reg: Registry) -> None:
    keys = {k.key_id: k for k in await reg.api.trust_keys()}
    assert reg.signing_key is not None
    mine = keys[reg.signing_key.key_id]
    assert mine.origin == "cloud" and mine.trust_snippet == (
        f'trust {{\n  key "{mine.key_id}" ed25519:{reg.signing_key.public_key_b64}\n}}\n')


async def test_serve_gateway_forwards_registry_to_its_listener_keeping_the_host(reg: Registry, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path, registry_http_port=port)
    listener = registry_wiring.listener(settings, reg.http_app)
    await listener.start()
    proxy = registry_wiring.daemon_api(settings, [])
    try:
        async with served(proxy) as url, httpx.AsyncClient(timeout=30) as c:
            r = await c.get(url + "/v1/policies/faramesh%2Fstripe/versions/1.0.0")
            assert r.status_code == 200 and "payment-bot" in r.json()["policy_fpl"]
            manifest = (await c.get(url + "/v1/providers/faramesh%2Fvault/versions/1.0.0")).json()
            assert manifest["downloads"]["linux_amd64"]["url"].startswith(url + "/v1/providers/faramesh%2Fvault/")
            missing = await c.get(url + "/v1/policies/faramesh%2Fnope/versions/1.0.0")
            assert missing.status_code == 404 and "not found" in missing.text
    finally:
        await registry_wiring.release(proxy)
        await listener.stop()
