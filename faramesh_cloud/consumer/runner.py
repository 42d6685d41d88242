"""The consumer runner: decode, process (pure), batch, sink, commit after the sink is durable.

One loop per (topic, group) member, shaped like Arroyo's strategies but kept small:

    poll ─▶ process each message (pure) ─▶ batch (by count / age) ─▶ park rejects on the
    dead-letter topic ─▶ sink.write(rows) (durable, idempotent) ─▶ commit offsets

Offsets are committed only after the dead-letter append and the sink write have returned,
so a crash anywhere redelivers the batch; sinks are idempotent, so a redelivered batch
changes nothing a query returns. A message the processor rejects (or raises on) never
blocks the partition: it goes to the dead-letter topic with its reason and source
position. Sink and commit failures are transient by definition here: they are retried
with capped exponential backoff, never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from faramesh_cloud.log.port import Consumer, Log, LogRecord, Message
from faramesh_cloud.observability.consumer import RunnerTelemetry
from faramesh_cloud.sql.positions import P  # a row that says where on the log it was read

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be processed, with the reason (goes to the dead-letter topic)."""

    reason: str


class Processor(Protocol[T_co]):
    """Pure: one message to one row, ``None`` (nothing to write) or ``Rejected``."""

    def process(self, message: Message) -> T_co | Rejected | None: ...


class Sink(Protocol[T_contra]):
    """Writes a batch durably and idempotently: writing the same rows twice changes nothing
    a query returns. Returns only once the write is durable."""

    async def write(self, rows: Sequence[T_contra]) -> None: ...


class MarkSink:
    """The sink of a trigger consumer that writes no state (compliance's signals, the
    registry's alerts): it hands the batch's keys (organisations) to ``mark``, which wakes
    the work that re-reads them; committing after the mark is all there is to do."""

    def __init__(self, mark: Callable[[set[str]], None]) -> None:
        self._mark = mark

    async def write(self, rows: Sequence[str]) -> None:
        if rows:
            self._mark(set(rows))


def in_log_order(rows: Sequence[P]) -> tuple[str, list[P]]:
    """A batch's one topic and its rows by (partition, offset); a batch of several topics is
    a caller's mistake (each runner reads one topic)."""
    topics = {r.topic for r in rows}
    if len(topics) != 1:
        raise ValueError(f"one sink batch must come from one topic, got {sorted(topics)}")
    return rows[0].topic, sorted(rows, key=lambda r: (r.partition, r.offset))


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    max_batch_records: int = 5_000
    max_batch_seconds: float = 0.5
    poll_records: int = 1_000
    poll_timeout_s: float = 0.25
    retry_initial_s: float = 0.05
    retry_max_s: float = 5.0
    dead_letter_topic: str | None = None
    # Another consumer group of the same topic parks the rejects (the audit index's chain
    # verifier reads what its search index parks, with the same processor checks): count
    # them and commit past them, append nothing. Never set together with a dead-letter topic.
    rejects_parked_by: str | None = None

    def __post_init__(self) -> None:
        if self.dead_letter_topic is not None and self.rejects_parked_by is not None:
            raise ValueError("set dead_letter_topic or rejects_parked_by, not both")


@dataclass(slots=True)
class RunnerStats:
    messages: int = 0
    rows: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0


def dead_letter(message: Message, reason: str) -> LogRecord:
    """The dead-letter copy of a message: same key and bytes, the reason and source in headers."""
    headers = dict(message.headers)
    headers.update({
        "dlq-reason": reason.encode("utf-8", "replace")[:4000],
        "dlq-topic": message.topic.encode(),
        "dlq-partition": str(message.partition).encode(),
        "dlq-offset": str(message.offset).encode(),
    })
    return LogRecord(key=message.key, value=message.value, headers=headers)


@dataclass(slots=True)
class _Batch(Generic[T]):
    """The messages of one batch, and the processing of each polled chunk of them."""

    messages: list[Message] = field(default_factory=list)
    chunks: list[asyncio.Future[tuple[list[T], list[LogRecord]]]] = field(default_factory=list)

    async def processed(self) -> tuple[list[T], list[LogRecord]]:
        rows: list[T] = []
        rejects: list[LogRecord] = []
        for chunk in self.chunks:
            chunk_rows, chunk_rejects = await chunk
            rows += chunk_rows
            rejects += chunk_rejects
        return rows, rejects


