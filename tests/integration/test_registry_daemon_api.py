"""The daemon-facing registry API through real HTTP on 127.0.0.1 (REGISTRY_PROTOCOL.md §9, one
test per checklist item), the app served under a base path as ``FARAMESH_REGISTRY_URL`` names it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nacl.signing import VerifyKey

from faramesh_cloud.log.port import Log
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.registry.signatures import binary_signature, sign_manifest
from faramesh_cloud.registry.snapshot import SEED_DIR
from faramesh_cloud.registry.store import ArtifactRow, BinaryRow, VersionRow
from faramesh_cloud.sql.database import Database
from tests.registry_support import (
    T0,
    registry,
    seeded_pg_url,  # noqa: F401  (pg_url: the catalog seeded once per run)
    served,
)

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
OFFICIAL_B64 = "nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs="
STRIPE = SEED_DIR / "artifacts/policies/faramesh/stripe/1.0.0/policy.fpl"


@pytest.fixture
async def reg(database: Database, postgres_log: Log, tmp_path: Path) -> AsyncIterator[Registry]:
    r = registry(database, postgres_log, tmp_path, downloads_interval_s=3600)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
async def client(reg: Registry) -> AsyncIterator[httpx.AsyncClient]:
    async with served(reg.http_app) as url, httpx.AsyncClient(base_url=url + "/", timeout=30) as c:
        yield c


def _go_verify(answer: dict[str, object]) -> None:
    """What hub.VerifyPolicySignature does: the key from the same response, over policy_fpl."""
    sig = answer["signature"]
    assert isinstance(sig, dict) and sig["algorithm"].lower() == "ed25519"
    VerifyKey(base64.b64decode(sig["public_key_b64"])).verify(str(answer["policy_fpl"]).encode(),
                                                              base64.b64decode(sig["value_b64"]))


async def _hosted_provider(reg: Registry, data: bytes = b"\x7fELF fake provider binary" * 1000) -> bytes:
    """A provider version whose linux_amd64 binary is hosted, signed with Cloud's key (the
    publish side's job; done with the store and the signing functions here)."""
    key = reg.signing_key
    assert key is not None
    info = await reg.blobs.put_bytes(data, max_size=1 << 24)
    manifest = sign_manifest(key.key_id, key.signing_key, {
        "name": "acme/kv", "version": "2.0.0", "capabilities": ["SECRETS"],
        "downloads": {"linux_amd64": {"url": "file://bin/p-linux_amd64", "sha256_hex": info.sha256, "size": info.size}}})
    async with reg.store._db.transaction() as conn:
        await reg.store.ensure_publisher(conn, "acme", None, "Acme", "confirmed", T0, "t")
        await reg.store.ensure_artifact(conn, ArtifactRow("provider", "acme/kv", "acme", "Acme KV", "", (), "community",
                                                          ("SECRETS",), T0))
        await reg.store.add_version(conn, VersionRow("provider", "acme/kv", "2.0.0", "published", T0, "t", "publish",
                                                     "", None, {}, None, None, None, manifest, manifest["signature"],
                                                     key.key_id))
        await reg.store.add_binary(conn, BinaryRow("acme/kv", "2.0.0", "linux_amd64", info.sha256, info.size,
                                                   binary_signature(key.signing_key, data), True))
    return data


async def test_1_policy_and_framework_versions_answer_200_with_the_exact_fpl(client: httpx.AsyncClient) -> None:
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["policy_fpl"].encode() == STRIPE.read_bytes()
    f = await client.get("v1/frameworks/langgraph/versions/1.0.0")
    assert f.status_code == 200
    assert f.json()["policy_fpl"].encode() == (SEED_DIR / "artifacts/frameworks/langgraph/1.0.0/profile.fpl").read_bytes()


async def test_2_names_arrive_with_slash_as_percent_2f_or_plain(client: httpx.AsyncClient) -> None:
    # httpx would not re-encode the path: this is the literal %2F on the wire, as Go sends it.
    encoded = await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")
    plain = await client.get("v1/providers/faramesh/vault/versions/1.0.0")
    assert encoded.status_code == plain.status_code == 200
    assert encoded.json()["name"] == plain.json()["name"] == "faramesh/vault"
    assert (await client.get("v1/policies/faramesh%2fstripe/versions")).json()["name"] == "faramesh/stripe"


