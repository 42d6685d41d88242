"""Registry browse through the gateway (httpx over ASGI, real PostgreSQL, the registry seeded
with the real catalog snapshot, blobs on disk): lists with filters and keyset pages, a
provider's platforms (signature-only) and config schema, a pack's rule preview and checklist,
faramesh/mcp@1.0.0 refused by the daemon's parser with its line, trust keys, a stack's imports
judged strictly, 404/422 with messages, and the permissions per role (Viewer and Auditor
refused: 403 and no navigation entry)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.gateway.web.registry_ports import mount_registry
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.registry.browse import RegistryBrowse
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.snapshot import load_snapshot
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, sign_in
from tests.fixtures.identity import People, Person

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
BASE = "/api/v1/orgs/acme/registry"
IMPORTS = ('import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"\n'
           'import "github.com/faramesh/faramesh-registry/policies/faramesh/nope@9.9.9"\n'
           'import "github.com/faramesh/faramesh-registry/frameworks/langgraph@1.0.0"\n'
           'agent "payment-bot" {\n  default deny\n  rules {\n    permit stripe/charge\n  }\n}\n')


@pytest.fixture
async def browse(database: Database, gateway_app: FastAPI, tmp_path: Path) -> RegistryBrowse:
    await migrate(database, [("registry", "faramesh_cloud.registry")])
    blobs = FileBlobStore(tmp_path / "registry-blobs")
    await seed(database, RegistryStore(database), blobs, load_snapshot())
    port = RegistryBrowse(database, blobs)
    mount_registry(gateway_app, port)
    return port


async def client_as(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    assert (await sign_in(client, person.email, person.password)).status_code in (302, 303)
    return client


async def test_lists_filter_and_page_by_keyset(browse: RegistryBrowse, client_factory: MakeClient,
                                               people: People) -> None:
    owner = await client_as(client_factory, await people.org("acme"))
    policies = (await owner.get(f"{BASE}/policies")).json()
    assert policies["total"] == 6 and policies["next_cursor"] is None
    assert [p["name"] for p in policies["items"]][:2] == ["faramesh/demo", "faramesh/github"]
    first = (await owner.get(f"{BASE}/policies", params={"limit": 4})).json()
    rest = (await owner.get(f"{BASE}/policies", params={"limit": 4, "cursor": first["next_cursor"]})).json()
    assert [p["name"] for p in first["items"] + rest["items"]] == [p["name"] for p in policies["items"]]
    assert rest["next_cursor"] is None
    found = (await owner.get(f"{BASE}/policies", params={"q": "refund"})).json()
    assert [p["name"] for p in found["items"]] == ["faramesh/stripe"]
    assert (await owner.get(f"{BASE}/policies", params={"domain": "demo"})).json()["total"] == 1
    providers = (await owner.get(f"{BASE}/providers", params={"capability": "secrets"})).json()
    assert [p["name"] for p in providers["items"]] == ["faramesh/vault"]
    assert providers["items"][0]["platforms"] == ["darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"]
    frameworks = (await owner.get(f"{BASE}/frameworks", params={"q": "langgraph"})).json()
    assert [f["name"] for f in frameworks["items"]] == ["langgraph"]

    bad = await owner.get(f"{BASE}/policies", params={"tier": "gold"})
    assert bad.status_code == 422 and "gold" in bad.json()["detail"]
    bad = await owner.get(f"{BASE}/policies", params={"cursor": "%%%"})
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    assert (await owner.get(f"{BASE}/widgets")).status_code == 404


async def test_details_preview_checklist_platforms_and_strict_signature(
        browse: RegistryBrowse, client_factory: MakeClient, people: People) -> None:
    owner = await client_as(client_factory, await people.org("acme"))
    stripe = (await owner.get(f"{BASE}/policies/faramesh/stripe")).json()
    assert stripe["verification"]["verdict"] == "verified" and stripe["verification"]["verified"]
    assert stripe["verification"]["key_id"] == "faramesh-ed25519-2026"
    assert stripe["preview"]["counts"] == {"permit": 2, "deny": 0, "defer": 1}
    assert [(r["effect"], r["tool"]) for r in stripe["preview"]["rules"]] == [
        ("permit", "stripe/charge"), ("permit", "stripe/refund"), ("defer", "stripe/charge")]
    assert {f["name"]: f["default"] for f in stripe["schema"]} == {"charge_threshold": "2000",
                                                                   "refund_threshold": "500"}
    assert stripe["import_line"] == 'import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"'
    mcp = (await owner.get(f"{BASE}/policies/faramesh/mcp", params={"version": "1.0.0"})).json()
    assert not mcp["preview"]["parses"] and mcp["preview"]["error_line"] == 6
    assert "unexpected character" in mcp["preview"]["error_message"]
    vault = (await owner.get(f"{BASE}/providers/faramesh/vault")).json()
    assert vault["verification"]["verified"] and vault["artifact"]["capabilities"] == ["SECRETS"]
    assert {p["platform"]: p["hosted"] for p in vault["platforms"]}["linux_amd64"] is False
    assert [(f["name"], f["required"]) for f in vault["schema"]] == [
        ("addr", True), ("mount", False), ("namespace", False), ("token", True)]
    assert [v["version"] for v in vault["versions"]] == ["1.0.0"]

    page = await owner.get("/o/acme/registry/policies/faramesh/mcp")
    assert page.status_code == 200 and 'id="parse-error"' in page.text and "line 6" in page.text
    page = await owner.get("/o/acme/registry/providers/faramesh/vault")
    assert "signature only" in page.text and 'id="config-schema"' in page.text

    missing = await owner.get(f"{BASE}/policies/faramesh/stripe", params={"version": "9.0.0"})
    assert missing.status_code == 404 and "9.0.0" in missing.json()["detail"]
    assert (await owner.get(f"{BASE}/policies/faramesh/nope")).status_code == 404
    assert (await owner.get("/o/acme/registry/policies/faramesh/nope")).status_code == 404


async def test_trust_keys_and_a_stacks_imports(browse: RegistryBrowse, client_factory: MakeClient, people: People,
                                              stacks: StackStore, database: Database) -> None:
    person = await people.org("acme")
    owner = await client_as(client_factory, person)
    keys = (await owner.get(f"{BASE}/trust-keys")).json()
    assert [(k["key_id"], k["origin"]) for k in keys] == [("faramesh-ed25519-2026", "official")]
    assert keys[0]["public_key_b64"] == "nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs="

    checked = await browse.check_imports(person.org.org_id, IMPORTS)
    assert [(c.line, c.status) for c in checked] == [(1, "verified"), (2, "not-in-registry"), (3, "verified")]
    stack, _ = await stacks.register_stack(person.org.org_id, "payments-prod", "prod")
    never = (await owner.get(f"{BASE}/stacks/{stack.stack_id}/imports")).json()
    assert never["applied"] is False and never["imports"] == []
    assert (await owner.get(f"{BASE}/stacks/8d4e6b7a-0000-4000-8000-000000000000/imports")).status_code == 404


@pytest.mark.parametrize(("role", "allowed"), [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True),
                                               (Role.VIEWER, False), (Role.AUDITOR, False)])
async def test_who_may_browse(browse: RegistryBrowse, client_factory: MakeClient, people: People, role: Role,
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
    api_other = client_factory(headers={"Authorization": f"Bearer {key}"})
    assert (await api_other.get(f"/api/v1/orgs/{other.org.slug}/registry/policies")).status_code == 404
