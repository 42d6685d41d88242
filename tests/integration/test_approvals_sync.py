"""Approvals over the real sync channel: IngestService (gRPC, TLS 1.3) answering
PollDecisions / PollEmergencyCommands from the approvals service on real PostgreSQL, and the
reference daemon simulator applying what it is handed; ingest asks the approvals service over
its internal gRPC API (DaemonControlService on loopback, mutual TLS with the ingest
service's certificate). A Cloud decision reaches the daemon,
is acknowledged, and the daemon's next DPR records it; a kill is acknowledged and every later
call of that agent is denied with KILL_SWITCH_ACTIVE."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.approvals.domain import Verdict
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.config import Settings
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.sync_client import SyncError
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec
from faramesh_cloud.simulator.sync import SyncOptions
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import ClientFor, MakeTenant, TlsPair
from tests.fixtures.internal_tls import ServiceTls
from tests.simulator_support import FAST, eventually, free_port, wal_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

OPERATOR = Actor(ActorType.USER, "33333333-3333-3333-3333-333333333333", "ops@example.com")


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog, internal_tls: ServiceTls) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log, ApprovalsConfig(sweep_interval_s=0.2, internal_address="127.0.0.1:0",
                                                                internal_tls=internal_tls("approvals")))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


@pytest.fixture
async def ingest_with_approvals(database: Database, postgres_log: PostgresLog, stack_store: StackStore,
                                sync_tls: TlsPair, approvals: Approvals, internal_tls: ServiceTls,
                                tmp_path: Path) -> AsyncIterator[IngestService]:
    settings = Settings(data_dir=tmp_path / "cloud", sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    assert approvals.server is not None
    # Ingest reaches the approvals service only through its internal gRPC API.
    service = IngestService(settings, postgres_log, database, stack_store, FAST,
                            control=ApprovalsClient(approvals.server.address, internal_tls("ingest")))
    await service.start()
    yield service
    await service.stop()


def _records(stack_dir: Path) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in wal_records(stack_dir)]


async def test_decision_and_kill_reach_the_daemon_and_show_in_its_records(
        ingest_with_approvals: IngestService, approvals: Approvals, tenant: MakeTenant, sync_tls: TlsPair,
        tmp_path: Path) -> None:
    t = await tenant()
    org, stack_id = t.org.org_id, t.stack.stack_id
    fleet = Fleet([StackSpec("a", t.key)], tmp_path / "sim",
                  Connection(f"127.0.0.1:{ingest_with_approvals.port}", sync_tls.cert_pem),
                  DaemonOptions(agents=3, rate_per_s=40.0, tick_s=0.02, seed=7),
                  SyncOptions(backoff_initial_s=0.05, backoff_max_s=0.3))
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=10))
    try:
        async def some_pending() -> bool:
            return bool(await approvals.queries.pending(org))
        await eventually(some_pending, "a pending approval pushed by the daemon", within_s=60)
        item = (await approvals.queries.pending(org))[0]
        decision = await approvals.decisions.decide(org, item.approval_id, OPERATOR, Verdict.APPROVE,
                                                    "customer verified by phone")

        async def acknowledged() -> bool:
            found = await approvals.queries.delivery(org, decision.decision_id)
            return found is not None and found[1] is not None
        await eventually(acknowledged, "the daemon acknowledged the decision", within_s=60)
        _, _, outcome, record_id = await approvals.queries.delivery(org, decision.decision_id)  # type: ignore[misc]
        assert outcome == "accepted" and record_id

        # The daemon's next DPR for that call is the resumed PERMIT carrying the envelope.
        resumed = [r for r in _records(tmp_path / "sim" / "a") if r["record_id"] == record_id]
        assert len(resumed) == 1
        assert resumed[0]["effect"] == "PERMIT" and resumed[0]["reason_code"] == "APPROVAL_GRANTED"
        envelope = json.loads(str(resumed[0]["approval_envelope"]))
        assert envelope["token"] == item.defer_token and envelope["approved"] is True
        assert envelope["reason"] == "customer verified by phone"

        # The daemon pushed the resolution back: Cloud shows it approved, not pending.
        async def resolved() -> bool:
            got = await approvals.queries.get(org, item.approval_id)
            return got.state == "approved" and got.resolution_reason == "customer verified by phone"
        await eventually(resolved, "the approval resolved in Cloud", within_s=30)

        # Kill an agent: delivered, applied, acknowledged; its later calls are denied.
        agent = item.agent_id
        command = await approvals.commands.issue(org, stack_id, agent, OPERATOR, "runaway refunds", "kill",
                                                 permitted=True)

        async def command_done() -> bool:
            return (await approvals.commands.get(org, command.command_id)).state == "acknowledged"
        await eventually(command_done, "the daemon acknowledged the kill", within_s=60)
        done = await approvals.commands.get(org, command.command_id)
        assert done.outcome == "applied" and done.dpr_record_id and done.delivered_at is not None
        daemon = fleet.daemons[0]
        written = daemon.records_written
        await eventually(lambda: daemon.records_written > written + 30, "more calls after the kill", within_s=60)
    finally:
        stop.set()
        await run
    assert fleet.errors == []
    records = _records(tmp_path / "sim" / "a")
    index = next(i for i, r in enumerate(records) if r["record_id"] == done.dpr_record_id)
    assert records[index]["reason_code"] == "KILL_SWITCH_ACTIVE"
    later = [r for r in records[index + 1:] if r["agent_id"] == agent]
    assert later and all(r["effect"] == "DENY" and r["reason_code"] == "KILL_SWITCH_ACTIVE" for r in later)


async def test_polls_fail_unavailable_while_the_approvals_service_is_down(
        database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
        tenant: MakeTenant, client_for: ClientFor, internal_tls: ServiceTls, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "cloud", sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: the approvals service is down
    service = IngestService(settings, postgres_log, database, stack_store, FAST,
                            control=ApprovalsClient(nowhere, internal_tls("ingest"), timeout_s=2.0))
    await service.start()
    try:
        t = await tenant()
        client = client_for(service, t.key)
        with pytest.raises(SyncError) as polled:
            await client.poll_decisions(10, 0.0)
        assert polled.value.code == grpc.StatusCode.UNAVAILABLE and "approvals service" in polled.value.message
        with pytest.raises(SyncError) as commands:
            await client.poll_emergency_commands()
        assert commands.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        await service.stop()


@pytest.fixture
async def quiet_approvals(database: Database, postgres_log: PostgresLog,
                          internal_tls: ServiceTls) -> AsyncIterator[Approvals]:
    """The approvals service re-reading only once a minute: a held poll returns early only
    when a decision's NOTIFY wakes it."""
    service = Approvals(database, postgres_log, ApprovalsConfig(group="approvals-quiet", poll_recheck_s=60.0,
                                                                internal_address="127.0.0.1:0",
                                                                internal_tls=internal_tls("approvals")))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


