"""One contract for the gateway's ``ApprovalsPort``, held by both adapters: ``ApprovalsApi`` in
process (what ``up`` gives the gateway), and ``ApprovalsApiClient`` talking to the approvals
service's real internal server over real mutual TLS on 127.0.0.1 (``tests/approvals_adapters.py``,
what ``serve gateway`` gets). The same approvals, fed through the real processor and sink into
real PostgreSQL, give the same answers, and the same changes are accepted or refused with the
same exceptions (class, code and message): the queue and its filters, history, one approval,
decisions (a mandatory reason; of two concurrent deciders exactly one wins and the other's
conflict names the winner), bulk decisions with a result per approval, kill / isolate and
their refusals (each recorded), tenant isolation, and an ``org_id`` that is not one. Every
change records the actor it was given in the platform audit log and in its event."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.approvals.changes import ApprovalDecided, EmergencyCommandIssued, approval_key
from faramesh_cloud.approvals.domain import (
    CommandRefused,
    Conflict,
    DecisionRefused,
    State,
    UnknownApproval,
)
from faramesh_cloud.approvals.events import decode
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import ApprovalSink
from faramesh_cloud.approvals.views import Approval, Command, Decision
from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.gateway.web.approvals_ports import ApprovalsPort
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.port import Message
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_adapters import ADAPTERS, approvals_adapter, unused_control
from tests.approvals_support import pending_event
from tests.fixtures.gateway import approvals_api
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ALICE = Actor(ActorType.USER, "11111111-1111-4111-8111-111111111111", "alice@example.com", "203.0.113.7")
BOB = Actor(ActorType.USER, "22222222-2222-4222-8222-222222222222", "björn@example.com", "198.51.100.9")
KEY = Actor(ActorType.API_KEY, "33333333-3333-4333-8333-333333333333", "ci-bot", "192.0.2.1")
UNKNOWN = "00000000-0000-4000-8000-000000000000"
HOSTILE = b'{"note":"<script>alert(1)</script>","amount":120}'


@dataclasses.dataclass(frozen=True)
class World:
    acme: str
    pay: str
    search: str
    beta: str
    beta_stack: str
    ids: dict[str, str]  # defer token -> approval id
    beta_command: str


def _message(org: str, stack: str, offset: int, event: approvals_pb2.ApprovalEvent) -> Message:
    headers = Origin(org, stack, "sync", offset + 1, "buf-contract", time.time_ns()).headers()
    headers[H_KIND] = b"approval_event"
    return Message(SYNC_ITEMS, 0, offset, stack_key(org, stack), event.SerializeToString(), headers,
                   int(time.time() * 1000))


@pytest.fixture
async def world(database: Database, stacks: StackStore) -> World:
    acme = (await stacks.create_org("acme", "Acme")).org_id
    beta = (await stacks.create_org("beta", "Beta")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    search, _ = await stacks.register_stack(acme, "search-staging", "staging")
    beta_stack, _ = await stacks.register_stack(beta, "beta-prod", "production")
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        (acme, pay.stack_id, pending_event("a1", created=now - timedelta(minutes=40), args=HOSTILE,
                                           deadline=now + timedelta(hours=1))),
        (acme, pay.stack_id, pending_event("a2", created=now - timedelta(minutes=10),
                                           deadline=now + timedelta(hours=1))),
        (acme, pay.stack_id, pending_event("a3", "support-triage", tool="zendesk/close",
                                           created=now - timedelta(minutes=3))),
        (acme, search.stack_id, pending_event("s1", "search-bot", tool="web/fetch", created=now - timedelta(minutes=2))),
        # Overdue: never in the queue, and too late to decide.
        (acme, pay.stack_id, pending_event("late", created=now - timedelta(minutes=9),
                                           deadline=now - timedelta(minutes=4))),
        # Resolved on the daemon host: withdrawn from Cloud.
        (acme, pay.stack_id, pending_event("w1", created=now - timedelta(minutes=8))),
        (acme, pay.stack_id, pending_event("w1", state=approvals_pb2.APPROVAL_STATE_DENIED, created=now - timedelta(minutes=8),
                                           source=approvals_pb2.RESOLUTION_SOURCE_LOCAL, approver="ops-cli",
                                           reason="denied via CLI")),
        (beta, beta_stack.stack_id, pending_event("b1", created=now - timedelta(minutes=1))),
    ]
    processor = ApprovalProcessor()
    facts = [processor.process(_message(org, stack, i, event)) for i, (org, stack, event) in enumerate(events)]
    assert all(isinstance(f, ApprovalFact) for f in facts)
    await ApprovalSink(database).write(facts)  # type: ignore[arg-type]
    ids: dict[str, str] = {}
    for org in (acme, beta):
        for a in [*await approvals_api(database).pending(org), *await approvals_api(database).history(org)]:
            ids[a.defer_token] = a.approval_id
    ids["late"] = approval_key(acme, pay.stack_id, "late")  # in neither list: overdue, not yet swept
    command = await approvals_api(database).issue_command(beta, beta_stack.stack_id, "payments-bot", KEY,
                                                          "beta's own", "kill", permitted=True, stack_exists=True)
    return World(acme, pay.stack_id, search.stack_id, beta, beta_stack.stack_id, ids, command.command_id)


@pytest.fixture(params=ADAPTERS)
async def port(request: pytest.FixtureRequest, database: Database,
               internal_tls: ServiceTls) -> AsyncIterator[ApprovalsPort]:
    async with approvals_adapter(request.param, approvals_api(database), unused_control(database),
                                 internal_tls) as adapter:
        yield adapter


async def _audit(database: Database, org: str, action: str) -> list[Any]:
    return [e for e in await PlatformAuditLog(database).entries(org) if e.action == action]


async def _events(database: Database) -> list[Any]:
    """The service's events still in its outbox (nothing relays them here), decoded."""
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT topic, key, value, headers FROM approvals_outbox ORDER BY id")
                      ).fetchall()
    return [decode(Message(r[0], 0, i, bytes(r[1]), bytes(r[2]), decode_headers(r[3]), 0)) for i, r in enumerate(rows)]


