"""Rebuilding the approvals service from the log (issue 13): the real service driven the way
people and daemons drive it (decisions and a bulk decision over REST, a refused second
decision, expirations by the sweep, kills and isolates over REST, daemons pushing approval
snapshots, polling and acknowledging through ingest's sync API and the service's internal
gRPC API), then every topic replayed from offset 0 into a brand-new empty database with
new consumer groups: what a person sees over REST, and every row of the service's tables,
is the same, with the same ids. Once with Cloud's own topics replayed before the daemons'
snapshots (decisions arrive before the approvals they decide), once all together.

And a decision taken while the approvals service is down (no relay, no internal API; the
gateway decides in its own process) reaches the log and the daemon once the service is back.
And while a rebuild has not read the log to where it ended at start, the service acts on
nothing (no expiry; decisions, daemons' polls and acks answered "busy": 503 / UNAVAILABLE with
when to retry), so a decision still to be read is not lost to an expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, emergency_pb2, push_pb2
from fastapi import FastAPI

from faramesh_cloud.approvals import changes
from faramesh_cloud.approvals.client import ApprovalsApiClient, ApprovalsClient, ControlUnavailable
from faramesh_cloud.approvals.domain import UnknownApproval, Verdict
from faramesh_cloud.approvals.events import encode
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import APPROVAL_EVENTS, EMERGENCY_COMMANDS, H_KIND, SYNC_ITEMS
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.rpc.sync_client import SyncClient, SyncError
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import drain, pending_event, push_events
from tests.fixtures.gateway import csrf_of, sign_in, static_status
from tests.fixtures.identity import People, Person
from tests.fixtures.ingest import ClientFor, TlsPair, read_topic
from tests.fixtures.internal_tls import ServiceTls
from tests.fixtures.postgres import fresh_database
from tests.simulator_support import FAST, eventually, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

TABLES = {"approvals": "approval_id", "approval_deliveries": "delivery_id", "emergency_commands": "command_id"}


@contextlib.asynccontextmanager
async def _running(approvals: Approvals) -> AsyncIterator[Approvals]:
    await approvals.start()
    try:
        yield approvals
    finally:
        await approvals.stop()


@contextlib.asynccontextmanager
async def _ingest(tmp_path: Path, sync_tls: TlsPair, log: PostgresLog, database: Database, stacks: StackStore,
                  control: ApprovalsClient) -> AsyncIterator[IngestService]:
    settings = Settings(data_dir=tmp_path / "cloud", sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    service = IngestService(settings, log, database, stacks, FAST, control=control)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@contextlib.asynccontextmanager
async def _browser(app: FastAPI, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4711)),
                                 base_url="http://testserver") as client:
        response = await sign_in(client, person.email, person.password)
        assert response.status_code in (302, 303), response.text[:300]
        yield client


def _gateway(web_deps: WebDeps, approvals: Approvals) -> FastAPI:
    app = create_app(static_status, web=web_deps)
    mount_approvals(app, approvals.api)
    return app


class Daemon:
    """A stack's daemon as ingest sees it: one outbound buffer, pushes with rising sequences."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.buffer = str(uuid.uuid4())
        self.sequence = 0

    async def push(self, events: Sequence[approvals_pb2.ApprovalEvent]) -> None:
        if self.sequence == 0:
            await self.client.hello(self.buffer)
        items = []
        for event in events:
            self.sequence += 1
            items.append(push_pb2.PushItem(sequence=self.sequence, approval_event=event))
        response = await self.client.push(self.buffer, items)
        assert not response.rejections, response


def _resolved(token: str, agent: str, state: int, source: int, approver: str, reason: str,
              tool: str = "stripe/refund") -> approvals_pb2.ApprovalEvent:
    return pending_event(token, agent, tool=tool, state=state, source=source, approver=approver, reason=reason)


