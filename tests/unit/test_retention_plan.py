"""What a retention sweep would remove (pure): per (org, month) partition, every stack in it
due, none on legal hold, oldest first; and the frameworks' minimums with their citations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faramesh_cloud.audit_index.retention import frameworks
from faramesh_cloud.audit_index.retention.plan import Partition, Policies, month_start, plan, to_ns

NOW = datetime(2026, 6, 15, tzinfo=UTC)


def months(*spec: tuple[int, set[str]]) -> list[Partition]:
    return [Partition(m, frozenset(stacks), records=10) for m, stacks in spec]


def test_months_whose_end_is_older_than_the_retention_are_due_and_the_horizon_is_the_first_kept_month() -> None:
    result = plan(months((202601, {"a"}), (202602, {"a"}), (202603, {"a"}), (202605, {"a"})),
                  Policies(org_days=90), NOW)
    assert [d.month for d in result.dropped] == [202601, 202602]  # March ends 1 April: due 30 June
    assert result.horizon_ns == to_ns(month_start(202603))
    assert result.next is not None and result.next.month == 202603
    assert result.next.due_at == datetime(2026, 6, 30, tzinfo=UTC)


def test_nothing_goes_without_a_setting() -> None:
    result = plan(months((202001, {"a"})), Policies(), NOW)
    assert result.dropped == [] and result.horizon_ns == 0 and result.next is None
    assert result.kept[0].why == "kept: no retention is set for stack a"


def test_a_stack_with_a_longer_retention_keeps_the_months_it_shares() -> None:
    result = plan(months((202601, {"a"}), (202602, {"a", "b"}), (202603, {"a"})),
                  Policies(org_days=30, stack_days={"b": 365}), NOW)
    assert [d.month for d in result.dropped] == [202601]
    assert "stack b keeps 365 days" in result.kept[0].why
    # March is due for stack a, but February is kept: months go oldest first.
    assert result.kept[1].why.startswith("kept: an older month is kept (2026-02)")
    assert result.horizon_ns == to_ns(month_start(202602))


def test_a_legal_hold_suspends_deletion_of_every_month_holding_the_stacks_records() -> None:
    policies = Policies(org_days=30, holds={"b": "matter 42"})
    result = plan(months((202601, {"a", "b"}), (202602, {"a"})), policies, NOW)
    assert result.dropped == [] and result.horizon_ns == 0
    assert result.kept[0].why == "kept: legal hold on stack b (matter 42)"
    released = plan(months((202601, {"a", "b"}), (202602, {"a"})), Policies(org_days=30), NOW)
    assert [d.month for d in released.dropped] == [202601, 202602]


def test_a_stack_shorter_than_the_org_goes_only_when_the_org_allows() -> None:
    result = plan(months((202604, {"a", "b"})), Policies(org_days=365, stack_days={"a": 7}), NOW)
    assert result.dropped == []


def test_a_framework_declared_after_the_setting_keeps_records_younger_than_its_minimum() -> None:
    spec = months((202501, {"a"}), (202601, {"a"}))
    assert [d.month for d in plan(spec, Policies(org_days=30), NOW).dropped] == [202501, 202601]
    floored = plan(spec, Policies(org_days=30, floor_days=365), NOW)
    assert [d.month for d in floored.dropped] == [202501]
    assert "stack a keeps 365 days" in floored.kept[0].why


@pytest.mark.parametrize(("declared", "days", "refused_by"), [
    (["hipaa"], 365, "hipaa"),
    (["pci-dss", "soc2"], 364, "soc2"),
    (["pci-dss"], 365, None),
    (["gdpr", "iso27001"], 1, None),
    (["hipaa", "pci-dss"], 2000, "hipaa"),
    ([], 1, None),
])
def test_a_setting_below_a_declared_frameworks_minimum_is_refused_with_the_citation(
        declared: list[str], days: int, refused_by: str | None) -> None:
    refusal = frameworks.check(days, declared)
    if refused_by is None:
        assert refusal is None
        return
    assert refusal is not None and refusal.minimum.framework == refused_by
    reason = refusal.reason()
    assert f"{days} days is below" in reason and refusal.minimum.citation in reason
    assert f"at least {refusal.minimum.days} days" in reason


def test_the_minimums_cite_their_source() -> None:
    assert "§164.316(b)(2)" in frameworks.MINIMUMS["hipaa"].citation
    assert "10.5.1" in frameworks.MINIMUMS["pci-dss"].citation
    assert "Article 19" in frameworks.MINIMUMS["eu-ai-act"].citation
    assert frameworks.MINIMUMS["pci-dss"].days == 365 and frameworks.MINIMUMS["eu-ai-act"].days >= 182


def test_the_jobs_interval_is_a_setting_checked_with_a_message() -> None:
    from faramesh_cloud.config import ConfigError, Settings

    assert Settings.load(env={}).retention_sweep_interval_s == 3600.0
    assert Settings.load(env={"FARAMESH_CLOUD_RETENTION_SWEEP_INTERVAL_S": "0"}).retention_sweep_interval_s == 0
    for bad in ("0.5", "-1"):
        with pytest.raises(ConfigError, match="retention_sweep_interval_s"):
            Settings.load(env={"FARAMESH_CLOUD_RETENTION_SWEEP_INTERVAL_S": bad})
