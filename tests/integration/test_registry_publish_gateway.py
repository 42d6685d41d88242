"""Publishing end to end through the gateway (real uvicorn, REST with an API key and a signed-in
reviewer) and the daemon API (the registry's own app at /registry on the same port, as under
``up``): providers uploaded (refused over the limit before stored, on a digest mismatch, on a
sandbox failure with its reason; a good one over the gateway's 4 MiB default approved, served
with absolute URLs, its bytes, manifest signature and binary .sig verifying against Cloud's
listed key), a policy pack claimed → confirmed → submitted → approved → served signed → yanked,
My artifacts over the fleet's stored applied texts, and the CLI's publish and yank."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.cli.main import cli
from faramesh_cloud.config import Settings
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fpl.preview import check_submission
from faramesh_cloud.gateway.edge import EdgeLimits
from faramesh_cloud.gateway.web.registry_publish_ports import Publishing, mount_registry_publish
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.port import Log
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry.domain import CAPABILITIES, PLATFORMS
from faramesh_cloud.registry.keys import KeySource
from faramesh_cloud.registry.my_artifacts import FleetAppliedTexts
from faramesh_cloud.registry.provider_upload import ProviderLimits
from faramesh_cloud.registry.publish_api import PublishApi, Reviewers
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.sandbox import SandboxLimits, smoke_test
from faramesh_cloud.registry.service import Registry, RegistryConfig
from faramesh_cloud.registry.signatures import (
    TrustedKey,
    manifest_signed_bytes,
    verify_binary_signature,
    verify_signature,
)
from faramesh_cloud.runtime import registry_wiring
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import page_csrf, serve_app, sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls
from tests.fleet_items import record, status
from tests.integration.test_fleet_api import feed
from tests.registry_adapters import ADAPTERS, publish_adapter
from tests.registry_publish_support import PACK, PYTHON, blob_count, pack_provider
from tests.registry_support import seeded_now_pg_url  # noqa: F401  (pg_url: the catalog seeded once per run)

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
MiB = 1024 * 1024
LIMIT = 6 * MiB  # over the gateway's 4 MiB default, so the route's own limit must apply
SETTINGS = Settings(registry_max_upload_bytes=LIMIT)
SANDBOX = shutil.which("bwrap") is not None and os.geteuid() == 0
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="needs bubblewrap and root (docs/registry-sandbox.md)")


@pytest.fixture
def edge_limits() -> EdgeLimits:
    return EdgeLimits(body_limits=registry_wiring.edge_limits(SETTINGS))


class Cloud:
    def __init__(self, base: str, reg: Registry, api: PublishApi, blobs: Path) -> None:
        self.base, self.reg, self.api, self.blobs = base, reg, api, blobs
        self.clients: list[httpx.AsyncClient] = []


@pytest.fixture
def registry_blobs_dir(tmp_path: Path) -> Path:
    """Where ``cloud``'s registry keeps its blobs (``seeded_now_pg_url`` puts the catalog's there)."""
    return tmp_path / "data" / "registry" / "blobs"


@pytest.fixture(params=ADAPTERS)
async def cloud(request: pytest.FixtureRequest, gateway_app: FastAPI, database: Database, postgres_log: Log,
                stacks: StackStore, people: People, tmp_path: Path, internal_tls: ServiceTls) -> AsyncIterator[Cloud]:
    """The gateway's publishing pages over the registry's ``PublishApi`` in process (``up``) or
    over its internal gRPC API with mutual TLS (``serve gateway``)."""
    reviewer = await people.org("platform")
    blobs = tmp_path / "data" / "registry" / "blobs"
    assert blobs.is_dir(), "the seeded catalog's blobs belong where this registry keeps its own"
    reg = Registry(database, postgres_log, FileBlobStore(blobs), RegistryConfig(keys=KeySource(tmp_path / "data"),
                                                                              downloads_interval_s=3600))
    await reg.start()
    api = PublishApi(database, reg.blobs, PlatformAuditLog(database), signer=CloudSigner(lambda: reg.signing_key),
                     check_fpl=check_submission,
                     smoke_test=functools.partial(smoke_test, runtime_paths=[PYTHON],
                                                  limits=SandboxLimits(wall_clock_seconds=10, cpu_seconds=5)),
                     download_url=lambda n, v, p: f"https://cloud.test/registry/v1/providers/{n}/{v}/{p}",
                     texts=FleetAppliedTexts(database, FleetQuery(database, stacks)),
                     reviewers=Reviewers(frozenset({reviewer.email})), limits=ProviderLimits(LIMIT))
    try:
        async with publish_adapter(request.param, reg, api, internal_tls) as port:
            mount_registry_publish(gateway_app, Publishing(port, registry_wiring._Inputs(), LIMIT, PLATFORMS,
                                                           CAPABILITIES))
            gateway_app.mount(registry_wiring.MOUNT, reg.http_app)
            async with serve_app(gateway_app) as base:
                c = Cloud(base, reg, api, blobs)
                c.reviewer_email = reviewer.email  # type: ignore[attr-defined]
                yield c
                for client in c.clients:
                    await client.aclose()
    finally:
        await reg.stop()


async def key_of(people: People, slug: str, role: Role = Role.OWNER) -> tuple[Any, str]:
    owner = await people.org(slug)
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ci", role, await people.principal(owner))
    return owner, key


@contextlib.asynccontextmanager
async def reviewer_session(cloud: Cloud) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cloud.base, timeout=60) as client:
        signed = await sign_in(client, cloud.reviewer_email, PASSWORD)  # type: ignore[attr-defined]
        assert signed.status_code in (302, 303)
        client.headers["x-csrf-token"] = await page_csrf(client, "/o/platform/registry/publish")
        yield client


async def confirmed_publisher(cloud: Cloud, people: People, slug: str = "acme") -> tuple[Any, httpx.AsyncClient]:
    owner, key = await key_of(people, slug)
    acme = httpx.AsyncClient(base_url=f"{cloud.base}/api/v1/orgs/{slug}/registry",
                             headers={"authorization": f"Bearer {key}"}, timeout=120)
    cloud.clients.append(acme)
    claimed = await acme.post("/publishers", json={"namespace": slug, "display_name": slug.title()})
    assert claimed.status_code == 201, claimed.text
    async with reviewer_session(cloud) as reviewer:
        done = await reviewer.post(f"/api/v1/orgs/platform/registry/review/namespaces/{slug}/confirm",
                                   json={"reason": "verified the company"})
        assert done.status_code == 200 and done.json()["state"] == "confirmed", done.text
    return owner, acme


async def trusted(cloud: Cloud) -> dict[str, TrustedKey]:
    async with httpx.AsyncClient() as daemon:
        keys = (await daemon.get(f"{cloud.base}/registry/v1/trust/keys")).json()["keys"]
    return {k["key_id"]: TrustedKey(k["key_id"], base64.b64decode(k["public_key_b64"])) for k in keys}


def provider_form(name: str = "acme/vault", version: str = "1.0.0", **extra: str) -> dict[str, str]:
    return {"name": name, "version": version, "capabilities": "SECRETS",
            "config_schema": '{"vault_addr": {"type": "string", "required": true}}',
            "smoke_config": '{"vault_addr": "https://vault.internal:8200"}', **extra}


async def test_a_policy_pack_claimed_confirmed_submitted_approved_is_served_signed_then_yanked(
        cloud: Cloud, people: People, database: Database) -> None:
    _, acme = await confirmed_publisher(cloud, people)
    sub = await acme.post("/submissions", json={"kind": "policy", "name": "acme/payments", "version": "1.0.0",
                                                "fpl": PACK, "changelog": "first", "domains": ["payments"]})
    assert sub.status_code == 201 and sub.json()["state"] == "pending", sub.text
    async with reviewer_session(cloud) as reviewer:
        queue = (await reviewer.get("/api/v1/orgs/platform/registry/review/queue")).json()
        assert [(q["name"], q["fpl"]) for q in queue] == [("acme/payments", PACK)]
        refused = await acme.post(f"/review/submissions/{sub.json()['submission_id']}/approve",
                                  json={"note": "self-approval"})
        assert refused.status_code == 403  # an API key (even the publisher's owner's) is no reviewer
        assert "only a platform reviewer" in refused.json()["detail"]
        approved = await reviewer.post(
            f"/api/v1/orgs/platform/registry/review/submissions/{sub.json()['submission_id']}/approve",
            json={"note": "fine"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    async with httpx.AsyncClient(base_url=f"{cloud.base}/registry/") as daemon:
        served = await daemon.get("v1/policies/acme%2Fpayments/versions/1.0.0")
        assert served.status_code == 200, served.text
        answer = served.json()
        assert answer["policy_fpl"] == PACK and answer["trust_tier"] == "community"
        key = verify_signature(answer["signature"], PACK.encode(), await trusted(cloud))
        assert cloud.reg.signing_key is not None and key.key_id == cloud.reg.signing_key.key_id

        assert (await acme.post("/yank", json={"kind": "policy", "name": "acme/payments", "version": "1.0.0",
                                               "reason": ""})).status_code == 400  # a reason is required
        yanked = await acme.post("/yank", json={"kind": "policy", "name": "acme/payments", "version": "1.0.0",
                                                "reason": "refund limit wrong"})
        assert yanked.status_code == 204, yanked.text
        gone = await daemon.get("v1/policies/acme%2Fpayments/versions/1.0.0")
        assert gone.status_code == 404 and "yanked: refund limit wrong" in gone.text
        listed = (await daemon.get("v1/policies/acme%2Fpayments/versions")).json()["versions"]
        assert listed == [{"version": "1.0.0", "published_at": listed[0]["published_at"], "changelog": "first",
                           "yanked": True}]
    mine = (await acme.get("/mine")).json()
    assert [(v["version"], v["state"]) for v in mine[0]["versions"]] == [("1.0.0", "yanked")]
    assert [(s["state"], s["reason"]) for s in mine[0]["submissions"]] == [("approved", "fine")]


async def test_my_artifacts_names_own_stacks_importing_it_from_the_fleets_texts_and_counts_others(
        cloud: Cloud, people: People, database: Database, stacks: StackStore) -> None:
    owner, acme = await confirmed_publisher(cloud, people)
    user = await people.org("user")
    imports = 'import "github.com/faramesh/faramesh-registry/policies/acme/payments@1.0.0"\nagent a {\n}\n'
    mine, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "production")
    theirs, _ = await stacks.register_stack(user.org.org_id, "their-secret-stack", "production")
    applied = status(datetime.now(UTC))
    applied.applied_config.governance_fms = imports
    applied.applied_config.governance_sha256 = hashlib.sha256(imports.encode()).hexdigest()
    await feed(database, [record(org, stack.stack_id, 1, "stack_status", applied)
                          for org, stack in ((owner.org.org_id, mine), (user.org.org_id, theirs))])
    sub = (await acme.post("/submissions", json={"kind": "policy", "name": "acme/payments", "version": "1.0.0",
                                                 "fpl": PACK})).json()
    async with reviewer_session(cloud) as reviewer:
        await reviewer.post(f"/api/v1/orgs/platform/registry/review/submissions/{sub['submission_id']}/approve",
                            json={})
    async with httpx.AsyncClient(base_url=f"{cloud.base}/registry/") as daemon:
        for _ in range(3):
            assert (await daemon.get("v1/policies/acme%2Fpayments/versions/1.0.0")).status_code == 200
    await cloud.reg.downloads.flush()
    [artifact] = (await acme.get("/mine")).json()
    [version] = artifact["versions"]
    assert version["downloads_total"] == 3 and [n for _, n in version["downloads_by_day"]] == [3]
    assert version["used_by"]["own_stacks"] == [{"stack_id": mine.stack_id, "name": "payments-prod"}]
    assert version["used_by"]["other_orgs_stacks"] == 1
    assert "their-secret-stack" not in str(artifact) and theirs.stack_id not in str(artifact)

    # an issue report from the other organisation, the publisher's reply, read back by the reporter
    _, user_key = await people.identity.api_keys.create(user.org.org_id, "ops", Role.OPERATOR,
                                                        await people.principal(user))
    async with httpx.AsyncClient(base_url=f"{cloud.base}/api/v1/orgs/user/registry",
                                 headers={"authorization": f"Bearer {user_key}"}) as reporter:
        filed = await reporter.post("/issues", json={"kind": "policy", "name": "acme/payments", "version": "1.0.0",
                                                     "title": "Denies refunds", "body": "Rule 1 blocks all"})
        assert filed.status_code == 201, filed.text
        issue_id = filed.json()["issue_id"]
        [seen] = (await acme.get("/mine")).json()[0]["issues"]
        assert (seen["title"], seen["reporter"]) == ("Denies refunds", "a member of another organisation")
        assert (await reporter.post(f"/issues/{issue_id}/replies", json={"body": "me"})).status_code == 403  # role
        replied = await acme.post(f"/issues/{issue_id}/replies", json={"body": "Fixed in 1.0.1"})
        assert replied.status_code == 201, replied.text
        [mine_filed] = (await reporter.get("/issues")).json()
        assert [r["body"] for r in mine_filed["replies"]] == ["Fixed in 1.0.1"]


async def test_an_upload_over_the_limit_or_with_a_wrong_digest_is_refused_and_nothing_is_stored(
        cloud: Cloud, people: People, database: Database, tmp_path: Path) -> None:
    _, acme = await confirmed_publisher(cloud, people)
    before = blob_count(cloud.blobs)
    over = await acme.post("/providers/submissions", data=provider_form(),
                           files={"binary_linux_amd64": ("p", os.urandom(LIMIT + 10), "application/octet-stream")})
    assert over.status_code == 400, over.text
    assert over.json()["detail"] == (f"the linux_amd64 binary is larger than the limit of {LIMIT} bytes; "
                                     "nothing was stored")
    # the route's own edge limit (a binary at the limit plus 1 MiB of form); elsewhere the 4 MiB default
    limits = EdgeLimits(body_limits=registry_wiring.edge_limits(SETTINGS))
    assert limits.body_limit("/api/v1/orgs/acme/registry/providers/submissions") == LIMIT + MiB
    assert limits.body_limit("/o/acme/registry/publish/provider") == LIMIT + MiB
    assert limits.body_limit("/api/v1/orgs/acme/registry/submissions") == 4 * MiB
    data = os.urandom(5 * MiB)
    wrong = await acme.post("/providers/submissions", data=provider_form(sha256_linux_amd64="ab" * 32),
                            files={"binary_linux_amd64": ("p", data, "application/octet-stream")})
    assert wrong.status_code == 400
    assert wrong.json()["detail"] == (f"the manifest's sha256_hex for linux_amd64 ({'ab' * 32}) does not match the "
                                      "uploaded binary; nothing was stored")
    assert blob_count(cloud.blobs) == before
    async with database.connection() as conn:
        assert await (await conn.execute("SELECT count(*) FROM registry_submissions")).fetchone() == (0,)


@needs_sandbox
@pytest.mark.parametrize("case,reason", [
    ("exits", "exited with status 2 before Init answered: vault_addr is required"),
    ("wrong_capabilities", "Init answered capabilities [KMS] but the manifest declares [SECRETS]"),
])
async def test_a_provider_that_fails_the_sandbox_is_refused_with_the_reason_shown(
        cloud: Cloud, people: People, tmp_path: Path, case: str, reason: str) -> None:
    _, acme = await confirmed_publisher(cloud, people)
    binary = pack_provider(case, tmp_path / f"{case}.pyz").read_bytes()
    before = blob_count(cloud.blobs)
    form = provider_form(smoke_config="{}") if case == "exits" else provider_form()
    refused = await acme.post("/providers/submissions", data=form,
                              files={"binary_linux_amd64": ("provider", binary, "application/octet-stream")})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith(f"the linux_amd64 binary failed the sandboxed Init smoke test: {reason}")
    assert blob_count(cloud.blobs) == before


@needs_sandbox
async def test_a_good_provider_over_4_mib_is_approved_served_with_absolute_urls_and_verifies(
        cloud: Cloud, people: People, tmp_path: Path) -> None:
    _, acme = await confirmed_publisher(cloud, people)
    binary = pack_provider("good", tmp_path / "good.pyz", PADDING=base64.b64encode(os.urandom(3 * MiB)).decode())
    data = binary.read_bytes()
    assert len(data) > 4 * MiB  # more than the gateway's default body limit
    digest = hashlib.sha256(data).hexdigest()
    sub = await acme.post("/providers/submissions", data=provider_form(sha256_linux_amd64=digest),
                          files={"binary_linux_amd64": ("vault", data, "application/octet-stream")})
    assert sub.status_code == 201, sub.text
    smoke = sub.json()["binaries"]["linux_amd64"]["smoke"]
    assert smoke["ok"] is True and smoke["reason"] == "Init answered as the daemon expects: capabilities [SECRETS]"
    async with reviewer_session(cloud) as reviewer:
        approved = await reviewer.post(
            f"/api/v1/orgs/platform/registry/review/submissions/{sub.json()['submission_id']}/approve", json={})
        assert approved.status_code == 200, approved.text
    keys = await trusted(cloud)
    async with httpx.AsyncClient(base_url=f"{cloud.base}/registry/", timeout=60) as daemon:
        answer = (await daemon.get("v1/providers/acme%2Fvault/versions/1.0.0")).json()
        download = answer["downloads"]["linux_amd64"]
        assert download["url"] == (f"{cloud.base}/registry/v1/providers/acme%2Fvault/versions/1.0.0/binaries/"
                                   "linux_amd64")
        assert (download["sha256_hex"], download["size"]) == (digest, len(data))
        got = await daemon.get(download["url"])
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == digest
        manifest = answer["manifest"]
        assert manifest["signature"] == answer["signature"]
        assert manifest["downloads"]["linux_amd64"]["url"].startswith("https://")
        key = verify_signature(answer["signature"], manifest_signed_bytes(manifest), keys)
        assert cloud.reg.signing_key is not None and key.key_id == cloud.reg.signing_key.key_id
        sig = (await daemon.get(download["url"] + ".sig")).text
        verify_binary_signature(sig, got.content, key)


async def run_cli(*args: str, key: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_cli_publish_and_yank_over_the_rest_api(cloud: Cloud, people: People, tmp_path: Path) -> None:
    owner, _ = await confirmed_publisher(cloud, people)
    _, key = await people.identity.api_keys.create(owner.org.org_id, "cli", Role.OWNER, await people.principal(owner))
    _, viewer = await people.identity.api_keys.create(owner.org.org_id, "ro", Role.OPERATOR,
                                                      await people.principal(owner))
    pack = tmp_path / "payments.fpl"
    pack.write_text(PACK)
    made = await run_cli("registry", "publish", str(pack), "--kind", "policy", "--name", "acme/payments", "--version",
                         "1.0.0", "--changelog", "first", "--url", cloud.base, key=key)
    assert made.exit_code == 0, made.output
    submission_id = made.stdout.strip().splitlines()[-1]
    bad = tmp_path / "bad.fpl"
    bad.write_text("agent x {\n  rules {\n    permit a when b =~ c\n  }\n}\n")
    refused = await run_cli("registry", "publish", str(bad), "--kind", "policy", "--name", "acme/payments",
                            "--version", "1.0.1", "--url", cloud.base, key=key)
    assert refused.exit_code == 2 and "FPL does not parse: line 3" in refused.output
    outside = await run_cli("registry", "publish", str(pack), "--kind", "policy", "--name", "other/payments",
                            "--version", "1.0.0", "--url", cloud.base, key=key)
    assert outside.exit_code == 2 and "outside your namespace" in outside.output
    denied = await run_cli("registry", "publish", str(pack), "--kind", "policy", "--name", "acme/payments",
                           "--version", "2.0.0", "--url", cloud.base, key=viewer)
    assert denied.exit_code == 1 and "403" in denied.output
    async with reviewer_session(cloud) as reviewer:
        approved = await reviewer.post(f"/api/v1/orgs/platform/registry/review/submissions/{submission_id}/approve",
                                       json={})
        assert approved.status_code == 200, approved.text
    yanked = await run_cli("registry", "yank", "acme/payments", "1.0.0", "--reason", "wrong limit", "--url",
                           cloud.base, key=key)
    assert yanked.exit_code == 0, yanked.output
    async with httpx.AsyncClient() as daemon:
        assert (await daemon.get(f"{cloud.base}/registry/v1/policies/acme%2Fpayments/versions/1.0.0")).status_code == 404
    again = await run_cli("registry", "yank", "acme/payments", "1.0.0", "--reason", "x", "--url", cloud.base, key=key)
    assert again.exit_code == 2 and "already yanked" in again.output


async def test_the_publishing_rest_twin_is_in_the_openapi_document(cloud: Cloud) -> None:
    async with httpx.AsyncClient(base_url=cloud.base) as client:
        paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    prefix = "/api/v1/orgs/{org}/registry"
    for path, method in (("/publishers", "post"), ("/submissions", "post"), ("/providers/submissions", "post"),
                         ("/yank", "post"), ("/mine", "get"), ("/issues", "post"), ("/issues/{issue_id}/replies", "post"),
                         ("/review/queue", "get"), ("/review/submissions/{submission_id}/approve", "post"),
                         ("/review/submissions/{submission_id}/reject", "post"),
                         ("/review/namespaces/{namespace}/confirm", "post")):
        operation = paths[prefix + path][method]
        assert {"400", "403", "404"} <= set(operation["responses"]), path
    upload = paths[prefix + "/providers/submissions"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["binary_linux_amd64"]["format"] == "binary"
