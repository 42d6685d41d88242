"""Contract of the approvals service's workflow summary (``ApprovalsApi.summary`` in process,
``ApprovalsApiClient.summary`` over ``SummarizeApprovals`` with mutual TLS): both adapters give
the same ``ApprovalSummary`` for approvals created in [start, end) and emergency commands
issued in it, scoped to one organisation and the stacks asked.

Approvals come through the real processor and sink (the daemon's events, with the times it
reports); decisions and bulk decisions through the port itself; emergency commands through
the port and the daemon's poll and acknowledgement, or, where their times must be exact, as
the projection replays their events from the log (``projection.apply``)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest
from faramesh_cloud_api.approvals.v1 import people_pb2, people_pb2_grpc
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.approvals.changes import command_acknowledged, command_delivered, command_issued
from faramesh_cloud.approvals.client import SERVER, ApprovalsApiClient, refusal
from faramesh_cloud.approvals.domain import CommandType
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import ApprovalSink, apply
from faramesh_cloud.approvals.views import ApprovalSummary, ApproverCount, CommandCount
from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.log.port import Message
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.rpc.internal_client import InternalClient
from faramesh_cloud.rpc.wire import timestamp
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_adapters import ADAPTERS, approvals_adapter, approvals_server, unused_control
from tests.approvals_support import pending_event
from tests.fixtures.gateway import approvals_api
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ALICE = Actor(ActorType.USER, "11111111-1111-4111-8111-111111111111", "alice@example.com", "203.0.113.7")
BOB = Actor(ActorType.USER, "22222222-2222-4222-8222-222222222222", "björn@example.com", "198.51.100.9")
KEY = Actor(ActorType.API_KEY, "33333333-3333-4333-8333-333333333333", "ci-bot", "192.0.2.1")
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(hours=2)  # the range under test: [START, END)
END = NOW + timedelta(hours=1)
LOCAL = approvals_pb2.RESOLUTION_SOURCE_LOCAL
CLOUD = approvals_pb2.RESOLUTION_SOURCE_CLOUD
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NO_COMMANDS = [CommandCount("kill", 0, 0, 0, None), CommandCount("isolate", 0, 0, 0, None)]


class Summaries(Protocol):
    async def summary(self, org_id: str, *, stacks: Collection[str] | None, start: datetime,
                      end: datetime) -> ApprovalSummary: ...


@dataclasses.dataclass(frozen=True)
class World:
    acme: str
    pay: str
    search: str
    beta: str
    beta_stack: str


def _resolved(token: str, state: int, source: int, created: datetime, pending_s: float,
              agent: str = "payments-bot") -> approvals_pb2.ApprovalEvent:
    """The daemon's report of an approval it resolved ``pending_s`` after it was created."""
    event = pending_event(token, agent, created=created, state=state, source=source, approver="ops-cli",
                          reason="resolved on the host", deadline=created + timedelta(hours=3))
    event.resolution.resolved_at.FromDatetime(created + timedelta(seconds=pending_s))
    return event


async def _ingest(database: Database, events: list[tuple[str, str, approvals_pb2.ApprovalEvent]]) -> None:
    processor = ApprovalProcessor()
    facts = []
    for offset, (org, stack, event) in enumerate(events):
        headers = Origin(org, stack, "sync", offset + 1, "buf-summary", time.time_ns()).headers()
        headers[H_KIND] = b"approval_event"
        fact = processor.process(Message(SYNC_ITEMS, 0, offset, stack_key(org, stack), event.SerializeToString(),
                                         headers, int(time.time() * 1000)))
        assert isinstance(fact, ApprovalFact)
        facts.append(fact)
    await ApprovalSink(database).write(facts)


