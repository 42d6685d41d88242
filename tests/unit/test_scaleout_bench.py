"""The scale-out bench's load is what its report says: every partition of dpr.records.v1
gets the same number of stacks, and every record is keyed and headed as ingest appends it."""

from __future__ import annotations

from collections import Counter

from bench import scaleout_bench as bench
from faramesh_cloud.events.topics import Origin, stack_key
from faramesh_cloud.log.port import partition_for


def test_every_partition_holds_the_same_number_of_stacks() -> None:
    pairs = bench.stacks()
    per_partition = Counter(partition_for(stack_key(org, stack), bench.PARTITIONS) for org, stack in pairs)
    assert sorted(per_partition) == list(range(bench.PARTITIONS))
    assert set(per_partition.values()) == {bench.ORGS * bench.STACKS_PER_PARTITION}
    assert len(set(pairs)) == len(pairs)


def test_generated_records_carry_the_origin_of_their_key() -> None:
    records = bench._generate_part(([0, 5], 3))
    assert len(records) == 6
    for key, value, headers in records:
        origin = Origin.from_headers(headers)
        assert key == stack_key(origin.org_id, origin.stack_id)
        assert value.startswith(b"{")
