"""The Log port: an ordered, partitioned, durable append-only log (Kafka semantics).

Every adapter (in-memory, PostgreSQL, Kafka) passes the same contract suite in
``tests/contracts/test_log_contract.py``. Business code sees only these types.

Semantics every adapter guarantees:

* ``append`` returns only once every record is durable (fsynced / acks=all), and returns
  each record's position in input order.
* A record's partition is ``partition_for(key, partitions)``: one stack's records (the key)
  stay in order. The same function is used by every adapter, so positions are portable.
* Offsets are dense per partition and start at 0.
* ``append_all`` appends to several topics as one unit and then runs an :class:`AfterAppend`
  (bookkeeping that must be durable once the records are, never before): an adapter that
  stores the log in the bookkeeping's own PostgreSQL database runs it in the append's
  transaction (``PostgresLog``, which also commits concurrent calls together); every other
  adapter awaits it after the records are durable. Either way a failed append runs nothing.
* A consumer belongs to a group; committed offsets are per (group, topic, partition) and a
  new consumer of the same group resumes from them. ``seek`` moves the read position without
  committing. Reading never commits.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec


def partition_for(key: bytes, partitions: int) -> int:
    """Stable partition of a key. CRC-32 so every adapter (and every language) agrees."""
    if partitions <= 0:
        raise ValueError("partitions must be positive")
    return zlib.crc32(key) % partitions


class SharedHeaders(Mapping[str, bytes]):
    """One record's headers: a part many records share (the same ``shared`` object, e.g.
    everything of one push but the sequence) and a part of its own; the names of the two
    are disjoint. It reads like any mapping; an adapter that encodes headers may encode
    ``shared`` once for every record of an append that holds it (ingest's hot path)."""

    __slots__ = ("own", "shared")

    def __init__(self, shared: Mapping[str, bytes], own: Mapping[str, bytes]) -> None:
        self.shared = shared
        self.own = own

    def __getitem__(self, name: str) -> bytes:
        own = self.own.get(name)
        return self.shared[name] if own is None else own

    def __iter__(self) -> Iterator[str]:
        yield from self.shared
        yield from self.own

    def __len__(self) -> int:
        return len(self.shared) + len(self.own)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """What a producer appends."""

    key: bytes
    value: bytes
    headers: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


class Message(msgspec.Struct, frozen=True, gc=False):
    """What a consumer reads. A frozen struct, not a dataclass: a consumer builds one per
    record on the hot path, and msgspec's C ``__init__`` costs a fraction of a frozen
    dataclass's (no cycles through it, so the garbage collector need not track it)."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: Mapping[str, bytes]
    timestamp_ms: int


class AfterAppend(Protocol):
    """What a producer records about an append once it is durable (ingest: the buffer's
    acknowledged sequence). ``database`` is the :class:`~faramesh_cloud.sql.database.Database`
    that ``statement`` writes to; a log that lives in that same database runs the statement
    in the append's transaction (one commit for both, and both or neither), any other log
    awaits ``apply()`` after the records are durable. The statement must not fail for
    reasons of data (a log that commits several producers together retries them one by one
    if it does, so others are not held back)."""

    @property
    def database(self) -> object: ...

    def statement(self) -> tuple[str, Sequence[object]]:
        """SQL and its parameters, run inside the append's transaction."""
        ...

    async def apply(self) -> None:
        """The same write on its own, after the append is durable."""
        ...


TopicRecords = tuple[str, Sequence[LogRecord]]


async def append_then_apply(
    log: Log, appends: Sequence[TopicRecords], after: AfterAppend | None
) -> list[list[Position]]:
    """``append_all`` for logs that cannot share a transaction with the producer's database:
    each topic's records in turn (each durable on return), then ``after.apply()``."""
    positions = [await log.append(topic, records) for topic, records in appends]
    if after is not None:
        await after.apply()
    return positions


class LogUnavailable(Exception):
    """The log cannot take or serve records right now; nothing was acknowledged."""


class RecordRejected(LogUnavailable):
    """The log refuses a record of this append for good: the same record can never be
    appended, however often it is retried (it is larger than the log's ``max_record_bytes``,
    or a Kafka broker answered MessageSizeTooLarge or RecordListTooLarge).
    Nothing of the append was acknowledged. A subclass of :class:`LogUnavailable`, so a
    producer that only knows how to retry still does; one that can set a record aside (the
    outbox relay parks it) catches this first. Every other failure, an unknown topic
    included, may pass on retry and is not this."""


def record_size(record: LogRecord) -> int:
    """What a record weighs against ``max_record_bytes``: key, value and header bytes."""
    return (len(record.key) + len(record.value)
            + sum(len(name) + len(value) for name, value in record.headers.items()))


def check_record_sizes(topic: str, records: Sequence[LogRecord], limit: int | None) -> None:
    """Raise :class:`RecordRejected` if any record is over ``limit`` (None: no limit), before
    anything of the append is stored."""
    if limit is None:
        return
    for index, record in enumerate(records):
        size = record_size(record)
        if size > limit:
            raise RecordRejected(
                f"record {index} of an append to {topic!r} is {size} bytes, more than this log "
                f"takes ({limit} bytes, max_record_bytes); it can never be appended as it is")


class UnknownTopic(Exception):
    """The topic was never created."""


class TopicMismatch(ValueError):
    """``create_topic`` named an existing topic with a different partition count."""


class Consumer(Protocol):
    """One member of a consumer group, reading assigned partitions of one topic."""

    @property
    def topic(self) -> str: ...

    @property
    def group(self) -> str: ...

    async def assignment(self) -> frozenset[int]:
        """The partitions this member reads now."""
        ...

    async def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        """Up to ``max_records`` messages after the read position; waits up to ``timeout_s``
        for the first one. Advances the read position past what it returns."""
        ...

    async def commit(self, offsets: Mapping[int, int]) -> None:
        """Durably store, per partition, the offset of the *next* message to read. Commit only
        partitions in ``assignment()``: adapters may refuse others (Kafka does)."""
        ...

    async def committed(self, partition: int) -> int | None:
        """The committed next offset for a partition, or None if the group never committed."""
        ...

    async def seek(self, partition: int, offset: int) -> None:
        """Move the read position of a partition (does not commit)."""
        ...

    async def seek_to_beginning(self) -> None:
        """Replay from offset 0 on every assigned partition (does not commit)."""
        ...

    async def close(self) -> None: ...


class Log(Protocol):
    """A durable, partitioned log."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def create_topic(self, topic: str, partitions: int) -> None:
        """Create a topic; a no-op when it exists with the same partition count."""
        ...

    async def partitions(self, topic: str) -> int:
        """Partition count of a topic; raises UnknownTopic."""
        ...

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        """Append records; returns once all are durable. Raises LogUnavailable on failure,
        in which case the caller must assume none were stored and retry the whole batch."""
        ...

    async def append_all(
        self, appends: Sequence[TopicRecords], after: AfterAppend | None = None
    ) -> list[list[Position]]:
        """Append to several topics, then make ``after`` durable (see :class:`AfterAppend`);
        returns each append's positions, in order. Raises LogUnavailable like ``append``;
        then ``after`` did not run, though records of an adapter without transactions
        (Kafka) may have been stored (the caller retries; consumers dedupe)."""
        ...

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Per partition, the offset the next appended record will get."""
        ...

    async def consumer(self, topic: str, group: str) -> Consumer:
        """A group member reading ``topic``. Starts at the group's committed offsets, or at
        offset 0 for a partition the group never committed."""
        ...