async def test_a_long_poll_is_held_until_a_decision_for_its_stack_commits(
        database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
        quiet_approvals: Approvals, tenant: MakeTenant, client_for: ClientFor, internal_tls: ServiceTls,
        tmp_path: Path) -> None:
    from tests.approvals_support import pending_event, push_events

    settings = Settings(data_dir=tmp_path / "cloud", sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    assert quiet_approvals.server is not None
    service = IngestService(settings, postgres_log, database, stack_store,
                            dataclasses.replace(FAST, max_poll_wait_s=50.0),
                            control=ApprovalsClient(quiet_approvals.server.address, internal_tls("ingest")))
    await service.start()
    try:
        t, other = await tenant(), await tenant()
        org, stack_id = t.org.org_id, t.stack.stack_id
        await push_events(postgres_log, org, stack_id, [pending_event("0000a001")])

        async def projected() -> bool:
            return bool(await quiet_approvals.queries.pending(org))
        await eventually(projected, "the pending approval projected", within_s=30)
        [item] = await quiet_approvals.queries.pending(org)
        client, bystander = client_for(service, t.key), client_for(service, other.key)

        # An old daemon (no wait) is answered at once, empty.
        assert list((await client.poll_decisions(10)).deliveries) == []
        held = asyncio.create_task(client.poll_decisions(10, wait_s=50.0))
        elsewhere = asyncio.create_task(bystander.poll_decisions(10, wait_s=50.0))
        await asyncio.sleep(0.5)
        assert not held.done()  # nothing to hand out: the call is held
        decision = await quiet_approvals.decisions.decide(org, item.approval_id, OPERATOR, Verdict.DENY, "no")
        # Woken by the decision's NOTIFY (re-reads happen only once a minute here, and the
        # wait is 50 s): the delivery comes back on the held call.
        response = await asyncio.wait_for(held, 30)
        assert [d.delivery_id for d in response.deliveries] == [decision.decision_id]
        assert not elsewhere.done()  # another stack's poll stays held

        # Stopping ingest answers a held poll at once (empty), it does not fail it.
        await service.stop()
        assert list((await asyncio.wait_for(elsewhere, 30)).deliveries) == []
    finally:
        await service.stop()


async def test_defers_the_daemon_resolves_itself_are_withdrawn_in_cloud(
        ingest_with_approvals: IngestService, approvals: Approvals, tenant: MakeTenant, sync_tls: TlsPair,
        tmp_path: Path) -> None:
    from faramesh_cloud.approvals.domain import Conflict

    t = await tenant()
    org = t.org.org_id
    fleet = Fleet([StackSpec("a", t.key)], tmp_path / "sim",
                  Connection(f"127.0.0.1:{ingest_with_approvals.port}", sync_tls.cert_pem),
                  DaemonOptions(agents=2, rate_per_s=40.0, tick_s=0.02, seed=11, local_resolve_share=1.0,
                                local_resolve_after_s=0.5),
                  SyncOptions(backoff_initial_s=0.05, backoff_max_s=0.3))
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=10))
    try:
        async def both_kinds() -> bool:
            withdrawn = [a for a in await approvals.queries.history(org) if a.state == "withdrawn"]
            return ({"withdrawn"} <= {a.daemon_state for a in withdrawn}
                    and bool({"approved", "denied"} & {a.daemon_state for a in withdrawn}))
        await eventually(both_kinds, "defers resolved on the daemon host and withdrawn in Cloud", within_s=90)
    finally:
        stop.set()
        await run
    assert fleet.errors == []
    withdrawn = [a for a in await approvals.queries.history(org) if a.state == "withdrawn"]
    verdict = next(a for a in withdrawn if a.daemon_state in ("approved", "denied"))
    assert verdict.resolution_source == "local" and verdict.resolved_by == "local-cli"
    with pytest.raises(Conflict, match=f"it was {verdict.daemon_state} on the daemon host by local-cli") as refused:
        await approvals.decisions.decide(org, verdict.approval_id, OPERATOR, Verdict.APPROVE, "late")
    assert refused.value.code == "withdrawn"
    ended = next(a for a in withdrawn if a.daemon_state == "withdrawn")
    assert ended.resolution_reason == "agent session ended before a decision"
    # The daemon's records: the CLI's verdict is the agent's next DPR, with its envelope.
    records = _records(tmp_path / "sim" / "a")
    resumed = [r for r in records if r.get("approval_envelope")
               and json.loads(str(r["approval_envelope"]))["token"] == verdict.defer_token]
    assert len(resumed) == 1
    assert resumed[0]["reason_code"] == ("APPROVAL_GRANTED" if verdict.daemon_state == "approved" else "APPROVAL_DENIED")


