"""Registry browse through the gateway (httpx over ASGI, real PostgreSQL, the registry's own
``RegistryApi`` over the seeded real catalog snapshot, blobs on disk): lists with filters and
pages, a provider's platforms (signature-only) and config schema, a pack's rule preview and
checklist, faramesh/mcp@1.0.0 refused by the daemon's parser with its line, a framework
profile's snippet, trust keys with Cloud's ``trust { }`` snippet, a stack's applied
governance.fms (fed through the fleet's projection, as the sync API stores it) whose imports
are judged strictly, 404/422 with messages, and the permissions per role."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from nacl.signing import SigningKey

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.cli.main import cli
from faramesh_cloud.gateway.web.registry_ports import RegistryPort
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.keyring import ensure_cloud_key
from faramesh_cloud.registry.keys import CloudKey, KeySource
from faramesh_cloud.registry.signatures import fpl_signature_file
from faramesh_cloud.registry.store import ArtifactRow, KeyRow, RegistryStore, VersionRow
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, csrf_of, page_csrf, serve_app, sign_in
from tests.fixtures.identity import People, Person
from tests.fleet_items import record, status
from tests.integration.test_fleet_api import feed
from tests.registry_support import seeded_now_pg_url  # noqa: F401  (pg_url: the catalog seeded once per run)

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
BASE = "/api/v1/orgs/acme/registry"
OFFICIAL = "faramesh-ed25519-2026"
REGISTRY = "github.com/faramesh/faramesh-registry"
ROGUE_FPL = b'agent "refund-bot" {\n  default deny\n  rules {\n    permit stripe/refund\n  }\n}\n'
GOVERNANCE = (f'import "{REGISTRY}/policies/faramesh/stripe@1.0.0"\n'
              f'import "{REGISTRY}/policies/acme/unknown@1.0.0"\n'
              f'import "{REGISTRY}/policies/acme/refunds@1.0.0"\n'
              f'import "{REGISTRY}/frameworks/langgraph@latest"\n'
              'agent "payment-bot" {\n  default deny\n  rules {\n    permit stripe/charge\n  }\n}\n')


async def client_as(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    assert (await sign_in(client, person.email, person.password)).status_code in (302, 303)
    return client


async def cloud_key(database: Database, tmp_path: Path) -> CloudKey:
    """Cloud's registry key listed, as the registry service does on start."""
    return await ensure_cloud_key(database, RegistryStore(database), KeySource(tmp_path).current(), datetime.now(UTC))


async def store_rogue_version(database: Database, tmp_path: Path) -> None:
    """acme/refunds@1.0.0 whose signature is valid only under a key the registry does not list
    (its row names the official key, as a row whose signature was swapped after it was stored
    would): what a daemon believes, since it checks against the key sent along."""
    store = RegistryStore(database)
    body = await FileBlobStore(tmp_path / "registry" / "blobs").put_bytes(ROGUE_FPL, max_size=1 << 20)
    signature = json.loads(fpl_signature_file("acme-rogue-2026", SigningKey.generate(), ROGUE_FPL))
    now = datetime.now(UTC)
    async with database.transaction() as conn:
        await store.ensure_publisher(conn, "acme", None, "Acme", "confirmed", now, "test")
        await store.ensure_artifact(conn, ArtifactRow("policy", "acme/refunds", "acme", "Refunds", "payments",
                                                      ("payments",), "community", (), now))
        await store.add_version(conn, VersionRow("policy", "acme/refunds", "1.0.0", "published", now, "test",
                                                 "publish", "", None, {}, body.sha256, len(ROGUE_FPL), None, None,
                                                 signature, OFFICIAL))