async def test_the_queue_oldest_first_with_its_filters_and_the_readers_stacks(port: ApprovalsPort,
                                                                               world: World) -> None:
    queue = await port.pending(world.acme)
    assert [a.defer_token for a in queue] == ["a1", "a2", "a3", "s1"]  # oldest first; not overdue, not beta's
    first = queue[0]
    assert isinstance(first, Approval)
    assert (first.approval_id, first.stack_id, first.agent_id, first.tool_id, first.session_id) == (
        world.ids["a1"], world.pay, "payments-bot", "stripe/refund", "sess-1")
    assert first.args_json == HOSTILE.decode()
    assert (first.matched_rule_id, first.reason_code, first.priority, first.dpr_record_id) == (
        "refunds-over-100", "RULE_DEFER", "high", "rec-a1")
    assert (first.state, first.daemon_state, first.resolved_at, first.decision_id, first.bulk_action_id) == (
        "pending", "pending", None, "", "")
    assert first.created_at.tzinfo is not None and first.deadline - first.created_at == timedelta(minutes=100)
    assert first.pending_s >= 40 * 60 and first.age_band == "red" and queue[2].age_band == "green"
    assert [a.defer_token for a in await port.pending(world.acme, stack_id=world.search)] == ["s1"]
    assert [a.defer_token for a in await port.pending(world.acme, agent_id="support-triage")] == ["a3"]
    assert [a.defer_token for a in await port.pending(world.acme, tool_id="stripe/refund")] == ["a1", "a2"]
    assert [a.defer_token for a in await port.pending(world.acme, rule_id="refunds-over-100")] == [
        "a1", "a2", "a3", "s1"]
    assert await port.pending(world.acme, rule_id="no-such-rule") == []
    assert [a.defer_token for a in await port.pending(world.acme, stacks=[world.search])] == ["s1"]
    assert await port.pending(world.acme, stacks=[]) == []  # no stack in scope: nothing, not everything
    assert await port.pending(world.acme, stack_id="") == []  # an empty filter value filters


async def test_history_and_one_approval(port: ApprovalsPort, world: World) -> None:
    [withdrawn] = await port.history(world.acme)
    assert (withdrawn.defer_token, withdrawn.state, withdrawn.daemon_state, withdrawn.resolution_source) == (
        "w1", "withdrawn", "denied", "local")
    assert withdrawn.withdrawn_how == "it was denied on the daemon host by ops-cli (denied via CLI)"
    assert withdrawn.resolved_at is not None
    assert await port.history(world.acme, stacks=[world.search]) == []
    one = await port.get(world.acme, world.ids["a2"])
    assert one.defer_token == "a2" and one.state == "pending"
    assert (await port.get(world.acme, world.ids["late"])).state == "pending"  # overdue, not yet swept
    for approval_id, scope in ((world.ids["a2"], [world.search]), (UNKNOWN, None), ("not-a-uuid", None),
                               ("", None)):
        with pytest.raises(UnknownApproval, match="in this organisation") as missing:
            await port.get(world.acme, approval_id, scope)
        assert str(missing.value) == f"no approval {approval_id!r} in this organisation"
    assert await port.delivery(world.acme, UNKNOWN) is None
    assert await port.delivery(world.acme, "not-a-uuid") is None


