"""The fleet processor (pure): each owned sync-item kind becomes its typed update, with
tenancy from headers; other kinds are ignored; bad payloads are rejected with a reason."""

from __future__ import annotations

from datetime import timedelta

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.events.topics import H_KIND, H_ORG
from faramesh_cloud.fleet.domain import BudgetUpdate, CredentialUpdate, HealthUpdate, StatusUpdate
from faramesh_cloud.fleet.health import commit_url, stack_health, sync_status
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.log.port import LogRecord
from tests.fleet_items import T0, budget, credential, health, message, record, status

ORG, STACK = "org-a", "stack-1"


def test_stack_status_becomes_a_status_update_with_tenancy_from_headers() -> None:
    out = FleetProcessor().process(message(record(ORG, STACK, 7, "stack_status", status(T0)), offset=3))
    assert isinstance(out, StatusUpdate)
    assert (out.at.org_id, out.at.stack_id, out.at.offset, out.at.sequence) == (ORG, STACK, 3, 7)
    assert out.at.observed_ns == int(T0.timestamp()) * 1_000_000_000
    assert out.layers == ("seccomp", "Landlock")
    assert out.applied is not None and out.applied.commit == "a1b2c3d4e5f6"
    assert out.applied.summary == "2 rules changed" and out.applied.operator == "ci@acme"
    assert [a.agent_id for a in out.agents] == ["payments-bot"]
    assert out.providers[0].health == "healthy"
    assert out.platform["hostname"] == "pay-01" and out.runtime_mode == "enforce"


def test_health_budget_and_credential_kinds() -> None:
    p = FleetProcessor()
    h = p.process(message(record(ORG, STACK, 1, "daemon_health", health(T0, ok=False, uptime_s=90)), 0))
    assert isinstance(h, HealthUpdate) and h.ok is False and h.uptime_s == 90 and h.lifecycle == "ready"
    b = p.process(message(record(ORG, STACK, 2, "budget_snapshot", budget(T0, "bot", 9.5, 10)), 1))
    assert isinstance(b, BudgetUpdate) and (b.scope, b.spent_usd, b.ceiling_usd) == ("daily", 9.5, 10.0)
    c = p.process(message(record(ORG, STACK, 3, "credential_expiry",
                                 credential(T0, "bot", T0 + timedelta(hours=2))), 2))
    assert isinstance(c, CredentialUpdate) and c.event == "issued" and c.credential_key == "cred-1"
    assert c.expires_at == T0 + timedelta(hours=2)


def test_kinds_it_does_not_own_are_ignored() -> None:
    event = approvals_pb2.ApprovalEvent(state=approvals_pb2.APPROVAL_STATE_PENDING)
    assert FleetProcessor().process(message(record(ORG, STACK, 1, "approval_event", event), 0)) is None


def test_bad_payload_and_missing_origin_are_rejected() -> None:
    rec = record(ORG, STACK, 1, "stack_status", status(T0))
    garbage = LogRecord(rec.key, b"\xff\xff\xff", rec.headers)
    out = FleetProcessor().process(message(garbage, 0))
    assert isinstance(out, Rejected) and "stack_status" in out.reason
    headless = LogRecord(rec.key, rec.value, {k: v for k, v in rec.headers.items() if k != H_ORG})
    out = FleetProcessor().process(message(headless, 0))
    assert isinstance(out, Rejected) and "origin" in out.reason
    no_agent = record(ORG, STACK, 1, "budget_snapshot", budget(T0, "", 1, 2))
    assert isinstance(FleetProcessor().process(message(no_agent, 0)), Rejected)
    assert rec.headers[H_KIND] == b"stack_status"


def test_health_and_sync_rules() -> None:
    assert stack_health(None, "", [], []) == "unknown"
    assert stack_health(False, "ready", [], []) == "unhealthy"
    assert stack_health(True, "halt", [], []) == "unhealthy"
    assert stack_health(True, "ready", ["fleet_redis"], []) == "degraded"
    assert stack_health(True, "ready", [], ["degraded"]) == "degraded"
    assert stack_health(True, "ready", [], ["healthy"]) == "healthy"
    assert sync_status(None, T0, 120) == "never connected"
    assert sync_status(T0 - timedelta(seconds=121), T0, 120) == "disconnected"
    assert sync_status(T0 - timedelta(seconds=10), T0, 120) == "connected"


def test_commit_links_only_for_https_or_scp_remotes() -> None:
    assert commit_url("https://github.com/acme/gov.git", "abc") == "https://github.com/acme/gov/commit/abc"
    assert commit_url("git@gitlab.com:acme/gov.git", "abc") == "https://gitlab.com/acme/gov/-/commit/abc"
    assert commit_url("javascript:alert(1)", "abc") == ""
    assert commit_url("", "abc") == ""


def test_the_applied_text_is_keyed_by_its_sha256_and_a_mismatch_with_the_reported_one_is_flagged() -> None:
    import hashlib

    text = 'runtime {\n  cloud_url = "https://cloud.example"\n}\n'
    digest = hashlib.sha256(text.encode()).hexdigest()

    def applied(fms: str, reported: str) -> tuple[str, str, bool]:
        report = status(T0)
        report.applied_config.governance_fms, report.applied_config.governance_sha256 = fms, reported
        out = FleetProcessor().process(message(record(ORG, STACK, 7, "stack_status", report), offset=3))
        assert isinstance(out, StatusUpdate) and out.applied is not None
        return out.applied.governance_fms, out.applied.text_sha256, out.applied.sha_mismatch

    assert applied(text, digest.upper()) == (text, digest, False)  # hex case does not matter
    assert applied(text, "0" * 64) == (text, digest, True)  # kept, flagged
    assert applied(text, "") == (text, digest, False)  # nothing to compare
    assert applied("", digest) == ("", "", False)  # no text synced
