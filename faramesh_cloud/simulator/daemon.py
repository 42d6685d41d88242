"""One simulated Faramesh daemon (one stack) with M agents, as Cloud sees it over sync.

It decides calls at ``rate_per_s`` (decisions per second across its agents) and, like the
daemon, writes each DPR to ``faramesh.wal`` (fsynced) before the decision counts, then
enqueues it in the durable sync buffer (:mod:`.buffer`) together with whatever else the
decision produced (a pending approval for a DEFER). As it starts, and then on their own
intervals, it also enqueues stack status, daemon health, budget snapshots and credential
expiry events, and it expires approvals nobody decided. Cloud's approval decisions and emergency commands arrive through
:meth:`SimulatedDaemon.apply_delivery` / :meth:`apply_command` (see :mod:`.approvals`,
:mod:`.emergency`).

Everything lives in the daemon's directory and survives a restart: the WAL (chain tips and
``lamport_seq`` are read back from it), the keys, the buffer and the control state. Frames
that reached the WAL but not the buffer (a crash in between) are enqueued on the next start.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
import zlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

from faramesh_cloud_api.sync.v1 import agent_state_pb2, deliveries_pb2, emergency_pb2, push_pb2
from google.protobuf.message import Message

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.simulator import approvals, calls, emergency, reports
from faramesh_cloud.simulator.buffer import SyncBuffer
from faramesh_cloud.simulator.keys import DaemonKeys, load_or_create_keys
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.simulator.state import Answer, DaemonState, Pending
from faramesh_cloud.simulator.walfile import WAL_NAME, WalFile, WalFrame

log = logging.getLogger(__name__)

BUFFER_NAME: Final = "sync-buffer.db"
POLICY_VERSION: Final = "3f2a9c1b7d4e5f60"
NS: Final = 1_000_000_000
Entry: TypeAlias = dict[str, Any] | Message  # a DPR (its fields) or another push payload
T = TypeVar("T")


class SimulatorConfigError(ValueError):
    """A simulator option that cannot work; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    agents: int = 3
    rate_per_s: float = 5.0  # decisions per second across the stack's agents
    tick_s: float = 0.1  # how often the writer wakes up
    approval_timeout_s: float = 300.0  # the daemon's default defer deadline
    status_interval_s: float = 60.0  # stack status and daemon health
    budget_interval_s: float = 30.0
    credential_interval_s: float = 60.0
    daemon_version: str = "1.4.2"
    signed_share: float = 0.3  # records Ed25519-signed; the rest HMAC-only
    legacy_share: float = 0.1  # records in legacy-json-v1 canonicalisation
    seed: int | None = None  # fixes the decisions made (not record ids across restarts)
    # Share of defers the daemon host resolves itself (CLI approve / deny, session ended)
    # once they have waited local_resolve_after_s; Cloud then shows them withdrawn.
    local_resolve_share: float = 0.0
    local_resolve_after_s: float = 60.0

    def __post_init__(self) -> None:
        checks = (("agents", self.agents >= 1), ("rate_per_s", self.rate_per_s >= 0),
                  ("tick_s", self.tick_s > 0), ("approval_timeout_s", self.approval_timeout_s > 0),
                  ("status_interval_s", self.status_interval_s > 0),
                  ("budget_interval_s", self.budget_interval_s > 0),
                  ("credential_interval_s", self.credential_interval_s > 0),
                  ("local_resolve_share", 0 <= self.local_resolve_share <= 1),
                  ("local_resolve_after_s", self.local_resolve_after_s >= 0))
        for name, ok in checks:
            if not ok:
                raise SimulatorConfigError(f"{name}={getattr(self, name)} is out of range; agents "
                                           "needs 1 or more, rates 0 or more, intervals more than 0")


def dpr_payload(frame: WalFrame) -> push_pb2.DprRecord:
    return push_pb2.DprRecord(record_json=frame.payload, frame_crc32=zlib.crc32(frame.payload),
                              wal_file=WAL_NAME, wal_offset=frame.offset, wal_frame_index=frame.index)