@pytest.fixture
async def world(database: Database, stacks: StackStore) -> World:
    acme = (await stacks.create_org("acme", "Acme")).org_id
    beta = (await stacks.create_org("beta", "Beta")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    search, _ = await stacks.register_stack(acme, "search-staging", "staging")
    beta_stack, _ = await stacks.register_stack(beta, "beta-prod", "production")
    return World(acme, pay.stack_id, search.stack_id, beta, beta_stack.stack_id)


@pytest.fixture(params=ADAPTERS)
async def port(request: pytest.FixtureRequest, database: Database,
               internal_tls: ServiceTls) -> AsyncIterator[Summaries]:
    async with approvals_adapter(request.param, approvals_api(database), unused_control(database),
                                 internal_tls) as adapter:
        yield adapter  # type: ignore[misc]  # both adapters have summary (ApprovalsPort does not name it)


@pytest.fixture
async def daemon_resolved(database: Database, world: World) -> None:
    """Approvals the daemons resolved with known pending times, three still pending, and
    some outside the range, on another stack or of another organisation."""
    pay, search = world.pay, world.search
    await _ingest(database, [
        (world.acme, pay, _resolved("e1", approvals_pb2.APPROVAL_STATE_EXPIRED, 0, START, 60)),  # at start: in
        (world.acme, pay, _resolved("e2", approvals_pb2.APPROVAL_STATE_EXPIRED, 0, START + timedelta(minutes=10), 120)),
        (world.acme, pay, _resolved("w1", approvals_pb2.APPROVAL_STATE_DENIED, LOCAL,
                                    START + timedelta(minutes=20), 180)),  # decided on the host: withdrawn
        (world.acme, pay, _resolved("ok1", approvals_pb2.APPROVAL_STATE_APPROVED, CLOUD,
                                    START + timedelta(minutes=30), 240)),
        (world.acme, pay, _resolved("no1", approvals_pb2.APPROVAL_STATE_DENIED, CLOUD,
                                    START + timedelta(minutes=40), 600)),
        (world.acme, search, _resolved("s1", approvals_pb2.APPROVAL_STATE_EXPIRED, 0,
                                       START + timedelta(minutes=50), 1000, "search-bot")),
        (world.acme, pay, pending_event("p1", created=NOW - timedelta(minutes=5), deadline=NOW + timedelta(hours=1))),
        (world.acme, pay, pending_event("p2", created=NOW - timedelta(minutes=4), deadline=NOW + timedelta(hours=1))),
        (world.acme, pay, pending_event("p3", created=NOW - timedelta(minutes=3), deadline=NOW + timedelta(hours=1))),
        (world.acme, search, pending_event("q1", "search-bot", tool="web/fetch", created=NOW - timedelta(minutes=2),
                                           deadline=NOW + timedelta(hours=1))),
        # Outside [START, END): a second before, and exactly at the end.
        (world.acme, pay, _resolved("before", approvals_pb2.APPROVAL_STATE_EXPIRED, 0, START - timedelta(seconds=1), 5)),
        (world.acme, pay, _resolved("at-end", approvals_pb2.APPROVAL_STATE_EXPIRED, 0, END, 5)),
        # Another organisation's, in the range.
        (world.beta, world.beta_stack, _resolved("b1", approvals_pb2.APPROVAL_STATE_EXPIRED, 0,
                                                 START + timedelta(minutes=1), 7)),
        (world.beta, world.beta_stack, pending_event("b2", created=NOW - timedelta(minutes=1),
                                                     deadline=NOW + timedelta(hours=1))),
    ])


async def test_a_range_with_nothing_in_it_is_zeros_and_no_percentiles(port: Summaries, world: World,
                                                                      daemon_resolved: None) -> None:
    start, end = datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 2, 1, tzinfo=UTC)
    summary = await port.summary(world.acme, stacks=None, start=start, end=end)
    assert summary == ApprovalSummary(start, end, 0, 0, 0, 0, 0, None, None, [], 0, 0, NO_COMMANDS)
    assert summary.total == 0
    assert await port.summary(world.acme, stacks=[], start=START, end=END) == ApprovalSummary(
        START, END, 0, 0, 0, 0, 0, None, None, [], 0, 0, NO_COMMANDS)  # no stack in scope: nothing


