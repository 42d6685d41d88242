"""The pure posture evaluator: evidence / policy / gap per control, with the lines behind it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from faramesh_cloud.compliance.evidence import Measured, catalogue
from faramesh_cloud.compliance.frameworks import Combine, Control, Framework, load_framework
from faramesh_cloud.compliance.posture import Status, evaluate

END = datetime(2026, 1, 13, tzinfo=UTC)
START = END - timedelta(days=30)


@dataclass(frozen=True)
class Check:  # the shape of [fpl] policy_rules.PolicyCheck
    holds: bool
    detail: str
    lines: list[int]


def control(cid: str, evidence: tuple[str, ...] = (), policy: tuple[str, ...] = (),
            evidence_mode: Combine = Combine.ALL, policy_mode: Combine = Combine.ALL) -> Control:
    return Control(cid, f"title {cid}", f"TSC {cid}", "why", evidence, evidence_mode, policy, policy_mode)


def framework(*controls: Control) -> Framework:
    return Framework("soc2", "SOC 2", "TSC 2017", "1.0.0", START.date(), "soc2.toml", controls)


AUDIT = ("dpr_decisions_recorded", "chains_verified")
SYNC = ("cloud_sync_declared",)
MET = {"dpr_decisions_recorded": Measured(120, START, END), "chains_verified": Measured(3, END - timedelta(days=1), END)}
UNMET = {**MET, "chains_verified": Measured(0, END - timedelta(days=1), END)}
HOLDS = {"cloud_sync_declared": {"stack-b": Check(True, "runtime syncs to Cloud", [41]),
                                 "stack-a": Check(True, "runtime syncs to Cloud", [12, 13])}}
FAILS = {"cloud_sync_declared": {"stack-a": Check(True, "syncs", [12]), "stack-b": Check(False, "no sync", [])}}


def status(measurements: object, policy: object, c: Control | None = None) -> Status:
    result = evaluate(framework(c or control("CC7.2", AUDIT, SYNC)), measurements, policy)  # type: ignore[arg-type]
    return result.controls[0].status


def test_evidence_only_is_evidence() -> None:
    assert status(MET, {}) is Status.EVIDENCE


def test_policy_only_is_policy() -> None:
    assert status(UNMET, HOLDS) is Status.POLICY


def test_both_is_evidence_which_wins_over_policy() -> None:
    assert status(MET, HOLDS) is Status.EVIDENCE


def test_neither_is_a_gap() -> None:
    assert status(UNMET, {}) is Status.GAP
    assert status({}, {}) is Status.GAP  # nothing measured proves nothing


def test_a_policy_rule_must_hold_on_every_stack_checked() -> None:
    assert status(UNMET, FAILS) is Status.GAP


def test_evidence_needs_all_queries_unless_any() -> None:
    only_first = {"dpr_decisions_recorded": Measured(1, START, END)}
    assert status(only_first, {}, control("CC7.2", AUDIT)) is Status.GAP
    assert status(only_first, {}, control("CC7.2", AUDIT, evidence_mode=Combine.ANY)) is Status.EVIDENCE


def test_policy_any_mode() -> None:
    rules = ("cloud_sync_declared", "default_deny")
    policy = {"default_deny": {"stack-a": Check(True, "deny by default", [3])}}
    assert status({}, policy, control("CC6.1", policy=rules)) is Status.GAP
    assert status({}, policy, control("CC6.1", policy=rules, policy_mode=Combine.ANY)) is Status.POLICY


def test_a_control_without_evidence_queries_is_never_evidence() -> None:
    assert status(MET, {}, control("CC8.1", policy=SYNC)) is Status.GAP
    assert status(MET, HOLDS, control("CC8.1", policy=SYNC)) is Status.POLICY


def test_lines_carry_words_count_range_link_and_policy_lines() -> None:
    result = evaluate(framework(control("CC7.2", AUDIT, SYNC)), UNMET, HOLDS,
                      policy_words={"cloud_sync_declared": "The runtime block syncs to Cloud"})
    (posture,) = result.controls
    assert (posture.control_id, posture.citation, posture.status) == ("CC7.2", "TSC CC7.2", Status.POLICY)
    recorded, verified = posture.evidence
    assert recorded.words == catalogue()["dpr_decisions_recorded"].words
    assert (recorded.count, recorded.start, recorded.end, recorded.holds) == (120, START, END, True)
    assert recorded.threshold == ">= 1"
    assert parse_qs(recorded.audit_query) == {"verification": ["verified"], "since": ["2025-12-14T00:00:00Z"],
                                              "until": ["2026-01-13T00:00:00Z"]}
    assert recorded.link == "/audit?" + recorded.audit_query
    assert (verified.count, verified.holds) == (0, False)
    (sync,) = posture.policy
    assert (sync.name, sync.words, sync.holds) == ("cloud_sync_declared", "The runtime block syncs to Cloud", True)
    assert [(s.stack_id, s.lines) for s in sync.stacks] == [("stack-a", (12, 13)), ("stack-b", (41,))]
    assert result.counts() == {Status.EVIDENCE: 0, Status.POLICY: 1, Status.GAP: 0}
    assert result.statuses() == {"CC7.2": Status.POLICY}


def test_an_unmeasured_query_shows_as_not_measured_with_its_bare_link() -> None:
    (posture,) = evaluate(framework(control("CC7.2", AUDIT)), {}, {}).controls
    assert [(line.count, line.holds, line.start) for line in posture.evidence] == [(None, False, None)] * 2
    assert posture.evidence[0].link == "/audit?verification=verified"
    assert posture.policy == ()


def test_a_shipped_framework_fully_measured_has_no_gap_where_evidence_exists() -> None:
    hipaa = load_framework("hipaa")
    good = {name: Measured(q.threshold, START, END) for name, q in catalogue().items()}
    result = evaluate(hipaa, good, {})
    assert {c.status for c in result.controls} == {Status.EVIDENCE}
    assert result.counts()[Status.EVIDENCE] == len(hipaa.controls)
    assert evaluate(hipaa, {}, {}).counts()[Status.GAP] == len(hipaa.controls)


def test_the_detail_is_json_with_every_line() -> None:
    (posture,) = evaluate(framework(control("CC7.2", AUDIT, SYNC)), UNMET, HOLDS).controls
    detail = json.loads(json.dumps(posture.detail()))
    assert detail["citation"] == "TSC CC7.2"
    assert [(e["name"], e["count"], e["holds"]) for e in detail["evidence"]] == [
        ("dpr_decisions_recorded", 120, True), ("chains_verified", 0, False)]
    assert detail["evidence"][0]["start"] == "2025-12-14T00:00:00Z"
    assert detail["evidence"][0]["link"].startswith("/audit?verification=verified&since=")
    assert detail["policy"] == [{"name": "cloud_sync_declared", "words": "cloud_sync_declared", "holds": True,
                                 "stacks": [{"stack_id": "stack-a", "holds": True, "detail": "runtime syncs to Cloud",
                                             "lines": [12, 13]},
                                            {"stack_id": "stack-b", "holds": True, "detail": "runtime syncs to Cloud",
                                             "lines": [41]}]}]