async def test_a_decision_needs_a_reason_and_records_the_actor_it_is_given(
        port: ApprovalsPort, world: World, database: Database) -> None:
    approval_id = world.ids["a1"]
    for reason, code in (("   ", "reason_required"), ("x" * 2001, "reason_too_long")):
        with pytest.raises(DecisionRefused) as refused:
            await port.decide(world.acme, approval_id, ALICE, "approve", reason)
        assert refused.value.code == code and type(refused.value) is DecisionRefused
    with pytest.raises(ValueError, match="not a valid Verdict"):
        await port.decide(world.acme, approval_id, ALICE, "maybe", "looks fine")
    assert (await port.get(world.acme, approval_id)).state == "pending"  # nothing happened
    assert not [e for e in await _events(database) if isinstance(e, ApprovalDecided)]

    decision = await port.decide(world.acme, approval_id, ALICE, "approve", "  verified with finance ",
                                 [world.pay])
    assert isinstance(decision, Decision)
    assert (decision.approval_id, decision.state) == (approval_id, State.APPROVED)
    assert uuid.UUID(decision.decision_id) and decision.decided_at.tzinfo is not None
    shown = await port.get(world.acme, approval_id)
    assert (shown.state, shown.resolved_by, shown.resolved_by_label, shown.resolution_reason, shown.decision_id,
            shown.resolution_source) == ("approved", ALICE.id, ALICE.label, "verified with finance",
                                         decision.decision_id, "cloud")
    assert await port.delivery(world.acme, decision.decision_id) == (0, None, "", "")

    [entry] = await _audit(database, world.acme, "approvals:request:decide")
    assert entry.actor == ALICE  # type, id, label and the address the gateway saw
    assert (entry.target.id, entry.details["verdict"], entry.details["reason"]) == (
        approval_id, "approve", "verified with finance")
    [event] = [e for e in await _events(database) if isinstance(e, ApprovalDecided)]
    assert (event.approval_id, event.decision_id, event.reason, event.bulk_action_id) == (
        approval_id, decision.decision_id, "verified with finance", "")
    assert event.approver == dataclasses.replace(ALICE, ip="")  # events name who, not from where


async def test_two_concurrent_deciders_one_wins_and_the_other_is_told_who(
        port: ApprovalsPort, world: World, database: Database) -> None:
    for token in ("a1", "a2", "a3"):
        results = await asyncio.gather(port.decide(world.acme, world.ids[token], ALICE, "approve", "fine by me"),
                                       port.decide(world.acme, world.ids[token], BOB, "deny", "not without a ticket"),
                                       return_exceptions=True)
        wins = [r for r in results if isinstance(r, Decision)]
        losses = [r for r in results if isinstance(r, BaseException)]
        assert len(wins) == 1 and len(losses) == 1, results
        winner = ALICE if wins[0].state is State.APPROVED else BOB
        lost = losses[0]
        assert isinstance(lost, Conflict) and lost.code == "already_resolved"
        assert str(lost) == (f"this approval was already {wins[0].state.value} by {winner.label}; "
                             "the first decision stands")
        assert (await port.get(world.acme, world.ids[token])).resolved_by_label == winner.label
    assert len(await _audit(database, world.acme, "approvals:request:decide")) == 3  # the losers left no trace


async def test_what_cannot_be_decided_is_refused_with_the_reason(port: ApprovalsPort, world: World) -> None:
    with pytest.raises(Conflict, match="expired before the decision") as late:
        await port.decide(world.acme, world.ids["late"], ALICE, "approve", "ok")
    assert late.value.code == "expired"
    with pytest.raises(Conflict) as withdrawn:
        await port.decide(world.acme, world.ids["w1"], ALICE, "deny", "no")
    assert withdrawn.value.code == "withdrawn"
    assert str(withdrawn.value) == ("the daemon withdrew this approval: it was denied on the daemon host by ops-cli "
                                    "(denied via CLI); there is nothing to decide, and the agent's call does not "
                                    "wait for Cloud any more")
    # Out of the decider's stacks, unknown, or not an id: not found, and nothing decided.
    for approval_id, scope in ((world.ids["s1"], [world.pay]), (UNKNOWN, None), ("nope", None)):
        with pytest.raises(UnknownApproval, match=f"no approval {approval_id!r} in this organisation"):
            await port.decide(world.acme, approval_id, ALICE, "approve", "ok", scope)
    assert (await port.get(world.acme, world.ids["s1"])).state == "pending"


