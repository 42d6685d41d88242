"""InMemoryLog: the Log port inside one process (asyncio), for tests and single-shot tools.

Nothing survives the process. Consumer groups behave like the durable adapters: members
split partitions (see :mod:`faramesh_cloud.log.balance`), a member gives up or takes
partitions only inside its own ``poll``, and a partition it takes starts at the group's
committed offset. Waiting consumers are woken by asyncio events, never by sleeping.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from faramesh_cloud.log.balance import ideal_partitions, rewind_all, seek_assigned
from faramesh_cloud.log.port import (
    AfterAppend,
    LogRecord,
    LogUnavailable,
    Message,
    Position,
    TopicMismatch,
    TopicRecords,
    UnknownTopic,
    append_then_apply,
    check_record_sizes,
    partition_for,
)
from faramesh_cloud.log.wakeup import Signals, wait_any


@dataclass(slots=True)
class _Group:
    committed: dict[int, int] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)
    owners: dict[int, int] = field(default_factory=dict)  # partition -> member


@dataclass(slots=True)
class _State:
    topics: dict[str, list[list[Message]]] = field(default_factory=dict)
    groups: dict[tuple[str, str], _Group] = field(default_factory=dict)
    signals: Signals = field(default_factory=Signals)
    member_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    open: bool = False


class InMemoryLog:
    """A process-local Log."""

    def __init__(self, *, max_record_bytes: int | None = None) -> None:
        self._state = _State()
        self._max_record_bytes = max_record_bytes  # larger records: RecordRejected

    async def start(self) -> None:
        self._state.open = True

    async def close(self) -> None:
        self._state.open = False
        self._state.signals.fire_all()

    async def create_topic(self, topic: str, partitions: int) -> None:
        self._check_open()
        if partitions <= 0:
            raise ValueError(f"topic {topic!r}: partitions must be positive, got {partitions}")
        existing = self._state.topics.get(topic)
        if existing is None:
            self._state.topics[topic] = [[] for _ in range(partitions)]
        elif len(existing) != partitions:
            raise TopicMismatch(
                f"topic {topic!r} exists with {len(existing)} partitions, not {partitions}; "
                "use the existing count or a new topic name (e.g. a new .vN suffix)"
            )

    async def partitions(self, topic: str) -> int:
        return len(self._partitions(topic))

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        parts = self._partitions(topic)
        check_record_sizes(topic, records, self._max_record_bytes)
        now_ms = time.time_ns() // 1_000_000
        positions: list[Position] = []
        for record in records:
            partition = partition_for(record.key, len(parts))
            log = parts[partition]
            offset = len(log)
            log.append(
                Message(
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=bytes(record.key),
                    value=bytes(record.value),
                    headers={name: bytes(v) for name, v in record.headers.items()},
                    timestamp_ms=now_ms,
                )
            )
            positions.append(Position(topic, partition, offset))
        if positions:
            self._state.signals.fire(("topic", topic))
        return positions

    async def append_all(
        self, appends: Sequence[TopicRecords], after: AfterAppend | None = None
    ) -> list[list[Position]]:
        for topic, records in appends:  # nothing of the call is stored if one is refused
            check_record_sizes(topic, records, self._max_record_bytes)
        return await append_then_apply(self, appends, after)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return {p: len(log) for p, log in enumerate(self._partitions(topic))}

    async def consumer(self, topic: str, group: str) -> InMemoryConsumer:
        parts = self._partitions(topic)
        state = self._state.groups.setdefault((topic, group), _Group())
        member = next(self._state.member_ids)
        state.members.add(member)
        self._state.signals.fire(("group", topic, group))
        consumer = InMemoryConsumer(self._state, topic, group, member, len(parts), state)
        consumer.rebalance()
        return consumer

    def _check_open(self) -> None:
        if not self._state.open:
            raise LogUnavailable("the in-memory log is not started; call start() first")

    def _partitions(self, topic: str) -> list[list[Message]]:
        self._check_open()
        try:
            return self._state.topics[topic]
        except KeyError:
            raise UnknownTopic(
                f"topic {topic!r} does not exist; create it with create_topic() first"
            ) from None


class InMemoryConsumer:
    """One member of a consumer group of an :class:`InMemoryLog`."""

    def __init__(
        self,
        shared: _State,
        topic: str,
        group: str,
        member: int,
        partitions: int,
        state: _Group,
    ) -> None:
        self._shared = shared
        self._topic = topic
        self._group = group
        self._member = member
        self._partition_count = partitions
        self._state = state
        self._positions: dict[int, int] = {}
        self._closed = False

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def group(self) -> str:
        return self._group

    async def assignment(self) -> frozenset[int]:
        return frozenset(self._positions)

    def rebalance(self) -> None:
        """Give up partitions outside this member's share; take free ones inside it."""
        state = self._state
        ideal = ideal_partitions(self._partition_count, state.members, self._member)
        released = False
        for partition in sorted(set(self._positions) - ideal):
            del self._positions[partition]
            state.owners.pop(partition, None)
            released = True
        for partition in sorted(ideal - set(self._positions)):
            if partition not in state.owners:
                state.owners[partition] = self._member
                self._positions[partition] = state.committed.get(partition, 0)
        if released:
            self._shared.signals.fire(("group", self._topic, self._group))

    async def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        if max_records <= 0:
            raise ValueError("max_records must be positive")
        self._check_usable()
        signals = self._shared.signals
        deadline = time.monotonic() + timeout_s
        while True:
            self.rebalance()
            woken = [
                signals.event(("topic", self._topic)),
                signals.event(("group", self._topic, self._group)),
            ]
            messages = self._fetch(max_records)
            if messages:
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await wait_any(woken, remaining)
            self._check_usable()

    def _fetch(self, max_records: int) -> list[Message]:
        parts = self._shared.topics[self._topic]
        slices = [
            parts[p][self._positions[p] : self._positions[p] + max_records]
            for p in sorted(self._positions)
        ]
        interleaved = [m for row in itertools.zip_longest(*slices) for m in row if m is not None]
        messages = interleaved[:max_records]
        for message in messages:
            self._positions[message.partition] = message.offset + 1
        return messages

    async def commit(self, offsets: Mapping[int, int]) -> None:
        self._check_usable()
        for partition, offset in offsets.items():
            _check_offset(self._topic, self._partition_count, partition, offset)
        self._state.committed.update(offsets)

    async def committed(self, partition: int) -> int | None:
        self._check_usable()
        _check_offset(self._topic, self._partition_count, partition, 0)
        return self._state.committed.get(partition)

    async def seek(self, partition: int, offset: int) -> None:
        self._check_usable()
        _check_offset(self._topic, self._partition_count, partition, offset)
        seek_assigned(self._positions, self._topic, partition, offset)

    async def seek_to_beginning(self) -> None:
        self._check_usable()
        rewind_all(self._positions)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for partition in self._positions:
            self._state.owners.pop(partition, None)
        self._positions.clear()
        self._state.members.discard(self._member)
        self._shared.signals.fire(("group", self._topic, self._group))

    def _check_usable(self) -> None:
        if self._closed:
            raise LogUnavailable("this consumer is closed; create a new one with Log.consumer()")
        if not self._shared.open:
            raise LogUnavailable("the in-memory log is closed; start a new one")


def _check_offset(topic: str, partitions: int, partition: int, offset: int) -> None:
    if not 0 <= partition < partitions:
        raise ValueError(f"topic {topic!r} has partitions 0..{partitions - 1}, not {partition}")
    if offset < 0:
        raise ValueError(f"offsets are never negative (got {offset} for partition {partition})")
