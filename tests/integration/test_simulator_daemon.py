"""The simulated daemon on disk: its durable sync buffer, its WAL across restarts and crashes,
and what Cloud's decisions and emergency commands make it write."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from faramesh_cloud_api.sync.v1 import (
    actor_pb2,
    approvals_pb2,
    deliveries_pb2,
    emergency_pb2,
    fleet_pb2,
    push_pb2,
)

from faramesh_cloud.dpr.wal import encode_frame
from faramesh_cloud.fpl.materialize import materialize
from faramesh_cloud.simulator.approvals import ACCEPTED
from faramesh_cloud.simulator.buffer import SyncBuffer
from faramesh_cloud.simulator.daemon import DaemonOptions, SimulatedDaemon
from faramesh_cloud.simulator.emergency import APPLIED
from faramesh_cloud.simulator.walfile import WAL_NAME
from tests.simulated_policy import disagreement
from tests.simulator_support import stack_keys, verify, wal_records

pytestmark = [pytest.mark.integration]

OPTIONS = DaemonOptions(agents=3, seed=11)


async def _items(buffer: SyncBuffer) -> list[push_pb2.PushItem]:
    return await buffer.batch(100_000, 1 << 40)


async def test_the_buffer_numbers_items_without_gaps_and_drops_only_what_was_acknowledged(tmp_path: Path) -> None:
    buffer = await SyncBuffer.open(tmp_path / "b.db")
    try:
        payloads = [fleet_pb2.DaemonHealth(wal_size_bytes=n) for n in range(10)]
        assert await buffer.enqueue(payloads[:4], enqueued_ns=1) == [1, 2, 3, 4]
        assert await buffer.enqueue(payloads[4:], enqueued_ns=2) == [5, 6, 7, 8, 9, 10]
        assert [i.daemon_health.wal_size_bytes for i in await _items(buffer)] == list(range(10))

        assert await buffer.ack(3) == 3
        assert await buffer.sequences() == list(range(4, 11))
        assert await buffer.ack(2) == 0  # an acknowledgement never goes back
        assert (await buffer.stats()).acked_through_sequence == 3

        first = await buffer.batch(4, 1 << 20)
        assert [i.sequence for i in first] == [4, 5, 6, 7]
        one_item = first[0].ByteSize()
        by_bytes = await buffer.batch(100, 64 + 2 * (one_item + 2))
        assert [i.sequence for i in by_bytes] == [4, 5]
        assert [i.sequence for i in await buffer.batch(100, 1)] == [4]  # one always goes, alone
        stats = await buffer.stats()
        assert (stats.queued_items, stats.last_assigned_sequence, stats.oldest_enqueued_ns) == (7, 10, 1)
        assert stats.queued_bytes == sum(i.ByteSize() for i in await _items(buffer))
    finally:
        await buffer.close()


async def test_the_buffer_survives_a_restart_and_never_reuses_a_sequence(tmp_path: Path) -> None:
    buffer = await SyncBuffer.open(tmp_path / "b.db")
    await buffer.enqueue([fleet_pb2.DaemonHealth(ok=True)] * 5, enqueued_ns=1, wal_end=99, state='{"x":1}')
    buffer_id = buffer.buffer_id
    await buffer.ack(5)
    await buffer.enqueue([fleet_pb2.DaemonHealth(ok=False)] * 2, enqueued_ns=2)
    await buffer.close()

    reopened = await SyncBuffer.open(tmp_path / "b.db")
    try:
        assert reopened.buffer_id == buffer_id
        assert await reopened.sequences() == [6, 7]
        assert (await reopened.wal_end(), await reopened.state()) == (99, '{"x":1}')
        await reopened.ack(7)
        assert await reopened.enqueue([fleet_pb2.DaemonHealth()], enqueued_ns=3) == [8]
    finally:
        await reopened.close()
    other = await SyncBuffer.open(tmp_path / "other.db")
    try:
        assert other.buffer_id != buffer_id and other.last_sequence == 0
    finally:
        await other.close()


async def test_a_restarted_daemon_continues_its_chains_and_keeps_its_buffer(tmp_path: Path) -> None:
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    await daemon.write_decisions(120)
    queued, buffer_id = daemon.buffer.queued, daemon.buffer.buffer_id
    await daemon.close()

    again = await SimulatedDaemon.open(tmp_path, "s", DaemonOptions(agents=3))
    try:
        assert again.buffer.buffer_id == buffer_id
        # + the start reports: status, health, 3 budgets, 3 credentials
        assert await again.buffer.sequences() == list(range(1, queued + 1 + 8))
        await again.write_decisions(80)
    finally:
        await again.close()
    raws = wal_records(tmp_path)
    assert len(raws) == 200
    verifier, findings = verify(raws, stack_keys(tmp_path))
    assert findings == []
    assert sum(c.length for c in verifier.chains.values()) == 200
    lamports: dict[str, list[int]] = {}
    for raw in raws:
        record = orjson.loads(raw)
        lamports.setdefault(record["agent_id"], []).append(record["lamport_seq"])
    assert all(seq == list(range(1, len(seq) + 1)) for seq in lamports.values())


async def test_a_starting_daemon_reports_its_status_health_and_budgets_before_anything_else(tmp_path: Path) -> None:
    """So `up --demo` (and a real Cloud) shows a stack's health and budgets as soon as the
    daemon connects, not one status (60 s) or budget (30 s) interval later."""
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    try:
        await daemon.write_decisions(5)
        items = await _items(daemon.buffer)
    finally:
        await daemon.close()
    kinds = [item.WhichOneof("payload") for item in items]
    assert kinds[:5] == ["stack_status", "daemon_health", "budget_snapshot", "budget_snapshot", "budget_snapshot"]
    assert {items[i].budget_snapshot.agent_id for i in range(2, 5)} == set(daemon.agents)
    assert kinds.index("dpr_record") > kinds.index("daemon_health")


async def test_wal_frames_that_never_reached_the_buffer_are_enqueued_on_the_next_start(tmp_path: Path) -> None:
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    await daemon.write_decisions(10)
    await daemon.close()
    # A crash between the WAL write and the enqueue: the frame is on disk, the item is not;
    # and a second write was cut short (a torn tail).
    written = b'{"record_id":"crash-1","agent_id":"x","record_hash":"' + b"0" * 64 + b'"}'
    with (tmp_path / WAL_NAME).open("ab") as wal:
        wal.write(encode_frame(written))
        wal.write(encode_frame(b'{"record_id":"torn"}')[:20])

    again = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    try:
        items = await _items(again.buffer)
        dprs = [i.dpr_record.record_json for i in items if i.HasField("dpr_record")]
        assert dprs[-1] == written
        assert dprs[:-1] == wal_records(tmp_path)[:-1]
        assert items[-1 - 8].dpr_record.wal_frame_index == 10  # then the 8 start-up report items
    finally:
        await again.close()
    assert wal_records(tmp_path)[-1] == written  # the torn tail was cut off


async def _kill(daemon: SimulatedDaemon, kind: int, command_id: str, agent: str = "payments-bot") -> tuple[int, str]:
    answer = await daemon.apply_command(emergency_pb2.EmergencyCommand(
        command_id=command_id, type=kind, agent_id=agent, reason="runaway refunds",  # type: ignore[arg-type]
        issued_by=actor_pb2.Actor(user_id="usr_1")))
    return answer.outcome, answer.dpr_record_id


async def test_a_killed_agent_is_denied_and_an_isolated_one_runs_in_shadow(tmp_path: Path) -> None:
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    try:
        await daemon.write_decisions(30)
        kill = await _kill(daemon, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, "cmd-kill")
        isolate = await _kill(daemon, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE, "cmd-iso", "support-triage")
        assert await _kill(daemon, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, "cmd-kill") == kill
        before = len(wal_records(tmp_path))
        await daemon.write_decisions(300)
        items = await _items(daemon.buffer)
    finally:
        await daemon.close()
    raws = wal_records(tmp_path)
    records = [orjson.loads(r) for r in raws]
    by_id = {r["record_id"]: r for r in records}
    assert kill[0] == isolate[0] == APPLIED
    assert (by_id[kill[1]]["agent_id"], by_id[kill[1]]["reason_code"]) == ("payments-bot", "KILL_SWITCH_ACTIVE")
    assert (by_id[isolate[1]]["agent_id"], by_id[isolate[1]]["effect"]) == ("support-triage", "SHADOW_PERMIT")
    assert before == 32  # the repeated command wrote nothing
    later = records[before:]
    killed = [r for r in later if r["agent_id"] == "payments-bot"]
    isolated = [r for r in later if r["agent_id"] == "support-triage"]
    others = [r for r in later if r["agent_id"] == "code-reviewer"]
    assert killed and all((r["effect"], r["reason_code"]) == ("DENY", "KILL_SWITCH_ACTIVE") for r in killed)
    assert isolated and all(r["effect"] == "SHADOW_PERMIT" and "defer_token" not in r for r in isolated)
    assert {r["reason_code"] for r in isolated} >= {"SHADOW_DENY", "RULE_PERMIT"}
    assert {r["effect"] for r in others} >= {"PERMIT", "DENY"}
    statuses = [i.stack_status for i in items if i.HasField("stack_status")]
    assert {(a.agent_id, a.killed, a.isolated) for a in statuses[-1].agents} == {
        ("payments-bot", True, False), ("support-triage", False, True), ("code-reviewer", False, False)}
    assert verify(raws, stack_keys(tmp_path))[1] == []


async def test_cloud_decisions_resume_or_deny_waiting_calls_and_are_pushed_back(tmp_path: Path) -> None:
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    try:
        await daemon.write_decisions(400)
        pending = list(daemon.state.pending.values())
        assert len(pending) >= 2
        yes, no = pending[0], pending[1]
        acks = []
        for n, (p, verdict) in enumerate(((yes, approvals_pb2.APPROVAL_VERDICT_APPROVE),
                                          (no, approvals_pb2.APPROVAL_VERDICT_DENY))):
            delivery = deliveries_pb2.Delivery(delivery_id=f"del-{n}", approval_decision=approvals_pb2.ApprovalDecision(
                decision_id=f"dec-{n}", defer_token=p.token, agent_id=p.agent_id, verdict=verdict,
                approver=actor_pb2.Actor(user_id="usr_7"), reason="checked"))
            acks.append(await daemon.apply_delivery(delivery))
            assert await daemon.apply_delivery(delivery) == acks[-1]  # re-delivery: same answer
        items = await _items(daemon.buffer)
        remaining = set(daemon.state.pending)
    finally:
        await daemon.close()
    assert [a.outcome for a in acks] == [ACCEPTED, ACCEPTED]
    assert yes.token not in remaining and no.token not in remaining
    records = {r["record_id"]: r for r in map(orjson.loads, wal_records(tmp_path))}
    resume, denial = records[acks[0].dpr_record_id], records[acks[1].dpr_record_id]
    assert (resume["effect"], resume["reason_code"], resume["agent_id"], resume["tool_id"]) == (
        "PERMIT", "APPROVAL_GRANTED", yes.agent_id, yes.tool_id)
    assert orjson.loads(resume["approval_envelope"])["token"] == yes.token
    assert (denial["effect"], denial["reason_code"]) == ("DENY", "APPROVAL_DENIED")
    assert records[yes.record_id]["defer_token"] == yes.token  # the DEFER record raised it
    events = [i.approval_event for i in items if i.HasField("approval_event")]
    assert {(e.approval.defer_token, e.state) for e in events} >= {
        (yes.token, approvals_pb2.APPROVAL_STATE_PENDING), (yes.token, approvals_pb2.APPROVAL_STATE_APPROVED),
        (no.token, approvals_pb2.APPROVAL_STATE_DENIED)}
    pending_event = next(e for e in events if e.approval.defer_token == yes.token
                         and e.state == approvals_pb2.APPROVAL_STATE_PENDING)
    assert (pending_event.approval.agent_id, pending_event.approval.tool_id, pending_event.approval.dpr_record_id) == (
        yes.agent_id, yes.tool_id, yes.record_id)
    assert orjson.loads(pending_event.approval.args_snapshot_json) == yes.args
    assert pending_event.approval.deadline.ToNanoseconds() > pending_event.approval.created_at.ToNanoseconds()
    assert verify(wal_records(tmp_path), stack_keys(tmp_path))[1] == []


async def test_approvals_nobody_decided_expire_at_their_deadline(tmp_path: Path) -> None:
    clock = [1_764_081_234_000_000_000]
    daemon = await SimulatedDaemon.open(tmp_path, "s", DaemonOptions(agents=2, seed=3, approval_timeout_s=60),
                                        wall_ns=lambda: clock[0])
    try:
        await daemon.write_decisions(200)
        tokens = set(daemon.state.pending)
        assert tokens
        clock[0] += 61 * 10**9
        await daemon.write_decisions(0)
        items = await _items(daemon.buffer)
        assert not tokens & set(daemon.state.pending)
    finally:
        await daemon.close()
    expired = {i.approval_event.approval.defer_token for i in items if i.HasField("approval_event")
               and i.approval_event.state == approvals_pb2.APPROVAL_STATE_EXPIRED}
    assert expired == tokens


async def test_every_record_carries_the_rule_the_policy_the_daemon_reports_decides_it_with(tmp_path: Path) -> None:
    """The simulated daemon's DPRs agree with the governance.fms its status reports, as Cloud
    materialises it: `matched_rule_id` is the enforced `fpl-<n>` that decides the call
    (first match whose condition holds), empty exactly when the default denied it or the kill
    switch did; approvals resume or deny under their defer rule; isolation keeps the rule."""
    daemon = await SimulatedDaemon.open(tmp_path, "s", OPTIONS)
    try:
        await daemon.write_decisions(300)
        await _kill(daemon, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL, "cmd-kill")
        await _kill(daemon, emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE, "cmd-iso", "support-triage")
        token = next(p for p in daemon.state.pending.values() if p.agent_id == "code-reviewer").token
        await daemon.apply_delivery(deliveries_pb2.Delivery(delivery_id="del-1", approval_decision=(
            approvals_pb2.ApprovalDecision(decision_id="dec-1", defer_token=token, agent_id="code-reviewer",
                                           verdict=approvals_pb2.APPROVAL_VERDICT_APPROVE,
                                           approver=actor_pb2.Actor(user_id="usr_7"), reason="ok"))))
        await daemon.write_decisions(300)
        items = await _items(daemon.buffer)
    finally:
        await daemon.close()
    (text,) = {i.stack_status.applied_config.governance_fms for i in items if i.HasField("stack_status")}
    policy = materialize(text)
    assert policy.loads and policy.primary_agent == "code-reviewer"
    records = [orjson.loads(r) for r in wal_records(tmp_path)]
    assert [(r["record_id"], why) for r in records if (why := disagreement(policy, r)) is not None] == []
    codes = {r["reason_code"] for r in records}
    assert {"UNMATCHED_DENY", "KILL_SWITCH_ACTIVE", "APPROVAL_GRANTED", "SHADOW_DENY", "RULE_DEFER"} <= codes
    assert {r["tool_id"] for r in records if r["matched_rule_id"] == ""} >= {"slack/post_message", "db/query"}
    pending = [i.approval_event.approval for i in items if i.HasField("approval_event")]
    assert pending and all(policy.rule(a.matched_rule_id).effect == "defer" for a in pending)  # type: ignore[union-attr]