class ConsumerRunner(Generic[T]):
    def __init__(
        self,
        log_: Log,
        topic: str,
        group: str,
        processor: Processor[T],
        sink: Sink[T],
        config: RunnerConfig | None = None,
    ) -> None:
        self._log = log_
        self.topic = topic
        self.group = group
        self._processor = processor
        self._sink = sink
        self.config = config or RunnerConfig()
        self.stats = RunnerStats()
        self._consumer: Consumer | None = None
        self._telemetry: RunnerTelemetry | None = None  # OpenTelemetry on: set by run()

    async def caught_up(self, ends: Mapping[int, int]) -> bool:
        """Whether the group has committed at least ``ends`` (end offsets taken earlier) on
        every partition: what a service waits for before work that must see all of a topic
        that was there when it started (False until the runner has joined the group)."""
        consumer = self._consumer
        if consumer is None:
            return False
        for partition, end in ends.items():
            if end > 0 and (await consumer.committed(partition) or 0) < end:
                return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch being written is finished (and committed)
        first, a batch still being polled or processed is dropped (it is not committed, so
        the group delivers it again).

        Pipelined three ways: while batch N is written and committed, batch N+1 is polled,
        and each chunk of it is processed (in this runner's one worker thread, in order) as
        soon as it is polled, while the next chunk is fetched. So the processor's CPU
        overlaps both the fetch and the sink's I/O. Writes and commits stay strictly in
        batch order, and N+1's write starts only once N is committed, so "commit after
        sink" holds per batch."""
        consumer = await self._log.consumer(self.topic, self.group)
        self._consumer = consumer
        telemetry = self._telemetry = RunnerTelemetry.for_runner(self._log, self.topic, self.group)
        lag = None if telemetry is None else asyncio.create_task(telemetry.watch_lag(consumer, stop))
        writing: asyncio.Task[None] | None = None  # write + commit of the previous batch
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"process-{self.group}")
        try:
            while not stop.is_set():
                batch = await self._collect(consumer, stop, worker)
                if writing is not None and writing.done():
                    done, writing = writing, None
                    await done  # re-raises what the write died of
                if not batch.messages:
                    continue
                rows, rejects = await batch.processed()
                if stop.is_set():  # not started, not committed: the group delivers it again
                    break
                if writing is not None:
                    previous, writing = writing, None
                    await previous
                writing = asyncio.create_task(self._write(consumer, batch.messages, rows, rejects))
            if writing is not None:
                last, writing = writing, None
                await last
        finally:
            if writing is not None:  # cancelled or failed: do not leave the write running unowned
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writing
            worker.shutdown(wait=True, cancel_futures=True)
            if lag is not None and telemetry is not None:
                lag.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lag
                telemetry.close()
            await consumer.close()

    async def _collect(self, consumer: Consumer, stop: asyncio.Event, worker: Executor) -> _Batch[T]:
        """One batch: up to ``max_batch_records`` or ``max_batch_seconds`` after the first;
        each polled chunk is handed to ``worker`` to process while the next is polled."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        batch: _Batch[T] = _Batch()
        deadline = loop.time() + cfg.max_batch_seconds
        while len(batch.messages) < cfg.max_batch_records and not stop.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0 and batch.messages:
                break
            got = await consumer.poll(
                max_records=min(cfg.poll_records, cfg.max_batch_records - len(batch.messages)),
                timeout_s=max(0.0, min(cfg.poll_timeout_s, remaining)) if batch.messages else cfg.poll_timeout_s,
            )
            if got:
                batch.messages.extend(got)
                batch.chunks.append(loop.run_in_executor(worker, self._process, got))
            elif batch.messages:
                break
        return batch

    async def handle(self, consumer: Consumer, messages: Sequence[Message]) -> None:
        """Process one batch through to the commit."""
        # Processing is pure CPU work (parsing, hashing, signature checks): a 10k-record batch
        # takes long enough to stall every other coroutine of the process, so it runs in a thread.
        rows, rejects = await asyncio.to_thread(self._process, messages)
        await self._write(consumer, messages, rows, rejects)

    async def _write(self, consumer: Consumer, messages: Sequence[Message], rows: list[T],
                     rejects: list[LogRecord]) -> None:
        """Dead letters, then the sink, then the commit: each retried until it succeeds.
        With OpenTelemetry on, inside the batch's span (``observability.consumer``)."""
        telemetry = self._telemetry
        with contextlib.nullcontext() if telemetry is None else telemetry.batch(messages):
            offsets = await self._write_batch(consumer, messages, rows, rejects, telemetry)
        if telemetry is not None:
            telemetry.committed(offsets, len(messages), len(rejects))
        self.stats.messages += len(messages)
        self.stats.rows += len(rows)
        self.stats.rejected += len(rejects)
        self.stats.batches += 1

    async def _write_batch(self, consumer: Consumer, messages: Sequence[Message], rows: list[T],
                           rejects: list[LogRecord], telemetry: RunnerTelemetry | None = None) -> dict[int, int]:
        if rejects and self.config.rejects_parked_by is None:
            if self.config.dead_letter_topic is None:
                raise RuntimeError(f"{len(rejects)} rejected message(s) on {self.topic} and no dead-letter topic")
            dlq = self.config.dead_letter_topic
            await self._retry("dead-letter append", lambda: self._log.append(dlq, rejects))
        if rows:
            with contextlib.nullcontext() if telemetry is None else telemetry.sink(len(rows)):
                await self._retry("sink write", lambda: self._sink.write(rows))
        offsets: dict[int, int] = {}
        for message in messages:
            if message.offset + 1 > offsets.get(message.partition, -1):
                offsets[message.partition] = message.offset + 1
        await self._retry("offset commit", lambda: self._commit_assigned(consumer, offsets))
        return offsets

    def _process(self, messages: Sequence[Message]) -> tuple[list[T], list[LogRecord]]:
        rows: list[T] = []
        rejects: list[LogRecord] = []
        for message in messages:
            try:
                result = self._processor.process(message)
            except Exception as exc:  # a processor bug must not block the partition
                result = Rejected(f"processor raised {type(exc).__name__}: {exc}")
            if isinstance(result, Rejected):
                rejects.append(dead_letter(message, result.reason))
            elif result is not None:
                rows.append(result)
        return rows, rejects

    @staticmethod
    async def _commit_assigned(consumer: Consumer, offsets: dict[int, int]) -> None:
        """Commit only partitions this member still holds: after a rebalance the new owner
        re-reads the rest (at-least-once; the sink is idempotent), and Kafka refuses commits
        for partitions a member no longer owns."""
        assigned = await consumer.assignment()
        mine = {p: o for p, o in offsets.items() if p in assigned}
        if mine:
            await consumer.commit(mine)

    async def _retry(self, what: str, action: Callable[[], Awaitable[object]]) -> None:
        delay = self.config.retry_initial_s
        while True:
            try:
                await action()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.retries += 1
                if self._telemetry is not None:
                    self._telemetry.retried(what)
                log.warning("%s for %s/%s failed (%s); retrying in %.2fs", what, self.topic, self.group, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.config.retry_max_s)