async def test_bulk_decisions_cover_one_pattern_and_report_each_approval(
        port: ApprovalsPort, world: World, database: Database) -> None:
    with pytest.raises(DecisionRefused) as mixed:
        await port.bulk_decide(world.acme, [world.ids["a1"], world.ids["a3"]], ALICE, "deny", "incident freeze")
    assert mixed.value.code == "mixed_pattern" and "2 agents (payments-bot, support-triage)" in str(mixed.value)
    with pytest.raises(DecisionRefused) as empty:
        await port.bulk_decide(world.acme, [UNKNOWN], ALICE, "deny", "freeze")
    assert empty.value.code == "empty_selection"
    with pytest.raises(DecisionRefused) as no_reason:
        await port.bulk_decide(world.acme, [world.ids["a1"]], ALICE, "deny", "")
    assert no_reason.value.code == "reason_required"
    assert [a.defer_token for a in await port.pending(world.acme)] == ["a1", "a2", "a3", "s1"]  # none decided

    await port.decide(world.acme, world.ids["a2"], BOB, "approve", "first")
    asked = [world.ids["a1"], world.ids["a2"], UNKNOWN, world.ids["a1"], world.ids["s1"]]
    result = await port.bulk_decide(world.acme, asked, KEY, "deny", "incident freeze", [world.pay])
    assert uuid.UUID(result.bulk_action_id)
    assert [(d.approval_id, d.state) for d in result.decided] == [(world.ids["a1"], State.DENIED)]
    assert list(result.refused) == [world.ids["a2"], UNKNOWN, world.ids["s1"]]  # in the order asked, once each
    assert result.codes == {world.ids["a2"]: "already_resolved", UNKNOWN: "not_found", world.ids["s1"]: "not_found"}
    assert result.refused[world.ids["a2"]] == ("this approval was already approved by björn@example.com; "
                                               "the first decision stands")
    assert result.refused[UNKNOWN] == f"no approval {UNKNOWN!r} in this organisation"
    shown = await port.get(world.acme, world.ids["a1"])
    assert (shown.state, shown.bulk_action_id, shown.resolved_by_label) == ("denied", result.bulk_action_id, "ci-bot")
    entries = await _audit(database, world.acme, "approvals:request:decide")
    assert [(e.actor, e.details["bulk_action_id"]) for e in entries] == [(BOB, ""), (KEY, result.bulk_action_id)]
    bulk = [e for e in await _events(database) if isinstance(e, ApprovalDecided) and e.bulk_action_id]
    assert [(e.approval_id, e.approver.label) for e in bulk] == [(world.ids["a1"], "ci-bot")]


async def test_kill_and_isolate_are_queued_with_their_actor(port: ApprovalsPort, world: World,
                                                            database: Database) -> None:
    kill = await port.issue_command(world.acme, world.pay, " payments-bot ", ALICE, " runaway refunds ", "kill",
                                    permitted=True, stack_exists=True)
    isolate = await port.issue_command(world.acme, world.search, "search-bot", BOB, "odd fetches", "isolate",
                                       permitted=True, stack_exists=True)
    assert isinstance(kill, Command)
    assert (kill.stack_id, kill.agent_id, kill.command_type, kill.reason, kill.state) == (
        world.pay, "payments-bot", "kill", "runaway refunds", "issued")
    assert (kill.issued_by, kill.issued_by_label, kill.delivered_at, kill.acked_at, kill.applied_at) == (
        ALICE.id, ALICE.label, None, None, None)
    assert (kill.outcome, kill.message, kill.dpr_record_id) == ("", "", "")
    assert await port.commands(world.acme) == [isolate, kill]  # newest first
    assert await port.commands(world.acme, stack_id=world.pay) == [kill]
    assert await port.commands(world.acme, agent_id="search-bot") == [isolate]
    assert await port.commands(world.acme, stack_id=world.pay, agent_id="search-bot") == []
    assert await port.command(world.acme, kill.command_id) == kill
    [entry] = await _audit(database, world.acme, "fleet:agent:kill")
    assert entry.actor == ALICE and entry.details["command_id"] == kill.command_id
    assert [(e.command_id, e.command_type.value, e.issued_by) for e in await _events(database)
            if isinstance(e, EmergencyCommandIssued) and e.org_id == world.acme] == [
        (kill.command_id, "kill", dataclasses.replace(ALICE, ip="")),
        (isolate.command_id, "isolate", dataclasses.replace(BOB, ip=""))]


