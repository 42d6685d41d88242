"""The forwarding processor: one ``dpr.records.v1`` message to one ``Forwardable`` (pure).

Tenancy comes from the log headers (never the body). Only what forwarding and the decision
counts need is read from the record (id, effect, created_at); the DPR is forwarded as the
daemon wrote it. A message without origin headers, whose ``org`` header is not an organisation
id (a UUID), or whose record is not a JSON object with a ``record_id`` and a valid
``created_at``, is rejected (dead-lettered with the reason): the audit index parks the same
message with its own reason. (An ``org`` that names no organisation is parked by the sink,
which can look it up.)"""

from __future__ import annotations

import uuid

import msgspec

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.timefmt import TimestampError, created_at_nanos
from faramesh_cloud.events.legacy import LegacyDecision, LegacyEventError
from faramesh_cloud.events.topics import Origin
from faramesh_cloud.log.port import Message

MINUTE_NS = 60 * 1_000_000_000


class _Fields(msgspec.Struct):
    record_id: str = ""
    effect: str | None = None
    created_at: str = ""


class Forwardable(msgspec.Struct, frozen=True):
    """A record to forward; ``kind`` ``dpr`` (``dpr.records.v1``) or ``legacy`` (an unverified
    decision summary of ``decisions.legacy.v1``)."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    record_id: str
    effect: str
    created_ns: int
    received_ns: int
    raw: str
    source: Message  # what was read: the sink parks it on the dead-letter topic if its org is unknown
    kind: str = "dpr"

    @property
    def minute_ns(self) -> int:
        return self.created_ns - self.created_ns % MINUTE_NS


_decoder = msgspec.json.Decoder(_Fields)


def _origin(message: Message) -> Origin | Rejected:
    """The message's origin with its organisation id in canonical form, or why not."""
    try:
        origin = Origin.from_headers(message.headers)
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        return Rejected(f"forwarding: message has no complete origin headers (org, stack, source, seq): {exc!r}")
    try:
        org_id = str(uuid.UUID(origin.org_id))
    except ValueError:
        return Rejected(f"forwarding: the org header {origin.org_id[:100]!r} is not an organisation id (a UUID)")
    return origin if org_id == origin.org_id else msgspec.structs.replace(origin, org_id=org_id)


class ForwardProcessor:
    def process(self, message: Message) -> Forwardable | Rejected:
        origin = _origin(message)
        if isinstance(origin, Rejected):
            return origin
        try:
            raw = message.value.decode("utf-8")
            fields = _decoder.decode(message.value)
        except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            return Rejected(f"forwarding: not a DPR JSON object: {exc}")
        if not fields.record_id:
            return Rejected("forwarding: the DPR has no record_id")
        try:
            created_ns = created_at_nanos(fields.created_at)
        except (TimestampError, ValueError) as exc:
            return Rejected(f"forwarding: the DPR's created_at {fields.created_at!r} is not a timestamp: {exc}")
        return Forwardable(message.topic, message.partition, message.offset, origin.org_id, origin.stack_id,
                           fields.record_id, fields.effect or "", created_ns, origin.received_ns, raw, message)


class LegacyForwardProcessor:
    """``decisions.legacy.v1`` (the legacy Horizon feed's and webhooks' unverified summaries,
    ``faramesh_cloud.events.legacy``) to ``Forwardable`` of kind ``legacy``: forwarded as the
    summary JSON (its ``verification`` says unverified), timed by the daemon's decision time, or
    by when ingest received it when the daemon sent none."""

    def process(self, message: Message) -> Forwardable | Rejected:
        origin = _origin(message)
        if isinstance(origin, Rejected):
            return origin
        try:
            event = LegacyDecision.from_json(message.value)
            raw = message.value.decode("utf-8")
        except (LegacyEventError, UnicodeDecodeError) as exc:
            return Rejected(f"forwarding: not a legacy decision event: {exc}")
        record_id = event.record_id or f"no-record-id-{message.partition}-{message.offset}"
        created_ns = event.decided_at_ns or origin.received_ns
        return Forwardable(message.topic, message.partition, message.offset, origin.org_id, origin.stack_id,
                           record_id, event.effect, created_ns, origin.received_ns, raw, message, "legacy")
