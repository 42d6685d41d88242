"""Measuring the evidence queries (``evidence.py``) of one organisation, each through the
port of the service that owns the records: DPR counts through the audit index's query port,
approvals and emergency commands through the approvals service's workflow summary, chain
integrity through the index's integrity view, platform-audit entries and SSO settings
through the platform's own stores. A query whose source cannot answer is left unmeasured
(and so does not hold), never guessed."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from faramesh_cloud.compliance.evidence import EvidenceQuery, Measured, Source
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog

_log = logging.getLogger(__name__)
NS = 1_000_000_000
# Audit search's query-string keys -> the index's filter columns (``audit_index.query``).
DPR_FILTERS: Mapping[str, str] = {"stack": "stack_id", "agent": "agent_id", "session": "session_id",
                                  "effect": "effect", "action_type": "action_type", "tool": "tool_id",
                                  "rule": "matched_rule_id"}


class Settings(Protocol):
    async def sso_enabled(self, org_id: str) -> bool: ...

    async def retention_days(self, org_id: str) -> int | None:
        """Cloud-side DPR retention in days; None: Cloud deletes nothing (kept for ever)."""
        ...


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * NS)


@dataclass
class Measurer:
    audit: Any  # the audit index's query port
    approvals: Any  # the approvals service's port
    platform_audit: PlatformAuditLog
    settings: Settings

    async def measure(self, org_id: str, queries: Iterable[EvidenceQuery], now: datetime) -> dict[str, Measured]:
        out: dict[str, Measured] = {}
        summaries: dict[int, Any] = {}
        integrity: list[Any] | None = None
        for query in queries:
            start = now - timedelta(days=query.window_days) if query.window_days else None
            try:
                if query.source is Source.DPRS:
                    filters = {DPR_FILTERS[k]: v for k, v in query.audit_filters.items() if k in DPR_FILTERS}
                    count = await self.audit.count(org_id, filters, _ns(start) if start else None, _ns(now))
                elif query.source in (Source.APPROVALS, Source.EMERGENCY):
                    if query.window_days not in summaries:
                        summaries[query.window_days] = await self.approvals.summary(
                            org_id, stacks=None, start=start or now - timedelta(days=3650), end=now)
                    count = _from_summary(query, summaries[query.window_days])
                elif query.source is Source.INTEGRITY:
                    if integrity is None:
                        integrity = list(await self.audit.chain_integrity(org_id))
                    count = _from_integrity(query, integrity, start)
                elif query.source is Source.PLATFORM_AUDIT:
                    count = await self.platform_audit.count(org_id, AuditFilter(
                        action=query.audit_filters.get("action"), since=start, until=now))
                else:
                    count = await self._setting(org_id, query)
            except Exception:  # a source away: this query stays unmeasured, the rest go on
                _log.warning("evidence query %s of %s could not be measured", query.name, org_id, exc_info=True)
                continue
            out[query.name] = Measured(count, start, now if query.window_days else None)
        return out

    async def _setting(self, org_id: str, query: EvidenceQuery) -> int:
        if query.measure.get("setting") == "sso":
            return int(await self.settings.sso_enabled(org_id))
        days = await self.settings.retention_days(org_id)
        return 10**6 if days is None else days  # nothing deleted: kept longer than any minimum


def _from_summary(query: EvidenceQuery, summary: Any) -> int:
    outcome = query.measure.get("outcome")
    if outcome == "decided":
        return int(summary.approved + summary.denied)
    if outcome == "expired":
        return int(summary.expired)
    if outcome == "bulk":
        return int(summary.bulk_decided)
    acknowledged = sum(c.acknowledged for c in summary.commands)
    if query.measure.get("state") == "acknowledged":
        return int(acknowledged)
    return int(sum(c.issued for c in summary.commands) - acknowledged)


def _from_integrity(query: EvidenceQuery, stacks: list[Any], start: datetime | None) -> int:
    if query.measure.get("what") == "open_findings":
        return sum(int(s.open_alerts) for s in stacks)
    since = _ns(start) if start is not None else 0
    return sum(1 for s in stacks for a in s.agents if a.last_verified_ns >= since)
