"""One contract for the gateway's ``FleetReads`` port, held by both adapters: ``FleetQuery`` in
process, and ``FleetQueryClient`` talking to the fleet service's real servicer over real mutual
TLS on 127.0.0.1 (``tests/fleet_adapters.py``). The same data, fed through the real fleet
processor and sink into real PostgreSQL, gives the same answers for every port method:
values, absences (``None`` for what a daemon never reported), order, tenant isolation (another
organisation's stacks, agents and texts are never answered) and refusals (an ``org_id`` that
is not an organisation id)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from faramesh_cloud.fleet.domain import AgentView, StackView
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.gateway.web.fleet_ports import FleetReads
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.internal_tls import ServiceTls
from tests.fleet_adapters import ADAPTERS, fleet_adapter
from tests.fleet_items import budget, credential, health, message, record, status

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

TEXT = 'agent "pay" {\n  rule deny shell.* <script>alert(1)</script>\n}\n'
BETA_TEXT = 'agent "beta" {}\n'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Fleet:
    now: datetime
    acme: str
    pay: str
    search: str
    quiet: str  # registered, never connected, nothing reported
    gone: str  # reported, then deregistered
    beta: str
    beta_stack: str


async def _feed(database: Database, records: list[LogRecord]) -> None:
    processor = FleetProcessor()
    await FleetSink(database).write([processor.process(message(r, i)) for i, r in enumerate(records)])  # type: ignore[misc]


async def _seen(database: Database, stack_id: str, at: datetime) -> None:
    async with database.connection() as conn:
        await conn.execute("UPDATE stacks SET last_seen_at = %s WHERE stack_id = %s", (at, stack_id))


@pytest.fixture
async def fleet(database: Database, stacks: StackStore) -> Fleet:
    now = datetime.now(UTC).replace(microsecond=0)
    acme = (await stacks.create_org("acme", "Acme")).org_id
    beta = (await stacks.create_org("beta", "Beta")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    search, _ = await stacks.register_stack(acme, "search-staging", "staging")
    quiet, _ = await stacks.register_stack(acme, "quiet", "")
    gone, _ = await stacks.register_stack(acme, "gone", "production")
    beta_stack, _ = await stacks.register_stack(beta, "beta-prod", "production")

    applied = status(now - timedelta(hours=1), commit="1" * 40, summary="<b>first</b>",
                     applied_at=now - timedelta(hours=1))
    applied.applied_config.governance_fms, applied.applied_config.governance_sha256 = TEXT, sha(TEXT)
    current = status(now, commit="2" * 40, summary="second", applied_at=now,
                     agents=(("payments-bot", False, True, 2), ("refund-bot", True, False, 0)))
    beta_status = status(now, commit="3" * 40)
    beta_status.applied_config.governance_fms, beta_status.applied_config.governance_sha256 = BETA_TEXT, "f" * 64
    await _feed(database, [
        record(acme, pay.stack_id, 1, "stack_status", applied),
        record(acme, pay.stack_id, 2, "stack_status", current),
        record(acme, pay.stack_id, 3, "daemon_health", health(now)),
        record(acme, pay.stack_id, 4, "budget_snapshot", budget(now, "payments-bot", 9.6, 10.0)),
        record(acme, pay.stack_id, 5, "budget_snapshot", budget(now, "refund-bot", 2.0, 10.0)),
        record(acme, pay.stack_id, 6, "budget_snapshot", budget(now, "ledger-bot", 12.5, 10.0)),  # budget only
        record(acme, pay.stack_id, 7, "credential_expiry", credential(now, "payments-bot", now + timedelta(hours=5))),
        record(acme, pay.stack_id, 8, "credential_expiry", credential(now, "ledger-bot", now + timedelta(hours=30))),
        record(acme, search.stack_id, 1, "daemon_health", health(now, ok=False)),
        record(acme, gone.stack_id, 1, "stack_status", status(now)),
        record(beta, beta_stack.stack_id, 1, "stack_status", beta_status),
        record(beta, beta_stack.stack_id, 2, "daemon_health", health(now)),
        record(beta, beta_stack.stack_id, 3, "budget_snapshot", budget(now, "payments-bot", 9.9, 10.0)),
        record(beta, beta_stack.stack_id, 4, "credential_expiry",
               credential(now, "payments-bot", now + timedelta(hours=2))),
    ])
    await stacks.deregister_stack(acme, gone.stack_id)
    await _seen(database, pay.stack_id, now - timedelta(seconds=5))
    await _seen(database, search.stack_id, now - timedelta(hours=2))
    await _seen(database, beta_stack.stack_id, now - timedelta(seconds=5))
    return Fleet(now, acme, pay.stack_id, search.stack_id, quiet.stack_id, gone.stack_id, beta, beta_stack.stack_id)


@pytest.fixture(params=ADAPTERS)
async def reads(request: pytest.FixtureRequest, database: Database, stacks: StackStore,
                internal_tls: ServiceTls) -> AsyncIterator[FleetReads]:
    async with fleet_adapter(request.param, database, stacks, internal_tls) as adapter:
        yield adapter


async def test_stacks_are_every_registered_stack_by_name_with_sync_state_and_health(
        reads: FleetReads, fleet: Fleet) -> None:
    views = await reads.stacks(fleet.acme, fleet.now)
    assert [v.name for v in views] == ["payments-prod", "quiet", "search-staging"]  # not the deregistered one
    pay, quiet, search = views
    assert isinstance(pay, StackView)
    assert (pay.stack_id, pay.environment, pay.sync_status, pay.health) == (fleet.pay, "production", "connected",
                                                                            "healthy")
    assert (pay.commit, pay.applied_summary, pay.daemon_version, pay.framework, pay.runtime_mode) == (
        "2" * 40, "second", "1.4.2", "langgraph", "enforce")
    assert pay.commit_url == f"https://github.com/acme/gov/commit/{'2' * 40}"
    assert pay.enforcement_layers == ["seccomp", "Landlock"]
    assert pay.platform == {"os": "linux", "arch": "amd64", "kernel": "6.8.0", "hostname": "pay-01"}
    assert (pay.agent_count, pay.active_sessions, pay.uptime_s, pay.lifecycle) == (2, 3, 3600.0, "ready")
    assert pay.last_seen_at == fleet.now - timedelta(seconds=5)
    assert pay.last_apply_at == fleet.now and pay.status_observed_at == fleet.now
    assert (search.sync_status, search.health, search.daemon_version) == ("disconnected", "unhealthy", "")
    # Never connected, nothing reported: absences stay absences, not zeros or the epoch.
    assert (quiet.sync_status, quiet.health, quiet.last_seen_at, quiet.uptime_s, quiet.last_apply_at,
            quiet.status_observed_at, quiet.platform, quiet.environment) == (
        "never connected", "unknown", None, None, None, None, {}, "")
    later = await reads.stacks(fleet.acme, fleet.now + timedelta(hours=1))
    assert [v.sync_status for v in later] == ["disconnected", "never connected", "disconnected"]


async def test_one_stack_by_id(reads: FleetReads, fleet: Fleet) -> None:
    found = await reads.stack(fleet.acme, fleet.pay, fleet.now)
    assert found is not None and found.name == "payments-prod" and found.sync_status == "connected"
    assert (await reads.stack(fleet.acme, fleet.pay, fleet.now + timedelta(hours=1))).sync_status == "disconnected"  # type: ignore[union-attr]
    assert await reads.stack(fleet.acme, fleet.gone) is None
    assert await reads.stack(fleet.acme, "no-such-stack") is None


async def test_agents_with_their_state_budgets_and_credentials(reads: FleetReads, fleet: Fleet) -> None:
    agents = await reads.agents(fleet.acme, fleet.pay)
    assert [a.agent_id for a in agents] == ["ledger-bot", "payments-bot", "refund-bot"]
    ledger, payments, refund = agents
    assert isinstance(payments, AgentView)
    assert (payments.killed, payments.isolated, payments.active_sessions, payments.in_latest_status) == (
        False, True, 2, True)
    assert (refund.killed, refund.isolated) == (True, False)
    # Known only from its budget and credential: no status report ever named it.
    assert (ledger.killed, ledger.isolated, ledger.in_latest_status, ledger.active_sessions) == (None, None, False, 0)
    [b] = payments.budgets
    assert (b.scope, b.spent_usd, b.ceiling_usd, b.used, b.observed_at) == ("daily", 9.6, 10.0, 0.96, fleet.now)
    [c] = payments.credentials
    assert (c.source, c.scope, c.event, c.expires_at, c.credential_key) == (
        "vault", "stripe:refund", "issued", fleet.now + timedelta(hours=5), "cred-1")
    assert await reads.agent(fleet.acme, fleet.pay, "payments-bot") == payments
    assert await reads.agent(fleet.acme, fleet.pay, "nobody") is None
    assert await reads.agents(fleet.acme, fleet.quiet) == []


async def test_apply_history_and_the_governance_texts(reads: FleetReads, fleet: Fleet) -> None:
    history = await reads.apply_history(fleet.acme, fleet.pay)
    assert [(h.commit, h.summary, h.text_sha256) for h in history] == [("2" * 40, "second", ""),
                                                                       ("1" * 40, "<b>first</b>", sha(TEXT))]
    assert history[1].rollback_command == f"git checkout {'1' * 40} -- governance.fms && faramesh apply"
    assert history[0].applied_at == fleet.now and history[1].applied_at == fleet.now - timedelta(hours=1)
    text = await reads.config_text(fleet.acme, fleet.pay, sha(TEXT))
    assert text is not None and (text.sha256, text.text) == (sha(TEXT), TEXT)
    assert text.lines[1] == "  rule deny shell.* <script>alert(1)</script>"
    assert await reads.config_text(fleet.acme, fleet.search, sha(TEXT)) is None  # another stack never applied it
    assert await reads.config_text(fleet.acme, fleet.pay, "0" * 64) is None


async def test_providers(reads: FleetReads, fleet: Fleet) -> None:
    [provider] = await reads.providers(fleet.acme, fleet.pay)
    assert (provider.name, provider.version, provider.capabilities, provider.health, provider.health_message) == (
        "faramesh/vault", "0.3.1", ["SECRETS"], "healthy", "")
    assert (provider.last_success_at, provider.identity_verified_at) == (fleet.now, None)
    assert await reads.providers(fleet.acme, fleet.search) == []


async def test_budgets_near_their_ceiling(reads: FleetReads, fleet: Fleet) -> None:
    near = await reads.budgets_near_ceiling(fleet.acme)
    assert [(b.agent_id, b.spent_usd) for b in near] == [("ledger-bot", 12.5), ("payments-bot", 9.6)]
    wider = await reads.budgets_near_ceiling(fleet.acme, 0.85)
    assert [b.agent_id for b in wider] == ["ledger-bot", "payments-bot", "refund-bot"]
    assert [b.agent_id for b in await reads.budgets_near_ceiling(fleet.acme, 0.0)] == ["ledger-bot"]  # past it


async def test_credentials_expiring_within_a_window(reads: FleetReads, fleet: Fleet) -> None:
    soon = await reads.credentials_expiring(fleet.acme, fleet.now)
    assert [(c.agent_id, c.expires_at) for c in soon] == [("payments-bot", fleet.now + timedelta(hours=5))]
    wider = await reads.credentials_expiring(fleet.acme, fleet.now, timedelta(hours=48))
    assert [c.agent_id for c in wider] == ["payments-bot", "ledger-bot"]  # soonest first
    assert await reads.credentials_expiring(fleet.acme, fleet.now + timedelta(hours=6)) == [
        c for c in wider if c.agent_id == "ledger-bot"]
    assert [c.agent_id for c in await reads.credentials_expiring(fleet.acme)] == ["payments-bot"]  # from now


async def test_budget_burn_per_stack(reads: FleetReads, fleet: Fleet) -> None:
    [burn] = await reads.budget_burn(fleet.acme)
    assert (burn.stack_id, burn.name, burn.spent_usd, burn.ceiling_usd) == (fleet.pay, "payments-prod", 24.1, 30.0)


async def test_contact_minutes_of_a_stack(reads: FleetReads, fleet: Fleet) -> None:
    """Every item fed above was received in the minute of 1_700_000_000 s (``fleet_items.record``)."""
    minute = 1_700_000_000 // 60 * 60 * 10**9
    assert [(m.minute_ns, m.items) for m in await reads.contact(fleet.acme, fleet.pay, 0, 2 * 10**18)] == [(minute, 8)]
    assert await reads.contact(fleet.acme, fleet.pay, minute + 60 * 10**9, 2 * 10**18) == []
    assert await reads.contact(fleet.acme, fleet.quiet, 0, 2 * 10**18) == []
    with pytest.raises(ValueError, match="start < end"):
        await reads.contact(fleet.acme, fleet.pay, 5, 5)


async def test_another_organisations_ids_are_never_answered(reads: FleetReads, fleet: Fleet) -> None:
    acme, beta, theirs = fleet.acme, fleet.beta, fleet.beta_stack
    assert theirs not in {v.stack_id for v in await reads.stacks(acme)}
    assert await reads.stack(acme, theirs) is None
    assert await reads.agents(acme, theirs) == []
    assert await reads.agent(acme, theirs, "payments-bot") is None
    assert await reads.apply_history(acme, theirs) == []
    assert await reads.providers(acme, theirs) == []
    assert await reads.config_text(acme, theirs, sha(BETA_TEXT)) is None
    assert await reads.config_text(acme, fleet.pay, sha(BETA_TEXT)) is None  # their text, under our stack
    assert all(b.stack_id != theirs for b in await reads.budgets_near_ceiling(acme, 1.0))
    assert all(c.stack_id != theirs for c in await reads.credentials_expiring(acme, fleet.now, timedelta(days=9)))
    assert all(b.stack_id != theirs for b in await reads.budget_burn(acme))
    assert await reads.contact(acme, theirs, 0, 2 * 10**18) == []
    assert await reads.contact(beta, fleet.pay, 0, 2 * 10**18) == []
    # And the other way round: beta sees its own, never acme's.
    assert [v.stack_id for v in await reads.stacks(beta)] == [theirs]
    assert await reads.stack(beta, fleet.pay) is None
    assert await reads.agent(beta, fleet.pay, "payments-bot") is None
    assert await reads.config_text(beta, fleet.pay, sha(TEXT)) is None
    assert await reads.config_text(beta, theirs, sha(BETA_TEXT)) is not None
    assert [b.stack_id for b in await reads.budgets_near_ceiling(beta)] == [theirs]


@pytest.mark.parametrize("org_id", ["", "acme", "' OR 1=1 --"])
async def test_an_org_id_that_is_not_one_is_refused(reads: FleetReads, fleet: Fleet, org_id: str) -> None:
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: reads.stacks(org_id), lambda: reads.stack(org_id, fleet.pay), lambda: reads.agents(org_id, fleet.pay),
        lambda: reads.agent(org_id, fleet.pay, "payments-bot"), lambda: reads.apply_history(org_id, fleet.pay),
        lambda: reads.config_text(org_id, fleet.pay, sha(TEXT)), lambda: reads.providers(org_id, fleet.pay),
        lambda: reads.budgets_near_ceiling(org_id), lambda: reads.credentials_expiring(org_id),
        lambda: reads.budget_burn(org_id), lambda: reads.contact(org_id, fleet.pay, 0, 1)]
    for i, call in enumerate(calls):
        with pytest.raises(ValueError, match="is not an organisation id"):
            await call()
            pytest.fail(f"call {i} answered")


async def test_both_adapters_give_identical_answers(database: Database, stacks: StackStore, internal_tls: ServiceTls,
                                                    fleet: Fleet) -> None:
    """Every port method, for every stack and agent of both organisations, compared value for
    value (dataclass equality: every field, ``None`` included) between the two adapters."""
    async def answers(reads: FleetReads) -> list[Any]:
        out: list[Any] = []
        for org in (fleet.acme, fleet.beta):
            out += [await reads.stacks(org, fleet.now), await reads.budget_burn(org),
                    await reads.budgets_near_ceiling(org), await reads.budgets_near_ceiling(org, 0.5),
                    await reads.credentials_expiring(org, fleet.now, timedelta(days=3))]
            for stack_id in (fleet.pay, fleet.search, fleet.quiet, fleet.gone, fleet.beta_stack):
                agents = await reads.agents(org, stack_id)
                out += [await reads.stack(org, stack_id, fleet.now), agents, await reads.apply_history(org, stack_id),
                        await reads.providers(org, stack_id), await reads.config_text(org, stack_id, sha(TEXT)),
                        await reads.config_text(org, stack_id, sha(BETA_TEXT))]
                out += [await reads.agent(org, stack_id, a.agent_id) for a in agents]
                out.append(await reads.contact(org, stack_id, 0, 2 * 10**18))
        return out

    results = {}
    for kind in ADAPTERS:
        async with fleet_adapter(kind, database, stacks, internal_tls) as reads:
            results[kind] = await answers(reads)
    local, remote = results["in-process"], results["grpc"]
    assert len(local) == len(remote) > 60
    assert sum(1 for a in local if a) >= 30  # half of them hold something (the rest: isolation, absences)
    for i, (a, b) in enumerate(zip(local, remote, strict=True)):
        assert a == b, i
