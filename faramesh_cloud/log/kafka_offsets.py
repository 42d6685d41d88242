"""End offsets that are right on Tansu as well as on Apache Kafka.

ListOffsets(latest) is the usual way, but Tansu 0.6 answers it with the last batch's *base*
offset + 1 (TOOLING 1b). A Fetch response always carries the partition's high watermark,
and on both brokers that is the offset the next record gets. So: ask ListOffsets for a
valid starting point (never past the end), then Fetch from there with a 1-byte limit and
read the high watermark. Tansu answers a Fetch with ``max_wait_ms=0`` with no partitions at
all, hence the small, growing waits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, LeaderNotAvailableError, for_code
from aiokafka.protocol.fetch import FetchRequest

_WAITS_MS = (1, 50, 250)
_READ_UNCOMMITTED = 0


async def highwaters(
    client: AIOKafkaClient, topic: str, start: Mapping[int, int]
) -> dict[int, int]:
    """Per partition, the high watermark seen by a Fetch at ``start[partition]``.

    ``start`` must hold a valid offset of each partition (its log end or earlier)."""
    by_leader: dict[int, list[int]] = defaultdict(list)
    for partition in start:
        leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
        if leader is None or leader < 0:
            raise LeaderNotAvailableError(f"no leader for {topic}/{partition}")
        by_leader[leader].append(partition)

    found: dict[int, int] = {}
    for wait_ms in _WAITS_MS:
        asks = [
            (leader, [p for p in parts if p not in found]) for leader, parts in by_leader.items()
        ]
        answers = await asyncio.gather(
            *(
                _fetch(client, leader, topic, parts, start, wait_ms)
                for leader, parts in asks
                if parts
            )
        )
        for answer in answers:
            found.update(answer)
        if len(found) == len(start):
            return found
    missing = sorted(set(start) - set(found))
    raise KafkaError(f"the broker reported no high watermark for {topic} partitions {missing}")


async def _fetch(
    client: AIOKafkaClient,
    leader: int,
    topic: str,
    partitions: list[int],
    start: Mapping[int, int],
    wait_ms: int,
) -> dict[int, int]:
    request = FetchRequest(
        wait_ms, 0, 1, _READ_UNCOMMITTED, [(topic, [(p, start[p], 1) for p in partitions])]
    )
    response = await client.send(leader, request)
    found: dict[int, int] = {}
    for name, answered in response.topics:
        if name != topic:
            continue
        for partition, error_code, highwater, *_ in answered:
            if error_code:
                raise for_code(error_code)(f"fetching the high watermark of {topic}/{partition}")
            found[partition] = highwater
    return found
