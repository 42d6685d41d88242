"""The simulator's stack status carries a realistic governance.fms whose SHA-256 is the one
it reports, stable for the stack, within the sync cap, with the runtime block Cloud's stack
registration shows and one agent block per governed agent, which loads as the daemon parses it
(Cloud's materialisation, FPL.md) with exactly the simulated policy's rules enforced."""

from __future__ import annotations

import hashlib

import pytest

from faramesh_cloud.fpl.materialize import materialize
from faramesh_cloud.ingest.limits import GOVERNANCE_FMS_MAX_BYTES
from faramesh_cloud.simulator import calls, reports
from faramesh_cloud.simulator import policy as policy_module

FACTS = reports.StackFacts("payments-eu", "1.4.2", "0123456789abcdef", 0)
AGENTS = [reports.AgentFacts("payments-bot", False, False, 2), reports.AgentFacts("refund-bot", True, False, 0)]


def test_the_status_carries_the_text_it_reports_the_sha256_of() -> None:
    applied = reports.stack_status(FACTS, AGENTS, 10**18).applied_config
    text = applied.governance_fms
    assert applied.governance_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert 0 < len(text.encode()) <= GOVERNANCE_FMS_MAX_BYTES
    assert 'runtime {\n' in text and '  cloud_api_key = env("FARAMESH_CLOUD_API_KEY")\n' in text
    assert 'agent "payments-bot" {' in text and 'agent "refund-bot" {' in text and 'provider "vault" {' in text
    assert "budget daily {" in text and "rules {" in text
    # Another report of the same stack (a killed agent, later time) applies the same file.
    later = reports.stack_status(FACTS, [AGENTS[0], reports.AgentFacts("refund-bot", False, False, 3)], 2 * 10**18)
    assert later.applied_config.governance_sha256 == applied.governance_sha256
    other = reports.stack_status(reports.StackFacts("search", "1.4.2", "0123456789abcdef", 0), AGENTS, 10**18)
    assert other.applied_config.governance_sha256 != applied.governance_sha256


def _text(agent_count: int, framework: str = "langgraph") -> str:
    agents = [reports.AgentFacts(a, False, False, 1) for a in calls.agent_ids(agent_count)]
    return reports.governance_fms(FACTS, agents, framework)


@pytest.mark.parametrize("agent_count", [1, 2, 3, 8])
def test_the_text_loads_as_the_daemon_parses_it_and_only_the_extra_agents_are_findings(agent_count: int) -> None:
    names = calls.agent_ids(agent_count)
    policy = materialize(_text(agent_count))
    assert policy.loads
    # Only the first agent by name is enforced; each other agent block is reported as dropped.
    assert policy.primary_agent == sorted(names)[0] and policy.primary_source == ""
    assert [(f.kind, f.line) for f in policy.findings] == [
        ("agent_dropped", a.line) for a in sorted(policy.agents, key=lambda a: a.line) if a.id != policy.primary_agent]
    assert {a.id for a in policy.agents} == set(names)  # no pack brought an agent of its own
    assert policy.default_effect == "deny"
    assert policy.budget is not None and (policy.budget.daily_usd, policy.budget.session_usd) == (100.0, 0.0)
    assert policy.budget.on_exceed == "deny"
    assert policy.runtime["cloud_url"] == FACTS.cloud_url
    assert policy.runtime["cloud_api_key"] == "env(FARAMESH_CLOUD_API_KEY)"
    assert policy.runtime["mode"] == "enforce"


def test_the_enforced_rules_are_the_simulated_policy_whichever_agent_is_first() -> None:
    """The rules `materialize` numbers fpl-<n> are the simulator's, in order, for any agent set."""
    expected = [(policy_module.rule_id(i), r.effect, r.tool, r.when, r.notify, r.reason)
                for i, r in enumerate(policy_module.RULES)]
    for agent_count in (1, 3, 8):
        enforced = materialize(_text(agent_count, "crewai")).rules
        assert [(r.rule_id, r.effect, r.tool, r.condition, r.notify, r.reason) for r in enforced] == expected
        assert all(not r.network and not r.flat and not r.source for r in enforced)
