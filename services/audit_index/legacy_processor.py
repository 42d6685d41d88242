"""The audit index's processor of ``decisions.legacy.v1``: one ``LegacyDecision`` event (the
legacy Horizon feed's or a daemon webhook's decision summary) to one ``SummaryRow``.

Pure (no I/O, no clock). Tenancy comes from the log headers, never the body. The stored time
is the daemon's timestamp normalised to UTC (the Horizon feed sends the daemon's local zone,
e.g. ``+02:00``; webhooks send UTC seconds); the text the daemon sent stays in ``raw`` for
Explain. When the daemon sent Go's zero time, or a time the index cannot hold (before 1900
or after 2262), the row is placed at the time Cloud received it, and Explain says so.

An event the index cannot use (not a legacy decision, no complete origin, a key for another
stack, a NUL in an identifier PostgreSQL cannot store) is ``Rejected`` with a reason and
parked on the dead-letter topic by the runner.
"""

from __future__ import annotations

from typing import Final

from faramesh_cloud.audit_index.domain import SummaryRow
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.legacy import LegacyDecision, LegacyEventError, utc_text
from faramesh_cloud.events.topics import Origin, stack_key
from faramesh_cloud.log.port import Message

# ClickHouse DateTime64(9) holds 1900-01-01 .. 2262-04-11 (signed 64-bit nanoseconds).
MIN_NS: Final = -2_208_988_800_000_000_000
MAX_NS: Final = 9_223_372_036_854_775_807
MAX_UINT64: Final = 2**64 - 1
NO_ID_PREFIX: Final = "no-record-id-"


def dedupe_key(record_id: str, partition: int, offset: int) -> str:
    """The row's record_id: the daemon's, or one made from the event's place on the log when
    the daemon sent none. Without an id, a webhook retry (same bytes, timestamps in whole
    seconds) cannot be told from a second identical decision in the same second (an agent
    repeating a denied call), so such events are never merged: each keeps its own row."""
    return record_id or f"{NO_ID_PREFIX}{partition}-{offset}"


class LegacyProcessor:
    """Pure: ``process(message)`` -> ``SummaryRow`` or ``Rejected``."""

    def process(self, message: Message) -> SummaryRow | Rejected:
        try:
            origin = Origin.from_headers(message.headers)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            return Rejected(
                f"message has no complete origin headers (org, stack, source, seq): {exc!r}; whatever "
                "appends to decisions.legacy.v1 must set them (faramesh_cloud.events.topics.Origin)"
            )
        if message.key != stack_key(origin.org_id, origin.stack_id):
            return Rejected(
                f"message key {message.key!r} does not match its origin headers "
                f"{origin.org_id}/{origin.stack_id}; the producer must key by stack_key(org, stack)"
            )
        try:
            event = LegacyDecision.from_json(message.value)
        except LegacyEventError as exc:
            return Rejected(f"not a legacy decision event: {exc}")
        if origin.source != event.source:
            return Rejected(f"origin header source={origin.source!r} disagrees with the event's "
                            f"source {event.source!r}; ingest writes both from the same feed")
        if "\x00" in origin.org_id + origin.stack_id + event.record_id:
            return Rejected("a NUL character in org, stack or record_id, which no daemon writes "
                            "(and PostgreSQL text cannot hold)")
        if not (0 <= origin.sequence <= MAX_UINT64 and 0 <= origin.received_ns <= MAX_NS):
            return Rejected(f"origin header seq={origin.sequence} or received_ns={origin.received_ns} is out "
                            "of range; the producer must set non-negative 64-bit values")
        received_ns = origin.received_ns or message.timestamp_ms * 1_000_000
        decided = event.decided_at_ns
        created_ns = decided if decided is not None and MIN_NS <= decided <= MAX_NS else received_ns
        return SummaryRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            org_id=origin.org_id,
            stack_id=origin.stack_id,
            source=event.source,
            origin_seq=origin.sequence,
            origin_buffer=origin.buffer,
            received_ns=received_ns,
            record_id=dedupe_key(event.record_id, message.partition, message.offset),
            created_ns=created_ns,
            created_at_text=utc_text(created_ns),
            agent_id=event.agent_id or event.batch_agent_id,
            session_id=event.session_id,
            effect=event.effect,
            tool_id=event.tool_id,
            matched_rule_id=event.rule_id,
            reason_code=event.reason_code,
            reason=event.reason,
            policy_version=event.policy_version,
            raw=message.value.decode("utf-8"),
        )