async def test_the_emergency_poll_interval_is_configurable_and_told_in_hello(
        database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
        tenant: MakeTenant, client_for: ClientFor, tmp_path: Path) -> None:
    from faramesh_cloud.config import ConfigError

    settings = Settings.load(env={"FARAMESH_CLOUD_EMERGENCY_POLL_INTERVAL_S": "7.5"}, data_dir=tmp_path / "cloud",
                             sync_host="127.0.0.1", sync_port=0, tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    service = IngestService(settings, postgres_log, database, stack_store)
    await service.start()
    try:
        t = await tenant()
        hello = await client_for(service, t.key).hello("6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5")
        assert hello.emergency_poll_interval.ToNanoseconds() == 7_500_000_000
    finally:
        await service.stop()
    with pytest.raises(ConfigError, match="emergency_poll_interval_s=0 is out of range"):
        Settings.load(env={"FARAMESH_CLOUD_EMERGENCY_POLL_INTERVAL_S": "0"})


async def test_a_daemon_that_polls_plainly_still_gets_and_acknowledges_decisions(
        ingest_with_approvals: IngestService, approvals: Approvals, tenant: MakeTenant, sync_tls: TlsPair,
        tmp_path: Path) -> None:
    t = await tenant()
    org = t.org.org_id
    fleet = Fleet([StackSpec("p", t.key)], tmp_path / "sim",
                  Connection(f"127.0.0.1:{ingest_with_approvals.port}", sync_tls.cert_pem),
                  DaemonOptions(agents=2, rate_per_s=40.0, tick_s=0.02, seed=5),
                  SyncOptions(backoff_initial_s=0.05, backoff_max_s=0.3, decision_wait_s=0.0,
                              decision_poll_interval_s=0.3))
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=10))
    try:
        async def some_pending() -> bool:
            return bool(await approvals.queries.pending(org))
        await eventually(some_pending, "a pending approval pushed by the daemon", within_s=60)
        item = (await approvals.queries.pending(org))[-1]
        decision = await approvals.decisions.decide(org, item.approval_id, OPERATOR, Verdict.DENY, "not now")

        async def acknowledged() -> bool:
            found = await approvals.queries.delivery(org, decision.decision_id)
            return found is not None and found[1] is not None
        await eventually(acknowledged, "the polling daemon acknowledged the decision", within_s=60)
    finally:
        stop.set()
        await run
    assert fleet.errors == [] and fleet.syncs[0].status.decision_polls >= 2
    _, _, outcome, record_id = await approvals.queries.delivery(org, decision.decision_id)  # type: ignore[misc]
    assert outcome == "accepted" and record_id
