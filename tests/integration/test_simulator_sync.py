"""The simulator against a real ingest server (gRPC over TLS 1.3, PostgresLog): records
arrive byte-identical and verify, a Cloud outage loses and doubles nothing, rate limits and
rejected keys are handled as docs/sync-api.md says."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path

import pytest
from faramesh_cloud_api.sync.v1 import push_pb2

from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.events.topics import Origin
from faramesh_cloud.ingest.limits import IngestLimits
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec
from faramesh_cloud.simulator.sync_parts import SyncOptions
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeTenant, TlsPair
from tests.integration.audit_support import all_pages, fast_config, run_index
from tests.simulator_support import (
    FAST,
    Cloud,
    cloud_fixture,  # noqa: F401
    eventually,
    read_log,
    record_key,
    stack_keys,
    verify,
    wal_records,
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

QUICK_RETRY = SyncOptions(backoff_initial_s=0.05, backoff_max_s=0.3)


def fleet_for(cloud: Cloud, specs: list[StackSpec], directory: Path, **options: object) -> Fleet:
    daemon = DaemonOptions(**{"agents": 3, "rate_per_s": 300.0, "tick_s": 0.02, "status_interval_s": 0.3,
                              "budget_interval_s": 0.2, "credential_interval_s": 0.2, **options})  # type: ignore[arg-type]
    return Fleet(specs, directory, Connection(cloud.target, cloud.tls.cert_pem), daemon, QUICK_RETRY)


async def test_records_reach_the_log_byte_identical_and_every_chain_verifies(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, tmp_path: Path
) -> None:
    first = await tenant(name="payments-prod")
    second = await tenant(first.org, name="support-staging")
    tenants = {"a": first, "b": second}
    fleet = fleet_for(cloud, [StackSpec(label, t.key) for label, t in tenants.items()], tmp_path / "sim")
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
    await eventually(lambda: len(fleet.daemons) == 2 and all(d.records_written >= 300 for d in fleet.daemons),
                     "300 records per stack")
    await eventually(lambda: all(s.status.decision_polls and s.status.emergency_polls for s in fleet.syncs),
                     "decision and emergency polls answered")
    stop.set()
    await run

    assert fleet.errors == []
    assert all(d.buffer.queued == 0 for d in fleet.daemons)  # drained: everything acknowledged
    view = await read_log(postgres_log)
    assert view.dead_letters == []
    for label, t in tenants.items():
        stack_dir = tmp_path / "sim" / label
        written = wal_records(stack_dir)
        assert view.dprs[t.stack.stack_id] == written  # byte for byte, in WAL order
        verifier, findings = verify(view.dprs[t.stack.stack_id], stack_keys(stack_dir))
        assert findings == []
        assert set(verifier.chains) == {"payments-bot", "support-triage", "code-reviewer"}
        signatures = {k for chain in verifier.chains.values() for k in chain.signatures}
        assert signatures == {"valid", "unsigned"}  # a mix of Ed25519-signed and HMAC-only records
        last = fleet.daemons[list(tenants).index(label)].buffer.last_sequence
        assert sorted(view.sequences[t.stack.stack_id]) == list(range(1, last + 1))
        assert {"stack_status", "daemon_health", "budget_snapshot", "credential_expiry",
                "approval_event"} <= view.kinds[t.stack.stack_id]
    for sync in fleet.syncs:
        assert (sync.status.stack_name, sync.status.org_id) in {
            (t.stack.name, t.org.org_id) for t in tenants.values()}
        assert sync.status.failures == 0


@pytest.mark.chdb
async def test_an_outage_buffers_everything_and_catch_up_delivers_each_record_once(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, database: Database, tmp_path: Path,
    chdb_data_dir: Path, olap_database: str,
) -> None:
    acme = await tenant()
    fleet = fleet_for(cloud, [StackSpec("s", acme.key)], tmp_path / "sim", agents=2, rate_per_s=200.0)
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
    await eventually(lambda: bool(fleet.daemons) and fleet.daemons[0].buffer.acked_through >= 100, "first acks")
    daemon, sync = fleet.daemons[0], fleet.syncs[0]

    await cloud.stop()
    down_at = daemon.buffer.last_sequence
    await eventually(lambda: sync.status.state == "retrying" and sync.status.failures >= 3, "failed retries")
    await eventually(lambda: daemon.buffer.last_sequence >= down_at + 200, "records written while down")
    acked_while_down = daemon.buffer.acked_through
    held = await daemon.buffer.sequences()
    assert held == list(range(acked_while_down + 1, daemon.buffer.last_sequence + 1))  # nothing dropped
    assert all(0 < wait <= 0.3 for wait in sync.status.retry_waits)  # backed off, within the cap

    await cloud.start()
    await eventually(lambda: sync.status.state == "connected" and daemon.buffer.acked_through > down_at + 200,
                     "catch-up after the outage")
    stop.set()
    await run

    assert fleet.errors == []
    view = await read_log(postgres_log)
    on_log = view.dprs[acme.stack.stack_id]
    written = wal_records(tmp_path / "sim" / "s")
    org, stack = acme.org.org_id, acme.stack.stack_id
    assert {record_key(org, stack, r) for r in on_log} == {record_key(org, stack, r) for r in written}
    assert len(set(on_log)) == len(written)
    # Every sequence reached the log; a repeat is only possible for a push whose answer was lost.
    assert set(view.sequences[stack]) == set(range(1, daemon.buffer.last_sequence + 1))
    first_copies = list(dict.fromkeys(on_log))
    assert first_copies == written  # in WAL order
    _, findings = verify(first_copies, stack_keys(tmp_path / "sim" / "s"))
    assert findings == []

    # What a user sees: the audit index over that log returns every record exactly once.
    olap = ChdbOlap(chdb_data_dir)
    try:
        await run_index(database, postgres_log, olap, fast_config(olap_database), len(on_log))
        found = await all_pages(AuditQueries(olap, database, AuditTables(olap_database)), org, limit=1000)
    finally:
        olap.close()
    expected = sorted(record_key(org, stack, r)[1:4] for r in written)
    assert sorted((r.stack_id, r.agent_id, r.record_id) for r in found) == expected


async def test_rate_limited_pushes_wait_as_long_as_cloud_says_and_deliver_everything(
    database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
    tenant: MakeTenant, tmp_path: Path
) -> None:
    limits = IngestLimits(max_push_items=50, rate_per_s=400.0, rate_burst=50.0)
    cloud = Cloud(database, postgres_log, stack_store, sync_tls, tmp_path / "cloud",
                  dataclasses.replace(FAST, limits=limits))
    await cloud.start()
    try:
        acme = await tenant()
        fleet = fleet_for(cloud, [StackSpec("s", acme.key)], tmp_path / "sim", rate_per_s=0.0)
        stop = asyncio.Event()
        run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
        await eventually(lambda f=fleet: bool(f.daemons), "the daemon")  # type: ignore[misc]
        await fleet.daemons[0].write_decisions(600)
        await eventually(lambda: fleet.daemons[0].buffer.queued == 0, "all 600 delivered")
        stop.set()
        await run
    finally:
        await cloud.stop()
    sync = fleet.syncs[0]
    assert "RESOURCE_EXHAUSTED" in sync.status.last_error  # Cloud did push back
    # Waiting out each hint means about one refusal per push; retrying at once would be
    # refused hundreds of times before the bucket refills.
    assert sync.status.failures < 2 * sync.status.pushes + 5, (sync.status.failures, sync.status.pushes)
    assert fleet.errors == []
    view = await read_log(postgres_log)
    assert view.dprs[acme.stack.stack_id] == wal_records(tmp_path / "sim" / "s")


async def test_a_rejected_key_stops_sync_with_a_clear_error_and_keeps_the_buffer(
    cloud: Cloud, tenant: MakeTenant, stack_store: StackStore, tmp_path: Path
) -> None:
    acme = await tenant()
    await stack_store.deregister_stack(acme.org.org_id, acme.stack.stack_id)  # its key stops working
    fleet = fleet_for(cloud, [StackSpec("s", acme.key)], tmp_path / "sim", rate_per_s=100.0)
    stop = asyncio.Event()
    await asyncio.wait_for(fleet.run(stop), 60)  # ends by itself: no stack can sync

    assert len(fleet.errors) == 1
    assert "refused the stack API key (UNAUTHENTICATED" in fleet.errors[0]
    assert "stays buffered" in fleet.errors[0]
    assert fleet.syncs[0].status.state == "stopped"
    from faramesh_cloud.simulator.buffer import SyncBuffer

    buffer = await SyncBuffer.open(tmp_path / "sim" / "s" / "sync-buffer.db")
    try:
        assert buffer.acked_through == 0 and buffer.queued == buffer.last_sequence > 0
    finally:
        await buffer.close()


async def test_unknown_buffer_ids_start_at_zero_and_a_new_buffer_is_a_new_sequence_space(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, tmp_path: Path
) -> None:
    """A simulator whose buffer file is lost starts a new buffer id; Cloud takes its
    sequence 1 as new (not as already held) and dedupe stays the projections' job."""
    acme = await tenant()
    for attempt in range(2):
        fleet = fleet_for(cloud, [StackSpec("s", acme.key)], tmp_path / "sim", rate_per_s=0.0)
        stop = asyncio.Event()
        run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
        await eventually(lambda f=fleet: bool(f.daemons), "the daemon")  # type: ignore[misc]
        await fleet.daemons[0].write_decisions(20)
        stop.set()
        await run
        assert fleet.daemons[0].buffer.queued == 0
        if attempt == 0:
            first_id = fleet.daemons[0].buffer.buffer_id
            for path in (tmp_path / "sim" / "s").glob("sync-buffer.db*"):
                path.unlink()
    assert fleet.daemons[0].buffer.buffer_id != first_id
    uuid.UUID(fleet.daemons[0].buffer.buffer_id)
    view = await read_log(postgres_log)
    # The WAL was re-read into the new buffer, so Cloud got the first 20 again (dedupe is
    # downstream) plus the 20 new ones, and every record of the WAL is there.
    written = wal_records(tmp_path / "sim" / "s")
    assert set(view.dprs[acme.stack.stack_id]) == set(written)
    assert len(written) == 40


async def test_a_rejected_item_is_logged_and_dropped_and_the_rest_still_flows(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acme = await tenant()
    fleet = fleet_for(cloud, [StackSpec("s", acme.key)], tmp_path / "sim", rate_per_s=0.0)
    await fleet.open()
    daemon = fleet.daemons[0]
    [bad] = await daemon.buffer.enqueue([push_pb2.DprRecord(record_json=b"{not json")], enqueued_ns=1)
    await daemon.write_decisions(20)
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
    await eventually(lambda: daemon.buffer.queued == 0 and daemon.buffer.last_sequence > bad, "everything acked")
    stop.set()
    await run

    assert fleet.syncs[0].status.rejected == 1
    assert any(f"rejected item {bad}" in r.getMessage() and "MALFORMED" in r.getMessage() for r in caplog.records)
    view = await read_log(postgres_log)
    assert [Origin.from_headers(m.headers).sequence for m in view.dead_letters] == [bad]
    assert view.dprs[acme.stack.stack_id] == wal_records(tmp_path / "sim" / "s")