async def test_lists_filter_and_page(seeded_registry: RegistryPort, client_factory: MakeClient,
                                    people: People) -> None:
    owner = await client_as(client_factory, await people.org("acme"))
    policies = (await owner.get(f"{BASE}/policies")).json()
    assert policies["total"] == 6 and len(policies["items"]) == 6
    assert [p["name"] for p in policies["items"]][:2] == ["faramesh/demo", "faramesh/github"]
    first = (await owner.get(f"{BASE}/policies", params={"limit": 4})).json()
    rest = (await owner.get(f"{BASE}/policies", params={"limit": 4, "offset": 4})).json()
    assert [p["name"] for p in first["items"] + rest["items"]] == [p["name"] for p in policies["items"]]
    found = (await owner.get(f"{BASE}/policies", params={"q": "refund"})).json()
    assert [p["name"] for p in found["items"]] == ["faramesh/stripe"]
    assert (await owner.get(f"{BASE}/policies", params={"domain": "payments"})).json()["total"] == 1
    providers = (await owner.get(f"{BASE}/providers", params={"capability": "secrets"})).json()
    assert [p["name"] for p in providers["items"]] == ["faramesh/vault"]
    assert providers["items"][0]["platforms"] == ["darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"]
    frameworks = (await owner.get(f"{BASE}/frameworks", params={"q": "langgraph"})).json()
    assert [f["name"] for f in frameworks["items"]] == ["langgraph"]

    bad = await owner.get(f"{BASE}/policies", params={"tier": "gold"})
    assert bad.status_code == 422 and "gold" in bad.json()["detail"]
    assert (await owner.get(f"{BASE}/policies", params={"offset": -1})).status_code == 422
    assert (await owner.get(f"{BASE}/widgets")).status_code == 404
    page = await owner.get("/o/acme/registry/policies", params={"tier": "gold"})
    assert page.status_code == 422 and "gold" in page.text
    page = await owner.get("/o/acme/registry/providers", params={"capability": "SECRETS"})
    assert page.status_code == 200 and 'data-name="faramesh/vault"' in page.text and "faramesh/spiffe" not in page.text


async def test_details_preview_checklist_platforms_snippet_and_signature(
        seeded_registry: RegistryPort, client_factory: MakeClient, people: People) -> None:
    owner = await client_as(client_factory, await people.org("acme"))
    stripe = (await owner.get(f"{BASE}/policies/faramesh/stripe")).json()
    shown = stripe["version"]
    assert shown["signature_status"]["verified"] and shown["signature_status"]["verdict"] == "verified"
    assert shown["signature_status"]["key_id"] == OFFICIAL
    assert shown["preview"]["counts"] == {"permit": 2, "deny": 0, "defer": 1}
    assert [(r["effect"], r["tool"]) for r in shown["preview"]["rules"]] == [
        ("permit", "stripe/charge"), ("permit", "stripe/refund"), ("defer", "stripe/charge")]
    assert {f["name"]: f["default"] for f in shown["checklist"]} == {"charge_threshold": 2000,
                                                                     "refund_threshold": 500}
    assert shown["import_line"] == f'import "{REGISTRY}/policies/faramesh/stripe@1.0.0"'
    assert [v["version"] for v in stripe["versions"]] == ["1.0.0"]
    mcp = (await owner.get(f"{BASE}/policies/faramesh/mcp", params={"version": "1.0.0"})).json()["version"]
    assert not mcp["preview"]["parses"] and mcp["preview"]["error"]["line"] == 6
    assert "unexpected character" in mcp["preview"]["error"]["message"]
    vault = (await owner.get(f"{BASE}/providers/faramesh/vault")).json()
    assert vault["version"]["signature_status"]["verified"] and vault["artifact"]["capabilities"] == ["SECRETS"]
    assert {p["platform"]: p["hosted"] for p in vault["version"]["binaries"]}["linux_amd64"] is False
    assert {(f["name"], f["required"]) for f in vault["version"]["checklist"]} == {
        ("addr", True), ("token", True), ("mount", False), ("namespace", False)}
    langgraph = (await owner.get(f"{BASE}/frameworks/langgraph")).json()["version"]
    assert langgraph["snippet"].startswith(f'import "{REGISTRY}/frameworks/langgraph@1.0.0"\n')
    assert 'agent "app-agent"' in langgraph["snippet"]

    page = await owner.get("/o/acme/registry/policies/faramesh/mcp")
    assert page.status_code == 200 and 'id="parse-error"' in page.text and "line 6" in page.text
    page = await owner.get("/o/acme/registry/providers/faramesh/vault")
    assert "signature only" in page.text and 'id="config-schema"' in page.text
    page = await owner.get("/o/acme/registry/policies/faramesh/stripe")
    assert 'data-effect="defer">defer 1<' in page.text and 'data-verdict="verified"' in page.text

    missing = await owner.get(f"{BASE}/policies/faramesh/stripe", params={"version": "9.0.0"})
    assert missing.status_code == 404 and "9.0.0" in missing.json()["detail"]
    assert (await owner.get(f"{BASE}/policies/faramesh/nope")).status_code == 404
    assert (await owner.get("/o/acme/registry/policies/faramesh/nope")).status_code == 404