async def test_3_it_works_under_a_base_path_and_at_the_root(reg: Registry) -> None:
    for base in ("/registry", "/deep/base/path", ""):
        async with served(reg.http_app, base) as url, httpx.AsyncClient(timeout=30) as c:
            r = await c.get(url + "/v1/policies/faramesh%2Fstripe/versions/1.0.0")
            assert r.status_code == 200, base
            manifest = (await c.get(url + "/v1/providers/faramesh%2Fvault/versions/1.0.0")).json()
            assert manifest["downloads"]["linux_amd64"]["url"].startswith(url + "/v1/providers/faramesh%2Fvault/")


async def test_4_sha256_hex_is_of_exactly_the_policy_fpl_bytes(client: httpx.AsyncClient) -> None:
    for path in ("v1/policies/faramesh%2Fstripe/versions/1.0.0", "v1/policies/faramesh%2Fdemo/versions/0.1.0",
                 "v1/frameworks/cursor/versions/1.0.0"):
        answer = (await client.get(path)).json()
        assert answer["sha256_hex"] == hashlib.sha256(answer["policy_fpl"].encode()).hexdigest()
    assert (await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")).json()["sha256_hex"] == \
        hashlib.sha256(STRIPE.read_bytes()).hexdigest()


async def test_5_signature_is_the_fpl_sig_verbatim_and_verifies_as_the_daemon_checks(
        client: httpx.AsyncClient) -> None:
    answer = (await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")).json()
    assert answer["signature"] == json.loads(Path(str(STRIPE) + ".sig").read_bytes())
    assert set(answer["signature"]) == {"key_id", "algorithm", "value_b64", "public_key_b64"}
    _go_verify(answer)
    for name in ("bedrock", "claude-code", "crewai", "cursor", "langchain", "langgraph", "mcp", "openai-agents"):
        _go_verify((await client.get(f"v1/frameworks/{name}/versions/1.0.0")).json())


async def test_6_official_artifacts_are_signed_with_the_official_key_listed_by_trust_keys(
        client: httpx.AsyncClient, reg: Registry) -> None:
    keys = (await client.get("v1/trust/keys")).json()["keys"]
    listed = {k["key_id"]: k for k in keys}
    assert listed["faramesh-ed25519-2026"]["public_key_b64"] == OFFICIAL_B64
    assert reg.signing_key is not None and listed[reg.signing_key.key_id]["origin"] == "cloud"
    one = await client.get("v1/trust/keys/faramesh-ed25519-2026")
    assert one.status_code == 200 and one.json()["public_key_b64"] == OFFICIAL_B64
    missing = await client.get("v1/trust/keys/nope")
    assert missing.status_code == 404 and missing.text.strip() == "key not found"
    for policy in ("demo", "github", "mcp", "openai", "shell", "stripe"):
        sig = (await client.get(f"v1/policies/faramesh%2F{policy}/versions/{'0.1.0' if policy == 'demo' else '1.0.0'}"
                                )).json()["signature"]
        assert sig["key_id"] == "faramesh-ed25519-2026" and sig["public_key_b64"] == OFFICIAL_B64


async def test_6b_a_retired_cloud_key_stays_listed_with_retired_at(client: httpx.AsyncClient, reg: Registry) -> None:
    old = reg.signing_key
    assert old is not None
    new = await reg.rotate_key()
    listed = {k["key_id"]: k for k in (await client.get("v1/trust/keys")).json()["keys"]}
    assert listed[old.key_id]["retired_at"] is not None and listed[new.key_id]["retired_at"] is None


async def test_7_unknown_names_and_versions_are_404_with_a_text_body(client: httpx.AsyncClient) -> None:
    r = await client.get("v1/policies/faramesh%2Fnope/versions/1.0.0")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/plain")
    assert "policy faramesh/nope not found" in r.text
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/9.9.9")
    assert r.status_code == 404 and "faramesh/stripe@9.9.9 not found" in r.text
    r = await client.get("v1/providers/faramesh%2Fnope/versions")
    assert r.status_code == 404 and "provider faramesh/nope not found" in r.text
    r = await client.get("v1/widgets/x/versions/1.0.0")
    assert r.status_code == 404 and "unknown kind" in r.text


async def test_7b_malformed_versions_and_names_are_400_with_a_message(client: httpx.AsyncClient) -> None:
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/v1.0")
    assert r.status_code == 400 and "not semantic versioning" in r.text and "no leading 'v'" in r.text
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/01.0.0")
    assert r.status_code == 400
    r = await client.get("v1/policies/Faramesh%2FStripe/versions/1.0.0")
    assert r.status_code == 400 and "not valid" in r.text
    r = await client.get("v1/policies/stripe/versions/1.0.0")
    assert r.status_code == 400 and "needs a namespace" in r.text
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0?format=xml")
    assert r.status_code == 400 and "unknown format" in r.text
    r = await client.get("v1/search?kind=widget")
    assert r.status_code == 400 and "unknown kind" in r.text


async def test_8_no_auth_headers_cookies_or_accept_negotiation_needed(client: httpx.AsyncClient) -> None:
    bare = httpx.Headers({"user-agent": "Go-http-client/1.1", "accept-encoding": "gzip"})
    for path in ("v1/policies/faramesh%2Fstripe/versions/1.0.0", "v1/providers/faramesh%2Fvault/versions/1.0.0",
                 "v1/search", "v1/trust/keys", "v1/stats", ".well-known/faramesh.json"):
        r = await client.get(path, headers=bare)
        assert r.status_code == 200, path
        assert not r.cookies


async def test_9_provider_manifests_have_absolute_download_urls_for_every_platform(client: httpx.AsyncClient) -> None:
    r = await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")
    answer = r.json()
    signed = json.loads((SEED_DIR / "artifacts/providers/faramesh/vault/1.0.0/manifest.json").read_bytes())
    assert set(answer["downloads"]) == {"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"}
    base = str(client.base_url).rstrip("/")
    for platform, d in answer["downloads"].items():
        assert d["url"] == f"{base}/v1/providers/faramesh%2Fvault/versions/1.0.0/binaries/{platform}"
        assert d["sha256_hex"] == signed["downloads"][platform]["sha256_hex"]
        assert d["size"] == signed["downloads"][platform]["size"]
    assert answer["kind"] == "provider" and answer["capabilities"] == ["SECRETS"]
    assert answer["config_schema"] == signed["config_schema"] and answer["manifest"] == signed
    dev = (await client.get("v1/providers/faramesh%2Fdev-kms/versions/1.0.0")).json()
    assert dev["dev_only"] is True


async def test_10_a_hosted_binary_is_served_byte_identical_to_its_sha256(client: httpx.AsyncClient,
                                                                        reg: Registry) -> None:
    data = await _hosted_provider(reg)
    manifest = (await client.get("v1/providers/acme%2Fkv/versions/2.0.0")).json()
    download = manifest["downloads"]["linux_amd64"]
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.get(download["url"])
    assert r.status_code == 200 and r.content == data
    assert hashlib.sha256(r.content).hexdigest() == download["sha256_hex"] and int(r.headers["content-length"]) == len(data)


async def test_10b_a_binary_not_hosted_is_404_saying_so(client: httpx.AsyncClient) -> None:
    url = (await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")).json()["downloads"]["linux_amd64"]["url"]
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.get(url)
    assert r.status_code == 404 and "does not host its bytes" in r.text
    r = await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0/binaries/plan9_mips")
    assert r.status_code == 404


async def test_11_provider_manifests_always_carry_sha256_hex(client: httpx.AsyncClient) -> None:
    for name in ("vault", "spiffe", "dev-kms"):
        downloads = (await client.get(f"v1/providers/faramesh%2F{name}/versions/1.0.0")).json()["downloads"]
        assert downloads and all(len(d["sha256_hex"]) == 64 for d in downloads.values())


async def test_12_manifests_carry_their_signature_and_each_binary_has_its_sig_next_to_it(
        client: httpx.AsyncClient, reg: Registry) -> None:
    answer = (await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")).json()
    folder = SEED_DIR / "artifacts/providers/faramesh/vault/1.0.0"
    assert answer["signature"] == json.loads((folder / "manifest.json").read_bytes())["signature"]
    async with httpx.AsyncClient(timeout=30) as c:
        for platform, d in answer["downloads"].items():
            sig = await c.get(d["url"] + ".sig")
            assert sig.status_code == 200
            assert sig.text == (folder / f"bin/faramesh-provider-vault-{platform}.sig").read_text()
    data = await _hosted_provider(reg)
    hosted = (await client.get("v1/providers/acme%2Fkv/versions/2.0.0")).json()
    async with httpx.AsyncClient(timeout=30) as c:
        sig = (await c.get(hosted["downloads"]["linux_amd64"]["url"] + ".sig")).text
    assert reg.signing_key is not None
    VerifyKey(reg.signing_key.public_key).verify(data, base64.b64decode(sig))


async def test_13_versions_are_immutable(client: httpx.AsyncClient, reg: Registry) -> None:
    before = (await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")).json()
    async with reg.store._db.transaction() as conn:
        again = await reg.store.add_version(conn, VersionRow(
            "policy", "faramesh/stripe", "1.0.0", "published", T0, "x", "publish", "", None, {}, "0" * 64, 1, None,
            None, {"key_id": "x"}, "faramesh-ed25519-2026"))
    assert again is False
    assert (await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")).json() == before


async def test_14_served_packs_are_the_catalog_bytes_the_daemon_parses(client: httpx.AsyncClient) -> None:
    # The registry serves what was signed, byte for byte; whether the daemon's FPL parser
    # accepts a pack is a property of the pack (publish checks new ones): mcp@1.0.0 has `=~`.
    mcp = (await client.get("v1/policies/faramesh%2Fmcp/versions/1.0.0")).json()["policy_fpl"]
    assert "=~" in mcp and mcp.encode() == (SEED_DIR / "artifacts/policies/faramesh/mcp/1.0.0/policy.fpl").read_bytes()


async def test_15_search_answers_results_and_packs(client: httpx.AsyncClient) -> None:
    answer = (await client.get("v1/search?q=stripe&kind=policy&tier=official")).json()
    assert answer["results"] == answer["packs"]
    assert answer["results"] == [{"kind": "policy", "name": "faramesh/stripe", "latest_version": "1.0.0",
                                  "description": "Stripe payment and refund guardrails", "trust_tier": "official",
                                  "category": "tool"}]
    everything = (await client.get("v1/search")).json()["results"]
    assert len(everything) == 17
    providers = (await client.get("v1/search?kind=providers")).json()["results"]
    assert {p["name"]: p["category"] for p in providers}["faramesh/vault"] == "SECRETS"
    assert (await client.get("v1/search?q=VAULT")).json()["results"][0]["name"] == "faramesh/vault"
    assert (await client.get("v1/search?tier=community")).json()["results"] == []


async def test_16_yanked_versions_are_404_but_listed_with_yanked_true(client: httpx.AsyncClient,
                                                                     reg: Registry) -> None:
    async with reg.store._db.transaction() as conn:
        assert await reg.store.mark_yanked(conn, Kind.POLICY, "faramesh/stripe", "1.0.0", T0, "t", "bad threshold")
        assert await reg.store.mark_yanked(conn, Kind.PROVIDER, "faramesh/vault", "1.0.0", T0, "t", "")
    r = await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")
    assert r.status_code == 404 and "was yanked: bad threshold" in r.text
    assert (await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")).status_code == 404
    assert (await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0/binaries/linux_amd64.sig")).status_code == 404
    listed = (await client.get("v1/policies/faramesh%2Fstripe/versions")).json()
    assert listed["versions"][0]["version"] == "1.0.0" and listed["versions"][0]["yanked"] is True
    assert not [x for x in (await client.get("v1/search?q=stripe")).json()["results"]]


async def test_discovery_and_stats(client: httpx.AsyncClient, reg: Registry) -> None:
    wk = (await client.get(".well-known/faramesh.json")).json()
    assert wk["api_version"] == "1" and wk["search"] == "/registry/v1/search"
    assert wk["trust"]["official_key_ids"] == ["faramesh-ed25519-2026"]
    assert wk["trust"]["keys_url"] == "/registry/v1/trust/keys"
    assert reg.signing_key is not None and wk["trust"]["registry_key_ids"] == [reg.signing_key.key_id]
    stats = (await client.get("v1/stats")).json()
    assert stats == {"api_version": "1", "total_artifacts": 17, "official_count": 17, "provider_count": 3,
                     "policy_count": 6, "framework_count": 8}


async def test_versions_lists_are_highest_first(client: httpx.AsyncClient, reg: Registry) -> None:
    await _hosted_provider(reg)
    listed = (await client.get("v1/providers/acme%2Fkv/versions")).json()
    assert listed == {"api_version": "1", "kind": "provider", "name": "acme/kv",
                      "versions": [{"version": "2.0.0", "published_at": T0.isoformat()}]}


async def test_downloads_are_counted_in_batches_not_per_request(client: httpx.AsyncClient, reg: Registry) -> None:
    for _ in range(3):
        assert (await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")).status_code == 200
    await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")  # a manifest read is not a download
    assert await reg.store.download_totals(Kind.POLICY, "faramesh/stripe") == {}  # nothing written per GET
    assert reg.downloads.pending == 3
    await reg.downloads.flush()
    assert await reg.store.download_totals(Kind.POLICY, "faramesh/stripe") == {"1.0.0": 3}
    assert await reg.store.download_days(Kind.POLICY, "faramesh/stripe", "1.0.0") == [(T0.date(), 3)]
    await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")
    await reg.downloads.flush()
    assert await reg.store.download_totals(Kind.POLICY, "faramesh/stripe") == {"1.0.0": 4}
