"""The simulator's stack status carries a realistic governance.fms whose SHA-256 is the one
it reports, stable for the stack, within the sync cap, with the runtime block Cloud's stack
registration shows and one agent block per governed agent."""

from __future__ import annotations

import hashlib

from faramesh_cloud.ingest.limits import GOVERNANCE_FMS_MAX_BYTES
from faramesh_cloud.simulator import reports

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