async def test_trust_keys_carry_clouds_snippet(seeded_registry: RegistryPort, client_factory: MakeClient,
                                              people: People, database: Database, tmp_path: Path) -> None:
    mine = await cloud_key(database, tmp_path)
    owner = await client_as(client_factory, await people.org("acme"))
    keys = {k["key_id"]: k for k in (await owner.get(f"{BASE}/trust-keys")).json()}
    assert keys[OFFICIAL]["origin"] == "official"
    assert keys[OFFICIAL]["public_key_b64"] == "nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs="
    assert keys[mine.key_id]["origin"] == "cloud"
    assert keys[mine.key_id]["trust_snippet"] == f'trust {{\n  key "{mine.key_id}" ed25519:{mine.public_key_b64}\n}}\n'
    page = (await owner.get("/o/acme/registry/trust-keys")).text
    assert f"ed25519:{mine.public_key_b64}" in page


async def test_a_stacks_applied_imports_each_say_what_they_are(
        seeded_registry: RegistryPort, client_factory: MakeClient, people: People, stacks: StackStore,
        database: Database, tmp_path: Path) -> None:
    """The stack's daemon reports the governance.fms it applied (the fleet stores the text);
    its imports: the official stripe pack (verified), one this registry does not have, one
    whose signature is by a key nobody listed, and an @latest the daemon itself refuses."""
    await store_rogue_version(database, tmp_path)
    acme = await people.org("acme")
    org = acme.org.org_id
    stack, _ = await stacks.register_stack(org, "payments-prod", "production")
    never, _ = await stacks.register_stack(org, "search-staging", "staging")
    applied = status(datetime.now(UTC))
    applied.applied_config.governance_fms = GOVERNANCE
    applied.applied_config.governance_sha256 = hashlib.sha256(GOVERNANCE.encode()).hexdigest()
    await feed(database, [record(org, stack.stack_id, 1, "stack_status", applied)])

    owner = await client_as(client_factory, acme)
    twin = (await owner.get(f"{BASE}/stacks/{stack.stack_id}/imports")).json()
    assert twin["applied"] is True
    rows = {i["ref"].rsplit("/", 1)[-1]: i for i in twin["imports"]}
    assert [(i["line"], i["status"]) for i in twin["imports"]] == [
        (1, "verified"), (2, "not-in-registry"), (3, "unverified"), (4, "refused")]
    assert rows["stripe@1.0.0"]["reason"] == f"signed by official key {OFFICIAL}"
    assert rows["unknown@1.0.0"]["reason"] == "policy acme/unknown@1.0.0 is not in this registry"
    assert rows["refunds@1.0.0"]["reason"].startswith("untrusted-key: signed by key 'acme-rogue-2026', which is "
                                                      "not a trusted registry key")
    assert rows["refunds@1.0.0"]["key_id"] == "acme-rogue-2026"
    assert "@latest" in rows["langgraph@latest"]["reason"]

    tab = await owner.get(f"/o/acme/fleet/stacks/{stack.stack_id}/registry")
    assert tab.status_code == 200
    for ref, word in (("policies/faramesh/stripe@1.0.0", "verified"),
                      ("policies/acme/unknown@1.0.0", "not in this registry"),
                      ("policies/acme/refunds@1.0.0", "unverified"), ("frameworks/langgraph@latest", "refused by the daemon")):
        row = tab.text.split(f'data-ref="{REGISTRY}/{ref}"', 1)[1].split("</tr>", 1)[0]
        assert f">{word}</span>" in row, (ref, row)
    assert "not a trusted registry key" in tab.text
    assert 'href="/o/acme/fleet/stacks/' + stack.stack_id + '/registry"' in tab.text  # the tab is offered

    overview = (await owner.get(f"{BASE}/imports")).json()
    assert {s["name"]: s["applied"] for s in overview} == {"payments-prod": True, "search-staging": False}
    assert (await owner.get(f"{BASE}/stacks/{never.stack_id}/imports")).json()["imports"] == []
    assert (await owner.get(f"{BASE}/stacks/8d4e6b7a-0000-4000-8000-000000000000/imports")).status_code == 404
    other = await client_as(client_factory, await people.org("globex"))
    assert (await other.get(f"/api/v1/orgs/globex/registry/stacks/{stack.stack_id}/imports")).status_code == 404


