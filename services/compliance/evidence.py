"""The evidence-query catalogue: every measurement a framework control may cite as evidence
that it operates, with the words a person reads, where the number comes from, over which
window, the threshold it must meet, and the filters of the page that shows the same records.

The compliance service measures each query (its ``source`` says from what) and hands the
numbers to the pure evaluator (:mod:`posture`) as :class:`Measured`; nothing here does I/O.

Sources and what ``measure`` selects in each (the service's side of the contract):

- ``dprs``: verified DPRs in the window matching ``audit_filters`` (the Audit search filters;
  ``verification=verified`` is required: legacy summaries prove nothing).
- ``approvals``: approvals in the window, ``measure["outcome"]`` in ``decided``, ``expired``,
  ``bulk``.
- ``integrity``: ``measure["what"]`` = ``chains_verified`` (agent chains verified in the window)
  or ``open_findings`` (chain-integrity findings open now, ``window_days = 0``).
- ``emergency``: kill / isolate commands issued in the window, ``measure["state"]`` =
  ``acknowledged`` (the daemon acknowledged) or ``unacknowledged``.
- ``platform_audit``: platform audit log entries in the window whose action starts with
  ``audit_filters["action"]`` (exact, or a prefix ending in ``:``, as the log's own filter).
- ``settings``: ``measure["setting"]`` = ``sso`` (1 when SSO is configured, else 0) or
  ``retention_days`` (the DPR retention in days); current state, ``window_days = 0``.

``window_days = 0`` means "now / all history" (no time range on the link).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from urllib.parse import urlencode


class Source(StrEnum):
    DPRS = "dprs"
    APPROVALS = "approvals"
    INTEGRITY = "integrity"
    EMERGENCY = "emergency"
    PLATFORM_AUDIT = "platform_audit"
    SETTINGS = "settings"


class Comparison(StrEnum):
    AT_LEAST = "at_least"  # count >= threshold
    AT_MOST = "at_most"  # count <= threshold


# The query-string keys of the Audit search page (gateway web/audit_common.py FILTER_PARAMS,
# plus its since/until); a unit test keeps the two equal.
AUDIT_SEARCH_KEYS: Final = ("stack", "agent", "session", "effect", "action_type", "tool", "rule",
                            "verification", "state")
AUDIT_TIME_KEYS: Final = ("since", "until")
# Settings -> Platform audit log (routes_audit_log.py): action, actor, since, until.
PLATFORM_LOG_KEYS: Final = ("action", "actor")
# Approvals -> History (routes_approvals.py) and Emergency commands take no time range.
APPROVALS_KEYS: Final = ("stack", "agent", "tool", "rule")
EMERGENCY_KEYS: Final = ("stack", "agent")


@dataclass(frozen=True, slots=True)
class _Page:
    path: str  # under /o/{org}
    keys: tuple[str, ...]  # filter keys it accepts
    timed: bool  # accepts since / until


# Where each source's records are shown, and which query-string keys that page reads.
PAGES: Final = MappingProxyType({
    Source.DPRS: _Page("/audit", AUDIT_SEARCH_KEYS, True),
    Source.APPROVALS: _Page("/approvals/history", APPROVALS_KEYS, False),
    Source.INTEGRITY: _Page("/audit/integrity", (), False),
    Source.EMERGENCY: _Page("/emergency/commands", EMERGENCY_KEYS, False),
    Source.PLATFORM_AUDIT: _Page("/settings/audit-log", PLATFORM_LOG_KEYS, True),
    Source.SETTINGS: _Page("/settings/organization", (), False),
})
# What ``measure`` may select per source (the service reads these).
MEASURES: Final = MappingProxyType({
    Source.DPRS: {},
    Source.APPROVALS: {"outcome": ("decided", "expired", "bulk")},
    Source.INTEGRITY: {"what": ("chains_verified", "open_findings")},
    Source.EMERGENCY: {"state": ("acknowledged", "unacknowledged")},
    Source.PLATFORM_AUDIT: {},
    Source.SETTINGS: {"setting": ("sso", "retention_days")},
})


def iso(moment: datetime) -> str:
    """A time as the Audit pages parse it back (``parse_time``): ISO 8601 in UTC with ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("evidence times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class EvidenceQuery:
    """One evidence measurement. ``words`` is the query in words as a person reads it."""

    name: str
    words: str
    source: Source
    window_days: int
    threshold: int
    comparison: Comparison = Comparison.AT_LEAST
    audit_filters: Mapping[str, str] = field(default_factory=dict)
    measure: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        page = PAGES[self.source]
        unknown = sorted(set(self.audit_filters) - set(page.keys))
        if unknown:
            raise ValueError(f"evidence query {self.name!r}: {page.path} does not read {', '.join(unknown)}")
        if self.source is Source.DPRS and self.audit_filters.get("verification") != "verified":
            raise ValueError(f"evidence query {self.name!r}: DPR evidence counts verified DPRs only "
                             "(audit_filters verification=verified)")
        if self.source is Source.PLATFORM_AUDIT and not self.audit_filters.get("action"):
            raise ValueError(f"evidence query {self.name!r}: a platform audit query names an action")
        allowed = MEASURES[self.source]
        for key, value in self.measure.items():
            if value not in allowed.get(key, ()):
                raise ValueError(f"evidence query {self.name!r}: measure {key}={value!r} is not one of "
                                 f"{allowed.get(key, ())}")
        if set(allowed) - set(self.measure):
            raise ValueError(f"evidence query {self.name!r}: measure needs {', '.join(sorted(allowed))}")
        if self.window_days < 0 or self.threshold < 0:
            raise ValueError(f"evidence query {self.name!r}: window and threshold are not negative")

    def holds(self, count: int | None) -> bool:
        """Whether a measured count meets the threshold (an unmeasured query never holds)."""
        if count is None:
            return False
        if self.comparison is Comparison.AT_LEAST:
            return count >= self.threshold
        return count <= self.threshold

    def audit_query(self, start: datetime | None = None, end: datetime | None = None) -> str:
        """The query string of this query's page that shows the same records: its filters and,
        where the page takes them, the measured range as since/until."""
        page = PAGES[self.source]
        params = {key: self.audit_filters[key] for key in page.keys if key in self.audit_filters}
        if page.timed:
            if start is not None:
                params["since"] = iso(start)
            if end is not None:
                params["until"] = iso(end)
        return urlencode(params)

    def link(self, start: datetime | None = None, end: datetime | None = None) -> str:
        """The page path under ``/o/{org}`` with :meth:`audit_query`."""
        query = self.audit_query(start, end)
        return PAGES[self.source].path + (f"?{query}" if query else "")

    def threshold_words(self) -> str:
        sign = ">=" if self.comparison is Comparison.AT_LEAST else "<="
        return f"{sign} {self.threshold}"


@dataclass(frozen=True, slots=True)
class Measured:
    """What the service measured for one query: the count over ``[start, end)`` (``None`` for a
    current-state query)."""

    count: int
    start: datetime | None = None
    end: datetime | None = None


Measurements = Mapping[str, Measured]

def catalogue() -> dict[str, EvidenceQuery]:
    """Every evidence query by name (built on call: no state at import)."""
    verified = {"verification": "verified"}
    queries = [
        EvidenceQuery("dpr_decisions_recorded",
                      "Verified decision records (DPRs) received from governed agents in the last 30 days",
                      Source.DPRS, 30, 1, audit_filters=dict(verified)),
        EvidenceQuery("dpr_denials_recorded",
                      "Agent tool calls denied by policy, as verified DPRs, in the last 30 days",
                      Source.DPRS, 30, 1, audit_filters={**verified, "effect": "DENY"}),
        EvidenceQuery("dpr_deferrals_recorded",
                      "Agent tool calls held for a human decision (DEFER), as verified DPRs, in the last 90 days",
                      Source.DPRS, 90, 1, audit_filters={**verified, "effect": "DEFER"}),
        EvidenceQuery("approvals_decided",
                      "Deferred agent actions approved or denied by a named person in the last 90 days",
                      Source.APPROVALS, 90, 1, measure={"outcome": "decided"}),
        EvidenceQuery("chains_verified",
                      "Agent DPR chains whose hashes, links and signatures Cloud verified in the last day",
                      Source.INTEGRITY, 1, 1, measure={"what": "chains_verified"}),
        EvidenceQuery("integrity_findings_open",
                      "Open chain-integrity findings (tampered, missing or re-ordered records) now",
                      Source.INTEGRITY, 0, 0, Comparison.AT_MOST, measure={"what": "open_findings"}),
        EvidenceQuery("emergency_commands_acknowledged",
                      "Kill or isolate commands issued to agents and acknowledged by their daemon in the last 365 days",
                      Source.EMERGENCY, 365, 1, measure={"state": "acknowledged"}),
        EvidenceQuery("emergency_commands_unacknowledged",
                      "Kill or isolate commands issued in the last 30 days that no daemon acknowledged",
                      Source.EMERGENCY, 30, 0, Comparison.AT_MOST, measure={"state": "unacknowledged"}),
        EvidenceQuery("access_changes_logged",
                      "Member additions, role changes and removals in the platform audit log in the last 90 days",
                      Source.PLATFORM_AUDIT, 90, 1, audit_filters={"action": "identity:member:"}),
        EvidenceQuery("sign_ins_logged",
                      "Sign-ins, failed sign-ins and lock-outs in the platform audit log in the last 30 days",
                      Source.PLATFORM_AUDIT, 30, 1, audit_filters={"action": "identity:session:"}),
        EvidenceQuery("platform_audit_verified",
                      "Verifications of the platform audit log's hash chain in the last 90 days",
                      Source.PLATFORM_AUDIT, 90, 1, audit_filters={"action": "org:auditlog:verify"}),
        EvidenceQuery("dpr_exports_reviewed",
                      "Signed DPR exports taken for review in the last 90 days",
                      Source.PLATFORM_AUDIT, 90, 1, audit_filters={"action": "audit:record:export"}),
        EvidenceQuery("stack_keys_rotated",
                      "Stack API keys rotated in the last 365 days",
                      Source.PLATFORM_AUDIT, 365, 1, audit_filters={"action": "fleet:stack_key:rotate"}),
        EvidenceQuery("signing_keys_pinned",
                      "Daemon DPR signing keys pinned to their stack (ever)",
                      Source.PLATFORM_AUDIT, 0, 1, audit_filters={"action": "fleet:stack_signing_key:pin"}),
        EvidenceQuery("sso_configured",
                      "Single sign-on configured for the organisation",
                      Source.SETTINGS, 0, 1, measure={"setting": "sso"}),
        EvidenceQuery("dpr_retention_one_year",
                      "DPR retention set to at least 365 days",
                      Source.SETTINGS, 0, 365, measure={"setting": "retention_days"}),
    ]
    return {q.name: q for q in queries}
