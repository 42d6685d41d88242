"""Pure handling of the daemon's signed webhooks (FARAMESH_FORMATS 2.4).

The daemon POSTs the Go-JSON of::

    {"version": "1.0", "type": "permit"|"deny"|"defer", "timestamp": "<RFC 3339, seconds, UTC>",
     "agent_id", "session_id", "tool_id", "effect", "rule_id", "reason_code", "reason",
     "record_id", "defer_token"}            # all but the first three omitted when empty

with ``X-Faramesh-Signature: sha256=<hex HMAC-SHA256(secret, body)>``. It retries a
delivery up to 3 times on a non-2xx answer, so the same decision may arrive more than once
(consumers dedupe on record_id). The types ``defer_resolved``, ``policy_activated`` and
``kill_switch`` are defined upstream but never sent; they are refused with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.events.legacy import SOURCE_WEBHOOK, LegacyDecision
from faramesh_cloud.ingest.legacy_feed import (
    FeedError,
    decode_object,
    effect_field,
    text_field,
    timestamp_field,
)

SIGNATURE_HEADER: Final = "X-Faramesh-Signature"
SCHEME: Final = "sha256="
TYPES: Final = ("permit", "deny", "defer")
_DUMMY_SECRET: Final = b"\x00" * 32


def signature_for(secret: bytes, body: bytes) -> str:
    """The header value the daemon sends for ``body``."""
    return SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(header: str | None, body: bytes, secrets: Sequence[bytes]) -> bool:
    """Whether ``header`` is ``sha256=<hex>`` of ``body`` under one of ``secrets``.

    Constant-time per comparison, and the same work whether the stack is unknown (no
    secrets), the header is missing or the signature is wrong, so timing tells nothing."""
    given = (header or "").strip().lower().encode("ascii", "replace")
    ok = False
    for secret in secrets or (_DUMMY_SECRET,):
        expected = signature_for(secret, body).encode()
        ok |= hmac.compare_digest(given, expected)
    return ok and bool(secrets)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    decision: LegacyDecision
    pending: approvals_pb2.PendingApproval | None  # set for a DEFER with a defer token


def parse_event(body: bytes) -> WebhookEvent:
    """Validate a webhook body; FeedError names the offending field."""
    obj = decode_object(body, 'a Faramesh webhook event {"version":"1.0","type":...}')
    version = text_field(obj, "version", "version", required=True)
    if version.split(".")[0] != "1":
        raise FeedError(422, "version", f"webhook schema {version!r} is not supported; this Cloud reads 1.x")
    kind = text_field(obj, "type", "type", required=True)
    if kind not in TYPES:
        raise FeedError(422, "type", f"{kind[:64]!r} is not accepted; Cloud takes {', '.join(TYPES)} events")
    timestamp, decided_at_ns = timestamp_field(obj, "timestamp")
    effect = effect_field(obj, "effect") if "effect" in obj else kind.upper()
    decision = LegacyDecision(
        source=SOURCE_WEBHOOK, effect=effect, timestamp=timestamp, decided_at_ns=decided_at_ns,
        agent_id=text_field(obj, "agent_id", "agent_id"),
        session_id=text_field(obj, "session_id", "session_id"),
        tool_id=text_field(obj, "tool_id", "tool_id"),
        rule_id=text_field(obj, "rule_id", "rule_id"),
        reason_code=text_field(obj, "reason_code", "reason_code"),
        reason=text_field(obj, "reason", "reason"),
        record_id=text_field(obj, "record_id", "record_id"),
        defer_token=text_field(obj, "defer_token", "defer_token"),
    )
    pending = None
    if kind == "defer":
        if not decision.defer_token:
            raise FeedError(422, "defer_token", "required for a defer event: the approval's token")
        if not decision.agent_id:
            raise FeedError(422, "agent_id", "required for a defer event: the agent whose call waits")
        pending = pending_approval(decision)
    return WebhookEvent(decision, pending)


def pending_approval(decision: LegacyDecision) -> approvals_pb2.PendingApproval:
    """What a defer webhook says about the approval. It does not carry the arguments, the
    deadline, the priority or the number of approvers: those stay unset."""
    approval = approvals_pb2.PendingApproval(
        defer_token=decision.defer_token,
        agent_id=decision.agent_id,
        tool_id=decision.tool_id,
        session_id=decision.session_id,
        matched_rule_id=decision.rule_id,
        reason_code=decision.reason_code,
        reason=decision.reason,
        dpr_record_id=decision.record_id,
        kind=approvals_pb2.DEFER_KIND_DEFER,
    )
    if decision.decided_at_ns is not None:
        approval.created_at.FromNanoseconds(decision.decided_at_ns)
    return approval