async def test_an_unsigned_or_rogue_version_shows_its_verdict_on_its_page(
        seeded_registry: RegistryPort, client_factory: MakeClient, people: People, database: Database,
        tmp_path: Path) -> None:
    await store_rogue_version(database, tmp_path)
    found = await seeded_registry.version(Kind.POLICY, "acme/refunds", "1.0.0")
    assert found.signature_status.verdict == "untrusted-key" and not found.signature_status.verified
    owner = await client_as(client_factory, await people.org("acme"))
    page = (await owner.get("/o/acme/registry/policies/acme/refunds")).text
    assert 'data-verdict="untrusted-key"' in page and "signature by an untrusted key" in page


@pytest.mark.parametrize(("role", "allowed"), [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True),
                                               (Role.VIEWER, False), (Role.AUDITOR, False)])
async def test_who_may_browse(seeded_registry: RegistryPort, client_factory: MakeClient, people: People, role: Role,
                              allowed: bool) -> None:
    owner = await people.org("acme")
    _, key = await people.identity.api_keys.create(owner.org.org_id, f"ci-{role.value}", role,
                                                   await people.principal(owner))
    api = client_factory(headers={"Authorization": f"Bearer {key}"})
    for path in ("/policies", "/providers/faramesh/vault", "/trust-keys", "/imports"):
        got = await api.get(BASE + path)
        assert got.status_code == (200 if allowed else 403), (path, got.text[:200])
        if not allowed:
            assert "registry:artifact:read" in got.json()["detail"]
    assert (await api.get("/o/acme/registry/policies")).status_code == (200 if allowed else 403)
    other = await people.org("globex")
    assert (await api.get(f"/api/v1/orgs/{other.org.slug}/registry/policies")).status_code == 404


async def test_cli_registry_verify_checks_an_orgs_applied_stacks_over_the_rest_api(
        seeded_registry: RegistryPort, gateway_app: FastAPI, people: People, stacks: StackStore,
        database: Database, tmp_path: Path) -> None:
    """``registry verify --org ORG [--stack STACK]`` against a running gateway with an API key:
    exit 1 when any import of the stacks' applied governance.fms is not verified, 0 when all are."""
    await store_rogue_version(database, tmp_path)
    acme = await people.org("acme")
    org = acme.org.org_id
    good_text = f'import "{REGISTRY}/policies/faramesh/stripe@1.0.0"\nagent "a" {{\n  default deny\n}}\n'
    mixed, _ = await stacks.register_stack(org, "payments-prod", "production")
    good, _ = await stacks.register_stack(org, "search-prod", "production")
    records = []
    for stack, text in ((mixed, GOVERNANCE), (good, good_text)):
        applied = status(datetime.now(UTC))
        applied.applied_config.governance_fms = text
        applied.applied_config.governance_sha256 = hashlib.sha256(text.encode()).hexdigest()
        records.append(record(org, stack.stack_id, 1, "stack_status", applied))
    await feed(database, records)
    _, key = await people.identity.api_keys.create(org, "ci", Role.OPERATOR, await people.principal(acme))

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, cli, ["registry", "verify", *args],
                                       env={"FARAMESH_CLOUD_API_KEY": key})

    async with serve_app(gateway_app) as base:
        every = await run("--org", "acme", "--url", base)
        by_name = await run("--org", "acme", "--stack", "search-prod", "--url", base)
        by_id = await run("--org", "acme", "--stack", mixed.stack_id, "--url", base)
        unknown = await run("--org", "acme", "--stack", "nope", "--url", base)
        other = await run("--org", "globex", "--url", base)
        # acme stops trusting the official key: the same stack no longer verifies (the org's trust set)
        mine = await cloud_key(database, tmp_path)
        await seeded_registry.set_trusted_keys(org, [mine.key_id], (await people.principal(acme)).actor)
        distrusted = await run("--org", "acme", "--stack", "search-prod", "--url", base)
    assert distrusted.exit_code == 1 and "signed by a key your organisation does not trust" in distrusted.output
    assert every.exit_code == 1, every.output
    assert "2 stack(s), 5 import(s), 2 verified, 3 not verified" in every.output
    assert f"search-prod ({good.stack_id}):1  {REGISTRY}/policies/faramesh/stripe@1.0.0  verified" in every.output
    assert "refunds@1.0.0  unverified (untrusted-key:" in every.output
    assert by_name.exit_code == 0, by_name.output
    assert "1 stack(s), 1 import(s), 1 verified, 0 not verified" in by_name.output
    assert by_id.exit_code == 1 and "payments-prod" in by_id.output and "search-prod" not in by_id.output
    assert unknown.exit_code == 2 and "no stack 'nope' in organisation acme" in unknown.output
    assert other.exit_code != 0 and "refunds" not in other.output  # the key's organisation only