async def _json(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.json()


def _stable(approval: dict[str, Any]) -> dict[str, Any]:
    """An approval as the API shows it, without what moves with the clock while it is pending."""
    if approval["state"] == "pending":
        return {k: v for k, v in approval.items() if k not in ("pending_seconds", "age_band")}
    return approval


async def _seen(client: httpx.AsyncClient, approvals: Approvals, org_id: str) -> dict[str, Any]:
    """What a person sees: the queue, the history, each approval, each command (REST) and
    each decision's delivery (handed out, acknowledged, outcome, DPR: the detail page's)."""
    queue = [_stable(a) for a in await _json(client, "/api/v1/orgs/acme/approvals")]
    history = await _json(client, "/api/v1/orgs/acme/approvals/history")
    ids = sorted(a["approval_id"] for a in queue + history)
    commands = await _json(client, "/api/v1/orgs/acme/emergency-commands")
    return {
        "queue": queue, "history": history,
        "approvals": [_stable(await _json(client, f"/api/v1/orgs/acme/approvals/{i}")) for i in ids],
        "commands": commands,
        "command": [await _json(client, f"/api/v1/orgs/acme/emergency-commands/{c['command_id']}") for c in commands],
        "deliveries": {a["decision_id"]: await approvals.api.delivery(org_id, a["decision_id"])
                       for a in history if a["decision_id"]},
    }


async def _rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with database.connection() as conn:
        return {table: await (await conn.execute(f"SELECT * FROM {table} ORDER BY {key}")).fetchall()
                for table, key in TABLES.items()}


async def _copy_orgs(source: Database, target: Database) -> None:
    """The organisation registry is not the approvals service's: it comes with the new
    database as it is (the approvals tables reference it)."""
    async with source.connection() as conn:
        cur = await conn.execute("SELECT * FROM orgs")
        columns = [c.name for c in cur.description or ()]
        rows = await cur.fetchall()
    async with target.transaction() as conn:
        marks = ", ".join(["%s"] * len(columns))
        for row in rows:
            await conn.execute(f"INSERT INTO orgs ({', '.join(columns)}) VALUES ({marks})", row)



async def _ends(log: PostgresLog) -> dict[str, dict[int, int]]:
    return {t: dict(await log.end_offsets(t)) for t in (SYNC_ITEMS, APPROVAL_EVENTS, EMERGENCY_COMMANDS)}


async def _unlogged(database: Database) -> int:
    """Deliveries handed out more often than their last DeliveryHandedOut says (the sweep
    records those once the interval has passed)."""
    async with database.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM approval_deliveries WHERE handed_out > handed_out_logged")).fetchone()
    return int(row[0]) if row else -1


async def _outbox(database: Database) -> int:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM approvals_outbox")).fetchone()
    return int(row[0]) if row else -1


async def test_replaying_every_topic_into_an_empty_database_rebuilds_what_people_see(
        database: Database, postgres_log: PostgresLog, stacks: StackStore, people: People, web_deps: WebDeps,
        sync_tls: TlsPair, client_for: ClientFor, internal_tls: ServiceTls, embedded_postgres: EmbeddedPostgres,
        pg_template: str, tmp_path: Path) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    payments, payments_key = await stacks.register_stack(org, "payments-prod", "prod")
    support, support_key = await stacks.register_stack(org, "support-prod", "prod")
    live = Approvals(database, postgres_log, ApprovalsConfig(
        group="approvals-live", sweep_interval_s=0.1, internal_address="127.0.0.1:0",
        internal_tls=internal_tls("approvals"), hand_out_events_every_s=3))  # the sweep records the open one's 2nd
    async with _running(live), contextlib.AsyncExitStack() as stack:
        assert live.server is not None
        ingest = await stack.enter_async_context(_ingest(
            tmp_path, sync_tls, postgres_log, database, stacks, ApprovalsClient(live.server.address,
                                                                                internal_tls("ingest"))))
        browser = await stack.enter_async_context(_browser(_gateway(web_deps, live), owner))
        csrf = {"x-csrf-token": csrf_of((await browser.get("/o/acme/approvals")).text)}
        first, second = Daemon(client_for(ingest, payments_key)), Daemon(client_for(ingest, support_key))
        now = datetime.now(UTC)
        hour, gone = now + timedelta(hours=1), now - timedelta(minutes=1)
        await first.push([pending_event(f"0000a00{i}", deadline=hour) for i in range(1, 5)] + [
            pending_event("0000a005", "support-triage", tool="zendesk/close", deadline=hour),
            pending_event("0000a006", created=now - timedelta(minutes=10), deadline=gone),
            pending_event("0000a007", created=now - timedelta(minutes=10), deadline=gone)])
        await second.push([pending_event("0000b001", "mailer", tool="smtp/send", deadline=hour),
                           pending_event("0000b002", "mailer", tool="smtp/send", deadline=hour)])

        async def projected() -> bool:
            return len(await live.api.pending(org)) == 7 and len(await live.api.history(org)) == 2
        await eventually(projected, "seven pending approvals, two expired by the sweep", within_s=60)
        token = {a.defer_token: a.approval_id for a in await live.api.pending(org)}

        # People decide over REST: one, a second one too late (409, no event), a bulk, another stack.
        decided = await browser.post(f"/api/v1/orgs/acme/approvals/{token['0000a001']}/decision", headers=csrf,
                                     json={"verdict": "approve", "reason": "verified by phone"})
        assert decided.status_code == 200, decided.text
        late = await browser.post(f"/api/v1/orgs/acme/approvals/{token['0000a001']}/decision", headers=csrf,
                                  json={"verdict": "deny", "reason": "changed my mind"})
        assert late.status_code == 409
        bulk = await browser.post("/api/v1/orgs/acme/approvals/bulk-decision", headers=csrf, json={
            "approval_ids": [token["0000a002"], token["0000a003"]], "verdict": "approve", "reason": "batch ok"})
        assert bulk.status_code == 200 and len(bulk.json()["decided"]) == 2, bulk.text
        other = await browser.post(f"/api/v1/orgs/acme/approvals/{token['0000b001']}/decision", headers=csrf,
                                   json={"verdict": "deny", "reason": "not on weekends"})
        assert other.status_code == 200, other.text
        for stack_id, agent, kind, reason in ((payments.stack_id, "payments-bot", "kill", "runaway refunds"),
                                              (payments.stack_id, "support-triage", "isolate", "odd tool use"),
                                              (support.stack_id, "mailer", "kill", "spam wave")):
            issued = await browser.post(f"/api/v1/orgs/acme/stacks/{stack_id}/agents/{agent}/{kind}", headers=csrf,
                                        json={"reason": reason})
            assert issued.status_code == 201, issued.text
        kill = next(c for c in await live.api.commands(org) if c.command_type == "kill"
                    and c.stack_id == payments.stack_id)

        # The daemons poll and acknowledge through ingest: some deliveries twice, one left open.
        handed = (await first.client.poll_decisions(10)).deliveries
        assert len(handed) == 3 and len((await first.client.poll_decisions(10)).deliveries) == 3
        by_token = {d.approval_decision.defer_token: d.delivery_id for d in handed}
        await first.client.ack_decisions([
            deliveries_pb2.DeliveryAck(delivery_id=by_token["0000a001"], dpr_record_id="rec-resume-1",
                                       outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED),
            deliveries_pb2.DeliveryAck(delivery_id=by_token["0000a002"], message="already resolved",
                                       outcome=deliveries_pb2.DELIVERY_OUTCOME_CONFLICT)])
        [theirs] = (await second.client.poll_decisions(10)).deliveries
        await second.client.ack_decisions([deliveries_pb2.DeliveryAck(
            delivery_id=theirs.delivery_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED, dpr_record_id="rec-m")])
        commands = (await first.client.poll_emergency_commands()).commands
        assert {c.command_id for c in commands} >= {kill.command_id} and len(commands) == 2
        await first.client.ack_emergency_command(kill.command_id, emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED,
                                                 applied_at_ns=1_773_500_000_123_456_000, dpr_record_id="rec-kill")

        # The daemons report back: Cloud's decision applied, one resolved on the host, one expired.
        approved, local = approvals_pb2.APPROVAL_STATE_APPROVED, approvals_pb2.RESOLUTION_SOURCE_LOCAL
        await first.push([
            _resolved("0000a001", "payments-bot", approved, approvals_pb2.RESOLUTION_SOURCE_CLOUD, owner.user.user_id,
                      "verified by phone"),
            _resolved("0000a005", "support-triage", approvals_pb2.APPROVAL_STATE_DENIED, local, "ops-cli",
                      "denied via CLI", tool="zendesk/close"),
            _resolved("0000a006", "payments-bot", approvals_pb2.APPROVAL_STATE_EXPIRED,
                      approvals_pb2.RESOLUTION_SOURCE_TIMEOUT, "", "")])

        async def settled() -> bool:
            shown = {a.defer_token: (a.state, a.daemon_state) for a in await live.api.history(org)}
            return (shown.get("0000a001") == ("approved", "approved") and shown.get("0000a005", ("",))[0] == "withdrawn"
                    and shown.get("0000a006") == ("expired", "expired") and await _unlogged(database) == 0
                    and await _outbox(database) == 0)
        await eventually(settled, "the daemons' reports projected and every event relayed", within_s=60)
        before = await _seen(browser, live, org)
        rows = await _rows(database)

    # What the log holds: every change people and daemons made, nothing from the refused decision.
    kinds = sorted(m.headers[H_KIND].decode() for m in await read_topic(postgres_log, APPROVAL_EVENTS))
    assert kinds == sorted(["ApprovalExpired"] * 2 + ["ApprovalDecided"] * 4 + ["DeliveryHandedOut"] * 7
                           + ["DeliveryAcknowledged"] * 3)
    assert len(await read_topic(postgres_log, EMERGENCY_COMMANDS)) == 3 + 2 + 1
    assert [len(rows[t]) for t in TABLES] == [9, 4, 3]
    assert {a["state"] for a in before["history"]} == {"approved", "denied", "expired", "withdrawn"}
    assert sorted(c["state"] for c in before["commands"]) == ["acknowledged", "delivered", "issued"]
    assert sorted(d[0] for d in before["deliveries"].values()) == [1, 2, 2, 2]
    ends = await _ends(postgres_log)

    async def rebuilt_from_the_log(group: str, order: Sequence[Sequence[str]]) -> None:
        with fresh_database(embedded_postgres, pg_template, prefix="rebuild") as url:
            async with Database(url, max_size=4) as fresh:
                await _copy_orgs(database, fresh)
                assert [len(v) for v in (await _rows(fresh)).values()] == [0, 0, 0]
                rebuilt = Approvals(fresh, postgres_log, ApprovalsConfig(group=group))
                await rebuilt.prepare()
                runners = {r.topic: r for r in rebuilt.consumers()}
                for topics in order:  # topics of one step are replayed side by side
                    await asyncio.gather(*(drain(runners[t], postgres_log) for t in topics))
                async with _browser(_gateway(web_deps, rebuilt), owner) as again:
                    assert await _seen(again, rebuilt, org) == before
                assert await _rows(fresh) == rows
                # The rebuilt service has nothing left to do: no expiry, no event of its own.
                assert await rebuilt.decisions.expire_due() == 0 and await _outbox(fresh) == 0
        assert await _ends(postgres_log) == ends

    # Cloud's own events first: every decision arrives before the approval it decides.
    await rebuilt_from_the_log("approvals-rebuild-events-first", [[APPROVAL_EVENTS, EMERGENCY_COMMANDS], [SYNC_ITEMS]])
    await rebuilt_from_the_log("approvals-rebuild-together", [[SYNC_ITEMS, APPROVAL_EVENTS, EMERGENCY_COMMANDS]])


async def test_a_decision_taken_while_the_approvals_service_is_down_reaches_the_log_and_the_daemon_when_it_is_back(
        database: Database, postgres_log: PostgresLog, stacks: StackStore, sync_tls: TlsPair, client_for: ClientFor,
        internal_tls: ServiceTls, tmp_path: Path) -> None:
    org = (await stacks.create_org("acme", "Acme")).org_id
    payments, key = await stacks.register_stack(org, "payments-prod", "prod")
    config = ApprovalsConfig(group="approvals-restart", internal_address=f"127.0.0.1:{free_port()}",
                             internal_tls=internal_tls("approvals"))
    assert config.internal_address is not None
    operator = Actor(ActorType.USER, "33333333-3333-3333-3333-333333333333", "ops@example.com")
    control = ApprovalsClient(config.internal_address, internal_tls("ingest"), timeout_s=2.0)
    async with _ingest(tmp_path, sync_tls, postgres_log, database, stacks, control) as ingest:
        daemon = Daemon(client_for(ingest, key))
        async with _running(Approvals(database, postgres_log, config)) as service:
            await daemon.push([pending_event("0000c001")])

            async def projected() -> bool:
                return bool(await service.api.pending(org))
            await eventually(projected, "the pending approval", within_s=60)
        [item] = await service.api.pending(org)

        # The approvals service is down (its relay and internal API with it) just after its command
        # handlers committed a decision and a command (as when its process dies between commit and
        # relay; the gateway itself reaches the handlers only through the running service now).
        gateway_side = Approvals(database, postgres_log).api
        decision = await gateway_side.decide(org, item.approval_id, operator, "approve", "ok while down")
        command = await gateway_side.issue_command(org, payments.stack_id, "payments-bot", operator, "stop it", "kill",
                                                   permitted=True, stack_exists=True)
        assert await _outbox(database) == 2
        assert await read_topic(postgres_log, APPROVAL_EVENTS) == []
        assert await read_topic(postgres_log, EMERGENCY_COMMANDS) == []
        with pytest.raises(SyncError) as down:
            await daemon.client.poll_decisions(10)
        assert down.value.code == grpc.StatusCode.UNAVAILABLE

        async with _running(Approvals(database, postgres_log, config)):
            response = None
            for _ in range(300):  # the daemon retries, as UNAVAILABLE tells it to (bounded: no hang)
                try:
                    response = await daemon.client.poll_decisions(10, wait_s=5.0)
                    break
                except SyncError as exc:
                    assert exc.code == grpc.StatusCode.UNAVAILABLE
                    await asyncio.sleep(0.2)
            assert response is not None, "the approvals service never answered after its restart"
            assert [d.delivery_id for d in response.deliveries] == [decision.decision_id]
            await daemon.client.ack_decisions([deliveries_pb2.DeliveryAck(
                delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED)])
            [sent] = (await daemon.client.poll_emergency_commands()).commands
            assert sent.command_id == command.command_id
            await daemon.client.ack_emergency_command(sent.command_id, emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED)

            async def relayed() -> bool:
                return await _outbox(database) == 0 and len(await read_topic(postgres_log, APPROVAL_EVENTS)) == 3 \
                    and len(await read_topic(postgres_log, EMERGENCY_COMMANDS)) == 3
            await eventually(relayed, "the decision and the command on the log", within_s=60)
    events = await read_topic(postgres_log, APPROVAL_EVENTS)
    assert [m.headers[H_KIND] for m in events] == [b"ApprovalDecided", b"DeliveryHandedOut", b"DeliveryAcknowledged"]
    assert decision.decision_id in events[0].value.decode("utf-8", "replace")
    assert [m.headers[H_KIND] for m in await read_topic(postgres_log, EMERGENCY_COMMANDS)] == [
        b"EmergencyCommandIssued", b"EmergencyCommandDelivered", b"EmergencyCommandAcknowledged"]


async def test_a_rebuild_acts_on_nothing_until_it_has_read_the_log(
        database: Database, postgres_log: PostgresLog, stacks: StackStore, people: People, web_deps: WebDeps,
        sync_tls: TlsPair, client_for: ClientFor, internal_tls: ServiceTls, tmp_path: Path) -> None:
    """An approval decided six minutes ago, before its deadline five minutes ago: on the log,
    the daemon's PENDING snapshot (sync.items.v1) and Cloud's decision (approvals.events.v1).
    A rebuild reads the topics side by side; while it has read the snapshot but not the
    decision, the row looks pending and overdue. Nothing may act on that: the sweep would
    expire the approval, and the decision, read next, would be dropped as resolved otherwise
    first (the decision and its delivery lost, an expiry on the log that never happened). So
    until caught up, the service expires nothing and answers daemons' polls and acknowledgements
    and people's decisions "busy" (the gateway: 503 with Retry-After and the reason; the daemon,
    through ingest: UNAVAILABLE with the reason and a retry hint); an emergency command, which
    reads nothing, still goes out, and reaches the daemon once the service has caught up."""
    owner = await people.org("acme")
    org = owner.org.org_id
    payments, key = await stacks.register_stack(org, "payments-prod", "prod")
    stack = payments.stack_id
    now = datetime.now(UTC)
    approval = changes.approval_key(org, stack, "0000d001")
    operator = Actor(ActorType.USER, "33333333-3333-3333-3333-333333333333", "ops@example.com")
    service = Approvals(database, postgres_log, ApprovalsConfig(
        group="approvals-rebuild", sweep_interval_s=0.05, internal_address="127.0.0.1:0",
        internal_tls=internal_tls("approvals")))
    await service.prepare()  # its tables (empty) and topics
    await push_events(postgres_log, org, stack, [
        pending_event("0000d001", created=now - timedelta(minutes=10), deadline=now - timedelta(minutes=5)),
        pending_event("0000d002", deadline=now + timedelta(hours=1))])  # the agent is seen: it may be killed
    decision = changes.decided(org, stack, approval, "0000d001", Verdict.APPROVE, operator, "verified by phone", None,
                               "payments-bot", "rec-0000d001", now - timedelta(minutes=6))
    await postgres_log.append(APPROVAL_EVENTS, [encode(decision)])
    holding = database.transaction()  # the decision's topic cannot be applied while this is open
    held = await holding.__aenter__()
    async with contextlib.AsyncExitStack() as running:
        try:
            await held.execute("INSERT INTO approvals_positions (topic, partition, next_offset) "
                               "SELECT %s, p, 0 FROM generate_series(0, 3) AS p", (APPROVAL_EVENTS,))
            await service.start()
            running.push_async_callback(service.stop)
            assert service.server is not None
            ingest = await running.enter_async_context(_ingest(
                tmp_path, sync_tls, postgres_log, database, stacks,
                ApprovalsClient(service.server.address, internal_tls("ingest"))))
            daemon = Daemon(client_for(ingest, key))
            browser = await running.enter_async_context(_browser(_gateway(web_deps, service), owner))
            queue = await browser.get("/o/acme/approvals")
            csrf = {"x-csrf-token": csrf_of(queue.text)}

            async def snapshot_read() -> bool:
                try:
                    return bool((await service.api.get(org, approval)).tool_id)  # the snapshot's facts
                except UnknownApproval:
                    return False
            await eventually(snapshot_read, "the daemon's snapshot applied", within_s=30)
            assert await service.decisions.expire_due() == 0  # the deadline passed, but not for a rebuild
            assert (await service.api.get(org, approval)).state == "pending"

            # A person deciding: 503 with Retry-After and the reason (JSON, the page, over gRPC).
            api = await browser.post(f"/api/v1/orgs/acme/approvals/{approval}/decision", headers=csrf,
                                     json={"verdict": "deny", "reason": "too late anyway"})
            assert api.status_code == 503, api.text
            assert api.headers["retry-after"] == "5"
            assert "rebuilding its state from the log" in api.json()["detail"]
            form = await browser.post(f"/o/acme/approvals/{approval}/decide", data={
                "csrf_token": csrf_of(queue.text), "verdict": "deny", "reason": "too late anyway"})
            assert form.status_code == 503 and form.headers["retry-after"] == "5"
            assert "The approvals service is busy" in form.text and "rebuilding" in form.text
            bulk = await browser.post("/api/v1/orgs/acme/approvals/bulk-decision", headers=csrf, json={
                "approval_ids": [approval], "verdict": "deny", "reason": "too late anyway"})
            assert bulk.status_code == 503 and bulk.headers["retry-after"] == "5"
            assert (await browser.get(f"/api/v1/orgs/acme/approvals/{approval}")).json()["state"] == "pending"
            remote = ApprovalsApiClient(service.server.address, internal_tls("gateway"))
            try:
                with pytest.raises(ServiceBusy, match="rebuilding") as busy:
                    await remote.decide(org, approval, operator, "deny", "too late anyway")
                assert busy.value.retry_after_s == 5
            finally:
                await remote.close()

            # The daemon, through ingest: UNAVAILABLE with the reason and when to retry.
            for call in (lambda: daemon.client.poll_decisions(10), lambda: daemon.client.poll_decisions(10, 2.0),
                         daemon.client.poll_emergency_commands, lambda: daemon.client.ack_decisions([
                             deliveries_pb2.DeliveryAck(delivery_id=decision.decision_id,
                                                        outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED)])):
                with pytest.raises(SyncError) as refused:
                    await call()
                assert refused.value.code == grpc.StatusCode.UNAVAILABLE
                assert "rebuilding" in refused.value.message and refused.value.retry_after_s == 5
            daemon_side = ApprovalsClient(service.server.address, internal_tls("ingest"))
            try:  # what ingest is told
                with pytest.raises(ControlUnavailable, match="rebuilding") as told:
                    await daemon_side.poll_commands(org, stack)
                assert isinstance(told.value, ServiceBusy) and told.value.retry_after_s == 5
            finally:
                await daemon_side.close()

            # An emergency command goes out at once.
            issued = await browser.post(f"/api/v1/orgs/acme/stacks/{stack}/agents/payments-bot/kill",
                                        headers=csrf, json={"reason": "runaway refunds"})
            assert issued.status_code == 201, issued.text
            kill = issued.json()["command_id"]
        finally:
            await holding.__aexit__(None, None, None)

        async def decided_as_logged() -> bool:
            shown = await service.api.get(org, approval)
            return shown.state == "approved" and shown.decision_id == decision.decision_id
        await eventually(decided_as_logged, "the decision applied", within_s=30)

        handed: list[deliveries_pb2.Delivery] = []

        async def answered() -> bool:  # the daemon retries, as it was told
            try:
                handed.extend((await daemon.client.poll_decisions(10)).deliveries)
                return True
            except SyncError as exc:
                assert exc.code == grpc.StatusCode.UNAVAILABLE and "rebuilding" in exc.message
                return False
        await eventually(answered, "the daemon's poll answered", within_s=30)
        assert [d.delivery_id for d in handed] == [decision.decision_id]
        await daemon.client.ack_decisions([deliveries_pb2.DeliveryAck(
            delivery_id=decision.decision_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED)])
        assert (await daemon.client.poll_decisions(10)).deliveries == []  # acknowledged: not handed out again
        assert [c.command_id for c in (await daemon.client.poll_emergency_commands()).commands] == [kill]
        assert await service.decisions.expire_due() == 0
        again = await browser.post(f"/api/v1/orgs/acme/approvals/{approval}/decision", headers=csrf,
                                   json={"verdict": "deny", "reason": "too late anyway"})
        assert again.status_code == 409, again.text  # decided before: the refusal names the decision
    kinds = [m.headers[H_KIND] for m in await read_topic(postgres_log, APPROVAL_EVENTS)]
    assert kinds == [b"ApprovalDecided", b"DeliveryHandedOut", b"DeliveryAcknowledged"], kinds
