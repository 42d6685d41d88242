"""The pure posture evaluator: a framework's controls against measured evidence and the policy
checks of the applied governance.fms texts -> per control "evidence" / "policy" / "gap", with
the lines a person reads to see why. No I/O and no clock: the service measures, this decides.

Rules, per control:

- its evidence holds when all (``evidence_mode = "all"``) or any (``"any"``) of its evidence
  queries meet their threshold; a query the service did not measure does not hold;
- a policy rule holds when it holds on every stack checked, and at least one stack was
  checked (no applied policy proves nothing); the control's policy holds when all / any of
  its rules hold;
- status is ``evidence`` when its evidence holds (evidence wins over policy: it shows the
  control operating, policy only shows it declared), else ``policy`` when its policy holds,
  else ``gap``. A control with no evidence queries cannot be "evidence", one with no policy
  rules cannot be "policy".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from faramesh_cloud.compliance.evidence import EvidenceQuery, Measurements, catalogue, iso
from faramesh_cloud.compliance.frameworks import Combine, Control, Framework


class Status(StrEnum):
    EVIDENCE = "evidence"
    POLICY = "policy"
    GAP = "gap"


class PolicyCheck(Protocol):
    """What a policy rule's check returns for one stack ([fpl] policy_rules.PolicyCheck)."""

    @property
    def holds(self) -> bool: ...
    @property
    def detail(self) -> str: ...
    @property
    def lines(self) -> Sequence[int]: ...


# rule name -> stack id -> that rule's check on the stack's applied policy
PolicyResults = Mapping[str, Mapping[str, PolicyCheck]]


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One evidence query as the dashboard shows it: the query in words, the count over its
    range, the threshold, and the query string of the page that lists the same records."""

    name: str
    words: str
    threshold: str  # ">= 1", "<= 0"
    count: int | None  # None: not measured
    start: datetime | None
    end: datetime | None
    holds: bool
    audit_query: str
    link: str  # path under /o/{org}, with audit_query


@dataclass(frozen=True, slots=True)
class StackPolicyLine:
    stack_id: str
    holds: bool
    detail: str
    lines: tuple[int, ...]  # line numbers in the applied governance.fms


@dataclass(frozen=True, slots=True)
class PolicyLine:
    name: str
    words: str
    holds: bool
    stacks: tuple[StackPolicyLine, ...]  # by stack id


@dataclass(frozen=True, slots=True)
class ControlPosture:
    control_id: str
    title: str
    citation: str
    status: Status
    evidence: tuple[EvidenceLine, ...]
    policy: tuple[PolicyLine, ...]

    def detail(self) -> dict[str, Any]:
        """The lines as JSON-ready data (what the service stores beside the status): times as
        ISO 8601 UTC strings or null."""
        return {
            "title": self.title,
            "citation": self.citation,
            "evidence": [{
                "name": e.name, "words": e.words, "threshold": e.threshold, "count": e.count,
                "start": None if e.start is None else iso(e.start), "end": None if e.end is None else iso(e.end),
                "holds": e.holds, "audit_query": e.audit_query, "link": e.link,
            } for e in self.evidence],
            "policy": [{
                "name": p.name, "words": p.words, "holds": p.holds,
                "stacks": [{"stack_id": s.stack_id, "holds": s.holds, "detail": s.detail, "lines": list(s.lines)}
                           for s in p.stacks],
            } for p in self.policy],
        }


@dataclass(frozen=True, slots=True)
class FrameworkPosture:
    slug: str
    name: str
    version: str
    controls: tuple[ControlPosture, ...]

    def counts(self) -> dict[Status, int]:
        """How many controls are in each status (every status present, 0 when none)."""
        counts = dict.fromkeys(Status, 0)
        for control in self.controls:
            counts[control.status] += 1
        return counts

    def statuses(self) -> dict[str, Status]:
        """control id -> status (what the daily history stores)."""
        return {c.control_id: c.status for c in self.controls}


def _combine(mode: Combine, results: Sequence[bool]) -> bool:
    if not results:
        return False
    return all(results) if mode is Combine.ALL else any(results)


def _evidence_line(query: EvidenceQuery, measurements: Measurements) -> EvidenceLine:
    measured = measurements.get(query.name)
    if measured is None:
        return EvidenceLine(query.name, query.words, query.threshold_words(), None, None, None, False,
                            query.audit_query(), query.link())
    return EvidenceLine(query.name, query.words, query.threshold_words(), measured.count, measured.start,
                        measured.end, query.holds(measured.count), query.audit_query(measured.start, measured.end),
                        query.link(measured.start, measured.end))


def _policy_line(name: str, words: str, checks: Mapping[str, PolicyCheck]) -> PolicyLine:
    stacks = tuple(StackPolicyLine(stack_id, bool(check.holds), check.detail, tuple(check.lines))
                   for stack_id, check in sorted(checks.items()))
    return PolicyLine(name, words, bool(stacks) and all(s.holds for s in stacks), stacks)


def evaluate_control(control: Control, measurements: Measurements, policy_results: PolicyResults, *,
                     queries: Mapping[str, EvidenceQuery], policy_words: Mapping[str, str]) -> ControlPosture:
    evidence = tuple(_evidence_line(queries[name], measurements) for name in control.evidence)
    policy = tuple(_policy_line(name, policy_words.get(name, name), policy_results.get(name, {}))
                   for name in control.policy)
    if _combine(control.evidence_mode, [line.holds for line in evidence]):
        status = Status.EVIDENCE
    elif _combine(control.policy_mode, [line.holds for line in policy]):
        status = Status.POLICY
    else:
        status = Status.GAP
    return ControlPosture(control.id, control.title, control.citation, status, evidence, policy)


def evaluate(framework: Framework, measurements: Measurements, policy_results: PolicyResults, *,
             queries: Mapping[str, EvidenceQuery] | None = None,
             policy_words: Mapping[str, str] | None = None) -> FrameworkPosture:
    """The posture of every control of ``framework``. ``queries`` defaults to the evidence
    catalogue; ``policy_words`` (rule name -> the rule in words, from the policy-rule
    catalogue) labels the policy lines, the rule's name standing in for a missing one."""
    queries = catalogue() if queries is None else queries
    words = policy_words or {}
    return FrameworkPosture(framework.slug, framework.name, framework.version, tuple(
        evaluate_control(c, measurements, policy_results, queries=queries, policy_words=words)
        for c in framework.controls))
