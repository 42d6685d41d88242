"""Billing tests' shared parts: a billing service on this test's database and log with a
clock the test moves, and the events other services write, made with those services' own
codecs (what their outbox relays append)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from faramesh_cloud.billing.service import Billing, BillingConfig
from faramesh_cloud.compliance.changes import ArtifactRecorded
from faramesh_cloud.compliance.events import encode as compliance_encode
from faramesh_cloud.consumer.runner import RunnerConfig
from faramesh_cloud.events.topics import DEAD_LETTERS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry.events import VersionPublished
from faramesh_cloud.registry.events import encode as registry_encode

ACTOR = Actor.system("billing-test")


def billing(database: Any, log: Any, clock: Any, **overrides: Any) -> Billing:
    values: dict[str, Any] = dict(clock=clock, meter_interval_s=3600.0, runner=RunnerConfig(
        max_batch_records=500, max_batch_seconds=0.05, poll_records=500, dead_letter_topic=DEAD_LETTERS))
    values.update(overrides)
    return Billing(database, log, BillingConfig(**values))


def report_recorded(org_id: str, at: datetime, *, kind: str = "report") -> LogRecord:
    return compliance_encode(ArtifactRecorded(
        event_id=str(uuid.uuid4()), occurred_at=at, org_id=org_id, actor=ACTOR, artifact_id=str(uuid.uuid4()),
        kind=kind, title="SOC 2 report", parameters={}, sha256="0" * 64, size=1234, filename="r.pdf",
        media_type="application/pdf", verification_hash="", report_id=str(uuid.uuid4())))


def version_published(org_id: str, at: datetime, name: str, size: int) -> LogRecord:
    return registry_encode(VersionPublished(str(uuid.uuid4()), at, ACTOR, "policy", name, "1.0.0", "publish",
                                            "community", "key-1", "a" * 64, org_id, size))
