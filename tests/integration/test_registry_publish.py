"""Publishing, end to end on PostgreSQL with the registry log: namespaces claimed and reviewed,
packs submitted, approved (signed) or rejected, versions yanked, issue reports and replies, My
artifacts; every refusal leaves no blob and no row behind; every command wrote its event, its
registry-log entry and its audit entry in the same transaction."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.fpl.preview import check_submission
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.registry.keyring import ensure_cloud_key
from faramesh_cloud.registry.keys import CloudKey, KeySource
from faramesh_cloud.registry.publish_api import PublishApi, Reviewers
from faramesh_cloud.registry.publish_domain import NotAllowed, PublishRefused, SubmissionState
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.signatures import verify_signature
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.registry.submissions import PackInput
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.fixtures.identity import People
from tests.registry_publish_support import PACK, REVIEWER, Texts, blob_count, events, person

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


class Setup:
    def __init__(self, api: PublishApi, db: Database, blobs: Path, keys: KeySource, texts: Texts) -> None:
        self.api, self.db, self.blobs, self.keys, self.texts = api, db, blobs, keys, texts
        self.key: CloudKey | None = None
        self.log_base = 0  # the entries listing Cloud's key wrote before any command

    async def count(self, table: str) -> int:
        async with self.db.connection() as conn:
            row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
        assert row is not None
        return int(row[0])

    async def trusted(self) -> Any:
        from faramesh_cloud.registry.keyring import trusted_keys

        return trusted_keys(await RegistryStore(self.db).keys())


@pytest.fixture
async def setup(database: Database, tmp_path: Path) -> Setup:
    await migrate(database, [("registry", "faramesh_cloud.registry")])
    keys, texts = KeySource(tmp_path / "data"), Texts()
    holder: list[CloudKey] = [await ensure_cloud_key(database, RegistryStore(database), keys.current(),
                                                     datetime.now(UTC))]
    api = PublishApi(database, FileBlobStore(tmp_path / "blobs"), PlatformAuditLog(database),
                     signer=CloudSigner(lambda: holder[0]), check_fpl=check_submission, smoke_test=_no_smoke,
                     download_url=lambda n, v, p: f"https://cloud.test/registry/v1/binaries/{n}/{v}/{p}",
                     texts=texts, reviewers=Reviewers(frozenset({REVIEWER})))
    s = Setup(api, database, tmp_path / "blobs", keys, texts)
    s.key = holder[0]
    s.holder = holder  # type: ignore[attr-defined]
    s.log_base = await s.count("registry_log")
    return s


async def _no_smoke(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("no provider in these tests")


async def confirmed(s: Setup, people: People, slug: str = "acme") -> Any:
    owner = await people.org(slug)
    await s.api.claim_namespace(owner.org.org_id, slug, slug.title(), person(owner.email))
    await s.api.review_namespace(slug, True, "known company", person(REVIEWER))
    return owner


async def test_a_namespace_is_claimed_then_confirmed_by_a_reviewer_with_its_events_log_and_audit(
        setup: Setup, people: People, database: Database) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    claimed = await setup.api.claim_namespace(org, "acme", "Acme Inc", person(owner.email))
    assert claimed.state == "pending"
    with pytest.raises(NotAllowed):
        await setup.api.review_namespace("acme", True, "ok", person(owner.email))  # not a reviewer
    with pytest.raises(PublishRefused, match="reason is required"):
        await setup.api.review_namespace("acme", True, "  ", person(REVIEWER))
    done = await setup.api.review_namespace("acme", True, "verified the domain", person(REVIEWER))
    assert (done.state, done.reviewed_by, done.reason) == ("confirmed", REVIEWER, "verified the domain")
    async with database.connection() as conn:
        log = await (await conn.execute("SELECT action, subject FROM registry_log WHERE seq > %s ORDER BY seq",
                                        (setup.log_base,))).fetchall()
        checkpoints = await (await conn.execute("SELECT size, key_id FROM registry_log_checkpoints WHERE size > %s "
                                                "ORDER BY size", (setup.log_base,))).fetchall()
    written = [(key, kind, m.namespace, m.org_id) for key, kind, m in await events(database)
               if kind.startswith("Publisher")]
    assert written == [(b"namespace/acme", "PublisherClaimed", "acme", org),
                       (b"namespace/acme", "PublisherConfirmed", "acme", org)]
    assert [(r[0], r[1]) for r in log] == [("publisher_claimed", {"namespace": "acme"}),
                                           ("publisher_confirmed", {"namespace": "acme"})]
    assert setup.key is not None
    base = setup.log_base
    assert checkpoints == [(base + 1, setup.key.key_id), (base + 2, setup.key.key_id)]  # after each command
    audited = [e.action for e in await PlatformAuditLog(database).page(org, AuditFilter(), limit=50)]
    assert "registry:namespace:claim" in audited and "registry:namespace:confirm" in audited


@pytest.mark.parametrize("name,problem", [("faramesh", "reserved"), ("Acme", "DNS label"), ("-acme", "DNS label"),
                                          ("official", "reserved"), ("a" * 64, "DNS label")])
async def test_a_namespace_that_is_reserved_or_not_a_dns_label_is_refused(
        setup: Setup, people: People, name: str, problem: str) -> None:
    owner = await people.org("acme")
    with pytest.raises(PublishRefused, match=problem):
        await setup.api.claim_namespace(owner.org.org_id, name, "", person(owner.email))
    assert await setup.count("registry_publishers") == 0
    assert [k for _, k, _ in await events(setup.db) if k.startswith("Publisher")] == []
    assert await setup.count("registry_log") == setup.log_base


async def test_a_claimed_namespace_cannot_be_claimed_by_another_org_and_rejection_needs_a_reason(
        setup: Setup, people: People) -> None:
    acme = await people.org("acme")
    other = await people.org("other")
    await setup.api.claim_namespace(acme.org.org_id, "acme", "", person(acme.email))
    with pytest.raises(PublishRefused, match="another organisation"):
        await setup.api.claim_namespace(other.org.org_id, "acme", "", person(other.email))
    with pytest.raises(PublishRefused, match="reason"):
        await setup.api.review_namespace("acme", False, "", person(REVIEWER))
    rejected = await setup.api.review_namespace("acme", False, "not your trademark", person(REVIEWER))
    assert (rejected.state, rejected.reason) == ("rejected", "not your trademark")


async def test_a_pack_goes_through_review_and_is_published_signed_with_the_cloud_key(
        setup: Setup, people: People, database: Database) -> None:
    owner = await confirmed(setup, people)
    org = owner.org.org_id
    sub = await setup.api.submit_pack(org, PackInput("policy", "acme/payments", "1.0.0", PACK, readme="# Payments",
                                                     description="Refund limits", domains=["payments"]),
                                      person(owner.email))
    assert sub.state == "pending"
    assert [s.submission_id for s in await setup.api.review_queue(person(REVIEWER))] == [sub.submission_id]
    with pytest.raises(PublishRefused, match="already waiting for review"):
        await setup.api.submit_pack(org, PackInput("policy", "acme/payments", "1.0.0", PACK), person(owner.email))
    approved = await setup.api.approve(sub.submission_id, "looks fine", person(REVIEWER))
    assert approved.state is SubmissionState.APPROVED
    async with database.connection() as conn:
        row = await (await conn.execute(
            "SELECT state, signature, key_id, body_sha256, source FROM registry_versions "
            "WHERE kind = 'policy' AND name = 'acme/payments' AND version = '1.0.0'")).fetchone()
        tier = await (await conn.execute("SELECT trust_tier FROM registry_artifacts WHERE name = 'acme/payments'")
                      ).fetchone()
    assert row is not None and tier == ("community",)
    state, signature, key_id, _, source = row
    assert setup.key is not None
    assert (state, key_id, source) == ("published", setup.key.key_id, "publish")
    assert set(signature) == {"key_id", "algorithm", "value_b64", "public_key_b64"}
    # verifies against a key the registry lists (strictly: not the key the signature carries)
    assert verify_signature(signature, PACK.encode(), await setup.trusted()).key_id == setup.key.key_id
    Ed25519PublicKey.from_public_bytes(setup.key.public_key).verify(base64.b64decode(signature["value_b64"]),
                                                                    PACK.encode())
    kinds = [(key, kind) for key, kind, _ in await events(database)]
    assert kinds[-2:] == [(b"policy/acme/payments", "SubmissionApproved"), (b"policy/acme/payments", "VersionPublished")]
    published = (await events(database))[-1][2]  # what billing meters as the organisation's registry storage
    assert (published.org_id, published.size_bytes) == (org, len(PACK.encode()))
    async with database.connection() as conn:
        log = [r[0] for r in await (await conn.execute("SELECT action FROM registry_log ORDER BY seq")).fetchall()]
    assert log[-3:] == ["submitted", "approved", "published"]
    with pytest.raises(PublishRefused, match="already published"):
        await setup.api.submit_pack(org, PackInput("policy", "acme/payments", "1.0.0", PACK), person(owner.email))


async def test_a_rejection_needs_a_reason_the_publisher_reads_and_publishes_nothing(
        setup: Setup, people: People) -> None:
    owner = await confirmed(setup, people)
    org = owner.org.org_id
    sub = await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.0.0", PACK), person(owner.email))
    with pytest.raises(PublishRefused, match="reason"):
        await setup.api.reject(sub.submission_id, "", person(REVIEWER))
    await setup.api.reject(sub.submission_id, "rule 2 denies everything", person(REVIEWER))
    mine = await setup.api.submissions_of(org)
    assert [(s.state, s.reason) for s in mine] == [("rejected", "rule 2 denies everything")]
    assert await setup.count("registry_versions") == 0


@pytest.mark.parametrize("given,problem", [
    (PackInput("policy", "acme/p", "1.0", PACK), "not semantic versioning"),
    (PackInput("policy", "acme/p", "v1.0.0", PACK), "not semantic versioning"),
    (PackInput("policy", "other/p", "1.0.0", PACK), "outside your namespace"),
    (PackInput("policy", "acme/p", "1.0.0", "agent x {\n  rules {\n    permit a when b =~ c\n  }\n}\n"),
     "FPL does not parse: line 3"),
])
async def test_bad_pack_input_is_refused_by_name_and_leaves_no_blob_and_no_row(
        setup: Setup, people: People, given: PackInput, problem: str) -> None:
    owner = await confirmed(setup, people)
    before = await setup.count("registry_outbox")
    with pytest.raises(PublishRefused, match=problem):
        await setup.api.submit_pack(owner.org.org_id, given, person(owner.email))
    assert blob_count(setup.blobs) == 0
    assert await setup.count("registry_submissions") == 0
    assert await setup.count("registry_versions") == 0
    assert await setup.count("registry_outbox") == before


async def test_an_unconfirmed_namespace_cannot_publish(setup: Setup, people: People) -> None:
    owner = await people.org("acme")
    await setup.api.claim_namespace(owner.org.org_id, "acme", "", person(owner.email))
    with pytest.raises(PublishRefused, match="pending: a platform reviewer must confirm it"):
        await setup.api.submit_pack(owner.org.org_id, PackInput("policy", "acme/p", "1.0.0", PACK),
                                    person(owner.email))
    assert blob_count(setup.blobs) == 0 and await setup.count("registry_submissions") == 0


async def test_a_pre_signed_pack_whose_signature_does_not_verify_is_refused(setup: Setup, people: People) -> None:
    owner = await confirmed(setup, people)
    key = Ed25519PrivateKey.generate()
    forged = {"key_id": "mine", "algorithm": "ed25519", "value_b64": base64.b64encode(key.sign(b"other")).decode(),
              "public_key_b64": base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                                                 ).decode()}
    with pytest.raises(PublishRefused, match="signature does not verify"):
        await setup.api.submit_pack(owner.org.org_id, PackInput("policy", "acme/p", "1.0.0", PACK, signature=forged),
                                    person(owner.email))
    assert blob_count(setup.blobs) == 0 and await setup.count("registry_submissions") == 0
    good = {**forged, "value_b64": base64.b64encode(key.sign(PACK.encode())).decode()}
    sub = await setup.api.submit_pack(owner.org.org_id, PackInput("policy", "acme/p", "1.0.0", PACK, signature=good),
                                      person(owner.email))
    assert sub.meta["publisher_signature"]["key_id"] == "mine"


async def test_a_blob_shared_with_a_published_version_survives_a_refused_submission(
        setup: Setup, people: People) -> None:
    owner = await confirmed(setup, people)
    org = owner.org.org_id
    sub = await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.0.0", PACK), person(owner.email))
    await setup.api.approve(sub.submission_id, "", person(REVIEWER))
    blobs = blob_count(setup.blobs)
    with pytest.raises(PublishRefused, match="already published"):
        await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.0.0", PACK), person(owner.email))
    assert blob_count(setup.blobs) == blobs  # the published version's FPL is still there


async def test_yank_by_publisher_or_reviewer_with_a_reason_and_not_by_another_org(
        setup: Setup, people: People, database: Database) -> None:
    owner = await confirmed(setup, people)
    other = await people.org("other")
    org = owner.org.org_id
    for version in ("1.0.0", "1.1.0"):
        sub = await setup.api.submit_pack(org, PackInput("policy", "acme/p", version, PACK), person(owner.email))
        await setup.api.approve(sub.submission_id, "", person(REVIEWER))
    with pytest.raises(PublishRefused, match="reason"):
        await setup.api.yank(org, "policy", "acme/p", "1.0.0", "", person(owner.email))
    with pytest.raises(NotAllowed):
        await setup.api.yank(other.org.org_id, "policy", "acme/p", "1.0.0", "bad", person(other.email))
    with pytest.raises(NotAllowed):
        await setup.api.yank(None, "policy", "acme/p", "1.0.0", "bad", person(other.email))  # not a reviewer
    await setup.api.yank(org, "policy", "acme/p", "1.0.0", "refund limit wrong", person(owner.email))
    await setup.api.yank(None, "policy", "acme/p", "1.1.0", "malicious rule", person(REVIEWER))
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT version, state, yank_reason, yanked_by FROM registry_versions "
                                         "ORDER BY version")).fetchall()
    assert rows == [("1.0.0", "yanked", "refund limit wrong", owner.email),
                    ("1.1.0", "yanked", "malicious rule", REVIEWER)]


async def test_my_artifacts_names_only_own_stacks_and_counts_others_and_issue_reports_stay_between_two_orgs(
        setup: Setup, people: People) -> None:
    owner = await confirmed(setup, people)
    org = owner.org.org_id
    user = await people.org("user")
    third = await people.org("third")
    sub = await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.0.0", PACK), person(owner.email))
    await setup.api.approve(sub.submission_id, "", person(REVIEWER))
    imp = 'import "github.com/faramesh/faramesh-registry/policies/acme/p@1.0.0"\n'
    setup.texts.rows += [(org, "stack-own", imp), (user.org.org_id, "stack-secret-name", imp),
                         (third.org.org_id, "s3", imp + "agent a {}\n"), (third.org.org_id, "s4", "agent a {}\n")]
    async with setup.db.connection() as conn:
        await conn.execute("INSERT INTO registry_downloads VALUES ('policy', 'acme/p', '1.0.0', '2026-05-01', 3), "
                           "('policy', 'acme/p', '1.0.0', '2026-05-02', 4)")
    issue = await setup.api.file_issue(user.org.org_id, "policy", "acme/p", "1.0.0", "Denies refunds",
                                       "Rule 1 blocks every refund", person(user.email))
    [mine] = await setup.api.my_artifacts(org)
    [v] = mine.versions
    assert (v.version, v.state, v.downloads_total) == ("1.0.0", "published", 7)
    assert v.downloads_by_day == (("2026-05-01", 3), ("2026-05-02", 4))
    assert v.used_by.own_stack_ids == ("stack-own",) and v.used_by.other_orgs_stacks == 2
    assert "stack-secret-name" not in repr(mine)  # another organisation's stack is never named
    [seen] = mine.issues
    assert (seen.title, seen.reporter, seen.reporter_org_id) == ("Denies refunds", "a member of another organisation", "")
    assert user.email not in repr(mine)
    with pytest.raises(LookupError):
        await setup.api.reply_issue(third.org.org_id, issue.issue_id, "not mine", person(third.email))
    with pytest.raises(NotAllowed):
        await setup.api.reply_issue(user.org.org_id, issue.issue_id, "reporter cannot reply", person(user.email))
    await setup.api.reply_issue(org, issue.issue_id, "Fixed in 1.0.1", person(owner.email))
    [filed] = await setup.api.issues_filed(user.org.org_id)
    assert filed.reporter == user.email and [r.body for r in filed.replies] == ["Fixed in 1.0.1"]
    assert await setup.api.issues_filed(third.org.org_id) == []
    assert await setup.api.my_artifacts(user.org.org_id) == []


async def test_after_a_key_rotation_approvals_sign_with_the_new_active_key_and_old_signatures_still_verify(
        setup: Setup, people: People, database: Database) -> None:
    from faramesh_cloud.registry.keyring import rotate

    owner = await confirmed(setup, people)
    org = owner.org.org_id
    first = await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.0.0", PACK), person(owner.email))
    await setup.api.approve(first.submission_id, "", person(REVIEWER))
    new = await rotate(database, RegistryStore(database), setup.keys, lambda: datetime.now(UTC))
    setup.holder[0] = new  # type: ignore[attr-defined]  # what Registry.rotate_key does to signing_key
    second = await setup.api.submit_pack(org, PackInput("policy", "acme/p", "1.1.0", PACK), person(owner.email))
    await setup.api.approve(second.submission_id, "", person(REVIEWER))
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT version, key_id, signature FROM registry_versions "
                                         "WHERE name = 'acme/p' ORDER BY version")).fetchall()
        checkpoint_keys = [r[0] for r in await (await conn.execute(
            "SELECT key_id FROM registry_log_checkpoints ORDER BY size")).fetchall()]
    assert setup.key is not None and new.key_id != setup.key.key_id
    assert [(v, k) for v, k, _ in rows] == [("1.0.0", setup.key.key_id), ("1.1.0", new.key_id)]
    trusted = await setup.trusted()  # the retired key stays listed
    for _, key_id, signature in rows:
        assert verify_signature(signature, PACK.encode(), trusted).key_id == key_id
    assert checkpoint_keys[-1] == new.key_id and setup.key.key_id in checkpoint_keys