async def test_each_outcome_is_counted_and_percentiles_are_computed(port: Summaries, world: World,
                                                                    daemon_resolved: None) -> None:
    everything = await port.summary(world.acme, stacks=None, start=START, end=END)
    assert (everything.approved, everything.denied, everything.expired, everything.withdrawn,
            everything.pending) == (1, 1, 3, 1, 4)
    # Pending times of the resolved ones: 60, 120, 180, 240, 600, 1000 (pending ones aside).
    assert everything.median_pending_s == pytest.approx(210.0)  # (180 + 240) / 2
    assert everything.p95_pending_s == pytest.approx(900.0)  # 600 + 0.75 * (1000 - 600)
    assert everything.approvers == [] and (everything.bulk_actions, everything.bulk_decided) == (0, 0)
    pay = await port.summary(world.acme, stacks=[world.pay], start=START, end=END)
    assert (pay.approved, pay.denied, pay.expired, pay.withdrawn, pay.pending) == (1, 1, 2, 1, 3)
    assert pay.median_pending_s == pytest.approx(180.0)
    assert pay.p95_pending_s == pytest.approx(528.0)  # 240 + 0.8 * (600 - 240)
    search = await port.summary(world.acme, stacks=[world.search], start=START, end=END)
    assert (search.expired, search.pending, search.median_pending_s, search.p95_pending_s) == (1, 1, 1000.0, 1000.0)
    # Only pending ones: no percentile.
    late = await port.summary(world.acme, stacks=None, start=NOW - timedelta(minutes=6), end=END)
    assert (late.pending, late.total, late.median_pending_s, late.p95_pending_s) == (4, 4, None, None)
    # The range is [start, end): the approval created at START is in, the one at END is out.
    edge = await port.summary(world.acme, stacks=[world.pay], start=START, end=START + timedelta(seconds=1))
    assert (edge.expired, edge.total, edge.median_pending_s) == (1, 1, 60.0)
    at_end = await port.summary(world.acme, stacks=None, start=END, end=END + timedelta(seconds=1))
    assert (at_end.expired, at_end.median_pending_s) == (1, 5.0)


async def test_approvers_and_bulk_actions_are_counted_apart(port: Summaries, world: World, database: Database,
                                                            daemon_resolved: None) -> None:
    api = approvals_api(database)
    ids = {a.defer_token: a.approval_id for a in await api.pending(world.acme)}
    await api.decide(world.acme, ids["p1"], ALICE, "approve", "checked")
    first = await api.bulk_decide(world.acme, [ids["p2"], ids["p3"]], KEY, "deny", "incident freeze")
    second = await api.bulk_decide(world.acme, [ids["q1"]], BOB, "approve", "fine")
    assert len(first.decided) == 2 and len(second.decided) == 1 and first.bulk_action_id != second.bulk_action_id

    summary = await port.summary(world.acme, stacks=None, start=START, end=END)
    assert (summary.approved, summary.denied, summary.pending) == (3, 3, 0)
    assert summary.approvers == [ApproverCount(KEY.id, "ci-bot", 0, 2, 0, 2),  # most decisions first
                                 ApproverCount(ALICE.id, "alice@example.com", 1, 0, 1, 0),
                                 ApproverCount(BOB.id, "björn@example.com", 1, 0, 0, 1)]
    assert (summary.bulk_actions, summary.bulk_decided) == (2, 3)
    assert summary.median_pending_s is not None and summary.p95_pending_s is not None
    assert summary.p95_pending_s >= summary.median_pending_s
    pay = await port.summary(world.acme, stacks=[world.pay], start=START, end=END)
    assert [a.label for a in pay.approvers] == ["ci-bot", "alice@example.com"]
    assert (pay.bulk_actions, pay.bulk_decided) == (1, 2)
    # Approvals created before the range do not bring their decisions into it.
    after = await port.summary(world.acme, stacks=None, start=NOW - timedelta(seconds=30), end=END)
    assert (after.approvers, after.bulk_actions, after.bulk_decided, after.total) == ([], 0, 0, 0)