async def test_refused_commands_are_recorded_and_nothing_is_queued(port: ApprovalsPort, world: World,
                                                                   database: Database) -> None:
    attempts: list[tuple[dict[str, Any], str, str]] = [
        ({"permitted": False, "stack_exists": True}, "forbidden", "your role does not include fleet:agent:kill"),
        ({"permitted": True, "stack_exists": False}, "invalid", f"no stack {world.pay!r} in this organisation"),
    ]
    for flags, code, message in attempts:
        with pytest.raises(CommandRefused, match=message) as refused:
            await port.issue_command(world.acme, world.pay, "payments-bot", BOB, "because", "kill", **flags)
        assert refused.value.code == code
    with pytest.raises(CommandRefused, match="name the agent to isolate") as nobody:
        await port.issue_command(world.acme, world.pay, "   ", BOB, "because", "isolate", permitted=True,
                                 stack_exists=True)
    assert nobody.value.code == "invalid"
    with pytest.raises(CommandRefused, match="a reason is required") as no_reason:
        await port.issue_command(world.acme, world.pay, "payments-bot", BOB, " ", "kill", permitted=True,
                                 stack_exists=True)
    assert no_reason.value.code == "invalid"
    with pytest.raises(ValueError, match="not a valid CommandType"):
        await port.issue_command(world.acme, world.pay, "payments-bot", BOB, "x", "explode", permitted=True,
                                 stack_exists=True)
    assert await port.commands(world.acme) == []
    refused_entries = [*await _audit(database, world.acme, "fleet:agent:kill"),
                       *await _audit(database, world.acme, "fleet:agent:isolate")]
    assert len(refused_entries) == 4 and all(e.actor == BOB and "refused" in e.details for e in refused_entries)


async def test_another_organisations_approvals_and_commands_are_never_answered(port: ApprovalsPort,
                                                                                world: World) -> None:
    theirs = world.ids["b1"]
    assert theirs not in {a.approval_id for a in await port.pending(world.acme)}
    assert await port.pending(world.acme, stack_id=world.beta_stack) == []
    with pytest.raises(UnknownApproval):
        await port.get(world.acme, theirs)
    with pytest.raises(UnknownApproval):
        await port.decide(world.acme, theirs, ALICE, "approve", "mine now")
    with pytest.raises(DecisionRefused) as bulk:
        await port.bulk_decide(world.acme, [theirs], ALICE, "approve", "mine now")
    assert bulk.value.code == "empty_selection"
    with pytest.raises(UnknownApproval, match="no emergency command"):
        await port.command(world.acme, world.beta_command)
    assert await port.commands(world.acme) == []
    # And the other way round: beta sees its own, never acme's; its approval is still pending.
    assert [a.defer_token for a in await port.pending(world.beta)] == ["b1"]
    assert [c.command_id for c in await port.commands(world.beta)] == [world.beta_command]
    with pytest.raises(UnknownApproval):
        await port.get(world.beta, world.ids["a1"])
    with pytest.raises(UnknownApproval):
        await port.decide(world.beta, world.ids["a1"], ALICE, "deny", "theirs")
    assert (await port.get(world.acme, world.ids["a1"])).state == "pending"


@pytest.mark.parametrize("org_id", ["acme", "' OR 1=1 --"])
async def test_an_org_id_that_is_not_one_is_refused(port: ApprovalsPort, world: World, org_id: str) -> None:
    some = world.ids["a1"]
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: port.pending(org_id), lambda: port.history(org_id), lambda: port.get(org_id, some),
        lambda: port.delivery(org_id, some), lambda: port.decide(org_id, some, ALICE, "approve", "ok"),
        lambda: port.bulk_decide(org_id, [some], ALICE, "approve", "ok"), lambda: port.commands(org_id),
        lambda: port.command(org_id, some),
        lambda: port.issue_command(org_id, world.pay, "payments-bot", ALICE, "x", "kill", permitted=True,
                                   stack_exists=True)]
    for i, call in enumerate(calls):
        with pytest.raises(ValueError, match=r"organisation .* is not a valid id \(a UUID\)"):
            await call()
            pytest.fail(f"call {i} answered")


