"""Registry pack version alerts (issue 15 item 6), the pure part: what an import is, when an
imported version deserves an alert, the alert's id, and its events on ``registry.events.v1``.

A stack imports ``github.com/faramesh/faramesh-registry/<kind>/<name>@<version>`` in its
applied governance.fms. When the artifact has a newer published (non-yanked, non-prerelease)
version, the stack gets one INFO alert per (organisation, stack, artifact, imported version,
latest version); when the imported version is yanked, one CRITICAL alert per (…, yank). The
alert's id is uuid5 of that key, so evaluating again (every sweep, every trigger) finds the
alert already raised and raises nothing; it is also the id of the delivery that carries the
alert to the daemon (the approvals service, ``approvals/pack_alerts.py``).

Events (``proto/faramesh_cloud_api/registry/v1/events.proto``): ``PackAlertRaised`` (carrying
the sync v1 ``RegistryPackAlert`` exactly as the daemon receives it) and ``PackAlertClosed``
(the alert's id and why), keyed ``<org_id>/<stack_id>`` with headers ``org``, ``stack``,
``kind`` (the message name) and ``event-id`` (uuid5 of the kind and the alert id: raising or
closing the same alert again writes the same event id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

from faramesh_cloud_api.registry.v1 import events_pb2
from faramesh_cloud_api.sync.v1 import registry_pb2

from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, stack_key
from faramesh_cloud.fpl.preview import REGISTRY_HOST, ImportRef, parse_imports
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.registry.domain import Kind

RAISED: Final = events_pb2.PackAlertRaised.DESCRIPTOR.name
CLOSED: Final = events_pb2.PackAlertClosed.DESCRIPTOR.name
SUPERSEDED: Final = "superseded"
NOT_IMPORTED: Final = "not_imported"
WIRE_KINDS: Final = {"provider": registry_pb2.REGISTRY_ARTIFACT_KIND_PROVIDER,
                     "policy": registry_pb2.REGISTRY_ARTIFACT_KIND_POLICY,
                     "framework": registry_pb2.REGISTRY_ARTIFACT_KIND_FRAMEWORK}
NAMESPACE: Final = uuid.UUID("6d1c0a3e-6a57-5b8e-9a51-0c2f3b7d4e19")  # never change: alert ids depend on it


@dataclass(frozen=True, slots=True)
class Imported:
    """One registry artifact a stack's applied governance.fms imports at one exact version."""

    kind: str  # provider | policy | framework
    name: str
    version: str
    import_path: str


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    org_id: str
    stack_id: str
    imported: Imported
    latest_version: str  # '' when a yanked version has no published successor
    yanked: bool
    summary: str
    details_url: str
    raised_at: datetime

    @property
    def severity(self) -> str:
        return "critical" if self.yanked else "info"


def imported(ref: ImportRef) -> Imported | None:
    """The catalog artifact an import names (None: one the daemon refuses, or another registry's)."""
    if not ref.ok or ref.host != REGISTRY_HOST or not ref.kind:
        return None
    return Imported(ref.kind, ref.name, ref.version.removeprefix("v"), ref.import_path.strip().strip('"'))


def imports_in(governance_fms: str) -> list[Imported]:
    """The pinned registry imports of an applied governance.fms, read as the daemon reads them
    (``fpl.preview.parse_imports``: never raises; an import it refuses names nothing)."""
    found = (imported(ref) for ref in parse_imports(governance_fms))
    return [i for i in found if i is not None]


def alert_key(org_id: str, stack_id: str, imp: Imported, latest: str, yanked: bool) -> str:
    """The alert's id (and its delivery's): the same however often it is evaluated."""
    why = "yanked" if yanked else f"newer:{latest}"
    return str(uuid.uuid5(NAMESPACE, "/".join((str(uuid.UUID(org_id)), stack_id, imp.kind, imp.name,
                                                imp.version, why))))


def details_url(base_url: str, imp: Imported) -> str:
    """The artifact's page in Cloud's registry section."""
    return f"{base_url.rstrip('/')}/registry/{Kind(imp.kind).plural}/{quote(imp.name, safe='')}"


def decide(org_id: str, stack_id: str, imp: Imported, imported_yanked: bool, newer: str | None, latest: str,
           base_url: str, now: datetime) -> Alert | None:
    """The alert an import deserves now: CRITICAL when its version is yanked, INFO when a
    newer published version exists (``newer``), none otherwise."""
    if imported_yanked:
        upgrade = f"; upgrade to {latest}" if latest else "; no published version replaces it"
        summary = f"{imp.name} {imp.version} was yanked from the registry{upgrade}"
        return Alert(alert_key(org_id, stack_id, imp, latest, True), org_id, stack_id, imp, latest, True, summary,
                     details_url(base_url, imp), now)
    if newer:
        summary = f"{imp.name} {newer} is published (this stack imports {imp.version})"
        return Alert(alert_key(org_id, stack_id, imp, newer, False), org_id, stack_id, imp, newer, False, summary,
                     details_url(base_url, imp), now)
    return None


def message(alert: Alert) -> registry_pb2.RegistryPackAlert:
    """The alert as the daemon receives it (sync v1)."""
    imp = alert.imported
    out = registry_pb2.RegistryPackAlert(
        alert_id=alert.alert_id,
        current=registry_pb2.RegistryArtifact(kind=WIRE_KINDS[imp.kind], name=imp.name, version=imp.version,
                                              import_path=imp.import_path),
        latest_version=alert.latest_version,
        severity=registry_pb2.ALERT_SEVERITY_CRITICAL if alert.yanked else registry_pb2.ALERT_SEVERITY_INFO,
        yanked=alert.yanked, summary=alert.summary, details_url=alert.details_url)
    out.raised_at.FromDatetime(alert.raised_at)
    return out


def _headers(kind: str, org_id: str, stack_id: str, alert_id: str) -> dict[str, bytes]:
    return {H_ORG: org_id.encode(), H_STACK: stack_id.encode(), H_KIND: kind.encode(),
            H_EVENT_ID: event_id(kind, alert_id).encode()}


def event_id(kind: str, alert_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{alert_id}"))


def raised_record(org_id: str, stack_id: str, alert: registry_pb2.RegistryPackAlert) -> LogRecord:
    """``PackAlertRaised`` on ``registry.events.v1``."""
    body = events_pb2.PackAlertRaised(event_id=event_id(RAISED, alert.alert_id), org_id=org_id, stack_id=stack_id,
                                      alert=alert)
    body.occurred_at.CopyFrom(alert.raised_at)
    return LogRecord(stack_key(org_id, stack_id), body.SerializeToString(deterministic=True),
                     _headers(RAISED, org_id, stack_id, alert.alert_id))


def closed_record(org_id: str, stack_id: str, alert_id: str, reason: str, at: datetime) -> LogRecord:
    """``PackAlertClosed`` on ``registry.events.v1``."""
    body = events_pb2.PackAlertClosed(event_id=event_id(CLOSED, alert_id), org_id=org_id, stack_id=stack_id,
                                      alert_id=alert_id, reason=reason)
    body.occurred_at.FromDatetime(at)
    return LogRecord(stack_key(org_id, stack_id), body.SerializeToString(deterministic=True),
                     _headers(CLOSED, org_id, stack_id, alert_id))
