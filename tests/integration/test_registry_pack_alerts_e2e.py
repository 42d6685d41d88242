"""Registry pack version alerts end to end (issue 15 item 6), through the wire: a daemon (the
real sync client, TLS 1.3 gRPC to IngestService) pushes its stack status whose applied
governance.fms imports ``faramesh/stripe@1.0.0``; the fleet projects it; the registry's
alerts read it through the fleet's internal gRPC API with the registry's certificate. When
1.1.0 is published, the daemon's PollDecisions (answered by the approvals service over its
internal API) hands it exactly one RegistryPackAlert (INFO); it acknowledges it and Cloud
shows the alert acknowledged with the daemon's message. Yanking 1.0.0 raises one CRITICAL
alert (the INFO one is closed as superseded); sweeping again raises nothing; a stack of
another organisation importing nothing sees nothing.

The catalog rows are written by :func:`publish_version` / :func:`yank_version` below, a
stand-in for the registry service's publish and yank commands (``registry-core``), with the
event those commands put on ``registry.events.v1``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faramesh_cloud_api.sync.v1 import deliveries_pb2, fleet_pb2, registry_pb2

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, REGISTRY_EVENTS
from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.registry.alert_reads import AlertReads
from faramesh_cloud.registry.alert_service import AlertsConfig, RegistryAlerts
from faramesh_cloud.registry.alert_sweep import AlertEvaluator
from faramesh_cloud.registry.alerts import imports_in
from faramesh_cloud.rpc.sync_client import push_item
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import ClientFor, MakeTenant, TlsPair
from tests.fixtures.internal_tls import ServiceTls
from tests.simulator_support import FAST, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

STRIPE = "faramesh/stripe"
GOVERNANCE = f'''import "github.com/faramesh/faramesh-registry/policies/{STRIPE}@1.0.0"

agent "payments-bot" {{
  default deny
  rules {{
    permit stripe/charge
  }}
}}
'''


async def publish_version(db: Database, log: PostgresLog, name: str, version: str) -> None:
    """Stand-in for the registry's publish command: the version's row and its event."""
    major, minor, patch = (int(p) for p in version.split("."))
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO registry_keys (key_id, public_key, origin, created_at) VALUES "
                           "('alerts-test', %s, 'cloud', %s) ON CONFLICT DO NOTHING", (os.urandom(32), now))
        await conn.execute("INSERT INTO registry_publishers (namespace, state, claimed_at) VALUES "
                           "('faramesh', 'confirmed', %s) ON CONFLICT DO NOTHING", (now,))
        await conn.execute("INSERT INTO registry_artifacts (kind, name, namespace, trust_tier, created_at) VALUES "
                           "('policy', %s, 'faramesh', 'official', %s) ON CONFLICT DO NOTHING", (name, now))
        await conn.execute(
            "INSERT INTO registry_versions (kind, name, version, major, minor, patch, published_at, source, "
            "body_sha256, signature, key_id) VALUES ('policy', %s, %s, %s, %s, %s, %s, 'publish', %s, '{}', "
            "'alerts-test')", (name, version, major, minor, patch, now, hashlib.sha256(version.encode()).hexdigest()))
    await _catalog_event(log, "VersionPublished", name)


async def yank_version(db: Database, log: PostgresLog, name: str, version: str) -> None:
    """Stand-in for the registry's yank command."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE registry_versions SET state = 'yanked', yanked_at = now(), yank_reason = 'test' "
                           "WHERE kind = 'policy' AND name = %s AND version = %s", (name, version))
    await _catalog_event(log, "VersionYanked", name)


async def _catalog_event(log: PostgresLog, kind: str, name: str) -> None:
    await log.append(REGISTRY_EVENTS, [LogRecord(f"policy/{name}".encode(), json.dumps({"name": name}).encode(), {
        H_ORG: b"", H_STACK: b"", H_KIND: kind.encode(), H_EVENT_ID: str(uuid.uuid4()).encode()})])


