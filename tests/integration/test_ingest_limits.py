"""Size limits and the per-stack rate limit: RESOURCE_EXHAUSTED for the offender only."""

from __future__ import annotations

import random
import uuid

import grpc
import pytest

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, Origin
from faramesh_cloud.ingest.config import IngestConfig
from faramesh_cloud.ingest.limits import KIB, IngestLimits
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import SyncError
from faramesh_cloud.simulator.records import AgentWriter
from tests.fixtures.ingest import ClientFor, MakeTenant, StartIngest, read_topic
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

SMALL = IngestLimits(max_push_items=10, max_item_bytes=16 * KIB, max_push_bytes=80 * KIB,
                     rate_per_s=1_000.0, rate_burst=1_000.0)


def padded_records(count: int, reason_bytes: int) -> list[bytes]:
    """Valid DPRs made large by a long ``reason``."""
    writer = AgentWriter("big-agent", random.Random(3))
    return [to_go_json(writer.next(1_764_081_234_000_000_000 + i, reason="r" * reason_bytes))
            for i in range(count)]


@pytest.fixture
async def small(start_ingest: StartIngest) -> IngestService:
    return await start_ingest(IngestConfig(limits=SMALL))


async def test_a_push_over_max_push_bytes_is_resource_exhausted_and_others_carry_on(
    small: IngestService, tenant: MakeTenant, client_for: ClientFor, postgres_log: PostgresLog
) -> None:
    acme, globex = await tenant(), await tenant()
    client = client_for(small, acme.key)
    buffer_id = str(uuid.uuid4())
    big = [dpr_item(i, raw) for i, raw in enumerate(padded_records(8, 11 * KIB), start=1)]

    with pytest.raises(SyncError) as caught:  # ~90 KiB: ingest explains
        await client.push(buffer_id, big)
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "max_push_bytes" in caught.value.message and caught.value.retry_after_s is None

    with pytest.raises(SyncError) as caught:  # 1 MiB: the transport refuses it outright
        await client.push(buffer_id, [dpr_item(1, padded_records(1, 1024 * KIB)[0])])
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED

    ok = await client_for(small, globex.key).push(str(uuid.uuid4()), big[:2])
    assert ok.acked_through_sequence == 2
    assert (await client.hello(buffer_id)).acked_through_sequence == 0
    assert {Origin.from_headers(m.headers).org_id for m in await read_topic(postgres_log, DPR_RECORDS)} == {
        globex.org.org_id}


async def test_an_item_over_max_item_bytes_is_rejected_and_parked(
    small: IngestService, tenant: MakeTenant, client_for: ClientFor, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    huge, normal = padded_records(1, 20 * KIB)[0], synthetic_records(1)[0]
    response = await client_for(small, acme.key).push(
        str(uuid.uuid4()), [dpr_item(1, huge), dpr_item(2, normal)])
    assert response.acked_through_sequence == 2
    assert [(r.sequence, r.reason) for r in response.rejections] == [(1, 3)]  # TOO_LARGE
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == [normal]
    assert len(await read_topic(postgres_log, DEAD_LETTERS)) == 1


async def test_more_items_than_max_push_items_is_invalid_argument(
    small: IngestService, tenant: MakeTenant, client_for: ClientFor
) -> None:
    acme = await tenant()
    items = [dpr_item(i, raw) for i, raw in enumerate(synthetic_records(11), start=1)]
    with pytest.raises(SyncError) as caught:
        await client_for(small, acme.key).push(str(uuid.uuid4()), items)
    assert (caught.value.code, caught.value.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ("items",))


async def test_a_rate_limited_stack_gets_a_retry_hint_and_other_stacks_are_unaffected(
    start_ingest: StartIngest, tenant: MakeTenant, client_for: ClientFor, postgres_log: PostgresLog
) -> None:
    limits = IngestLimits(max_push_items=10, rate_per_s=0.01, rate_burst=12)
    service = await start_ingest(IngestConfig(limits=limits))
    acme, globex = await tenant(), await tenant()
    noisy, quiet = client_for(service, acme.key), client_for(service, globex.key)
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(15)
    items = [dpr_item(i, raw) for i, raw in enumerate(raws, start=1)]

    assert (await noisy.push(buffer_id, items[:10])).acked_through_sequence == 10
    with pytest.raises(SyncError) as caught:
        await noisy.push(buffer_id, items[10:15])
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 1
    assert "rate limit" in caught.value.message

    assert (await quiet.push(str(uuid.uuid4()), items[:10])).acked_through_sequence == 10
    values = [m.value for m in await read_topic(postgres_log, DPR_RECORDS)
              if Origin.from_headers(m.headers).org_id == acme.org.org_id]
    assert values == raws[:10]  # nothing of the refused push was stored