async def test_both_adapters_give_identical_answers(database: Database, internal_tls: ServiceTls,
                                                    world: World) -> None:
    """Every read of the port, for both organisations and every approval, stack and command,
    compared value for value (every field; ``now``, the service's clock at the read, aside)
    between the two adapters."""
    def same_clock(value: Any) -> Any:
        if isinstance(value, Approval):
            return dataclasses.replace(value, now=datetime.min.replace(tzinfo=UTC))
        if isinstance(value, list):
            return [same_clock(v) for v in value]
        return value

    async def answers(port: ApprovalsPort) -> list[Any]:
        out: list[Any] = []
        for org in (world.acme, world.beta):
            out += [await port.pending(org), await port.history(org), await port.commands(org)]
            for stack_id in (world.pay, world.search, world.beta_stack):
                out += [await port.pending(org, stack_id=stack_id), await port.pending(org, stacks=[stack_id]),
                        await port.history(org, stack_id=stack_id), await port.commands(org, stack_id=stack_id)]
            for approval_id in world.ids.values():
                try:
                    out.append(await port.get(org, approval_id))
                except UnknownApproval as exc:
                    out.append(("missing", str(exc)))
            try:
                out.append(await port.command(org, world.beta_command))
            except UnknownApproval as exc:
                out.append(("missing", str(exc)))
        return [same_clock(a) for a in out]

    results = {}
    for kind in ADAPTERS:
        async with approvals_adapter(kind, approvals_api(database), unused_control(database), internal_tls) as port:
            results[kind] = await answers(port)
    local, remote = results["in-process"], results["grpc"]
    assert len(local) == len(remote) > 40
    assert sum(1 for a in local if a and not (isinstance(a, tuple) and a[0] == "missing")) >= 20
    for i, (a, b) in enumerate(zip(local, remote, strict=True)):
        assert a == b, i


async def test_an_approval_with_megabytes_of_arguments_is_answered_whole(
        port: ApprovalsPort, database: Database, stacks: StackStore) -> None:
    """A daemon may share up to a WAL frame of arguments (8 MiB): the queue, the history and one
    approval carry them whole, past gRPC's default 4 MiB message limit."""
    org = (await stacks.create_org("acme", "Acme")).org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    args = b'{"blob":"' + b"x" * (6 * 1024 * 1024) + b'"}'
    fact = ApprovalProcessor().process(_message(org, pay.stack_id, 0, pending_event("big1", args=args)))
    await ApprovalSink(database).write([fact])  # type: ignore[list-item]
    [queued] = await port.pending(org)
    assert queued.args_json == args.decode()
    assert (await port.get(org, queued.approval_id)).args_json == args.decode()
    await port.decide(org, queued.approval_id, ALICE, "deny", "too big to read")
    [resolved] = await port.history(org)
    assert resolved.args_json == args.decode() and resolved.state == "denied"


async def test_commands_of_the_stacks_in_scope_are_listed_before_the_limit(port: ApprovalsPort, world: World) -> None:
    """A member who sees one stack gets that stack's newest commands even when more than a
    page of newer ones were issued on stacks they cannot see (the scope narrows the query,
    not the page it returned); an empty scope lists nothing."""
    mine = await port.issue_command(world.acme, world.search, "search-bot", ALICE, "runaway", "isolate",
                                    permitted=True, stack_exists=True)
    for n in range(101):
        await port.issue_command(world.acme, world.pay, f"payments-bot-{n}", ALICE, "drill", "kill",
                                 permitted=True, stack_exists=True)
    assert [c.command_id for c in await port.commands(world.acme, stacks=[world.search])] == [mine.command_id]
    assert len(await port.commands(world.acme)) == 100
    assert await port.commands(world.acme, stacks=[]) == []
    assert await port.commands(world.acme, stacks=[world.beta_stack]) == []  # another org's stack: nothing


async def test_a_bulk_decision_takes_at_most_200(port: ApprovalsPort, world: World) -> None:
    ids = [world.ids["a1"], *(f"00000000-0000-4000-8000-{n:012d}" for n in range(200))]
    with pytest.raises(DecisionRefused, match="at most 200 approvals and 201 are selected") as refused:
        await port.bulk_decide(world.acme, ids, ALICE, "approve", "all of them")
    assert refused.value.code == "too_many"
    assert (await port.get(world.acme, world.ids["a1"])).state == "pending"
