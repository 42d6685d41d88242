"""Pack alerts' pure parts: which imports name catalog artifacts (read by the FPL preview's
``parse_imports``, as the daemon reads them), the typed ``PackAlertRaised`` /
``PackAlertClosed`` records and what the approvals service makes of them, and which registry
events wake the alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from faramesh_cloud_api.registry.v1 import events_pb2
from faramesh_cloud_api.sync.v1 import deliveries_pb2

from faramesh_cloud.approvals.pack_alerts import PackAlertQueued, pack_alert
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import (
    H_EVENT_ID,
    H_KIND,
    H_ORG,
    H_STACK,
    REGISTRY_EVENTS,
    SYNC_ITEMS,
)
from faramesh_cloud.log.port import LogRecord, Message
from faramesh_cloud.registry.alert_consumers import CATALOG, SignalProcessor
from faramesh_cloud.registry.alerts import Imported, closed_record, imports_in, raised_record
from tests.registry_alert_support import alert

ORG = str(uuid.uuid4())
HOST = "github.com/faramesh/faramesh-registry"


def _message(record: LogRecord, topic: str = REGISTRY_EVENTS) -> Message:
    return Message(topic, 0, 7, record.key, record.value, dict(record.headers), 0)


def test_imports_are_read_as_the_daemon_reads_them_and_only_pinned_catalog_ones_count() -> None:
    text = f'''import "{HOST}/policies/faramesh/stripe@1.0.0"
import "{HOST}/frameworks/langgraph@1.0.0" as lg
import "{HOST}/providers/faramesh/vault@1.0.0"
import "{HOST}/policies/faramesh/shell@latest"
import "{HOST}/widgets/faramesh/x@1.0.0"
import "registry.example.com/policies/acme/pack@2.0.0"
agent "a" {{
  default deny
  # import "{HOST}/policies/faramesh/github@1.0.0"
}}
'''
    assert imports_in(text) == [
        Imported("policy", "faramesh/stripe", "1.0.0", f"{HOST}/policies/faramesh/stripe@1.0.0"),
        Imported("framework", "langgraph", "1.0.0", f"{HOST}/frameworks/langgraph@1.0.0"),
        Imported("provider", "faramesh/vault", "1.0.0", f"{HOST}/providers/faramesh/vault@1.0.0"),
    ]
    assert imports_in("this is { not FPL") == []  # never raises


def test_a_raised_alert_is_a_typed_event_the_approvals_service_delivers_as_it_is() -> None:
    raised = alert()
    record = raised_record(ORG, "payments-prod", raised)
    assert record.key == f"{ORG}/payments-prod".encode() and record.headers[H_KIND] == b"PackAlertRaised"
    event = events_pb2.PackAlertRaised.FromString(record.value)
    assert (event.org_id, event.stack_id, event.alert, event.occurred_at) == (ORG, "payments-prod", raised,
                                                                                raised.raised_at)
    assert raised_record(ORG, "payments-prod", raised).headers[H_EVENT_ID] == record.headers[H_EVENT_ID]

    queued = pack_alert(_message(record))
    assert isinstance(queued, PackAlertQueued)
    delivery = deliveries_pb2.Delivery.FromString(queued.payload)
    assert (queued.org_id, queued.stack_id, queued.delivery_id) == (ORG, "payments-prod", raised.alert_id)
    assert delivery.registry_pack_alert == raised and delivery.delivery_id == raised.alert_id


def test_the_approvals_service_refuses_an_alert_whose_body_names_another_stack_and_skips_a_closed_one() -> None:
    record = raised_record(ORG, "payments-prod", alert())
    other = str(uuid.uuid4())
    moved = LogRecord(record.key, record.value, {**record.headers, H_ORG: other.encode()})
    refused = pack_alert(_message(moved))
    assert isinstance(refused, Rejected) and "under the headers of" in refused.reason
    renamed = LogRecord(record.key, record.value, {**record.headers, H_STACK: b"staging"})
    assert isinstance(pack_alert(_message(renamed)), Rejected)
    closed = closed_record(ORG, "payments-prod", str(uuid.uuid4()), "superseded", datetime.now(UTC))
    assert closed.headers[H_KIND] == b"PackAlertClosed" and pack_alert(_message(closed)) is None
    assert events_pb2.PackAlertClosed.FromString(closed.value).reason == "superseded"


def test_only_a_version_published_or_yanked_wakes_every_organisation_and_a_stack_status_its_own() -> None:
    signals = SignalProcessor()

    def kind(name: bytes, topic: str = REGISTRY_EVENTS, org: bytes = b"") -> str | None:
        return signals.process(Message(topic, 0, 0, b"k", b"", {H_KIND: name, H_ORG: org}, 0))
    assert kind(b"VersionPublished") == CATALOG and kind(b"VersionYanked") == CATALOG
    assert kind(b"KeyAdded") is None and kind(b"PackAlertRaised") is None and kind(b"PackAlertClosed") is None
    assert kind(b"stack_status", SYNC_ITEMS, ORG.encode()) == ORG
    assert kind(b"agent_state", SYNC_ITEMS, ORG.encode()) is None