async def _replay_command(database: Database, org: str, stack: str, kind: CommandType, issued: datetime,
                          ack_after_s: float | None = None, outcome: str = "applied") -> None:
    """An emergency command as the projection rebuilds it from its events on the log."""
    command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{org}/{stack}/{kind}/{issued.isoformat()}"))
    changes = [command_issued(org, stack, command_id, "payments-bot", kind, "drill", ALICE, issued),
               command_delivered(org, stack, command_id, issued + timedelta(seconds=1))]
    if ack_after_s is not None:
        at = issued + timedelta(seconds=ack_after_s)
        changes.append(command_acknowledged(org, stack, command_id, outcome, at, "rec-1", "done", at))
    async with database.transaction() as conn:
        for change in changes:
            await apply(conn, change)


async def test_emergency_commands_by_type_with_acknowledgements(port: Summaries, world: World,
                                                                database: Database) -> None:
    kill, isolate = CommandType.KILL, CommandType.ISOLATE
    for stack, kind, at, ack, outcome in [
            (world.pay, kill, START + timedelta(minutes=5), 10, "applied"),
            (world.pay, kill, START + timedelta(minutes=6), 30, "rejected"),
            (world.pay, kill, START + timedelta(minutes=7), None, ""),  # delivered, never acknowledged
            (world.pay, isolate, START + timedelta(minutes=8), 4, "already_in_effect"),
            (world.search, kill, START + timedelta(minutes=9), 1000, "applied"),
            (world.pay, kill, START - timedelta(seconds=1), 2, "applied")]:  # before the range
        await _replay_command(database, world.acme, stack, kind, at, ack, outcome)
    await _replay_command(database, world.beta, world.beta_stack, kill, START + timedelta(minutes=5), 1)

    everything = await port.summary(world.acme, stacks=None, start=START, end=END)
    assert everything.commands == [CommandCount("kill", 4, 3, 2, 30.0), CommandCount("isolate", 1, 1, 1, 4.0)]
    assert everything.total == 0  # commands are not approvals
    pay = await port.summary(world.acme, stacks=[world.pay], start=START, end=END)
    assert pay.commands == [CommandCount("kill", 3, 2, 1, 20.0), CommandCount("isolate", 1, 1, 1, 4.0)]
    beta = await port.summary(world.beta, stacks=None, start=START, end=END)
    assert beta.commands == [CommandCount("kill", 1, 1, 1, 1.0), CommandCount("isolate", 0, 0, 0, None)]


async def test_a_command_the_daemon_acknowledges_is_counted(port: Summaries, world: World,
                                                            database: Database) -> None:
    """Through the real path: issued by a person, handed out by the daemon's poll, acknowledged."""
    api = approvals_api(database)
    command = await api.issue_command(world.acme, world.pay, "payments-bot", ALICE, "runaway refunds", "kill",
                                      permitted=True, stack_exists=True)
    start, end = command.issued_at - timedelta(seconds=1), command.issued_at + timedelta(hours=1)
    issued = await port.summary(world.acme, stacks=None, start=start, end=end)
    assert issued.commands[0] == CommandCount("kill", 1, 0, 0, None)
    daemon = EmergencyCommands(database, PlatformAuditLog(database))
    assert [c.command_id for c in await daemon.poll(world.acme, world.pay)] == [command.command_id]
    assert await daemon.ack(world.acme, world.pay, command.command_id, "applied", None, "rec-kill", "stopped")
    [acked] = [c for c in await api.commands(world.acme) if c.command_id == command.command_id]
    assert acked.acked_at is not None
    summary = await port.summary(world.acme, stacks=None, start=start, end=end)
    assert summary.commands == [
        CommandCount("kill", 1, 1, 1, pytest.approx((acked.acked_at - acked.issued_at).total_seconds())),
        CommandCount("isolate", 0, 0, 0, None)]


