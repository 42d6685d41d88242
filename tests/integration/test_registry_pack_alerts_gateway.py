"""Registry pack alerts where people look (issue 15 item 6): a stack's Providers and Config
tabs and Home's attention panel list the organisation's open alerts, read through the
registry's ``AlertReads`` as the gateway mounts them under ``up``: artifact (linked to the
Registry section), imported → latest, yanked, raised, and what the daemon did (acknowledged
with its message, or not taken yet). The alerts are made by the real evaluator from the
stack's synced governance.fms (fleet projection) and the seeded catalog: a newer snapshot
brings ``faramesh/stripe@1.1.0``, the yank command yanks ``faramesh/demo@0.1.0``. Another
organisation sees none of them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faramesh_cloud_api.approvals.v1 import events_pb2 as approvals_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2
from fastapi import FastAPI

from faramesh_cloud.events.topics import APPROVAL_EVENTS, H_KIND, H_ORG
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.web.pack_alerts import mount_pack_alerts
from faramesh_cloud.log.port import Log, Message
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.registry.alert_consumers import DeliveryProcessor, DeliverySink
from faramesh_cloud.registry.alert_reads import AlertReads
from faramesh_cloud.registry.alert_sweep import AlertEvaluator
from faramesh_cloud.registry.seed import seed
from faramesh_cloud.registry.snapshot import load_snapshot
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People
from tests.fleet_items import record, status
from tests.integration.test_fleet_api import feed, signed_in
from tests.registry_alert_support import newer_catalog
from tests.registry_support import registry

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

HOST = "github.com/faramesh/faramesh-registry"
GOVERNANCE = f'''import "{HOST}/policies/faramesh/stripe@1.0.0"
import "{HOST}/policies/faramesh/demo@0.1.0"

agent "payments-bot" {{
  default deny
}}
'''


async def _acknowledge(database: Database, org: str, alert_id: str, text: str) -> None:
    """The daemon's acknowledgement as the approvals service reports it (``DeliveryAcknowledged``
    on approvals.events.v1), through the registry's consumer of it."""
    ack = approvals_pb2.DeliveryAcknowledged(event_id=str(uuid.uuid4()), org_id=org, stack_id="-",
                                             delivery_id=alert_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED,
                                             message=text)
    ack.occurred_at.FromDatetime(datetime.now(UTC))
    row = DeliveryProcessor().process(Message(APPROVAL_EVENTS, 0, 1, b"k", ack.SerializeToString(), {
        H_KIND: b"DeliveryAcknowledged", H_ORG: org.encode()}, 0))
    await DeliverySink(database).write([row])  # type: ignore[list-item]


def _rows(html: str) -> list[str]:
    table = html.split('id="pack-alerts"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.split(">", 1)[1])).strip()
            for r in table.split("<tr data-alert")[1:]]


async def test_the_stack_tabs_and_home_list_open_pack_alerts_with_what_the_daemon_did(
        gateway_app: FastAPI, client_factory: MakeClient, people: People, stacks: StackStore, database: Database,
        postgres_log: Log, tmp_path: Path) -> None:
    mount_pack_alerts(gateway_app, AlertReads(database))
    acme, beta = await people.org("acme"), await people.org("beta")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    theirs, _ = await stacks.register_stack(beta.org.org_id, "payments-prod", "production")
    applied = status(datetime.now(UTC))
    applied.applied_config.governance_fms = GOVERNANCE
    await feed(database, [record(org, pay.stack_id, 1, "stack_status", applied),
                          record(beta.org.org_id, theirs.stack_id, 1, "stack_status", status(datetime.now(UTC)))])
    owner = await signed_in(client_factory, acme)
    quiet = (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/providers")).text
    assert 'id="no-pack-alerts"' in quiet and 'id="pack-alerts"' not in quiet

    reg = registry(database, postgres_log, tmp_path)
    await seed(database, reg.store, reg.blobs, load_snapshot(newer_catalog(tmp_path)))  # stripe 1.1.0 arrives
    await reg.yank("policy", "faramesh/demo", "0.1.0", "demo only", Actor(ActorType.USER, "u", "r@example.com"))
    evaluator = AlertEvaluator(database, FleetQuery(database, stacks), lambda: datetime.now(UTC))
    assert await evaluator.refresh(org) == 2 and await evaluator.refresh(beta.org.org_id) == 0
    assert await evaluator.raise_due([org, beta.org.org_id]) == 2
    [stripe] = [a for a in await AlertReads(database).open_alerts(org) if a.name == "faramesh/stripe"]
    await _acknowledge(database, org, stripe.alert_id, "alert recorded")

    for tab in ("providers", "config"):
        page = (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/{tab}")).text
        assert 'id="no-pack-alerts"' not in page
        demo, upgrade = sorted(_rows(page))
        assert upgrade.startswith("faramesh/stripe policy 1.0.0 → 1.1.0 info")
        assert upgrade.endswith("acknowledged (accepted): alert recorded")
        assert demo.startswith("faramesh/demo policy 0.1.0 yanked → none published critical")
        assert demo.endswith("waiting for the daemon")
        assert 'href="/o/acme/registry/policies/faramesh/stripe"' in page

    home = (await owner.get("/o/acme/")).text
    items = re.findall(r'<li data-kind="pack_alert">(.*?)</li>', home)
    assert len(items) == 2
    assert any("Newer registry version" in i and "faramesh/stripe on payments-prod: 1.0.0 → 1.1.0" in i
               and "acknowledged (accepted): alert recorded" in i for i in items)
    assert any("Yanked registry version" in i and 'class="bad"' in i and "faramesh/demo on payments-prod: 0.1.0 was "
               "yanked" in i for i in items)

    other = await signed_in(client_factory, beta)
    assert 'data-kind="pack_alert"' not in (await other.get("/o/beta/")).text
    assert 'id="no-pack-alerts"' in (await other.get(f"/o/beta/fleet/stacks/{theirs.stack_id}/providers")).text
    await reg.blobs.close()
