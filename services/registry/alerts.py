"""Registry pack version alerts (issue 15 item 6), the pure part: what an import is, when an
imported version deserves an alert, the alert's id, and its events on ``registry.events.v1``.

A stack imports ``github.com/faramesh/faramesh-registry/<kind>/<name>@<version>`` in its
applied governance.fms. When the artifact has a newer published (non-yanked, non-prerelease)
version, the stack gets one INFO alert per (organisation, stack, artifact, imported version,
latest version); when the imported version is yanked, one CRITICAL alert per (…, yank). The
alert's id is uuid5 of that key, so evaluating again (every sweep, every trigger) finds the
alert already raised and raises nothing; it is also the id of the delivery that carries the
alert to the daemon (the approvals service, ``approvals/pack_alerts.py``).

Events: ``pack_alert_raised`` (value: the sync v1 ``RegistryPackAlert`` exactly as the daemon
receives it) and ``pack_alert_closed`` (value: the same alert; header ``reason``), keyed
``<org_id>/<stack_id>`` with headers ``org``, ``stack``, ``kind`` and ``event-id``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

from faramesh_cloud_api.sync.v1 import registry_pb2

from faramesh_cloud.events.topics import H_EVENT_ID, H_KIND, H_ORG, H_STACK, stack_key
from faramesh_cloud.fpl import parse
from faramesh_cloud.log.port import LogRecord

RAISED: Final = "pack_alert_raised"
CLOSED: Final = "pack_alert_closed"
H_REASON: Final = "reason"
REGISTRY_PREFIX: Final = "github.com/faramesh/faramesh-registry/"
KINDS: Final = {"providers": "provider", "policies": "policy", "frameworks": "framework"}
PLURALS: Final = {v: k for k, v in KINDS.items()}
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


def imported(ref: str) -> Imported | None:
    """The artifact an import reference names (None: not a pinned registry import)."""
    if not ref.startswith(REGISTRY_PREFIX) or "@" not in ref:
        return None
    path, _, version = ref[len(REGISTRY_PREFIX):].rpartition("@")
    plural, _, name = path.partition("/")
    kind = KINDS.get(plural)
    if kind is None or not name or not version or version == "latest":
        return None
    return Imported(kind, name, version.removeprefix("v"), ref)


def imports_in(governance_fms: str) -> list[Imported]:
    """The pinned registry imports of an applied governance.fms (FplSyntaxError if it does
    not parse). TODO(registry-fpl): ``faramesh_cloud.fpl.preview.parse_imports`` once it lands."""
    found = (imported(i.ref) for i in parse(governance_fms).imports)
    return [i for i in found if i is not None]


def alert_key(org_id: str, stack_id: str, imp: Imported, latest: str, yanked: bool) -> str:
    """The alert's id (and its delivery's): the same however often it is evaluated."""
    why = "yanked" if yanked else f"newer:{latest}"
    return str(uuid.uuid5(NAMESPACE, "/".join((str(uuid.UUID(org_id)), stack_id, imp.kind, imp.name,
                                                imp.version, why))))


def details_url(base_url: str, imp: Imported) -> str:
    """The artifact's page in Cloud's registry section."""
    return f"{base_url.rstrip('/')}/registry/{PLURALS[imp.kind]}/{quote(imp.name, safe='')}"


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


def record(kind: str, org_id: str, stack_id: str, alert: registry_pb2.RegistryPackAlert, reason: str = "") -> LogRecord:
    """A ``registry.events.v1`` record about one alert (its event id: the alert's and the kind's)."""
    headers = {H_ORG: org_id.encode(), H_STACK: stack_id.encode(), H_KIND: kind.encode(),
               H_EVENT_ID: str(uuid.uuid5(NAMESPACE, f"{kind}/{alert.alert_id}")).encode()}
    if reason:
        headers[H_REASON] = reason.encode()
    return LogRecord(stack_key(org_id, stack_id), alert.SerializeToString(deterministic=True), headers)
