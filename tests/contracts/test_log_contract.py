"""The Log contract: every adapter (memory, PostgreSQL, Kafka) passes these same tests.

Topic and group names are unique per test because the Kafka broker is shared by the run.
Nothing here depends on an adapter's internals; "until" loops poll with short timeouts and
stop on a generous attempt count, never on elapsed time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable

import pytest

from faramesh_cloud.log.port import (
    Consumer,
    Log,
    LogRecord,
    Message,
    TopicMismatch,
    UnknownTopic,
    partition_for,
)

PARTITIONS = 4


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def topic(log: Log) -> str:
    name = _name("contract")
    await log.create_topic(name, PARTITIONS)
    return name


def _records(keys: Iterable[bytes], tag: str = "v") -> list[LogRecord]:
    return [LogRecord(key=k, value=f"{tag}{i}".encode()) for i, k in enumerate(keys)]


def _keys(count: int) -> list[bytes]:
    return [f"stack-{i % 13}".encode() for i in range(count)]


async def _drain(consumer: Consumer, count: int, attempts: int = 40) -> list[Message]:
    """Poll until ``count`` messages arrived (fails if they never do), then check that
    nothing more is pending."""
    got: list[Message] = []
    for _ in range(attempts):
        if len(got) >= count:
            break
        got.extend(await consumer.poll(max_records=500, timeout_s=0.5))
    assert len(got) == count, f"expected {count} messages, got {len(got)}"
    assert await consumer.poll(timeout_s=0.2) == [], "read more than was appended"
    return got


def _by_position(messages: Iterable[Message]) -> dict[tuple[int, int], Message]:
    return {(m.partition, m.offset): m for m in messages}


async def test_append_returns_positions_in_input_order_with_dense_offsets(
    log: Log, topic: str
) -> None:
    keys = _keys(60)
    first = await log.append(topic, _records(keys[:30]))
    second = await log.append(topic, _records(keys[30:]))
    positions = first + second
    assert [p.partition for p in positions] == [partition_for(k, PARTITIONS) for k in keys]
    assert all(p.topic == topic for p in positions)
    per_partition: dict[int, list[int]] = defaultdict(list)
    for position in positions:
        per_partition[position.partition].append(position.offset)
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets)))


async def test_records_land_in_the_partition_of_their_key(log: Log, topic: str) -> None:
    keys = _keys(40)
    positions = await log.append(topic, _records(keys))
    consumer = await log.consumer(topic, _name("g"))
    messages = await _drain(consumer, len(keys))
    for message in messages:
        assert message.partition == partition_for(message.key, PARTITIONS)
    assert {(p.partition, p.offset) for p in positions} == set(_by_position(messages))
    await consumer.close()


async def test_per_key_order_is_kept_across_appends(log: Log, topic: str) -> None:
    sent: dict[bytes, list[bytes]] = defaultdict(list)
    for batch in range(5):
        records = _records(_keys(26), tag=f"b{batch}-")
        for record in records:
            sent[record.key].append(record.value)
        await log.append(topic, records)
    consumer = await log.consumer(topic, _name("g"))
    received: dict[bytes, list[bytes]] = defaultdict(list)
    for message in await _drain(consumer, 5 * 26):
        received[message.key].append(message.value)
    assert received == sent
    await consumer.close()


async def test_append_of_an_empty_batch_stores_nothing(log: Log, topic: str) -> None:
    assert await log.append(topic, []) == []
    assert await log.end_offsets(topic) == dict.fromkeys(range(PARTITIONS), 0)


async def test_create_topic_is_idempotent(log: Log, topic: str) -> None:
    await log.append(topic, _records([b"a"]))
    await log.create_topic(topic, PARTITIONS)
    assert await log.partitions(topic) == PARTITIONS
    assert sum((await log.end_offsets(topic)).values()) == 1


async def test_create_topic_with_another_partition_count_is_refused(log: Log, topic: str) -> None:
    with pytest.raises(TopicMismatch, match=str(PARTITIONS)):
        await log.create_topic(topic, PARTITIONS + 1)
    assert await log.partitions(topic) == PARTITIONS


async def test_unknown_topic_is_an_error(log: Log) -> None:
    missing = _name("missing")
    with pytest.raises(UnknownTopic, match=missing):
        await log.append(missing, _records([b"a"]))
    with pytest.raises(UnknownTopic):
        await log.partitions(missing)
    with pytest.raises(UnknownTopic):
        await log.end_offsets(missing)
    with pytest.raises(UnknownTopic):
        await log.consumer(missing, _name("g"))


async def test_end_offsets_are_the_next_offset_of_each_partition(log: Log, topic: str) -> None:
    assert await log.end_offsets(topic) == dict.fromkeys(range(PARTITIONS), 0)
    keys = _keys(50)
    await log.append(topic, _records(keys[:40]))  # multi-record batches on purpose
    await log.append(topic, _records(keys[40:]))
    expected = dict.fromkeys(range(PARTITIONS), 0)
    for key in keys:
        expected[partition_for(key, PARTITIONS)] += 1
    assert await log.end_offsets(topic) == expected


async def test_a_new_group_starts_at_offset_zero(log: Log, topic: str) -> None:
    await log.append(topic, _records(_keys(20)))
    consumer = await log.consumer(topic, _name("g"))
    messages = await _drain(consumer, 20)
    for partition in range(PARTITIONS):
        offsets = [m.offset for m in messages if m.partition == partition]
        assert offsets == list(range(len(offsets)))
    for partition in range(PARTITIONS):
        assert await consumer.committed(partition) is None  # reading never commits
    await consumer.close()


async def test_poll_returns_nothing_when_no_data_arrives(log: Log, topic: str) -> None:
    consumer = await log.consumer(topic, _name("g"))
    assert await consumer.poll(timeout_s=0.2) == []
    await consumer.close()


async def test_poll_wakes_up_when_data_arrives(log: Log, topic: str) -> None:
    consumer = await log.consumer(topic, _name("g"))
    assert await consumer.poll(timeout_s=0.2) == []  # joined, nothing there yet
    waiting = asyncio.create_task(consumer.poll(timeout_s=3600))
    await asyncio.sleep(0.3)
    assert not waiting.done(), "poll returned before any data was appended"
    await log.append(topic, [LogRecord(key=b"k", value=b"hello")])
    # A poll that slept its whole timeout would take an hour: this bound only tells
    # "woken by the data" from "woke at the timeout".
    messages = await asyncio.wait_for(waiting, timeout=60)
    assert [m.value for m in messages] == [b"hello"]
    await consumer.close()


async def test_poll_returns_at_most_max_records(log: Log, topic: str) -> None:
    await log.append(topic, _records(_keys(30)))
    consumer = await log.consumer(topic, _name("g"))
    first = await consumer.poll(max_records=7, timeout_s=5)
    assert 1 <= len(first) <= 7
    rest = await _drain(consumer, 30 - len(first))
    assert len(_by_position(first + rest)) == 30
    await consumer.close()


async def test_a_new_member_resumes_after_the_committed_offsets(log: Log, topic: str) -> None:
    group = _name("g")
    await log.append(topic, _records(_keys(24), tag="old"))
    first = await log.consumer(topic, group)
    read = await _drain(first, 24)
    ends: dict[int, int] = {}
    for message in read:
        ends[message.partition] = max(ends.get(message.partition, 0), message.offset + 1)
    await first.commit(ends)
    for partition, offset in ends.items():
        assert await first.committed(partition) == offset
    await first.close()

    await log.append(topic, _records(_keys(10), tag="new"))
    second = await log.consumer(topic, group)
    resumed = await _drain(second, 10)
    assert sorted(m.value for m in resumed) == sorted(f"new{i}".encode() for i in range(10))
    await second.close()


async def test_uncommitted_reads_are_read_again_by_the_next_member(log: Log, topic: str) -> None:
    group = _name("g")
    await log.append(topic, _records(_keys(12)))
    first = await log.consumer(topic, group)
    await _drain(first, 12)
    await first.close()
    second = await log.consumer(topic, group)
    assert len(await _drain(second, 12)) == 12
    await second.close()


async def test_independent_groups_each_see_everything(log: Log, topic: str) -> None:
    positions = await log.append(topic, _records(_keys(30)))
    one = await log.consumer(topic, _name("g1"))
    two = await log.consumer(topic, _name("g2"))
    expected = {(p.partition, p.offset) for p in positions}
    assert set(_by_position(await _drain(one, 30))) == expected
    assert set(_by_position(await _drain(two, 30))) == expected
    await one.close()
    await two.close()


async def test_seek_replays_from_an_offset_without_committing(log: Log, topic: str) -> None:
    key = b"one-stack"
    partition = partition_for(key, PARTITIONS)
    await log.append(topic, [LogRecord(key=key, value=str(i).encode()) for i in range(10)])
    consumer = await log.consumer(topic, _name("g"))
    await _drain(consumer, 10)
    await consumer.seek(partition, 6)
    assert [m.value for m in await _drain(consumer, 4)] == [b"6", b"7", b"8", b"9"]
    await consumer.seek(partition, 0)
    assert [m.offset for m in await _drain(consumer, 10)] == list(range(10))
    assert await consumer.committed(partition) is None
    await consumer.close()


async def test_seek_to_beginning_replays_every_partition(log: Log, topic: str) -> None:
    positions = await log.append(topic, _records(_keys(20)))
    consumer = await log.consumer(topic, _name("g"))
    first = await _drain(consumer, 20)
    await consumer.seek_to_beginning()
    again = await _drain(consumer, 20)
    assert _by_position(again) == _by_position(first)
    assert set(_by_position(again)) == {(p.partition, p.offset) for p in positions}
    for partition in range(PARTITIONS):
        assert await consumer.committed(partition) is None
    await consumer.close()


async def test_headers_and_binary_keys_and_values_round_trip(log: Log, topic: str) -> None:
    records = [
        LogRecord(
            key=b"\x00\xff\x10stack",
            value=bytes(range(256)),
            headers={"content-type": b"application/x-dpr", "trace": b"\x00\x01\xfe"},
        ),
        LogRecord(key=b"plain", value=b"", headers={}),
        LogRecord(key="stäck-ü".encode(), value="välue ✓".encode(), headers={"a": b""}),
    ]
    positions = await log.append(topic, records)
    consumer = await log.consumer(topic, _name("g"))
    got = _by_position(await _drain(consumer, len(records)))
    for record, position in zip(records, positions, strict=True):
        message = got[(position.partition, position.offset)]
        assert message.topic == topic
        assert (message.key, message.value) == (record.key, record.value)
        assert dict(message.headers) == dict(record.headers)
        assert message.timestamp_ms > 0
    await consumer.close()


async def test_large_values_round_trip(log: Log, topic: str) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    records = [LogRecord(key=b"big", value=big), LogRecord(key=b"big", value=big[::-1])]
    await log.append(topic, records)
    consumer = await log.consumer(topic, _name("g"))
    got = await _drain(consumer, 2)
    assert [m.value for m in sorted(got, key=lambda m: m.offset)] == [big, big[::-1]]
    await consumer.close()


async def test_two_members_of_a_group_split_partitions_and_read_each_record_once(
    log: Log, topic: str
) -> None:
    group = _name("g")
    members = [await log.consumer(topic, group), await log.consumer(topic, group)]
    assignments = [await m.assignment() for m in members]
    for _ in range(40):  # members agree on the split while they poll
        assert not assignments[0] & assignments[1], f"a partition has two readers: {assignments}"
        if all(assignments) and sum(len(a) for a in assignments) == PARTITIONS:
            break
        await asyncio.gather(*(m.poll(timeout_s=0.2) for m in members))
        assignments = [await m.assignment() for m in members]
    assert all(assignments), f"both members need partitions, got {assignments}"
    assert set().union(*assignments) == set(range(PARTITIONS))
    assert not assignments[0] & assignments[1]

    keys = [f"stack-{i}".encode() for i in range(40)]
    positions = await log.append(topic, _records(keys))
    expected = {(p.partition, p.offset) for p in positions}
    assert {p.partition for p in positions} == set(range(PARTITIONS))

    seen: list[tuple[int, Message]] = []

    async def read(index: int) -> None:
        for _ in range(20):
            if len(seen) >= len(expected):
                return
            batch = await members[index].poll(timeout_s=0.3)
            seen.extend((index, m) for m in batch)
            if batch:
                ends = {m.partition: m.offset + 1 for m in batch}
                await members[index].commit(ends)

    await asyncio.gather(read(0), read(1))
    got = [(m.partition, m.offset) for _, m in seen]
    assert sorted(got) == sorted(expected)  # every record, and each one once
    for index, message in seen:
        assert message.partition in assignments[index]
    for member in members:
        await member.close()


class _RecordingAfter:
    """An AfterAppend writing to a database no log here lives in: every adapter must run
    ``apply`` once, after the records are durable (readable by a fresh consumer)."""

    def __init__(self, log: Log, topic: str) -> None:
        self.database = object()
        self.log, self.topic = log, topic
        self.applied_after: list[dict[int, int]] = []

    def statement(self) -> tuple[str, tuple[object, ...]]:
        raise AssertionError("statement() is only for a log in the same database")

    async def apply(self) -> None:
        self.applied_after.append(await self.log.end_offsets(self.topic))


async def test_append_all_appends_to_each_topic_then_applies_after_once(
    log: Log, topic: str
) -> None:
    other = _name("contract-other")
    await log.create_topic(other, PARTITIONS)
    keys = _keys(20)
    after = _RecordingAfter(log, topic)
    first, second = await log.append_all(
        [(topic, _records(keys[:12])), (other, _records(keys[12:], "o"))], after=after)
    assert [p.partition for p in first] == [partition_for(k, PARTITIONS) for k in keys[:12]]
    assert {p.topic for p in first} == {topic} and {p.topic for p in second} == {other}
    assert len(second) == 8
    # Applied exactly once, and only when all 12 records of the topic were stored.
    assert [sum(ends.values()) for ends in after.applied_after] == [12]
    assert sum((await log.end_offsets(other)).values()) == 8


async def test_append_all_of_nothing_still_applies_after(log: Log, topic: str) -> None:
    after = _RecordingAfter(log, topic)
    assert await log.append_all([(topic, [])], after=after) == [[]]
    assert [sum(ends.values()) for ends in after.applied_after] == [0]


async def test_concurrent_appends_each_get_their_own_dense_positions(log: Log, topic: str) -> None:
    batches = [_records([f"stack-{i % 5}".encode()] * 7, f"b{i}-") for i in range(12)]
    results = await asyncio.gather(*(log.append(topic, batch) for batch in batches))
    for batch, positions in zip(batches, results, strict=True):
        assert len(positions) == len(batch)
        assert [p.offset for p in positions] == sorted(p.offset for p in positions)
    per_partition: dict[int, list[int]] = defaultdict(list)
    for positions in results:
        for position in positions:
            per_partition[position.partition].append(position.offset)
    for offsets in per_partition.values():
        assert sorted(offsets) == list(range(len(offsets)))  # dense, none shared
    consumer = await log.consumer(topic, _name("g"))
    got = _by_position(await _drain(consumer, 12 * 7))
    for batch, positions in zip(batches, results, strict=True):
        assert [got[(p.partition, p.offset)].value for p in positions] == [r.value for r in batch]
    await consumer.close()


async def _split_between(members: list[Consumer]) -> list[frozenset[int]]:
    """Poll the members until the group has given each some partitions and all of them are
    assigned, once; their assignments."""
    assignments = [await m.assignment() for m in members]
    for _ in range(60):
        if all(assignments) and sum(len(a) for a in assignments) == PARTITIONS:
            break
        await asyncio.gather(*(m.poll(timeout_s=0.2) for m in members))
        assignments = [await m.assignment() for m in members]
    assert all(assignments) and set().union(*assignments) == set(range(PARTITIONS)), assignments
    assert not assignments[0] & assignments[1], assignments
    return assignments


async def test_a_member_that_takes_over_partitions_resumes_from_their_committed_offsets(
    log: Log, topic: str
) -> None:
    """Partition reassignment: two members split the topic; one reads all of its partitions
    but commits only half of each, then leaves; the other takes its partitions over and reads
    them from the committed offsets: what the leaver read without committing comes again
    (at least once), nothing before a commit comes twice, nothing is skipped."""
    group = _name("g")
    stayer, leaver = await log.consumer(topic, group), await log.consumer(topic, group)
    _, theirs = await _split_between([stayer, leaver])
    positions = await log.append(topic, _records(f"stack-{i}".encode() for i in range(48)))
    ends = {p: 0 for p in range(PARTITIONS)}
    for position in positions:
        ends[position.partition] = max(ends[position.partition], position.offset + 1)
    assert all(ends.values()), ends

    async def read_all(member: Consumer, partitions: frozenset[int]) -> list[Message]:
        want = sum(ends[p] for p in partitions)
        got: list[Message] = []
        for _ in range(60):
            if len(got) >= want:
                break
            got.extend(await member.poll(timeout_s=0.3))
        assert len(got) == want and {m.partition for m in got} == set(partitions)
        return got

    mine_read, _ = await asyncio.gather(read_all(stayer, frozenset(range(PARTITIONS)) - theirs),
                                        read_all(leaver, theirs))
    await stayer.commit({p: ends[p] for p in {m.partition for m in mine_read}})
    halfway = {p: ends[p] // 2 for p in theirs}
    await leaver.commit({p: o for p, o in halfway.items() if o})
    await leaver.close()

    taken: list[Message] = []
    want = sum(ends[p] - halfway[p] for p in theirs)
    for _ in range(80):
        if len(taken) >= want:
            break
        taken.extend(await stayer.poll(timeout_s=0.3))
    assert await stayer.assignment() == frozenset(range(PARTITIONS))
    assert sorted((m.partition, m.offset) for m in taken) == sorted(
        (p, o) for p in theirs for o in range(halfway[p], ends[p]))
    assert await stayer.poll(timeout_s=0.3) == []  # its own partitions: nothing again
    await stayer.close()
