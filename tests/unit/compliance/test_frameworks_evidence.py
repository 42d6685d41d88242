"""The evidence-query catalogue: thresholds, and links that reproduce the same filter on the
page that lists the records (parsed back by that page's own parser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.requests import Request

from faramesh_cloud.compliance.evidence import (
    AUDIT_SEARCH_KEYS,
    Comparison,
    EvidenceQuery,
    Source,
    catalogue,
    iso,
)
from faramesh_cloud.compliance.frameworks import load_frameworks
from faramesh_cloud.gateway.web.audit_common import FILTER_PARAMS, SearchQuery, nanos
from faramesh_cloud.gateway.web.audit_query import audit_filter

START = datetime(2026, 1, 6, 9, 30, 15, 123456, tzinfo=UTC)  # a Tuesday
END = START + timedelta(days=30)


def request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/o/acme/audit", "headers": [],
                    "query_string": query.encode()})


def test_the_audit_search_keys_are_the_pages_own() -> None:
    assert AUDIT_SEARCH_KEYS == tuple(name for name, _ in FILTER_PARAMS)


def test_a_dpr_query_link_reproduces_its_filter_and_range_on_audit_search() -> None:
    denials = catalogue()["dpr_denials_recorded"]
    query = denials.audit_query(START, END)
    parsed = SearchQuery.parse(request(query))
    assert parsed.filters == {"effect": "DENY", "verification": "verified"}
    assert (parsed.start_ns, parsed.end_ns) == (nanos(START), nanos(END))
    assert denials.link(START, END) == f"/audit?{query}"


def test_a_range_in_another_zone_links_as_the_same_instants() -> None:
    zone = timezone(timedelta(hours=5, minutes=30))
    parsed = SearchQuery.parse(request(catalogue()["dpr_decisions_recorded"].audit_query(
        START.astimezone(zone), END.astimezone(zone))))
    assert (parsed.start_ns, parsed.end_ns) == (nanos(START), nanos(END))


def test_every_dpr_query_parses_back_on_audit_search() -> None:
    keys = dict(FILTER_PARAMS)
    for query in catalogue().values():
        if query.source is Source.DPRS:
            parsed = SearchQuery.parse(request(query.audit_query(START, END)))
            assert parsed.filters == {keys[k]: v for k, v in query.audit_filters.items()}, query.name


def test_a_platform_audit_query_link_reproduces_its_filter_on_the_platform_log() -> None:
    changes = catalogue()["access_changes_logged"]
    params = dict(request(changes.audit_query(START, END)).query_params)
    where = audit_filter(params.get("action"), params.get("actor"), params.get("since"), params.get("until"))
    assert (where.action, where.since, where.until) == ("identity:member:", START, END)
    assert changes.link(START, END).startswith("/settings/audit-log?action=identity%3Amember%3A&since=")


def test_pages_without_filters_link_bare() -> None:
    assert catalogue()["integrity_findings_open"].link() == "/audit/integrity"
    assert catalogue()["sso_configured"].link(START, END) == "/settings/organization"
    assert catalogue()["approvals_decided"].link(START, END) == "/approvals/history"


def test_thresholds() -> None:
    at_least = catalogue()["dpr_decisions_recorded"]
    assert [at_least.holds(n) for n in (None, 0, 1, 5)] == [False, False, True, True]
    at_most = catalogue()["integrity_findings_open"]
    assert at_most.comparison is Comparison.AT_MOST
    assert [at_most.holds(n) for n in (None, 0, 1)] == [False, True, False]
    retention = catalogue()["dpr_retention_one_year"]
    assert [retention.holds(n) for n in (364, 365)] == [False, True]
    assert retention.threshold_words() == ">= 365" and at_most.threshold_words() == "<= 0"


def test_a_dpr_query_must_count_verified_dprs_only() -> None:
    with pytest.raises(ValueError, match="verified DPRs only"):
        EvidenceQuery("x", "x", Source.DPRS, 30, 1, audit_filters={"effect": "DENY"})


def test_a_filter_the_page_does_not_read_is_rejected() -> None:
    with pytest.raises(ValueError, match="/audit does not read actor"):
        EvidenceQuery("x", "x", Source.DPRS, 30, 1, audit_filters={"verification": "verified", "actor": "bob"})
    with pytest.raises(ValueError, match="/settings/audit-log does not read effect"):
        EvidenceQuery("x", "x", Source.PLATFORM_AUDIT, 30, 1, audit_filters={"action": "a:b:", "effect": "DENY"})


def test_a_measure_the_service_cannot_take_is_rejected() -> None:
    with pytest.raises(ValueError, match="measure outcome='lost'"):
        EvidenceQuery("x", "x", Source.APPROVALS, 30, 1, measure={"outcome": "lost"})
    with pytest.raises(ValueError, match="measure needs setting"):
        EvidenceQuery("x", "x", Source.SETTINGS, 0, 1)


def test_times_must_be_aware() -> None:
    assert iso(START) == "2026-01-06T09:30:15.123456Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        iso(datetime(2026, 1, 6))


def test_the_docs_list_every_query_and_control() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "compliance-posture.md").read_text(encoding="utf-8")
    for query in catalogue().values():
        assert f"| `{query.name}` | {query.source} |" in text, query.name
    for framework in load_frameworks().values():
        line = next(line for line in text.splitlines() if f"(`{framework.slug}`," in line)
        assert line.endswith(", ".join(c.id for c in framework.controls)), framework.slug
        assert f"mapping {framework.version}" in line
