"""The search index's processor (issue 18): one ``dpr.records.v1`` message to one
``SearchRow``: the columns people filter on, nothing verified.

Pure, like ``DprProcessor``, and built on its ``check``: the same messages are rejected with
the same reasons (the search index parks them on the dead-letter topic; the chain verifier,
reading the same log, skips them). What it leaves out is the verifier's: the record hash
recomputed from the canonical bytes, the Ed25519 check under the pins of the receive time,
and the chain link. ``signature_kind`` (which signature field the record carries) is a fact
of the decode, so the search index keeps it: with the verifier's findings it gives the
signature status a row shows (``verification_state.derived_columns``).
"""

from __future__ import annotations

import hashlib

import msgspec

from faramesh_cloud.audit_index.domain import SignatureKind
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.meta import RecordMeta
from faramesh_cloud.log.port import Message


class SearchRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One DPR message ready for the search index: where it sits on the log, its origin,
    its exact text and identity, and the columns the explorer filters and lists."""

    topic: str
    partition: int
    offset: int
    org_id: str
    stack_id: str
    source: str
    origin_seq: int
    origin_buffer: str
    received_ns: int
    raw: str
    content_sha256: str  # hex SHA-256 of ``raw``: the row's identity with org/stack/agent/id
    meta: RecordMeta
    created_ns: int
    session_id: str
    tool_id: str
    action_type: str
    effect: str
    matched_rule_id: str
    reason_code: str
    reason: str
    intercept_adapter: str
    policy_version: str
    incident_severity: str
    schema_version: str
    signature_kind: SignatureKind

    @property
    def agent_id(self) -> str:
        return self.meta.agent_id

    @property
    def record_id(self) -> str:
        return self.meta.record_id

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        return (self.org_id, self.stack_id, self.meta.agent_id, self.meta.record_id, self.content_sha256)


class SearchProcessor:
    """Pure: ``process(message)`` -> ``SearchRow`` or ``Rejected``."""

    def __init__(self) -> None:
        self._checker = DprProcessor()  # its ``check`` only: no trust view, no hashing

    def process(self, message: Message) -> SearchRow | Rejected:
        checked = self._checker.check(message, canonical=False)  # it hashes nothing
        if isinstance(checked, Rejected):
            return checked
        origin, raw, meta, columns, _canonical, created_ns = checked
        if meta.signature:
            kind = SignatureKind.ED25519
        elif meta.hmac_signature:
            kind = SignatureKind.HMAC
        else:
            kind = SignatureKind.NONE
        return SearchRow(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            org_id=origin.org_id,
            stack_id=origin.stack_id,
            source=origin.source,
            origin_seq=origin.sequence,
            origin_buffer=origin.buffer,
            received_ns=origin.received_ns or message.timestamp_ms * 1_000_000,
            raw=raw,
            content_sha256=hashlib.sha256(message.value).hexdigest(),
            meta=meta,
            created_ns=created_ns,
            session_id=columns.session_id or "",
            tool_id=columns.tool_id or "",
            action_type=columns.action_type or "tool_call",
            effect=columns.effect or "",
            matched_rule_id=columns.matched_rule_id or "",
            reason_code=columns.reason_code or "",
            reason=columns.reason or "",
            intercept_adapter=columns.intercept_adapter or "",
            policy_version=columns.policy_version or "",
            incident_severity=columns.incident_severity or "",
            schema_version=columns.schema_version or "",
            signature_kind=kind,
        )