async def test_another_organisations_approvals_never_count(port: Summaries, world: World,
                                                           daemon_resolved: None) -> None:
    beta = await port.summary(world.beta, stacks=None, start=START, end=END)
    assert (beta.expired, beta.pending, beta.total, beta.median_pending_s) == (1, 1, 2, 7.0)
    acme = await port.summary(world.acme, stacks=None, start=START, end=END)
    assert acme.total == 10 and acme.median_pending_s != 7.0
    # Naming the other organisation's stack gives nothing, either way round.
    assert (await port.summary(world.acme, stacks=[world.beta_stack], start=START, end=END)).total == 0
    assert (await port.summary(world.beta, stacks=[world.pay, world.search], start=START, end=END)).total == 0


async def test_a_bad_range_or_organisation_is_refused(port: Summaries, world: World) -> None:
    with pytest.raises(ValueError, match=r"the range is empty: start .* must be before end"):
        await port.summary(world.acme, stacks=None, start=END, end=START)
    with pytest.raises(ValueError, match="the range is empty"):
        await port.summary(world.acme, stacks=None, start=START, end=START)
    with pytest.raises(ValueError, match="start must be a datetime with a time zone"):
        await port.summary(world.acme, stacks=None, start=START.replace(tzinfo=None), end=END)
    for org_id in ("acme", "' OR 1=1 --"):
        with pytest.raises(ValueError, match=r"organisation .* is not a valid id \(a UUID\)"):
            await port.summary(org_id, stacks=None, start=START, end=END)


async def test_the_rpc_refuses_a_request_without_its_range(database: Database, internal_tls: ServiceTls,
                                                          world: World) -> None:
    """What the client never sends (it checks the range first), the server refuses itself."""
    async with approvals_server(approvals_api(database), unused_control(database), internal_tls) as server:
        rpc = InternalClient(SERVER, server.address, internal_tls("gateway"), people_pb2_grpc.ApprovalsServiceStub,
                             5.0, refusal)
        try:
            for request, problem in [
                    (people_pb2.SummarizeApprovalsRequest(org_id=world.acme, end=timestamp(END)), "start is required"),
                    (people_pb2.SummarizeApprovalsRequest(org_id=world.acme, start=timestamp(START)),
                     "end is required"),
                    (people_pb2.SummarizeApprovalsRequest(org_id=world.acme, start=timestamp(END),
                                                          end=timestamp(START)), "the range is empty")]:
                with pytest.raises(ValueError, match=problem):
                    await rpc.call("SummarizeApprovals", request)
        finally:
            await rpc.close()


async def test_the_compliance_service_may_read_the_summary_and_nothing_else(
        database: Database, internal_tls: ServiceTls, world: World, daemon_resolved: None) -> None:
    """``compliance`` is admitted to ``SummarizeApprovals`` only: the queue, decisions and
    commands of ``ApprovalsService`` stay the gateway's; any other service gets nothing."""
    async with approvals_server(approvals_api(database), unused_control(database), internal_tls) as server:
        compliance = ApprovalsApiClient(server.address, internal_tls("compliance"))
        fleet = ApprovalsApiClient(server.address, internal_tls("fleet"))
        try:
            summary = await compliance.summary(world.acme, stacks=None, start=START, end=END)
            assert summary.total == 10
            for call in (lambda: compliance.pending(world.acme),
                         lambda: compliance.decide(world.acme, UNKNOWN, ALICE, "approve", "mine"),
                         lambda: compliance.commands(world.acme),
                         lambda: fleet.summary(world.acme, stacks=None, start=START, end=END)):
                with pytest.raises(ServiceUnavailable, match=r"may not call faramesh_cloud_api\.approvals\.v1"):
                    await call()
        finally:
            await compliance.close()
            await fleet.close()
