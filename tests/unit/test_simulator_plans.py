"""The simulated daemon's decisions about Cloud's deliveries and emergency commands (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from faramesh_cloud_api.sync.v1 import actor_pb2, approvals_pb2, deliveries_pb2, emergency_pb2

from faramesh_cloud.simulator.approvals import (
    ACCEPTED,
    CONFLICT,
    NOT_FOUND,
    REFUSED,
    UNSUPPORTED,
    local_choice,
    local_resolution,
    plan_delivery,
)
from faramesh_cloud.simulator.emergency import (
    ALREADY,
    APPLIED,
    REJECTED,
    call_overrides,
    plan_command,
)
from faramesh_cloud.simulator.envelope import approval_envelope, envelope_message
from faramesh_cloud.simulator.state import Answer, DaemonState, Pending, Resolution

KEY = b"daemon-hmac-key"
NOW = 1_764_081_234_000_000_000


def _pending(token: str = "0a1b2c3d", agent: str = "payments-bot", deadline: int = NOW + 300 * 10**9) -> Pending:
    return Pending(token=token, agent_id=agent, tool_id="stripe/refund", session_id="sess-1", rule_id="rule-5",
                   reason_code="RULE_DEFER", reason="defer by rule-5", args={"amount": 90, "currency": "EUR"},
                   args_sig="ddec7a4250f6b824", priority="high", created_ns=NOW - 10**9, deadline_ns=deadline,
                   record_id="rec-defer-1", policy_version="3f2a9c1b7d4e5f60")


def _decision(verdict: int = approvals_pb2.APPROVAL_VERDICT_APPROVE, token: str = "0a1b2c3d",
              agent: str = "payments-bot", decision_id: str = "dec-1", delivery_id: str = "del-1") -> deliveries_pb2.Delivery:
    return deliveries_pb2.Delivery(delivery_id=delivery_id, approval_decision=approvals_pb2.ApprovalDecision(
        decision_id=decision_id, defer_token=token, agent_id=agent, verdict=verdict,  # type: ignore[arg-type]
        approver=actor_pb2.Actor(user_id="usr_42", email="alice@example.com"), reason="looks fine <ok>"))


def _state(*pending: Pending) -> DaemonState:
    return DaemonState(pending={p.token: p for p in pending})


def test_the_approval_envelope_is_byte_for_byte_the_daemons(vectors_dir: Path) -> None:
    expected = json.loads((vectors_dir / "expected.json").read_text())
    vector = expected["approval_envelope"]
    resolved = datetime(2026, 5, 17, 13, 45, 2, tzinfo=UTC)
    envelope = approval_envelope(
        expected["keys"]["hmac_key_ascii"].encode(), token="a1b2c3d4", approver_id="alice@example.com",
        approved=True, reason="manual review passed; customer in EU", status="approved",
        resolved_ns=int(resolved.timestamp()) * 10**9 + 250_000_000)
    assert envelope == vector["json"]
    assert envelope_message("a1b2c3d4", "alice@example.com", True, "manual review passed; customer in EU",
                            "approved", "2026-05-17T13:45:02.25Z").decode() == vector["hmac_message"]


def test_an_approval_resumes_the_call_with_a_signed_envelope() -> None:
    state = _state(_pending())
    plan = plan_delivery(state, _decision(), NOW, KEY)

    assert plan.answer.outcome == ACCEPTED
    assert plan.record is not None and plan.agent_id == "payments-bot"
    assert (plan.record["effect"], plan.record["reason_code"]) == ("PERMIT", "APPROVAL_GRANTED")
    assert (plan.record["tool_id"], plan.record["session_id"], plan.record["matched_rule_id"]) == (
        "stripe/refund", "sess-1", "rule-5")
    assert plan.record["defer_token"] is None
    envelope = orjson.loads(plan.record["approval_envelope"])
    assert list(envelope) == ["token", "approver_id", "approved", "reason", "status", "resolved_at", "signature"]
    assert (envelope["token"], envelope["approver_id"], envelope["approved"], envelope["status"]) == (
        "0a1b2c3d", "cloud:usr_42", True, "approved")
    assert "\\u003cok\\u003e" in plan.record["approval_envelope"]  # Go-JSON escaping
    message = envelope_message("0a1b2c3d", "cloud:usr_42", True, "looks fine <ok>", "approved", envelope["resolved_at"])
    assert envelope["signature"] == hmac.new(KEY, message, hashlib.sha256).hexdigest()
    assert plan.event is not None and plan.event.state == approvals_pb2.APPROVAL_STATE_APPROVED
    assert plan.event.resolution.source == approvals_pb2.RESOLUTION_SOURCE_CLOUD
    assert plan.event.resolution.cloud_decision_id == "dec-1"
    assert plan.resolution == Resolution(status="approved", decision_id="dec-1", resolved_ns=NOW)


def test_a_denial_is_a_deny_record_naming_the_approver() -> None:
    plan = plan_delivery(_state(_pending()), _decision(approvals_pb2.APPROVAL_VERDICT_DENY), NOW, KEY)
    assert plan.answer.outcome == ACCEPTED
    assert plan.record is not None
    assert (plan.record["effect"], plan.record["reason_code"]) == ("DENY", "APPROVAL_DENIED")
    assert "cloud:usr_42" in plan.record["reason"]
    envelope = orjson.loads(plan.record["approval_envelope"])
    assert (envelope["approved"], envelope["status"]) == (False, "denied")
    assert plan.event is not None and plan.event.state == approvals_pb2.APPROVAL_STATE_DENIED


@pytest.mark.parametrize(("delivery", "outcome"), [
    (_decision(token="ffffffff"), NOT_FOUND),  # never surfaced
    (_decision(agent="support-triage"), NOT_FOUND),  # another agent's token
    (_decision(verdict=approvals_pb2.APPROVAL_VERDICT_UNSPECIFIED), REFUSED),
    (deliveries_pb2.Delivery(delivery_id="del-9"), UNSUPPORTED),  # a kind this daemon does not know
])
def test_decisions_the_daemon_cannot_apply_change_nothing(delivery: deliveries_pb2.Delivery, outcome: int) -> None:
    state = _state(_pending())
    plan = plan_delivery(state, delivery, NOW, KEY)
    assert plan.answer.outcome == outcome
    assert plan.record is None and plan.event is None and plan.resolution is None
    assert list(state.pending) == ["0a1b2c3d"]


def test_a_late_decision_conflicts_and_expires_the_approval() -> None:
    plan = plan_delivery(_state(_pending(deadline=NOW - 1)), _decision(), NOW, KEY)
    assert plan.answer.outcome == CONFLICT
    assert plan.record is None
    [(token, resolution, event)] = plan.expired
    assert (token, resolution.status, event.state) == ("0a1b2c3d", "expired", approvals_pb2.APPROVAL_STATE_EXPIRED)
    assert event.resolution.source == approvals_pb2.RESOLUTION_SOURCE_TIMEOUT


def test_a_resolved_approval_accepts_its_own_decision_again_and_conflicts_with_others() -> None:
    state = DaemonState(resolved={"0a1b2c3d": Resolution(status="approved", decision_id="dec-1",
                                                         dpr_record_id="rec-resume")})
    same = plan_delivery(state, _decision(delivery_id="del-2"), NOW, KEY)
    assert (same.answer.outcome, same.answer.dpr_record_id, same.record) == (ACCEPTED, "rec-resume", None)
    other = plan_delivery(state, _decision(decision_id="dec-2", delivery_id="del-3"), NOW, KEY)
    assert (other.answer.outcome, other.record) == (CONFLICT, None)


def test_a_redelivered_delivery_gets_the_same_answer_without_applying_again() -> None:
    answer = Answer(outcome=ACCEPTED, message="defer 0a1b2c3d approved", dpr_record_id="rec-resume", at_ns=NOW)
    state = _state(_pending())
    state.remember_delivery("del-1", answer)
    plan = plan_delivery(state, _decision(), NOW + 10**9, KEY)
    assert (plan.answer, plan.record, plan.remember) == (answer, None, False)


def test_notification_updates_keep_the_highest_revision() -> None:
    update = deliveries_pb2.Delivery(delivery_id="n1", notification_config_update=deliveries_pb2.NotificationConfigUpdate(revision=7))
    plan = plan_delivery(DaemonState(notification_revision=3), update, NOW, KEY)
    assert (plan.answer.outcome, plan.notification_revision) == (ACCEPTED, 7)
    older = plan_delivery(DaemonState(notification_revision=9), update, NOW, KEY)
    assert (older.answer.outcome, older.notification_revision) == (ACCEPTED, None)


def _command(kind: int, agent: str = "payments-bot", command_id: str = "cmd-1") -> emergency_pb2.EmergencyCommand:
    return emergency_pb2.EmergencyCommand(command_id=command_id, type=kind, agent_id=agent,  # type: ignore[arg-type]
                                          reason="runaway refunds",
                                          issued_by=actor_pb2.Actor(user_id="usr_1", email="ops@example.com"))


def test_a_kill_is_applied_and_recorded_once_per_command_id() -> None:
    state = DaemonState()
    plan = plan_command(state, _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL), NOW)
    assert (plan.answer.outcome, plan.kill, plan.isolate, plan.agent_id) == (APPLIED, True, False, "payments-bot")
    assert plan.record is not None
    assert (plan.record["effect"], plan.record["reason_code"], plan.record["tool_id"]) == (
        "DENY", "KILL_SWITCH_ACTIVE", "faramesh/emergency.kill")
    assert "cmd-1" in plan.record["reason"] and "ops@example.com" in plan.record["reason"]
    state.killed.append("payments-bot")
    state.remember_command("cmd-1", plan.answer)
    again = plan_command(state, _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL), NOW + 1)
    assert (again.answer, again.record, again.remember) == (plan.answer, None, False)
    second = plan_command(state, _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, command_id="cmd-2"), NOW)
    assert second.answer.outcome == ALREADY and second.record is not None  # still recorded


def test_an_isolate_is_recorded_as_shadow_permit() -> None:
    plan = plan_command(DaemonState(), _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE), NOW)
    assert (plan.answer.outcome, plan.isolate, plan.kill) == (APPLIED, True, False)
    assert plan.record is not None
    assert (plan.record["effect"], plan.record["reason_code"]) == ("SHADOW_PERMIT", "AGENT_ISOLATED")


@pytest.mark.parametrize("command", [
    _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_UNSPECIFIED),
    _command(emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, agent=""),
])
def test_anything_but_kill_or_isolate_of_a_named_agent_is_rejected(command: emergency_pb2.EmergencyCommand) -> None:
    plan = plan_command(DaemonState(), command, NOW)
    assert (plan.answer.outcome, plan.record, plan.kill, plan.isolate) == (REJECTED, None, False, False)


def test_an_unknown_command_number_is_rejected() -> None:
    raw = emergency_pb2.EmergencyCommand(command_id="cmd-x", agent_id="payments-bot").SerializeToString() + b"\x10\x07"
    command = emergency_pb2.EmergencyCommand.FromString(raw)  # type 7, as a newer Cloud might send
    assert plan_command(DaemonState(), command, NOW).answer.outcome == REJECTED


def test_kill_denies_every_call_and_isolation_shadows_it() -> None:
    state = DaemonState(killed=["a"], isolated=["a", "b"])
    assert call_overrides(state, "a", "PERMIT", "RULE_PERMIT")["reason_code"] == "KILL_SWITCH_ACTIVE"
    assert call_overrides(state, "a", "PERMIT", "RULE_PERMIT")["effect"] == "DENY"
    assert [(o["effect"], o["reason_code"]) for o in (
        call_overrides(state, "b", "DENY", "RULE_DENY"), call_overrides(state, "b", "DEFER", "RULE_DEFER"),
        call_overrides(state, "b", "PERMIT", "RULE_PERMIT"))] == [
        ("SHADOW_PERMIT", "SHADOW_DENY"), ("SHADOW_PERMIT", "SHADOW_DEFER"), ("SHADOW_PERMIT", "RULE_PERMIT")]
    assert call_overrides(state, "b", "DEFER", "RULE_DEFER")["defer_token"] is None
    assert call_overrides(state, "c", "DENY", "RULE_DENY") == {}


def test_the_control_state_survives_its_json_form() -> None:
    state = _state(_pending())
    state.killed.append("payments-bot")
    state.resolve("0a1b2c3d", Resolution(status="approved", decision_id="dec-1", dpr_record_id="r", resolved_ns=NOW))
    state.remember_command("cmd-1", Answer(outcome=APPLIED, dpr_record_id="r2", at_ns=NOW))
    assert DaemonState.loads(state.dumps()) == state
    assert DaemonState.loads(None) == DaemonState()


def test_the_daemon_host_resolves_a_stable_share_of_old_defers_itself() -> None:
    now = NOW + 119 * 10**9  # every defer below was created 120 s ago
    defers = [_pending(token=f"{i:08x}", deadline=now + 180 * 10**9) for i in range(600)]
    chosen = [local_choice(p, now, 0.3, 60.0) for p in defers]
    share = sum(c is not None for c in chosen) / len(chosen)
    assert 0.2 < share < 0.4 and {c for c in chosen if c} == {"approved", "denied", "withdrawn"}
    assert chosen == [local_choice(p, now, 0.3, 60.0) for p in defers]  # stable per token
    assert all(local_choice(p, now, 0.3, 200.0) is None for p in defers)  # not old enough yet
    assert all(local_choice(p, now, 0.0, 0.0) is None for p in defers)  # off
    overdue = _pending(deadline=now - 1)
    assert local_choice(overdue, now, 1.0, 0.0) is None  # the deadline resolves it, not the host


def test_a_local_resolution_is_pushed_as_source_local_and_a_withdrawal_writes_no_record() -> None:
    p = _pending()
    record, resolution, event = local_resolution(p, "denied", 5, KEY)
    assert record is not None and record["effect"] == "DENY" and record["reason_code"] == "APPROVAL_DENIED"
    assert resolution.status == "denied"
    assert (event.state, event.resolution.source, event.resolution.reason) == (
        approvals_pb2.APPROVAL_STATE_DENIED, approvals_pb2.RESOLUTION_SOURCE_LOCAL, "denied via CLI")
    record, resolution, event = local_resolution(p, "withdrawn", 5, KEY)
    assert record is None and resolution.status == "withdrawn"
    assert (event.state, event.resolution.source) == (
        approvals_pb2.APPROVAL_STATE_WITHDRAWN, approvals_pb2.RESOLUTION_SOURCE_LOCAL)


def test_a_registry_pack_alert_is_recorded_for_status_and_acknowledged_with_what_it_says() -> None:
    from faramesh_cloud_api.sync.v1 import deliveries_pb2, registry_pb2

    alert = registry_pb2.RegistryPackAlert(
        alert_id="a1", current=registry_pb2.RegistryArtifact(name="faramesh/stripe", version="1.0.0"),
        latest_version="1.1.0", yanked=True, severity=registry_pb2.ALERT_SEVERITY_CRITICAL,
        summary="faramesh/stripe 1.0.0 was yanked")
    plan = plan_delivery(_state(), deliveries_pb2.Delivery(delivery_id="a1", registry_pack_alert=alert), NOW, KEY)

    assert plan.answer.outcome == ACCEPTED
    assert plan.answer.message == "alert recorded: faramesh/stripe 1.0.0 yanked"
    assert plan.alert is not None and plan.alert[0] == "a1"
    seen = plan.alert[1]
    assert (seen.name, seen.current, seen.latest, seen.yanked, seen.severity) == (
        "faramesh/stripe", "1.0.0", "1.1.0", True, "critical")
    assert plan.record is None  # recorded and shown, never acted on
