"""The two tables every list read of the audit index covers, and how their rows become one
``RecordSummary`` shape: ``dpr_records`` (DPRs, verified) and ``legacy_decisions``
(decision summaries from the legacy Horizon feed and daemon webhooks, unverified, minus the
keys a DPR replaced: ``legacy_superseded``).

Both tables keep the same column names for what the list views show, sort by
(org_id, created_at) and share the per-organisation tail sequence, so a query is run on
each with the same WHERE clauses and the two results are merged in Python. A summary has
no action type, hash, chain link or signature: the SELECT gives the constant values the
list views read for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.audit_index.views import UNVERIFIED, VERIFIED, RecordSummary, SearchFilters

DPR_SELECT: Final = (
    "org_id, stack_id, agent_id, session_id, record_id, created_at_text, "
    "toUnixTimestamp64Nano(created_at) AS created_ns, effect, action_type, tool_id, matched_rule_id, "
    "reason_code, reason, lamport_seq, record_hash, hash_valid, signature_status, signature_kind, "
    "link_status, source, log_partition, log_offset, org_seq"
)
SUMMARY_SELECT: Final = (
    "org_id, stack_id, agent_id, session_id, record_id, created_at_text, "
    "toUnixTimestamp64Nano(created_at) AS created_ns, effect, '' AS action_type, tool_id, matched_rule_id, "
    "reason_code, reason, toUInt64(0) AS lamport_seq, '' AS record_hash, false AS hash_valid, "
    "'unverified' AS signature_status, 'none' AS signature_kind, 'unverified' AS link_status, source, "
    "log_partition, log_offset, org_seq"
)
_DETAIL_TAIL: Final = ", raw, origin_seq, origin_buffer, toUnixTimestamp64Nano(received_at) AS received_ns"
SUMMARY_WIDTH: Final = 23


@dataclass(frozen=True, slots=True)
class Source:
    """One table of the index as the read queries see it."""

    verification: str  # what its rows are: verified DPRs or unverified summaries
    table: str
    select: str  # the 23 summary columns, in RecordSummary order
    detail: str  # those, then prev_record_hash, raw, origin_seq, origin_buffer, received_ns
    hidden: str  # a clause leaving out rows that do not show ("" for none)

    def where(self, clauses: Sequence[str]) -> str:
        return " AND ".join([*clauses, self.hidden] if self.hidden else clauses)

    def summary(self, row: Sequence[Any]) -> RecordSummary:
        (org, stack, agent, session, record_id, created_at, created_ns, effect, action_type, tool_id, rule,
         reason_code, reason, lamport, record_hash, hash_valid, signature_status, signature_kind, link_status,
         source, partition, offset, org_seq) = row
        return RecordSummary(
            org_id=org, stack_id=stack, agent_id=agent, session_id=session, record_id=record_id,
            created_at=created_at, created_ns=int(created_ns), effect=effect, action_type=action_type,
            tool_id=tool_id, matched_rule_id=rule, reason_code=reason_code, reason=reason,
            lamport_seq=int(lamport), record_hash=record_hash, hash_valid=bool(hash_valid),
            signature_status=signature_status, signature_kind=signature_kind, link_status=link_status,
            source=source, log_partition=int(partition), log_offset=int(offset), org_seq=int(org_seq),
            verification=self.verification,
        )


def sources(tables: AuditTables) -> tuple[Source, Source]:
    """(DPRs, unverified summaries). The summaries leave out the keys a DPR replaced (the
    subquery reads the organisation's range of a small table sorted by org_id)."""
    return (
        Source(VERIFIED, tables.dpr, DPR_SELECT, f"{DPR_SELECT}, prev_record_hash{_DETAIL_TAIL}", ""),
        Source(UNVERIFIED, tables.summaries, SUMMARY_SELECT, f"{SUMMARY_SELECT}, '' AS prev_record_hash{_DETAIL_TAIL}",
               f"(stack_id, record_id) NOT IN (SELECT stack_id, record_id FROM {tables.superseded} "
               "WHERE org_id = {org:String})"),
    )


def applicable(all_sources: Sequence[Source], filters: SearchFilters) -> list[Source]:
    """The tables whose rows can match: a verification filter names one; an action-type
    or state filter only DPRs (a summary carries no action type and is never checked)."""
    chosen = [s for s in all_sources if filters.verification in (None, s.verification)]
    if filters.action_type is not None or filters.state is not None:
        chosen = [s for s in chosen if s.verification == VERIFIED]
    return chosen
