"""The simulated daemon's sync client loop: what docs/sync-api.md asks of a daemon.

Three independent loops over the same buffer and daemon, each on its own channel so a long
decision poll or a failing push never delays the others:

* **push**: ``Hello`` first (limits, intervals, and what Cloud already holds), then a batch
  of the oldest buffered items every ``push_interval`` (at once when a full batch is waiting
  or the daemon asks for a flush, e.g. a new pending approval), at most ``max_push_items``
  and ``max_push_bytes``, one push in flight. Items leave the buffer only through
  ``acked_through_sequence``; per-item rejections are logged (they are acknowledged too,
  Cloud keeps them on its dead-letter topic). ``Hello`` again after every reconnect and at
  least hourly.
* **decisions**: long-polls ``PollDecisions`` (held by Cloud until a decision for the stack
  is taken, so it arrives at once), hands each delivery to the daemon, acks them; or, with
  ``SyncOptions.decision_wait_s = 0``, polls plainly every decision poll interval.
* **emergency**: polls ``PollEmergencyCommands`` every ``emergency_poll_interval``, applies
  each command, acks it with the outcome and the DPR that records it.

Failures (docs/sync-api.md section 7): UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED and other
Cloud faults back off 1 s doubling to 60 s with jitter on a fresh channel, keeping every
item; RESOURCE_EXHAUSTED waits as long as Cloud's retry hint says, or halves the batch when
there is none; INVALID_ARGUMENT is a daemon bug, logged with the field and retried after
5 minutes; UNIMPLEMENTED stops calling that method until the next Hello; UNAUTHENTICATED and
PERMISSION_DENIED end the loop with :class:`SyncStopped` (the buffer is kept).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Final, Protocol

import grpc
from faramesh_cloud_api.sync.v1 import deliveries_pb2, emergency_pb2, push_pb2

from faramesh_cloud.rpc.sync_client import SyncError
from faramesh_cloud.simulator.buffer import SyncBuffer
from faramesh_cloud.simulator.state import Answer
from faramesh_cloud.simulator.sync_parts import (
    Backoff,
    Connect,
    Limits,
    Link,
    SyncOptions,
    SyncStatus,
)

log = logging.getLogger(__name__)

FATAL: Final = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
OTHER_REGION: Final = "STACK_IN_OTHER_REGION"  # ErrorInfo reason: the key belongs to another region
BUG: Final = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                        grpc.StatusCode.OUT_OF_RANGE})


class SyncStopped(RuntimeError):
    """Cloud refused this stack for good (key rejected, stack deregistered); the message
    says what to do. Nothing buffered is lost."""


class ControlHandler(Protocol):
    """What the loop needs of the daemon."""

    flush: asyncio.Event
    status_interval_s: float

    async def apply_delivery(self, delivery: deliveries_pb2.Delivery) -> deliveries_pb2.DeliveryAck: ...

    async def apply_command(self, command: emergency_pb2.EmergencyCommand) -> Answer: ...


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


class SyncLoop:
    def __init__(self, connect: Connect, buffer: SyncBuffer, handler: ControlHandler,
                 options: SyncOptions | None = None, *, rng: random.Random | None = None,
                 label: str = "") -> None:
        self._connect = connect
        self._buffer = buffer
        self._handler = handler
        self._options = options or SyncOptions()
        self._rng = rng or random.Random()
        self._label = label or buffer.path.parent.name
        self.limits = Limits()
        self.status = SyncStatus()
        self._unimplemented: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set. Raises SyncStopped when Cloud refuses the stack."""
        link = Link(self._connect)
        try:
            if not await self._first_hello(link, stop):
                return
            tasks = [asyncio.create_task(self._push_loop(link), name=f"{self._label}-push"),
                     asyncio.create_task(self._decision_loop(), name=f"{self._label}-decisions"),
                     asyncio.create_task(self._emergency_loop(), name=f"{self._label}-emergency")]
            stopper = asyncio.create_task(stop.wait())
            try:
                done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (stopper, *tasks):
                    task.cancel()
                await asyncio.gather(stopper, *tasks, return_exceptions=True)
            for task in tasks:
                if task in done and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            await link.reset()

    # -- failures --------------------------------------------------------------------------

    async def _failed(self, what: str, exc: SyncError, link: Link, backoff: Backoff) -> float:
        """Record a failed call; returns how long to wait before retrying."""
        self.status.failures += 1
        self.status.last_error = f"{what}: {exc}"
        self.status.last_code = f"{what}: {exc.code.name}"
        if exc.code in FATAL:
            self.status.state = "stopped"
            what_failed = ("refused the stack API key" if exc.code == grpc.StatusCode.UNAUTHENTICATED
                           else "knows the key but the stack is deregistered or disabled")
            if exc.reason == OTHER_REGION:
                region, address = exc.metadata.get("region", "?"), exc.metadata.get("sync_address", "")
                raise SyncStopped(
                    f"stack {self._label}: this Cloud region sent the stack to region {region} "
                    f"({address or 'no sync address given'}). Sync stopped; everything stays buffered in "
                    f"{self._buffer.path}: point --target at {address or 'that region'} and run again"
                ) from exc
            raise SyncStopped(
                f"stack {self._label}: Cloud {what_failed} ({exc.code.name}: {exc.message}). "
                f"Sync stopped; everything stays buffered in {self._buffer.path} and goes out once a "
                "valid key is configured (pass a working --api-key, or --register the stack again)"
            ) from exc
        if exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return exc.retry_after_s if exc.retry_after_s is not None else 0.0
        if exc.code in BUG:
            log.error("%s: %s was refused as malformed (%s; fields %s); a simulator bug, retrying in %g s",
                      self._label, what, exc, ", ".join(exc.fields) or "-", self._options.bug_retry_s)
            return self._options.bug_retry_s
        if exc.code == grpc.StatusCode.UNIMPLEMENTED:
            self._unimplemented.add(what)
            log.warning("%s: this Cloud does not offer %s; not calling it until the next Hello", self._label, what)
            return backoff.next()
        if self.status.state != "retrying":
            log.warning("%s: Cloud unreachable (%s: %s); buffering and retrying with backoff",
                        self._label, what, exc.code.name)
        self.status.state = "retrying"
        await link.reset()
        delay = backoff.next()
        self.status.retry_waits = [*self.status.retry_waits[-9:], delay]
        return delay

    def _contact(self) -> None:
        if self.status.state == "retrying":
            log.info("%s: Cloud reachable again; catching up (%d queued)", self._label, self._buffer.queued)
        self.status.state = "connected"
        self.status.last_contact_ns = time.time_ns()

    # -- hello -------------------------------------------------------------------------------

    async def _hello(self, link: Link) -> None:
        hello = await link.client().hello(self._buffer.buffer_id, daemon_version=self._options.daemon_version,
                                          hostname=self._options.hostname)
        self.limits = Limits.from_hello(hello)
        self._handler.status_interval_s = self.limits.status_interval_s
        self._unimplemented.clear()
        self.status.stack_id, self.status.org_id = hello.stack_id, hello.org_id
        self.status.stack_name = hello.stack_name
        self.status.hellos += 1
        await self._buffer.ack(hello.acked_through_sequence)  # what Cloud already holds
        if hello.HasField("api_key_expires_at") and self.status.hellos == 1:
            log.warning("%s: this stack API key stops working at %s (it is being rotated out); "
                        "configure the stack's new key before then", self._label,
                        hello.api_key_expires_at.ToDatetime().isoformat(timespec="seconds") + "Z")
        self._contact()

    async def _first_hello(self, link: Link, stop: asyncio.Event) -> bool:
        backoff = Backoff(self._options.backoff_initial_s, self._options.backoff_max_s, self._rng)
        while not stop.is_set():
            try:
                await self._hello(link)
                return True
            except SyncError as exc:
                delay = await self._failed("hello", exc, link, backoff)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
        return False

    # -- the three loops -----------------------------------------------------------------------

    async def _push_loop(self, link: Link) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff(self._options.backoff_initial_s, self._options.backoff_max_s, self._rng)
        next_hello = loop.time() + self._options.rehello_s
        cap: int | None = None  # halved batch size after an oversize refusal without a hint
        reconnecting = False
        while True:
            limits = self.limits
            max_items = min(limits.max_push_items, cap or limits.max_push_items)
            self._handler.flush.clear()  # a flush asked for from here on gets a push of its own
            batch = await self._buffer.batch(max_items, limits.max_push_bytes)
            try:
                if reconnecting or loop.time() >= next_hello:
                    await self._hello(link)
                    next_hello = loop.time() + self._options.rehello_s
                response = await link.client().push(self._buffer.buffer_id, batch)
            except SyncError as exc:
                delay = await self._failed("push", exc, link, backoff)
                reconnecting = exc.code not in BUG and exc.code != grpc.StatusCode.RESOURCE_EXHAUSTED
                if exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED and exc.retry_after_s is None:
                    if len(batch) > 1:
                        cap = max(1, len(batch) // 2)  # the transport refused the size: halve it
                    else:
                        delay = backoff.next()
                await _pause(delay)
                continue
            progressed = response.acked_through_sequence > self._buffer.acked_through
            await self._buffer.ack(response.acked_through_sequence)
            for rejection in response.rejections:
                self.status.rejected += 1
                log.warning("%s: Cloud rejected item %d (%s%s): %s; dropped from the buffer, Cloud keeps it "
                            "on its dead-letter topic", self._label, rejection.sequence,
                            _reason_name(rejection.reason), f", field {rejection.field}" if rejection.field else "",
                            rejection.message)
            self.status.pushes += 1
            self._contact()
            backoff.reset()
            reconnecting = False
            if cap is not None:
                cap = None if cap * 2 >= limits.max_push_items else cap * 2
            if progressed and self._buffer.queued >= max_items:
                continue  # a full batch is waiting: catch up without pausing
            try:
                await asyncio.wait_for(self._handler.flush.wait(), limits.push_interval_s)
            except TimeoutError:
                pass

    async def _decision_loop(self) -> None:
        link = Link(self._connect)
        loop = asyncio.get_running_loop()
        backoff = Backoff(self._options.backoff_initial_s, self._options.backoff_max_s, self._rng)
        try:
            while True:
                limits = self.limits
                options = self._options
                interval = options.decision_poll_interval_s or limits.decision_poll_interval_s
                wait = limits.max_poll_wait_s if options.decision_wait_s is None else options.decision_wait_s
                if "decisions" in self._unimplemented:
                    await _pause(interval)
                    continue
                started = loop.time()
                try:
                    response = await link.client().poll_decisions(options.max_deliveries, wait)
                    self.status.decision_polls += 1
                    acks = [await self._handler.apply_delivery(d) for d in response.deliveries]
                    self.status.deliveries += len(acks)
                    if acks:
                        await link.client().ack_decisions(acks)
                except SyncError as exc:
                    await _pause(await self._failed("decisions", exc, link, backoff))
                    continue
                backoff.reset()
                if response.has_more:
                    continue
                if wait <= 0:  # plain polling: one poll every interval, start to start
                    await _pause(interval - (loop.time() - started))
                elif not response.deliveries and loop.time() - started < wait / 2:
                    await _pause(interval)  # Cloud answered a long poll early with nothing
        finally:
            await link.reset()

    async def _emergency_loop(self) -> None:
        link = Link(self._connect)
        backoff = Backoff(self._options.backoff_initial_s, self._options.backoff_max_s, self._rng)
        try:
            while True:
                delay = self.limits.emergency_poll_interval_s
                if "emergency" not in self._unimplemented:
                    try:
                        await self._poll_commands(link)
                        backoff.reset()
                    except SyncError as exc:
                        delay = min(delay, await self._failed("emergency", exc, link, backoff))
                await _pause(delay)
        finally:
            await link.reset()

    async def _poll_commands(self, link: Link) -> None:
        response = await link.client().poll_emergency_commands()
        self.status.emergency_polls += 1
        for command in response.commands:
            answer = await self._handler.apply_command(command)
            self.status.commands += 1
            try:
                await link.client().ack_emergency_command(
                    command.command_id, answer.outcome,
                    applied_at_ns=answer.at_ns, dpr_record_id=answer.dpr_record_id, message=answer.message)
            except SyncError as exc:
                if exc.code != grpc.StatusCode.NOT_FOUND:
                    raise  # re-delivered next poll; the daemon answers it the same way
                log.warning("%s: Cloud does not know emergency command %s: %s; not acknowledging it again",
                            self._label, command.command_id, exc.message)


def _reason_name(reason: int) -> str:
    try:
        return push_pb2.RejectionReason.Name(reason).removeprefix("REJECTION_REASON_")  # type: ignore[arg-type]
    except ValueError:
        return f"reason {reason}"
