"""Registry pack alerts as the registry puts them on ``registry.events.v1`` (``PackAlertRaised``,
key ``<org>/<stack>``, headers org / stack / kind / event-id; its ``alert`` the sync v1
``RegistryPackAlert``), for tests of the services that consume them."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from faramesh_cloud_api.sync.v1 import registry_pb2

from faramesh_cloud.events.topics import H_KIND, REGISTRY_EVENTS
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.registry.alerts import raised_record
from faramesh_cloud.registry.snapshot import SEED_DIR


def alert(name: str = "faramesh/stripe", current: str = "1.0.0", latest: str = "1.1.0", *,
          yanked: bool = False, alert_id: str | None = None) -> registry_pb2.RegistryPackAlert:
    message = registry_pb2.RegistryPackAlert(
        alert_id=alert_id or str(uuid.uuid4()),
        current=registry_pb2.RegistryArtifact(kind=registry_pb2.REGISTRY_ARTIFACT_KIND_POLICY, name=name,
                                              version=current),
        latest_version=latest, yanked=yanked,
        severity=registry_pb2.ALERT_SEVERITY_CRITICAL if yanked else registry_pb2.ALERT_SEVERITY_INFO,
        summary=f"{name} {latest} is published", details_url=f"/registry/policies/{name}")
    message.raised_at.FromDatetime(datetime.now(UTC))
    return message


async def append_alert(log: Log, org_id: str, stack_id: str, message: registry_pb2.RegistryPackAlert,
                       *, kind: bytes | None = None) -> None:
    """``message`` raised for the stack, as the registry writes it (``kind``: another header)."""
    record = raised_record(org_id, stack_id, message)
    if kind is not None:
        record = LogRecord(record.key, record.value, {**record.headers, H_KIND: kind})
    await log.append(REGISTRY_EVENTS, [record])


def newer_catalog(root: Path, name: str = "faramesh/stripe", old: str = "1.0.0", new: str = "1.1.0") -> Path:
    """The shipped catalog as a later release would ship it: with policy ``name``@``new`` (its
    files those of ``old``, so its official signature verifies), in ``root/catalog``."""
    catalog = root / "catalog"
    shutil.copytree(SEED_DIR, catalog)
    folder = catalog / "artifacts" / "policies" / name
    shutil.copytree(folder / old, folder / new)
    index = json.loads((catalog / "catalog.json").read_text())
    [entry] = [p for p in index["policies"] if p["name"] == name]
    entry["versions"][new] = f"artifacts/policies/{name}/{new}/policy.fpl"
    entry["latest_version"] = new
    (catalog / "catalog.json").write_text(json.dumps(index))
    return catalog