@pytest.fixture
async def cloud(database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
                internal_tls: ServiceTls, tmp_path: Path) -> AsyncIterator[tuple[IngestService, Approvals,
                                                                                  RegistryAlerts]]:
    approvals = Approvals(database, postgres_log, ApprovalsConfig(
        group="approvals-e2e-alerts", sweep_interval_s=0.2, internal_address="127.0.0.1:0",
        internal_tls=internal_tls("approvals")))
    fleet = FleetProjection(database, postgres_log, stack_store, group="fleet-e2e-alerts",
                            internal_address="127.0.0.1:0", internal_tls=internal_tls("fleet"))
    await approvals.start()
    await approvals.caught_up()
    await fleet.start()
    assert approvals.server is not None and fleet.server is not None
    fleet_client = FleetQueryClient(fleet.server.address, internal_tls("registry"))
    evaluator = AlertEvaluator(database, fleet_client, imports_in, lambda: datetime.now(UTC),
                               base_url="https://cloud.example.com")
    alerts = RegistryAlerts(database, postgres_log, evaluator, AlertsConfig(
        group="registry-alerts-e2e", sweep_interval_s=3600, settle_s=0.3))
    await alerts.start()
    relay = OutboxRelay(database, postgres_log, "registry_outbox")  # the registry service's relay
    settings = Settings(data_dir=tmp_path / "cloud", sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    ingest = IngestService(settings, postgres_log, database, stack_store, FAST,
                           control=ApprovalsClient(approvals.server.address, internal_tls("ingest")))
    await ingest.start()
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    try:
        yield ingest, approvals, alerts
    finally:
        stop.set()
        await relaying
        await ingest.stop()
        await alerts.stop()
        await fleet_client.close()
        await fleet.stop()
        await approvals.stop()


def _status(text: str) -> fleet_pb2.StackStatus:
    status = fleet_pb2.StackStatus(daemon_version="1.4.2", runtime_mode=fleet_pb2.RUNTIME_MODE_ENFORCE,
                                   applied_config=fleet_pb2.AppliedConfig(
                                       git_commit="a1b2c3d4e5f6", governance_fms=text,
                                       governance_sha256=hashlib.sha256(text.encode()).hexdigest()))
    status.observed_at.FromDatetime(datetime.now(UTC))
    status.applied_config.applied_at.FromDatetime(datetime.now(UTC))
    return status


async def test_publish_and_yank_reach_the_daemon_once_each_and_show_acknowledged(
        cloud: tuple[IngestService, Approvals, RegistryAlerts], database: Database, postgres_log: PostgresLog,
        tenant: MakeTenant, client_for: ClientFor) -> None:
    ingest, _, alerts = cloud
    await publish_version(database, postgres_log, STRIPE, "1.0.0")
    t = await tenant()
    other = await tenant(name="payments-prod")  # another organisation, a stack of the same name
    org, stack_id = t.org.org_id, t.stack.stack_id
    daemon = client_for(ingest, t.key)
    buffer = str(uuid.uuid4())
    await daemon.hello(buffer)
    await daemon.push(buffer, [push_item(1, _status(GOVERNANCE))])
    reads = AlertReads(database)

    async def imported() -> bool:
        await alerts.sweep({org})
        async with database.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM registry_stack_imports WHERE org_id = %s",
                                            (org,))).fetchone()
        return row is not None and row[0] == 1
    await eventually(imported, "the stack's import read through the fleet", within_s=30)
    assert await reads.open_alerts(org) == []  # 1.0.0 is the latest: nothing to say

    await publish_version(database, postgres_log, STRIPE, "1.1.0")  # the trigger: registry.events.v1

    async def one_delivery() -> list[deliveries_pb2.Delivery]:
        return list((await daemon.poll_decisions(10)).deliveries)
    await eventually(one_delivery, "the alert handed to the daemon", within_s=30)
    [delivery] = await one_delivery()
    alert = delivery.registry_pack_alert
    assert delivery.WhichOneof("payload") == "registry_pack_alert" and delivery.delivery_id == alert.alert_id
    assert (alert.current.name, alert.current.version, alert.latest_version, alert.yanked) == (STRIPE, "1.0.0",
                                                                                                "1.1.0", False)
    assert alert.current.kind == registry_pb2.REGISTRY_ARTIFACT_KIND_POLICY
    assert alert.severity == registry_pb2.ALERT_SEVERITY_INFO
    assert alert.details_url == "https://cloud.example.com/registry/policies/faramesh%2Fstripe"
    assert alert.current.import_path == f"github.com/faramesh/faramesh-registry/policies/{STRIPE}@1.0.0"

    await daemon.ack_decisions([deliveries_pb2.DeliveryAck(
        delivery_id=delivery.delivery_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED,
        message="alert recorded")])
    assert list((await daemon.poll_decisions(10)).deliveries) == []

    async def acknowledged() -> bool:
        shown = await reads.open_alerts(org, stack_id)
        return len(shown) == 1 and shown[0].acked_at is not None
    await eventually(acknowledged, "Cloud shows the daemon's acknowledgement", within_s=30)
    [shown] = await reads.open_alerts(org, stack_id)
    assert (shown.outcome, shown.message, shown.latest_version, shown.yanked) == ("accepted", "alert recorded",
                                                                                  "1.1.0", False)

    await yank_version(database, postgres_log, STRIPE, "1.0.0")
    await eventually(one_delivery, "the yank alert handed to the daemon", within_s=30)
    [yank] = await one_delivery()
    assert yank.registry_pack_alert.yanked and yank.registry_pack_alert.severity == registry_pb2.ALERT_SEVERITY_CRITICAL
    assert yank.registry_pack_alert.latest_version == "1.1.0"
    [open_now] = await reads.open_alerts(org, stack_id)
    assert open_now.yanked and open_now.severity == "critical"  # the INFO alert was superseded

    before = await _alert_count(database)
    assert await alerts.sweep() == 0 and await alerts.sweep() == 0  # every organisation, twice: nothing new
    assert await _alert_count(database) == before == 2
    assert await reads.open_alerts(other.org.org_id) == []
    other_daemon = client_for(ingest, other.key)
    assert list((await other_daemon.poll_decisions(10)).deliveries) == []


async def _alert_count(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM registry_alerts")).fetchone()
    return int(row[0]) if row else 0
