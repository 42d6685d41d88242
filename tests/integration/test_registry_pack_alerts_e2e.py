"""Registry pack version alerts end to end (issue 15 item 6), as ``serve registry`` runs them:
the registry service started by its wiring (seeding the real catalog, its outbox relay, and
the alerts reading the fleet through the fleet's internal gRPC API with the registry's
certificate). A daemon (the real sync client, TLS 1.3 gRPC to IngestService) pushes its stack
status whose applied governance.fms imports ``faramesh/stripe@1.0.0``.

* A newer official version arrives the way official versions reach an install: a catalog
  snapshot carrying ``faramesh/stripe@1.1.0`` (its signature verified against the pinned
  official key) is seeded by the registry's own ``seed``; its ``VersionPublished`` wakes the
  alerts; the daemon's PollDecisions (the approvals service, over its internal API) hands it
  exactly one RegistryPackAlert (INFO); it acknowledges it and Cloud shows the alert
  acknowledged with the daemon's message.
* The registry's yank command yanks 1.0.0 (state, ``VersionYanked``, registry-log entry):
  one CRITICAL alert (the INFO one is closed as superseded: ``PackAlertClosed``).
* Sweeping again raises nothing; a stack of another organisation importing nothing sees
  nothing.

Publishing by a publisher (``registry-publish``: submit, approve) reaches the alerts the same
way (its ``VersionPublished``); this test moves to it once that command is on main."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faramesh_cloud_api.registry.v1 import events_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2, fleet_pb2, registry_pb2

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.events.topics import H_KIND, REGISTRY_EVENTS
from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.alert_service import RegistryAlerts
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.service import RegistryService
from faramesh_cloud.registry.snapshot import load_snapshot
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.rpc.sync_client import push_item
from faramesh_cloud.runtime import registry_wiring
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import ClientFor, MakeTenant, TlsPair, read_topic
from tests.integration.test_gateway_daemon_feeds import _settings, free_port
from tests.registry_alert_support import newer_catalog
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
REVIEWER = Actor(ActorType.USER, "u-1", "reviewer@example.com")


@dataclass
class Cloud:
    ingest: IngestService
    registry: RegistryService

    @property
    def alerts(self) -> RegistryAlerts:
        assert self.registry.registry.alerts is not None
        return self.registry.registry.alerts


@pytest.fixture
async def cloud(database: Database, postgres_log: PostgresLog, stack_store: StackStore, sync_tls: TlsPair,
                tmp_path: Path) -> AsyncIterator[Cloud]:
    settings = _settings(tmp_path / "cloud", sync_tls, registry_http_port=free_port())
    approvals = Approvals(database, postgres_log, ApprovalsConfig(
        group="approvals-e2e-alerts", sweep_interval_s=0.2, internal_address=settings.internal_bind_address(
            "approvals"), internal_tls=service_credentials(settings, "approvals")))
    fleet = FleetProjection(database, postgres_log, stack_store, group="fleet-e2e-alerts",
                            internal_address=settings.internal_bind_address("fleet"),
                            internal_tls=service_credentials(settings, "fleet"))
    await approvals.start()
    await approvals.caught_up()
    await fleet.start()
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    registry = registry_wiring.service(RuntimeContext(platform, "now", [], ("registry",)))  # `serve registry`
    await registry.start()
    ingest = IngestService(settings, postgres_log, database, stack_store, FAST, control=ApprovalsClient(
        settings.internal_dial_address("approvals"), service_credentials(settings, "ingest")))
    await ingest.start()
    try:
        yield Cloud(ingest, registry)
    finally:
        await ingest.stop()
        await registry.stop()
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
        cloud: Cloud, database: Database, postgres_log: PostgresLog, tenant: MakeTenant, client_for: ClientFor,
        tmp_path: Path) -> None:
    reg, alerts = cloud.registry.registry, cloud.alerts
    t = await tenant()
    other = await tenant(name="payments-prod")  # another organisation, a stack of the same name
    org, stack_id = t.org.org_id, t.stack.stack_id
    daemon = client_for(cloud.ingest, t.key)
    buffer = str(uuid.uuid4())
    await daemon.hello(buffer)
    await daemon.push(buffer, [push_item(1, _status(GOVERNANCE))])
    reads = cloud.registry.alert_reads

    async def imported() -> bool:
        await alerts.sweep({org})
        async with database.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM registry_stack_imports WHERE org_id = %s",
                                            (org,))).fetchone()
        return row is not None and row[0] == 1
    await eventually(imported, "the stack's import read through the fleet's gRPC API", within_s=30)
    assert await reads.open_alerts(org) == []  # 1.0.0 is the latest: nothing to say

    assert await seed(database, reg.store, reg.blobs, load_snapshot(newer_catalog(tmp_path))) == 1

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
    assert alert.details_url == "/registry/policies/faramesh%2Fstripe"
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

    yanked = await reg.yank("policy", STRIPE, "1.0.0", "refund rule lets any amount through", REVIEWER)
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
    other_daemon = client_for(cloud.ingest, other.key)
    assert list((await other_daemon.poll_decisions(10)).deliveries) == []

    on_topic = await read_topic(postgres_log, REGISTRY_EVENTS)
    kinds = [m.headers[H_KIND].decode() for m in on_topic]
    assert kinds.count("PackAlertRaised") == 2 and kinds.count("PackAlertClosed") == 1
    [closed] = [events_pb2.PackAlertClosed.FromString(m.value) for m in on_topic
                if m.headers[H_KIND] == b"PackAlertClosed"]
    assert (closed.alert_id, closed.reason, closed.org_id) == (alert.alert_id, "superseded", org)
    [yank_event] = [events_pb2.VersionYanked.FromString(m.value) for m in on_topic
                    if m.headers[H_KIND] == b"VersionYanked"]
    assert (yank_event.event_id, yank_event.name, yank_event.version) == (yanked.event_id, STRIPE, "1.0.0")
    async with database.transaction() as conn:
        entries = [e for e in await translog.read_entries(conn) if e.action == "yanked"]
    assert [(e.subject, e.body["reason"]) for e in entries] == [
        ({"kind": "policy", "name": STRIPE, "version": "1.0.0"}, "refund rule lets any amount through")]


async def _alert_count(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM registry_alerts")).fetchone()
    return int(row[0]) if row else 0
