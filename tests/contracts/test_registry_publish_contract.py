"""One contract for the gateway's ``RegistryPublishPort``, held by both adapters: the registry's
``PublishApi`` in process and ``RegistryPublishClient`` talking to the registry's real servicer
over real mutual TLS (``tests/registry_adapters.py``), on real PostgreSQL with the registry log.
The same values (namespaces, submissions with their FPL, My artifacts, issue reports and
replies) and the same refusals with the same words: ``PublishRefused`` (400), ``NotAllowed``
(403: not a reviewer; told apart from the transport refusing a caller's certificate, which is
``ServiceUnavailable``), ``Unknown`` (404). The gateway's pages over both adapters, provider
uploads through the sandbox included: ``tests/integration/test_registry_publish_gateway.py``."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.fpl.preview import check_submission
from faramesh_cloud.log.port import Log
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry.provider_upload import ProviderInput, ProviderLimits
from faramesh_cloud.registry.publish_api import PublishApi, Reviewers
from faramesh_cloud.registry.publish_client import RegistryPublishClient
from faramesh_cloud.registry.publish_domain import (
    NotAllowed,
    PublishRefused,
    SubmissionState,
    Unknown,
)
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.sandbox import SandboxLimits, smoke_test
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.registry.servicer import internal_server
from faramesh_cloud.registry.submissions import PackInput
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from tests.fixtures.identity import People
from tests.fixtures.internal_tls import ServiceTls
from tests.registry_adapters import ADAPTERS, publish_adapter
from tests.registry_publish_support import PACK, PYTHON, REVIEWER, Texts, pack_provider, person
from tests.registry_support import (
    registry,
    seeded_pg_url,  # noqa: F401  (pg_url: the catalog seeded once per run)
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def _no_smoke(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("no provider in these tests")


@pytest.fixture
async def reg(database: Database, postgres_log: Log, tmp_path: Path) -> AsyncIterator[Registry]:
    r = registry(database, postgres_log, tmp_path)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
def api(reg: Registry, database: Database) -> PublishApi:
    return PublishApi(database, reg.blobs, PlatformAuditLog(database), signer=CloudSigner(lambda: reg.signing_key),
                      check_fpl=check_submission, smoke_test=_no_smoke,
                      download_url=lambda n, v, p: f"https://cloud.test/registry/v1/binaries/{n}/{v}/{p}",
                      texts=Texts(), reviewers=Reviewers(frozenset({REVIEWER})))


@pytest.fixture(params=ADAPTERS)
async def port(request: pytest.FixtureRequest, reg: Registry, api: PublishApi,
               internal_tls: ServiceTls) -> AsyncIterator[Any]:
    async with publish_adapter(request.param, reg, api, internal_tls) as found:
        yield found


def _pack(version: str = "1.0.0") -> PackInput:
    return PackInput(kind="policy", name="acme/payments", version=version, fpl=PACK, description="payments guard",
                     changelog="first", category="payments", domains=("payments",),
                     parameter_schema={"limit": {"type": "number"}})


async def test_namespace_submission_review_yank_and_issues_answer_as_in_process(
        port: Any, api: PublishApi, people: People) -> None:
    owner = await people.org("acme")
    org, me, reviewer = owner.org.org_id, person(owner.email), person(REVIEWER)
    claimed = await port.claim_namespace(org, "acme", "Acme", me)
    assert claimed.state == "pending" and claimed.org_id == org
    assert await port.namespaces(org) == await api.namespaces(org) == [claimed]
    assert [p.namespace for p in await port.pending_namespaces(reviewer)] == ["acme"]
    confirmed = await port.review_namespace("acme", True, "known company", reviewer)
    assert confirmed == (await api.namespaces(org))[0] and confirmed.state == "confirmed"

    submitted = await port.submit_pack(org, _pack(), me)
    assert submitted.state is SubmissionState.PENDING and submitted.meta == (await api.submission(
        submitted.submission_id, org_id=org, actor=me)).meta
    assert await port.submission(submitted.submission_id, org_id=org, actor=me) == submitted
    assert await port.submissions_of(org) == await api.submissions_of(org) == [submitted]
    assert await port.submission_fpl(submitted) == PACK
    assert await port.is_reviewer(reviewer) and not await port.is_reviewer(me)
    assert [s.submission_id for s in await port.review_queue(reviewer)] == [submitted.submission_id]
    approved = await port.approve(submitted.submission_id, "looks right", reviewer)
    assert approved.state is SubmissionState.APPROVED and approved == await api.submission(
        submitted.submission_id, org_id=None, actor=reviewer)
    rejected = await port.reject((await port.submit_pack(org, _pack("1.1.0"), me)).submission_id, "no changelog",
                                 reviewer)
    assert (rejected.state, rejected.reason) == (SubmissionState.REJECTED, "no changelog")

    beta = await people.org("beta")
    filed = await port.file_issue(beta.org.org_id, "policy", "acme/payments", "1.0.0", "Too strict",
                                  "refunds over 100 are denied", person(beta.email))
    replied = await port.reply_issue(org, filed.issue_id, "by design", me)
    assert [r.body for r in replied.replies] == ["by design"]
    filed_by_beta = await port.issues_filed(beta.org.org_id)
    assert filed_by_beta == await api.issues_filed(beta.org.org_id)
    assert [(i.issue_id, [r.body for r in i.replies]) for i in filed_by_beta] == [(filed.issue_id, ["by design"])]
    await port.yank(org, "policy", "acme/payments", "1.0.0", "superseded", me)
    mine = await port.my_artifacts(org)
    assert mine == await api.my_artifacts(org)
    assert [(v.version, v.state) for v in mine[0].versions] == [("1.0.0", "yanked")]


async def test_refusals_keep_their_kind_and_words(port: Any, api: PublishApi, people: People) -> None:
    owner = await people.org("acme")
    org, me, missing = owner.org.org_id, person(owner.email), str(uuid.uuid4())
    cases = [
        (PublishRefused, lambda p: p.claim_namespace(org, "faramesh", "", me)),
        (PublishRefused, lambda p: p.claim_namespace(org, "Not A Label", "", me)),
        (NotAllowed, lambda p: p.pending_namespaces(me)),
        (NotAllowed, lambda p: p.review_queue(me)),
        (NotAllowed, lambda p: p.yank(None, "policy", "faramesh/stripe", "1.0.0", "bad", me)),
        (Unknown, lambda p: p.submission(missing, org_id=org, actor=me)),
        (PublishRefused, lambda p: p.submit_pack(org, _pack(), me)),  # no namespace claimed
    ]
    for kind, call in cases:
        with pytest.raises(kind) as theirs:
            await call(api)
        with pytest.raises(kind) as ours:
            await call(port)
        assert str(ours.value) == str(theirs.value)


async def test_a_caller_other_than_the_gateway_is_refused_by_the_transport_not_as_a_reviewer(
        reg: Registry, api: PublishApi, internal_tls: ServiceTls) -> None:
    server = internal_server(reg.api, reg.alert_reads, "127.0.0.1:0", internal_tls("registry"), publish=api)
    await server.start()
    try:
        client = RegistryPublishClient(server.address, internal_tls("compliance"), timeout_s=5.0)
        try:
            with pytest.raises(ServiceUnavailable):
                await client.review_queue(person(REVIEWER))
        finally:
            await client.close()
    finally:
        await server.stop()


MiB = 1024 * 1024
LIMIT = 4 * MiB
needs_sandbox = pytest.mark.skipif(shutil.which("bwrap") is None or os.geteuid() != 0,
                                   reason="needs bubblewrap and root (docs/registry-sandbox.md)")


@pytest.fixture
def sandboxed(reg: Registry, database: Database) -> PublishApi:
    return PublishApi(database, reg.blobs, PlatformAuditLog(database), signer=CloudSigner(lambda: reg.signing_key),
                      check_fpl=check_submission,
                      smoke_test=functools.partial(smoke_test, runtime_paths=[PYTHON],
                                                   limits=SandboxLimits(wall_clock_seconds=10, cpu_seconds=5)),
                      download_url=lambda n, v, p: f"https://cloud.test/registry/v1/binaries/{n}/{v}/{p}",
                      texts=Texts(), reviewers=Reviewers(frozenset({REVIEWER})), limits=ProviderLimits(LIMIT))


async def _stream(data: bytes, size: int = 3 * MiB) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):  # pieces larger than a chunk: the client splits them
        yield data[at:at + size]


@needs_sandbox
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_provider_with_two_binaries_streams_in_and_one_over_the_limit_is_refused_in_the_same_words(
        adapter: str, reg: Registry, sandboxed: PublishApi, internal_tls: ServiceTls, people: People,
        tmp_path: Path) -> None:
    owner = await people.org("acme")
    org, me = owner.org.org_id, person(owner.email)
    await sandboxed.claim_namespace(org, "acme", "Acme", me)
    await sandboxed.review_namespace("acme", True, "known", person(REVIEWER))
    host = pack_provider("good", tmp_path / "good.pyz", PADDING=base64.b64encode(os.urandom(MiB)).decode()
                         ).read_bytes()
    arm = os.urandom(3 * MiB + 17)
    given = ProviderInput(name="acme/vault", version="1.0.0", capabilities=("SECRETS",),
                          config_schema={"vault_addr": {"type": "string", "required": True}},
                          expected_sha256={"linux_amd64": hashlib.sha256(host).hexdigest()},
                          smoke_config={"vault_addr": "https://vault.internal:8200"})
    async with publish_adapter(adapter, reg, sandboxed, internal_tls) as port:
        with pytest.raises(PublishRefused) as refused:
            await port.submit_provider(org, given, {"linux_amd64": _stream(host),
                                                    "linux_arm64": _stream(os.urandom(LIMIT + 1))}, me)
        assert str(refused.value) == f"the linux_arm64 binary is larger than the limit of {LIMIT} bytes; " \
                                     "nothing was stored"
        assert await port.submissions_of(org) == []
        sub = await port.submit_provider(org, given, {"linux_amd64": _stream(host), "linux_arm64": _stream(arm)}, me)
    assert {p: (b["sha256"], b["size"]) for p, b in sub.binaries.items()} == {
        "linux_amd64": (hashlib.sha256(host).hexdigest(), len(host)),
        "linux_arm64": (hashlib.sha256(arm).hexdigest(), len(arm))}
    assert sub.binaries["linux_amd64"]["smoke"]["ok"] is True
    assert sub == await sandboxed.submission(sub.submission_id, org_id=org, actor=me)
