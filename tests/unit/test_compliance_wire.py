"""The compliance API's values survive the wire: each view the servicer turns into a message
comes back from the client's reader equal, field for field (coverage's nested agents, tools,
enforced rules with network clauses, findings, a snippet with and without its line, and the
audit index's sample records)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from faramesh_cloud.audit_index.client import summary_view
from faramesh_cloud.audit_index.views import RecordSummary
from faramesh_cloud.compliance import client, servicer
from faramesh_cloud.compliance.coverage import AgentCoverage, Snippet, ToolCoverage
from faramesh_cloud.compliance.coverage_reads import GapDetail, StackCoverage
from faramesh_cloud.fpl import Finding
from faramesh_cloud.fpl.materialize import EnforcedRule

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 2, 12, 30, 1, 250, tzinfo=UTC)
RULE = EnforcedRule("fpl-2", "deny", "deny!", "shell/*", 7, condition="args.cmd == 'rm'", notify="oncall",
                    reason="no shell", network=(("egress", "api.example.com"), ("port", "443")), source="",
                    flat=True)
TOOLS = (ToolCoverage("shell/run", "covered", 12, 0, ("fpl-2",), (RULE,)),
         ToolCoverage("http/get", "gap", 5, 5, (), ()))


def test_a_stack_coverage_comes_back_equal() -> None:
    value = StackCoverage("s-1", START, END, True, "ab" * 32, "alpha", "deny",
                          (AgentCoverage("s-1", "alpha", "partial", TOOLS, "alpha"),
                           AgentCoverage("s-1", "beta", "gap", (), "alpha", note="enforced as alpha")),
                          (Finding("agent_dropped", 14, "agent beta is not materialised"),), ("agent alpha {", "}"))
    assert client.stack_coverage(servicer.coverage_message(value)) == value


def test_a_gap_comes_back_equal_with_its_samples_and_snippet() -> None:
    sample = RecordSummary("o", "s-1", "alpha", "sess", "r-1", "2026-11-01T10:00:00.123456789Z", 1, "PERMIT",
                           "tool_call", "http/get", "", "default", "no rule", 4, "cd" * 32, True, "valid", "ed25519",
                           "linked", "grpc", 0, 9, 3)
    for snippet in (Snippet("deny http/get", 3, "in agent alpha, above fpl-1", note="n", notes=("a", "b")),
                    Snippet("deny http/get", None, "at the end")):
        value = GapDetail("s-1", "alpha", "http/get", 5, 5, {"PERMIT": 5}, (sample,), snippet, START, END)
        # the composition root gives the client the audit index's own reader: equal values
        assert client.gap_detail(servicer.gap_message(value), summary_view) == value
        # without it, the same fields under the same names, read by attribute
        plain = client.gap_detail(servicer.gap_message(value))
        assert dataclasses.replace(plain, samples=(sample,)) == value
        assert dataclasses.asdict(plain.samples[0]) == dataclasses.asdict(sample)
        assert plain.samples[0].verified is sample.verified is True
