"""Billing's processors (pure): one log message to one ``Tick`` of a meter, or nothing.

* ``dpr.records.v1`` (``DecisionCounter``): one DPR ingested = one governed decision, in the
  month ingest received it. Read from the headers only (``org``, ``received_ns``): the record
  is never decoded, so counting costs little beside the index's hot path (bench/billing_count.py).
* ``sync.items.v1`` (``StackStatusProcessor``): a ``stack_status`` item marks its stack
  connected in that month (headers only).
* ``compliance.events.v1`` (``ReportProcessor``): an ``ArtifactRecorded`` of kind ``report``.
* ``registry.events.v1`` (``RegistryProcessor``): a ``VersionPublished`` by an organisation
  adds its ``size_bytes`` to that organisation's registry storage.

A message without a readable organisation is passed over (``None``): the services that own
those topics park malformed records with their reasons; billing has nothing to bill."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

import msgspec
from faramesh_cloud_api.compliance.v1 import events_pb2 as compliance_pb
from faramesh_cloud_api.registry.v1 import events_pb2 as registry_pb
from google.protobuf.message import DecodeError

from faramesh_cloud.billing.domain import Meter, month_of_ns
from faramesh_cloud.events.topics import H_KIND, H_ORG, H_RECEIVED_NS, H_STACK
from faramesh_cloud.log.port import Message

COUNT: Final = ""  # a Tick without an item adds ``amount`` to the month's count


class Tick(msgspec.Struct, frozen=True, gc=False):
    """One measurement: ``meter`` of ``org_id`` in ``month``; ``item`` names a distinct thing
    (a stack, a report, a registry version: counted once however often it is seen), else the
    amount adds to a count."""

    topic: str
    partition: int
    offset: int
    org_id: str
    month: str
    meter: str
    item: str
    amount: int


def _org(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        return str(uuid.UUID(raw.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return None


def _received_month(message: Message) -> str | None:
    try:
        ns = int(message.headers.get(H_RECEIVED_NS, b"0"))
    except ValueError:
        return None
    return month_of_ns(ns) if ns > 0 else None


def month_bounds(ns: int) -> tuple[int, int, str]:
    """(first ns, first ns of the next month, "YYYY-MM") of the UTC month holding ``ns``."""
    at = datetime.fromtimestamp(ns / 1e9, UTC)
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    end = datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000_000, int(end.timestamp()) * 1_000_000_000, start.strftime("%Y-%m")


class DecisionCounter:
    """Counts on the hot path: an organisation header already checked and the month of the
    last record are remembered (per instance; each runner has its own), so a record costs two
    header reads, a dict lookup and an integer comparison (bench/billing_bench.py)."""

    def __init__(self) -> None:
        self._orgs: dict[bytes, str | None] = {}
        self._month: tuple[int, int, str] = (0, 0, "")

    def process(self, message: Message) -> Tick | None:
        raw = message.headers.get(H_ORG) or b""
        org = self._orgs.get(raw, "")
        if org == "":
            if len(self._orgs) > 10_000:
                self._orgs.clear()
            org = self._orgs[raw] = _org(raw)
        try:
            ns = int(message.headers.get(H_RECEIVED_NS, b"0"))
        except ValueError:
            return None
        if org is None or ns <= 0:
            return None
        start, end, month = self._month
        if not start <= ns < end:
            self._month = start, end, month = month_bounds(ns)
        return Tick(message.topic, message.partition, message.offset, org, month, Meter.DECISIONS.value, COUNT, 1)


class StackStatusProcessor:
    def process(self, message: Message) -> Tick | None:
        if message.headers.get(H_KIND) != b"stack_status":
            return None
        org = _org(message.headers.get(H_ORG))
        month = _received_month(message)
        stack = message.headers.get(H_STACK, b"").decode("utf-8", "replace")
        if org is None or month is None or not stack:
            return None
        return Tick(message.topic, message.partition, message.offset, org, month, Meter.STACKS.value, stack, 1)


def _month_of_stamp(seconds: int, nanos: int) -> str | None:
    return month_of_ns(seconds * 1_000_000_000 + nanos) if seconds > 0 else None


class ReportProcessor:
    def process(self, message: Message) -> Tick | None:
        if message.headers.get(H_KIND) != b"ArtifactRecorded":
            return None
        try:
            event = compliance_pb.ArtifactRecorded.FromString(message.value)
        except DecodeError:
            return None
        org = _org(event.org_id.encode()) or _org(message.headers.get(H_ORG))
        month = _month_of_stamp(event.occurred_at.seconds, event.occurred_at.nanos)
        if event.kind != "report" or org is None or month is None or not event.artifact_id:
            return None
        return Tick(message.topic, message.partition, message.offset, org, month, Meter.REPORTS.value,
                    event.artifact_id, 1)


class RegistryProcessor:
    def process(self, message: Message) -> Tick | None:
        if message.headers.get(H_KIND) != b"VersionPublished":
            return None
        try:
            event = registry_pb.VersionPublished.FromString(message.value)
        except DecodeError:
            return None
        org = _org(event.org_id.encode())
        month = _month_of_stamp(event.occurred_at.seconds, event.occurred_at.nanos)
        if org is None or month is None:
            return None  # the official namespace and the mirror belong to nobody's bill
        return Tick(message.topic, message.partition, message.offset, org, month, Meter.REGISTRY_BYTES.value,
                    f"{event.kind}/{event.name}@{event.version}", int(event.size_bytes))