MIRROR_KEY = SigningKey(b"\x05" * 32)
MIRROR_FPL = b'agent "mirror-bot" {\n  default deny\n  rules {\n    permit stripe/refund\n  }\n}\n'


async def store_mirror_signed_version(database: Database, tmp_path: Path) -> None:
    """acme/mirrored@1.0.0 validly signed by ``acme-mirror-1``, a key the registry lists because
    a mirror pinned it (origin ``mirror``): no organisation trusts it until it adds it."""
    store = RegistryStore(database)
    body = await FileBlobStore(tmp_path / "registry" / "blobs").put_bytes(MIRROR_FPL, max_size=1 << 20)
    signature = json.loads(fpl_signature_file("acme-mirror-1", MIRROR_KEY, MIRROR_FPL))
    now = datetime.now(UTC)
    async with database.transaction() as conn:
        await store.add_key(conn, KeyRow("acme-mirror-1", "ed25519", bytes(MIRROR_KEY.verify_key), "acme", "mirror",
                                         "", now, None))
        await store.ensure_publisher(conn, "acme", None, "Acme", "confirmed", now, "test")
        await store.ensure_artifact(conn, ArtifactRow("policy", "acme/mirrored", "acme", "Mirrored", "payments",
                                                      ("payments",), "community", (), now))
        await store.add_version(conn, VersionRow("policy", "acme/mirrored", "1.0.0", "published", now, "mirror",
                                                 "mirror", "", None, {}, body.sha256, len(MIRROR_FPL), None, None,
                                                 signature, "acme-mirror-1"))


