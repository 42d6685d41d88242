"""One contract for the gateway's registry reads, held by both adapters: the registry's own
``RegistryApi`` and ``AlertReads`` in process, and ``RegistryClient`` talking to the registry's
real servicer over real mutual TLS on 127.0.0.1 (``tests/registry_adapters.py``). On the seeded
catalog (real PostgreSQL, the real blob store) every read gives the same values as the
in-process API answers itself: search pages and filters, facets, an artifact with its history,
a version in full (FPL, manifest, binaries, signature checked now, the rule preview and
checklist), the trust keys, a governance.fms's imports judged; per-organisation trust (two
organisations with different trust sets see different verdicts for the same version, each key
says whether the organisation trusts it, a set naming an unknown key is refused in the same
words, a change is audited); the same refusals (a bad filter is ``ValueError`` with the same
words; an unknown artifact or version is None); an organisation's open pack alerts and never
another's; and only the gateway's certificate is admitted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faramesh_cloud.log.port import Log
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.registry.client import RegistryClient
from faramesh_cloud.registry.service import Registry
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from tests.fixtures.identity import People
from tests.fixtures.internal_tls import ServiceTls
from tests.registry_adapters import ADAPTERS, Reads, registry_adapter, registry_server
from tests.registry_support import (
    registry,
    seeded_pg_url,  # noqa: F401  (pg_url: the catalog seeded once per run)
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
HOST = "github.com/faramesh/faramesh-registry"
GOVERNANCE = f'''import "{HOST}/policies/faramesh/stripe@1.0.0"
import "{HOST}/policies/faramesh/stripe@9.9.9"
import "{HOST}/policies/faramesh/stripe@latest"

agent "payments-bot" {{
  default deny
}}
'''
T1 = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def reg(database: Database, postgres_log: Log, tmp_path: Path) -> AsyncIterator[Registry]:
    r = registry(database, postgres_log, tmp_path)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture(params=ADAPTERS)
async def reads(request: pytest.FixtureRequest, reg: Registry, internal_tls: ServiceTls) -> AsyncIterator[Reads]:
    async with registry_adapter(request.param, reg, internal_tls) as found:
        yield found


async def test_search_and_facets_answer_as_in_process(reads: Reads, reg: Registry) -> None:
    everything = await reads.port.search()
    assert everything == await reg.api.search() and everything.total == 17
    page = await reads.port.search("provider", platform="linux_arm64", limit=2, offset=1)
    assert page == await reg.api.search("provider", platform="linux_arm64", limit=2, offset=1)
    assert page.total == 3 and len(page.items) == 2 and page.offset == 1
    assert [a.name for a in (await reads.port.search(text="guardrails")).items] == \
        ["faramesh/openai", "faramesh/stripe"]
    assert await reads.port.facets("provider") == await reg.api.facets("provider")
    assert "KMS" in (await reads.port.facets("provider"))["capabilities"]


async def test_artifact_and_version_detail_answer_as_in_process(reads: Reads, reg: Registry) -> None:
    vault = await reads.port.artifact("provider", "faramesh/vault")
    assert vault is not None and vault == await reg.api.artifact("provider", "faramesh/vault")
    manifest = await reads.port.version("provider", "faramesh/vault", "1.0.0")
    assert manifest == await reg.api.version("provider", "faramesh/vault", "1.0.0")
    assert manifest is not None and manifest.fpl is None and manifest.manifest is not None
    assert len(manifest.binaries) == 4 and manifest.signature_status.verified
    stripe = await reads.port.version("policy", "faramesh/stripe", "1.0.0")
    assert stripe == await reg.api.version("policy", "faramesh/stripe", "1.0.0")
    assert stripe is not None and stripe.fpl is not None and "payment-bot" in stripe.fpl
    assert stripe.preview is not None and stripe.preview.parses and stripe.preview.rules
    framework = await reads.port.search("framework", limit=1)
    name = framework.items[0].name
    profile = await reads.port.version("framework", name, framework.items[0].latest_version)
    assert profile == await reg.api.version("framework", name, framework.items[0].latest_version)


async def test_unknown_artifacts_and_versions_are_none(reads: Reads) -> None:
    assert await reads.port.artifact("policy", "faramesh/nope") is None
    assert await reads.port.version("policy", "faramesh/stripe", "2.0.0") is None
    assert await reads.port.version("policy", "faramesh/nope", "1.0.0") is None


async def test_bad_filters_are_refused_with_the_same_words(reads: Reads, reg: Registry) -> None:
    for call in (lambda p: p.search(tier="gold"), lambda p: p.search(limit=0), lambda p: p.search("widgets"),
                 lambda p: p.facets("widgets"), lambda p: p.artifact("widgets", "x")):
        with pytest.raises(ValueError) as theirs:
            await call(reg.api)
        with pytest.raises(ValueError) as ours:
            await call(reads.port)
        assert str(ours.value) == str(theirs.value)


async def test_trust_keys_and_imports_answer_as_in_process(reads: Reads, reg: Registry) -> None:
    keys = await reads.port.trust_keys()
    assert keys == await reg.api.trust_keys()
    assert {k.origin for k in keys} == {"official", "cloud"} and all("trust" in k.trust_snippet for k in keys)
    checked = await reads.port.check_imports(GOVERNANCE)
    assert checked == await reg.api.check_imports(GOVERNANCE)
    assert [c.status for c in checked] == ["verified", "not-in-registry", "refused"]


OFFICIAL = "faramesh-ed25519-2026"
STRIPE = f'import "{HOST}/policies/faramesh/stripe@1.0.0"\n\nagent "a" {{\n  default deny\n}}\n'


async def test_two_organisations_with_different_trust_sets_see_different_verdicts(
        reads: Reads, reg: Registry, people: People, database: Database) -> None:
    """acme keeps the default set (official + Cloud's keys); beta's Owner trusts only Cloud's key:
    faramesh/stripe@1.0.0 (signed by the official key) is verified for acme and org-untrusted for
    beta, in the version, the imports and the trust-keys list, through either adapter."""
    acme, beta = await people.org("acme"), await people.org("beta")
    cloud = next(k.key_id for k in await reg.api.trust_keys() if k.origin == "cloud")
    saved = await reads.port.set_trusted_keys(beta.org.org_id, [cloud], (await people.principal(beta)).actor)
    assert {k.key_id: k.trusted for k in saved} == {OFFICIAL: False, cloud: True}
    assert saved == await reg.api.trust_keys(org_id=beta.org.org_id)

    for org, verdict in ((acme.org.org_id, "verified"), (beta.org.org_id, "org-untrusted")):
        shown = await reads.port.version("policy", "faramesh/stripe", "1.0.0", org_id=org)
        assert shown == await reg.api.version("policy", "faramesh/stripe", "1.0.0", org_id=org)
        assert shown is not None and shown.signature_status.verdict == verdict
        assert shown.signature_status.verified is (verdict == "verified")
        checked = await reads.port.check_imports(STRIPE, org_id=org)
        assert checked == await reg.api.check_imports(STRIPE, org_id=org)
        assert [c.status for c in checked] == (["verified"] if verdict == "verified" else ["unverified"])
        keys = await reads.port.trust_keys(org_id=org)
        assert keys == await reg.api.trust_keys(org_id=org)
    beta_stripe = await reads.port.version("policy", "faramesh/stripe", "1.0.0", org_id=beta.org.org_id)
    assert beta_stripe is not None
    assert f"signed by a key your organisation does not trust ({OFFICIAL})" in beta_stripe.signature_status.problem
    assert {k.key_id for k in await reads.port.trust_keys(org_id=acme.org.org_id) if k.trusted} == {OFFICIAL, cloud}
    assert {k.key_id for k in await reads.port.trust_keys(org_id=beta.org.org_id) if k.trusted} == {cloud}
    # No organisation named: every listed key (the daemon API's view), as before.
    plain = await reads.port.version("policy", "faramesh/stripe", "1.0.0")
    assert plain is not None and plain.signature_status.verdict == "verified"
    assert all(k.trusted for k in await reads.port.trust_keys())


async def test_setting_the_trust_set_is_audited_and_refuses_an_unknown_key_in_the_same_words(
        reads: Reads, reg: Registry, people: People, database: Database) -> None:
    beta = await people.org("beta")
    actor = (await people.principal(beta)).actor
    for key_ids in (["nobody-1", OFFICIAL], [], ["  "]):
        with pytest.raises(ValueError) as theirs:
            await reg.api.set_trusted_keys(beta.org.org_id, key_ids, actor)
        with pytest.raises(ValueError) as ours:
            await reads.port.set_trusted_keys(beta.org.org_id, key_ids, actor)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match=r"^not a key this registry lists: nobody-1 "):
        await reads.port.set_trusted_keys(beta.org.org_id, ["nobody-1", OFFICIAL], actor)
    audit = PlatformAuditLog(database)

    async def changes() -> list[dict[str, object]]:
        return [dict(e.details) for e in await audit.page(beta.org.org_id, AuditFilter(), limit=50)
                if e.action == "registry:trust:change"]

    assert await changes() == []  # nothing refused was written
    cloud = next(k.key_id for k in await reg.api.trust_keys() if k.origin == "cloud")
    await reads.port.set_trusted_keys(beta.org.org_id, [cloud], actor)
    await reads.port.set_trusted_keys(beta.org.org_id, [cloud], actor)  # no change: no second entry
    assert await changes() == [{"added": [], "removed": [OFFICIAL], "trusted": [cloud]}]
    entry = next(e for e in await audit.page(beta.org.org_id, AuditFilter(), limit=50)
                 if e.action == "registry:trust:change")
    assert entry.actor.label == actor.label and entry.actor.id == actor.id


async def _alert(database: Database, org_id: str, stack_id: str, name: str, raised: datetime, *,
                 acked: bool = False, closed: bool = False) -> str:
    alert_id = str(uuid.uuid4())
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT INTO registry_alerts (alert_id, org_id, stack_id, kind, name, imported_version, latest_version, "
            "yanked, severity, summary, details_url, raised_at, handed_out, delivered_at, acked_at, outcome, message, "
            "closed_at) VALUES (%s, %s, %s, 'policy', %s, '1.0.0', '1.1.0', false, 'info', %s, 'https://x.test/a', "
            "%s, 1, %s, %s, %s, %s, %s)",
            (alert_id, org_id, stack_id, name, f"{name} 1.1.0 is out", raised, raised if acked else None,
             raised if acked else None, "accepted" if acked else "", "noted" if acked else "",
             raised if closed else None))
    return alert_id


async def test_open_alerts_are_one_organisations_newest_first(reads: Reads, reg: Registry, database: Database,
                                                              people: People) -> None:
    acme, beta = (await people.org("acme")).org.org_id, (await people.org("beta")).org.org_id
    older = await _alert(database, acme, "pay", "faramesh/stripe", T1, acked=True)
    newer = await _alert(database, acme, "ops", "faramesh/shell", T1 + timedelta(hours=1))
    await _alert(database, acme, "pay", "faramesh/demo", T1, closed=True)
    await _alert(database, beta, "pay", "faramesh/stripe", T1)
    found = await reads.alerts.open_alerts(acme)
    assert found == await reg.alert_reads.open_alerts(acme)
    assert [a.alert_id for a in found] == [newer, older]
    assert found[1].delivery == "acknowledged (accepted): noted" and found[0].acked_at is None
    assert [a.alert_id for a in await reads.alerts.open_alerts(acme, "pay")] == [older]
    assert [a.alert_id for a in await reads.alerts.open_alerts(acme, "pay", 1)] == [older]
    assert await reads.alerts.open_alerts(str(uuid.uuid4())) == []


async def test_grpc_refuses_an_organisation_that_is_not_a_uuid(reg: Registry, internal_tls: ServiceTls,
                                                                  people: People) -> None:
    actor = (await people.principal(await people.org("acme"))).actor
    async with registry_adapter("grpc", reg, internal_tls) as found:
        for call in (lambda p: p.set_trusted_keys("acme", [OFFICIAL], actor), lambda p: p.trust_keys(org_id="acme"),
                     lambda p: p.check_imports(STRIPE, org_id="acme"),
                     lambda p: p.version("policy", "faramesh/stripe", "1.0.0", org_id="acme")):
            with pytest.raises(ValueError, match="org_id 'acme' is not an organisation id"):
                await call(found.port)


async def test_only_the_gateway_certificate_is_admitted(reg: Registry, internal_tls: ServiceTls) -> None:
    async with registry_server(reg, internal_tls) as server:
        for caller in ("fleet", "compliance"):
            client = RegistryClient(server.address, internal_tls(caller), timeout_s=5.0)
            try:
                with pytest.raises(ServiceUnavailable):
                    await client.search()
            finally:
                await client.close()
        gateway = RegistryClient(server.address, internal_tls("gateway"))
        try:
            assert (await gateway.search()).total == 17
        finally:
            await gateway.close()


async def test_a_registry_that_is_down_is_unavailable_naming_it(internal_tls: ServiceTls) -> None:
    client = RegistryClient("127.0.0.1:1", internal_tls("gateway"), timeout_s=2.0)
    try:
        with pytest.raises(ServiceUnavailable, match="registry"):
            await client.search()
    finally:
        await client.close()