class SimulatedDaemon:
    """Create with ``await SimulatedDaemon.open(directory, label, options)``."""

    def __init__(self, directory: Path, label: str, options: DaemonOptions, keys: DaemonKeys,
                 wal: WalFile, buffer: SyncBuffer, state: DaemonState,
                 tips: dict[str, tuple[str, int]], wall_ns: Callable[[], int]) -> None:
        self.directory, self.label, self.options = directory, label, options
        self.keys, self.wal, self.buffer, self.state = keys, wal, buffer, state
        self._tips = tips
        self._wall_ns = wall_ns
        self._rng = random.Random(options.seed)
        # Record ids must never repeat across restarts, so the writers' randomness is fresh.
        self._record_rng = random.Random(secrets.randbits(64))
        self._writers: dict[str, AgentWriter] = {}
        self.agents = calls.agent_ids(options.agents)
        self._lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Any]] = set()
        self.flush = asyncio.Event()  # set when an item should be pushed at once
        self.records_written = 0
        self.started_ns = wall_ns()
        self._spent: dict[str, float] = dict.fromkeys(self.agents, 0.0)
        self._reported_spend: dict[str, float] = {}
        self._calls: dict[str, int] = dict.fromkeys(self.agents, 0)
        self._last: dict[str, tuple[str, str]] = {}  # agent -> (latest record id, its session)
        self._leases: dict[str, tuple[str, int]] = {}
        self.status_interval_s = options.status_interval_s

    @classmethod
    async def open(cls, directory: Path, label: str, options: DaemonOptions | None = None,
                   *, wall_ns: Callable[[], int] = time.time_ns) -> SimulatedDaemon:
        options = options or DaemonOptions()
        buffer = await SyncBuffer.open(directory / BUFFER_NAME)
        try:
            wal_end = await buffer.wal_end()
            keys = await asyncio.to_thread(load_or_create_keys, directory)
            wal, scan = await asyncio.to_thread(WalFile.open, directory / WAL_NAME, recover_from=wal_end)
            state = DaemonState.loads(await buffer.state())
        except BaseException:
            await buffer.close()
            raise
        daemon = cls(directory, label, options, keys, wal, buffer, state, scan.tips, wall_ns)
        if scan.truncated_bytes:
            log.warning("%s: cut a torn tail of %d bytes off %s", label, scan.truncated_bytes, wal.path)
        if scan.pending:  # in the WAL but never enqueued: the process stopped in between
            log.info("%s: enqueueing %d DPRs found in the WAL past the buffer", label, len(scan.pending))
            await buffer.enqueue([dpr_payload(f) for f in scan.pending], enqueued_ns=wall_ns(), wal_end=wal.size)
        await daemon._start_reports()
        return daemon

    async def close(self) -> None:
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.buffer.close()
        await asyncio.to_thread(self.wal.close)

    # -- writing ---------------------------------------------------------------------

    def _writer(self, agent_id: str) -> AgentWriter:
        writer = self._writers.get(agent_id)
        if writer is None:
            tip, lamport = self._tips.get(agent_id, ("", 0))
            writer = self._writers[agent_id] = AgentWriter(
                agent_id, self._record_rng, ed25519_seed=self.keys.ed25519_seed, hmac_key=self.keys.hmac_key,
                signed_share=self.options.signed_share, legacy_share=self.options.legacy_share,
                policy_version=POLICY_VERSION, tip=tip, lamport=lamport,
            )
        return writer

    def _record(self, agent_id: str, now_ns: int, fields: dict[str, Any]) -> dict[str, Any]:
        return self._writer(agent_id).next(now_ns, **fields)

    async def _commit(self, entries: Sequence[Entry], *, save_state: bool = False) -> None:
        """WAL first (fsynced), then one buffer transaction with every item, in order."""
        raws = [to_go_json(e) for e in entries if isinstance(e, dict)]
        frames = iter(await asyncio.to_thread(self.wal.append, raws) if raws else [])
        payloads = [dpr_payload(next(frames)) if isinstance(e, dict) else e for e in entries]
        await self.buffer.enqueue(payloads, enqueued_ns=self._wall_ns(), wal_end=self.wal.size,
                                  state=self.state.dumps() if save_state else None)
        self.records_written += len(raws)

    def _defer_token(self) -> str:
        while True:
            token = f"{self._rng.getrandbits(32):08x}"
            if token not in self.state.pending and token not in self.state.resolved:
                return token

    def _decide(self, now_ns: int) -> tuple[list[Entry], bool]:
        agent = self.agents[self._rng.randrange(len(self.agents))]
        fields = calls.next_call(self._rng)
        effect = fields["effect"]
        if effect == "DEFER":
            fields["defer_token"] = self._defer_token()
        fields.update(emergency.call_overrides(self.state, agent, effect, fields["reason_code"]))
        fields.update(self._delegation(agent))
        record = self._record(agent, now_ns, fields)
        self._last[agent] = (record["record_id"], record["session_id"])
        self._calls[agent] = self._calls.get(agent, 0) + 1
        if record["effect"] in ("PERMIT", "MODIFY"):
            self._spent[agent] = self._spent.get(agent, 0.0) + calls.call_cost(self._rng)
        if record["effect"] != "DEFER":
            return [record], False
        pending = Pending(
            token=record["defer_token"], agent_id=agent, tool_id=record["tool_id"],
            session_id=record["session_id"], rule_id=record["matched_rule_id"],
            reason_code=record["reason_code"], reason=record["reason"], args=record["selector_snapshot"],
            args_sig=record["args_structural_sig"], priority=calls.priority(self._rng), created_ns=now_ns,
            deadline_ns=now_ns + round(self.options.approval_timeout_s * NS),
            record_id=record["record_id"], policy_version=POLICY_VERSION,
        )
        self.state.pending[pending.token] = pending
        return [record, approvals.approval_event(pending)], True

    def _delegation(self, agent: str) -> dict[str, Any]:
        """Multi-agent linkage: every few calls an agent acts for its delegator, in the
        delegator's session, pointing at the delegator's latest record (the DPR fields
        ``invoked_by_agent_id`` / ``invoked_by_dpr_record_id``, outside the record hash)."""
        parent = calls.delegator(self.agents, agent)
        if parent is None or parent not in self._last or self._calls.get(agent, 0) % calls.DELEGATED_EVERY:
            return {}
        record_id, session_id = self._last[parent]
        return {"invoked_by_agent_id": parent, "invoked_by_dpr_record_id": record_id, "session_id": session_id}

    async def _settled(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a write to its end even if the caller is cancelled, so a decision is never
        left in the WAL but out of the buffer (or its state) while the daemon runs on."""
        task = asyncio.ensure_future(work)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def write_decisions(self, count: int) -> None:
        """Decide ``count`` calls now (plus expire approvals whose deadline passed)."""
        await self._settled(self._write_decisions(count))

    async def _write_decisions(self, count: int) -> None:
        async with self._lock:
            now = self._wall_ns()
            entries: list[Entry] = [*self._expire(now), *self._resolve_locally(now)]
            changed = bool(entries)
            start = now + len(entries) * 1_000
            for i in range(count):
                produced, deferred = self._decide(start + i * 1_000)  # distinct, increasing times
                entries.extend(produced)
                changed = changed or deferred
            if entries:
                await self._commit(entries, save_state=changed)
        if changed:
            self.flush.set()

    def _expire(self, now_ns: int) -> list[Entry]:
        due = [p for p in self.state.pending.values() if p.deadline_ns <= now_ns]
        events: list[Entry] = []
        for pending in due:
            resolution, event = approvals.expiry_event(pending, now_ns)
            self.state.resolve(pending.token, resolution)
            events.append(event)
        return events

    def _resolve_locally(self, now_ns: int) -> list[Entry]:
        """Defers the daemon host resolves itself (see approvals.local_choice)."""
        options = self.options
        entries: list[Entry] = []
        for pending in list(self.state.pending.values()):
            outcome = approvals.local_choice(pending, now_ns, options.local_resolve_share,
                                             options.local_resolve_after_s)
            if outcome is None:
                continue
            at = now_ns + len(entries) * 1_000  # distinct, increasing times
            fields, resolution, event = approvals.local_resolution(pending, outcome, at, self.keys.hmac_key)
            if fields is not None:
                record = self._record(pending.agent_id, at, fields)
                resolution.dpr_record_id = record["record_id"]
                entries.append(record)
            self.state.resolve(pending.token, resolution)
            entries.append(event)
        return entries

    # -- periodic reports --------------------------------------------------------------

    def agent_facts(self) -> list[reports.AgentFacts]:
        return [reports.AgentFacts(a, self.state.is_killed(a), self.state.is_isolated(a),
                                   0 if self.state.is_killed(a) else len(self._writer(a).sessions))
                for a in self.agents]

    def _facts(self) -> reports.StackFacts:
        return reports.StackFacts(self.label, self.options.daemon_version, POLICY_VERSION, self.started_ns)

    async def _start_reports(self) -> None:
        """What a daemon reports as it starts, ahead of anything else it buffers: its stack
        status, its health and every agent's budget (so Cloud shows them as soon as the
        daemon connects, not one status or budget interval later), and its credential leases.
        The intervals then take over."""
        now = self._wall_ns()
        stats = await self.buffer.stats()
        entries: list[Entry] = [reports.stack_status(self._facts(), self.agent_facts(), now),
                                reports.daemon_health(self._facts(), self.agent_facts(), stats, self.wal.size, now)]
        for agent in self.agents:
            spent = self._reported_spend[agent] = self._spent.get(agent, 0.0)
            entries.append(reports.budget_snapshot(agent, spent, 100.0, self._calls.get(agent, 0), now))
        for agent in self.agents:
            expires = now + self._rng.randrange(2 * 3600, 48 * 3600) * NS
            self._leases[agent] = (f"{self.label}/{agent}/{secrets.token_hex(4)}", expires)
            entries.append(reports.credential_event(agent, self._leases[agent][0],
                                                    agent_state_pb2.CREDENTIAL_EVENT_TYPE_ISSUED, expires, now))
        async with self._lock:
            await self._commit(entries)

    async def report_status(self) -> None:
        await self._settled(self._report_status())

    async def _report_status(self) -> None:
        now = self._wall_ns()
        stats = await self.buffer.stats()
        entries: list[Entry] = [reports.stack_status(self._facts(), self.agent_facts(), now),
                                reports.daemon_health(self._facts(), self.agent_facts(), stats, self.wal.size, now)]
        async with self._lock:
            await self._commit(entries)

    async def report_budgets(self) -> None:
        await self._settled(self._report_budgets())

    async def _report_budgets(self) -> None:
        now = self._wall_ns()
        entries: list[Entry] = []
        for agent in self.agents:
            spent = self._spent.get(agent, 0.0)
            if self._reported_spend.get(agent) != spent:  # coalesced: only what changed
                self._reported_spend[agent] = spent
                entries.append(reports.budget_snapshot(agent, spent, 100.0, self._calls.get(agent, 0), now))
        if entries:
            async with self._lock:
                await self._commit(entries)

    async def report_credentials(self) -> None:
        await self._settled(self._report_credentials())

    async def _report_credentials(self) -> None:
        now = self._wall_ns()
        agent = self.agents[self._rng.randrange(len(self.agents))]
        lease, expires = self._leases.get(agent, (f"{self.label}/{agent}/{secrets.token_hex(4)}", now))
        entries: list[Entry] = []
        if expires <= now:
            entries.append(reports.credential_event(agent, lease, agent_state_pb2.CREDENTIAL_EVENT_TYPE_EXPIRED, expires, now))
            lease = f"{self.label}/{agent}/{secrets.token_hex(4)}"
            kind = agent_state_pb2.CREDENTIAL_EVENT_TYPE_ISSUED
        else:
            kind = agent_state_pb2.CREDENTIAL_EVENT_TYPE_RENEWED
        expires = now + self._rng.randrange(1 * 3600, 30 * 3600) * NS
        self._leases[agent] = (lease, expires)
        entries.append(reports.credential_event(agent, lease, kind, expires, now))
        async with self._lock:
            await self._commit(entries)

    async def run(self, stop: asyncio.Event) -> None:
        """Write decisions at the configured rate and the periodic items on their intervals
        until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        start = last = loop.time()
        due = {"status": start + self.status_interval_s, "budget": start + self.options.budget_interval_s,
               "credential": start + self.options.credential_interval_s}
        carry = 0.0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.options.tick_s)
                break
            except TimeoutError:
                pass
            now = loop.time()
            carry += (now - last) * self.options.rate_per_s
            last = now
            count = int(carry)
            carry -= count
            await self.write_decisions(count)
            if now >= due["status"]:
                due["status"] = now + self.status_interval_s
                await self.report_status()
            if now >= due["budget"]:
                due["budget"] = now + self.options.budget_interval_s
                await self.report_budgets()
            if now >= due["credential"]:
                due["credential"] = now + self.options.credential_interval_s
                await self.report_credentials()

    # -- Cloud's deliveries and commands ---------------------------------------------------

    async def apply_delivery(self, delivery: deliveries_pb2.Delivery) -> deliveries_pb2.DeliveryAck:
        """Apply one Cloud delivery; returns its acknowledgement."""
        return await self._settled(self._apply_delivery(delivery))

    async def _apply_delivery(self, delivery: deliveries_pb2.Delivery) -> deliveries_pb2.DeliveryAck:
        async with self._lock:
            now = self._wall_ns()
            plan = approvals.plan_delivery(self.state, delivery, now, self.keys.hmac_key)
            entries: list[Entry] = []
            for token, resolution, event in plan.expired:
                self.state.resolve(token, resolution)
                entries.append(event)
            if plan.record is not None and plan.resolution is not None and plan.event is not None:
                record = self._record(plan.agent_id, now, plan.record)
                plan.resolution.dpr_record_id = plan.answer.dpr_record_id = record["record_id"]
                self.state.resolve(plan.token, plan.resolution)
                entries.extend([record, plan.event])
            if plan.notification_revision is not None:
                self.state.notification_revision = plan.notification_revision
            if plan.alert is not None:
                alert_id, seen = plan.alert
                self.state.registry_alerts[alert_id] = seen
                log.info("registry %s alert %s: %s", seen.severity, alert_id, seen.summary)
            if plan.remember:
                self.state.remember_delivery(delivery.delivery_id, plan.answer)
                await self._commit(entries, save_state=True)
        if entries:
            self.flush.set()
        return _delivery_ack(delivery.delivery_id, plan.answer)

    async def apply_command(self, command: emergency_pb2.EmergencyCommand) -> Answer:
        """Apply an ``EmergencyCommand``; returns what to acknowledge (outcome, when, the
        DPR recording it)."""
        return await self._settled(self._apply_command(command))

    async def _apply_command(self, command: emergency_pb2.EmergencyCommand) -> Answer:
        async with self._lock:
            now = self._wall_ns()
            plan = emergency.plan_command(self.state, command, now)
            entries: list[Entry] = []
            if plan.record is not None:
                if plan.kill and not self.state.is_killed(plan.agent_id):
                    self.state.killed.append(plan.agent_id)
                if plan.isolate and not self.state.is_isolated(plan.agent_id):
                    self.state.isolated.append(plan.agent_id)
                record = self._record(plan.agent_id, now, plan.record)
                plan.answer.dpr_record_id = record["record_id"]
                entries.append(record)
                entries.append(reports.stack_status(self._facts(), self.agent_facts(), now))
            if plan.remember:
                self.state.remember_command(command.command_id, plan.answer)
                await self._commit(entries, save_state=True)
        if entries:
            self.flush.set()
        return plan.answer


def _delivery_ack(delivery_id: str, answer: Answer) -> deliveries_pb2.DeliveryAck:
    ack = deliveries_pb2.DeliveryAck(delivery_id=delivery_id, outcome=answer.outcome,  # type: ignore[arg-type]
                                     message=answer.message, dpr_record_id=answer.dpr_record_id)
    ack.processed_at.FromNanoseconds(answer.at_ns)
    return ack