async def test_two_organisations_with_different_trust_sets_see_different_verdicts(
        seeded_registry: RegistryPort, client_factory: MakeClient, people: People, stacks: StackStore,
        database: Database, tmp_path: Path) -> None:
    """acme keeps the default trust (official + Cloud's keys); globex's Owner adds the mirror-pinned
    key over REST and acme's Owner drops the official key on the Trust keys page: the same two
    versions, verified for one organisation and "signed by a key your organisation does not trust"
    for the other, in the stack imports, the artifact pages and the trust-keys list."""
    from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog

    await store_mirror_signed_version(database, tmp_path)
    mine = await cloud_key(database, tmp_path)
    text = (f'import "{REGISTRY}/policies/faramesh/stripe@1.0.0"\nimport "{REGISTRY}/policies/acme/mirrored@1.0.0"\n'
            'agent "a" {\n  default deny\n}\n')
    orgs, records = {}, []
    for slug in ("acme", "globex"):
        person = await people.org(slug)
        stack, _ = await stacks.register_stack(person.org.org_id, f"{slug}-prod", "production")
        applied = status(datetime.now(UTC))
        applied.applied_config.governance_fms = text
        applied.applied_config.governance_sha256 = hashlib.sha256(text.encode()).hexdigest()
        records.append(record(person.org.org_id, stack.stack_id, 1, "stack_status", applied))
        orgs[slug] = (person, stack, await client_as(client_factory, person))
    await feed(database, records)

    async def verdicts(slug: str) -> dict[str, tuple[str, str]]:
        _, stack, client = orgs[slug]
        got = (await client.get(f"/api/v1/orgs/{slug}/registry/stacks/{stack.stack_id}/imports")).json()
        return {i["name"]: (i["status"], i["reason"]) for i in got["imports"]}

    def trusted(keys: list[dict[str, object]]) -> set[object]:
        return {k["key_id"] for k in keys if k["trusted"]}

    # The default: the official and Cloud's keys, not the mirror-pinned one.
    acme = await verdicts("acme")
    assert acme["faramesh/stripe"] == ("verified", f"signed by official key {OFFICIAL}")
    assert acme["acme/mirrored"][0] == "unverified"
    assert "signed by a key your organisation does not trust (acme-mirror-1)" in acme["acme/mirrored"][1]
    acme_client = orgs["acme"][2]
    assert trusted((await acme_client.get(f"{BASE}/trust-keys")).json()) == {OFFICIAL, mine.key_id}

    # globex's Owner adds the mirror key through REST (an Operator may not; an unknown key is refused).
    globex_person, _, globex = orgs["globex"]
    _, operator_key = await people.identity.api_keys.create(globex_person.org.org_id, "ops", Role.OPERATOR,
                                                            await people.principal(globex_person))
    operator = client_factory(headers={"Authorization": f"Bearer {operator_key}"})
    refused = await operator.put("/api/v1/orgs/globex/registry/trust-keys", json={"key_ids": [OFFICIAL]})
    assert refused.status_code == 403 and "registry:trust:manage" in refused.json()["detail"]
    csrf = await page_csrf(globex, "/o/globex/registry/trust-keys")
    unknown = await globex.put("/api/v1/orgs/globex/registry/trust-keys", json={"key_ids": ["nobody-1"]},
                               headers={"x-csrf-token": csrf})
    assert unknown.status_code == 422 and "not a key this registry lists: nobody-1" in unknown.text
    saved = await globex.put("/api/v1/orgs/globex/registry/trust-keys",
                             json={"key_ids": [OFFICIAL, mine.key_id, "acme-mirror-1"]}, headers={"x-csrf-token": csrf})
    assert saved.status_code == 200, saved.text
    assert trusted(saved.json()) == {OFFICIAL, mine.key_id, "acme-mirror-1"}

    # acme's Owner drops the official key on the Trust keys page.
    page = await acme_client.get("/o/acme/registry/trust-keys")
    assert 'id="trust-form"' in page.text and "mirror-pinned key" in page.text
    posted = await acme_client.post("/o/acme/registry/trust-keys", data={
        "csrf_token": csrf_of(page.text), "trusted": [mine.key_id]})
    assert posted.status_code == 303, posted.text[:300]

    acme, globex_seen = await verdicts("acme"), await verdicts("globex")
    assert acme["faramesh/stripe"][0] == "unverified" and "does not trust (faramesh-ed25519-2026)" in acme[
        "faramesh/stripe"][1]
    assert acme["acme/mirrored"][0] == "unverified"
    assert globex_seen == {"faramesh/stripe": ("verified", f"signed by official key {OFFICIAL}"),
                           "acme/mirrored": ("verified", "signed by mirror key acme-mirror-1")}
    for slug, client, word in (("acme", acme_client, "signed by a key your organisation does not trust"),
                               ("globex", globex, "signed, verified")):
        detail_page = (await client.get(f"/o/{slug}/registry/policies/acme/mirrored")).text
        assert word in detail_page, slug
    assert 'data-verdict="org-untrusted"' in (await acme_client.get("/o/acme/registry/policies/faramesh/stripe")).text
    for slug, person in (("acme", orgs["acme"][0]), ("globex", globex_person)):
        entries = [e for e in await PlatformAuditLog(database).page(person.org.org_id, AuditFilter(), limit=50)
                   if e.action == "registry:trust:change"]
        assert len(entries) == 1, slug
    audited = next(e for e in await PlatformAuditLog(database).page(globex_person.org.org_id, AuditFilter(), limit=50)
                   if e.action == "registry:trust:change")
    assert audited.details["added"] == ["acme-mirror-1"] and audited.details["removed"] == []
