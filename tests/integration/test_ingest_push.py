"""Hello and Push over real gRPC/TLS into a real PostgresLog."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import grpc.aio
import pytest
from faramesh_cloud_api.sync.v1 import push_pb2, sync_pb2

from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import SyncError, push_item
from tests.fixtures.ingest import MakeClient, MakeTenant, TlsPair, read_topic
from tests.sync_items import (
    WAL_VECTOR,
    dpr_item,
    jsonl_records,
    other_payloads,
    synthetic_records,
    wal_frames,
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def test_hello_returns_the_stack_behind_the_key(
    tenant: MakeTenant, sync_client: MakeClient
) -> None:
    acme = await tenant(name="payments-prod")
    hello = await sync_client(acme.key).hello(str(uuid.uuid4()), daemon_version="1.4.2")
    assert (hello.org_id, hello.stack_id, hello.stack_name) == (
        acme.org.org_id, acme.stack.stack_id, "payments-prod")
    assert hello.acked_through_sequence == 0
    assert hello.max_push_items == 1000
    assert hello.max_item_bytes >= 8 * 1024 * 1024 + 4096
    assert hello.max_push_bytes >= hello.max_item_bytes + 64 * 1024
    assert hello.emergency_poll_interval.ToSeconds() == 30
    assert hello.server_time.seconds > 0
    assert not hello.HasField("api_key_expires_at")  # a fresh key is not being rotated out


async def test_dprs_land_on_the_log_byte_identical_with_origin_headers(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog, vectors_dir: Path
) -> None:
    acme = await tenant()
    buffer_id = str(uuid.uuid4())
    items, raws, frames = [], [], {}
    for offset, index, payload in wal_frames(vectors_dir):
        items.append(dpr_item(len(items) + 1, payload, wal_file=WAL_VECTOR, wal_offset=offset,
                              wal_frame_index=index))
        raws.append(payload)
        frames[len(items)] = (offset, index)
    for raw in jsonl_records(vectors_dir, "dpr_chain_valid_multi_agent.jsonl") + synthetic_records(20):
        items.append(dpr_item(len(items) + 1, raw, with_crc=False))
        raws.append(raw)

    response = await sync_client(acme.key).push(buffer_id, items)

    assert response.acked_through_sequence == len(items)
    assert list(response.rejections) == []
    messages = await read_topic(postgres_log, DPR_RECORDS)
    assert [m.value for m in messages] == raws  # one stack: one partition, in push order
    for sequence, message in enumerate(messages, start=1):
        origin = Origin.from_headers(message.headers)
        assert (origin.org_id, origin.stack_id, origin.source, origin.sequence, origin.buffer) == (
            acme.org.org_id, acme.stack.stack_id, "sync", sequence, buffer_id)
        assert origin.received_ns > 0
        assert message.key == stack_key(acme.org.org_id, acme.stack.stack_id)
        if sequence in frames:
            offset, index = frames[sequence]
            assert message.headers["wal_file"] == WAL_VECTOR.encode()
            assert message.headers["wal_offset"] == str(offset).encode()
            assert message.headers["wal_frame"] == str(index).encode()
    assert await read_topic(postgres_log, SYNC_ITEMS) == []


async def test_dprs_whose_chain_does_not_verify_are_stored_not_rejected(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog, vectors_dir: Path
) -> None:
    acme = await tenant()
    raws = (jsonl_records(vectors_dir, "dpr_chain_tampered_field.jsonl")
            + jsonl_records(vectors_dir, "dpr_chain_gap.jsonl")
            + jsonl_records(vectors_dir, "dpr_chain_bad_signature.jsonl"))
    items = [dpr_item(i, raw) for i, raw in enumerate(raws, start=1)]
    response = await sync_client(acme.key).push(str(uuid.uuid4()), items)
    assert list(response.rejections) == []
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == raws


async def test_every_other_payload_kind_lands_on_sync_items_with_its_kind(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    payloads = other_payloads()
    items = [push_item(i, payload) for i, payload in enumerate(payloads.values(), start=1)]
    response = await sync_client(acme.key).push(str(uuid.uuid4()), items)
    assert response.acked_through_sequence == len(items)
    assert list(response.rejections) == []
    messages = await read_topic(postgres_log, SYNC_ITEMS)
    assert [m.headers["kind"].decode() for m in messages] == list(payloads)
    for message, payload in zip(messages, payloads.values(), strict=True):
        assert type(payload).FromString(message.value) == payload
        assert Origin.from_headers(message.headers).stack_id == acme.stack.stack_id
    assert await read_topic(postgres_log, DPR_RECORDS) == []


async def test_a_retried_batch_is_acknowledged_again_without_duplicates(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    client = sync_client(acme.key)
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(8)
    items = [dpr_item(i, raw) for i, raw in enumerate(raws, start=1)]

    first = await client.push(buffer_id, items[:5])
    again = await client.push(buffer_id, items[:5])  # the response was "lost"
    overlap = await client.push(buffer_id, items[2:])  # retry from 3 with newer items

    assert (first.acked_through_sequence, again.acked_through_sequence,
            overlap.acked_through_sequence) == (5, 5, 8)
    messages = await read_topic(postgres_log, DPR_RECORDS)
    assert [m.value for m in messages] == raws
    assert [Origin.from_headers(m.headers).sequence for m in messages] == list(range(1, 9))
    assert (await client.hello(buffer_id)).acked_through_sequence == 8
    empty = await client.push(buffer_id, [])
    assert empty.acked_through_sequence == 8


async def test_buffers_have_separate_sequence_spaces(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    client = sync_client(acme.key)
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    raws = synthetic_records(4)
    await client.push(old, [dpr_item(1, raws[0]), dpr_item(2, raws[1])])
    # A daemon that lost its disk starts a new buffer at 1: nothing is mistaken as held.
    response = await client.push(new, [dpr_item(1, raws[2]), dpr_item(2, raws[3])])
    assert response.acked_through_sequence == 2
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == raws


async def test_a_malformed_item_is_rejected_by_field_and_parked_while_the_rest_is_stored(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    good = synthetic_records(3)
    no_agent = good[1].replace(b'"agent_id":"agent-1"', b'"agent_id":""')
    assert no_agent != good[1]
    items = [
        dpr_item(1, good[0]),
        dpr_item(2, b"{not json"),
        dpr_item(3, no_agent),
        dpr_item(4, good[2]),
        push_pb2.PushItem(sequence=5, dpr_record=push_pb2.DprRecord(record_json=good[0], frame_crc32=1)),
        push_pb2.PushItem(sequence=6),  # no payload
    ]
    response = await sync_client(acme.key).push(str(uuid.uuid4()), items)

    assert response.acked_through_sequence == 6  # rejected items are acknowledged too
    rejections = {r.sequence: r for r in response.rejections}
    assert sorted(rejections) == [2, 3, 5, 6]
    assert rejections[2].reason == push_pb2.REJECTION_REASON_MALFORMED
    assert rejections[3].reason == push_pb2.REJECTION_REASON_INVALID_FIELD
    assert rejections[3].field == "dpr_record.record_json.agent_id"
    assert rejections[5].reason == push_pb2.REJECTION_REASON_CHECKSUM_MISMATCH
    assert rejections[6].reason == push_pb2.REJECTION_REASON_UNSUPPORTED_PAYLOAD
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == [good[0], good[2]]
    parked = await read_topic(postgres_log, DEAD_LETTERS)
    assert [Origin.from_headers(m.headers).sequence for m in parked] == [2, 3, 5, 6]
    assert push_pb2.PushItem.FromString(parked[0].value) == items[1]
    assert parked[1].headers["dlq-reason"].startswith(b"REJECTION_REASON_INVALID_FIELD")


async def test_a_malformed_request_is_invalid_argument_naming_the_field_and_stores_nothing(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    client = sync_client(acme.key)
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(3)
    await client.push(buffer_id, [dpr_item(1, raws[0])])

    with pytest.raises(SyncError) as caught:
        await client.push(buffer_id, [dpr_item(3, raws[1]), dpr_item(2, raws[2])])
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.message.startswith("items[1].sequence: ")
    assert caught.value.fields == ("items[1].sequence",)

    with pytest.raises(SyncError) as caught:
        await client.push("", [dpr_item(2, raws[1])])
    assert caught.value.fields == ("buffer_id",)

    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == [raws[0]]
    assert (await client.hello(buffer_id)).acked_through_sequence == 1


async def test_garbage_bytes_are_invalid_argument(
    ingest: IngestService, tenant: MakeTenant, sync_tls: TlsPair
) -> None:
    acme = await tenant()
    credentials = grpc.ssl_channel_credentials(root_certificates=sync_tls.cert_pem)
    async with grpc.aio.secure_channel(f"127.0.0.1:{ingest.port}", credentials) as channel:
        raw_push = channel.unary_unary("/faramesh_cloud_api.sync.v1.SyncService/Push")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw_push(b"\xff\xff\xff\xff\x0f", metadata=(("authorization", f"Bearer {acme.key}"),),
                           timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await raw_push(b"\xff\xff\xff\xff\x0f", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "faramesh_cloud_api.sync.v1.PushRequest" in (caught.value.details() or "")
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED  # keyless callers learn nothing


async def test_polls_answer_empty_and_an_unknown_command_ack_is_not_found(
    tenant: MakeTenant, sync_client: MakeClient
) -> None:
    acme = await tenant()
    client = sync_client(acme.key)
    decisions = await client.poll_decisions(max_deliveries=10)
    assert list(decisions.deliveries) == [] and not decisions.has_more
    assert list((await client.poll_emergency_commands()).commands) == []
    assert await client.ack_decisions([]) == sync_pb2.AckDecisionsResponse()
    with pytest.raises(SyncError) as caught:
        await client.ack_emergency_command("cmd-1", 1)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(SyncError) as caught:
        await client.ack_emergency_command("cmd-1", 0)
    assert (caught.value.code, caught.value.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ("outcome",))


async def test_concurrent_pushes_of_one_buffer_append_each_item_once(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    """The protocol allows one push in flight per buffer; a confused daemon sending the same
    batch twice at once still gets each item stored once."""
    acme = await tenant()
    client = sync_client(acme.key)
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(30)
    items = [dpr_item(i, raw) for i, raw in enumerate(raws, start=1)]
    responses = await asyncio.gather(*(client.push(buffer_id, items) for _ in range(4)))
    assert {r.acked_through_sequence for r in responses} == {30}
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == raws


async def test_hello_needs_a_buffer_id(tenant: MakeTenant, sync_client: MakeClient) -> None:
    acme = await tenant()
    for bad in ("", "buffer-1"):
        with pytest.raises(SyncError) as caught:
            await sync_client(acme.key).hello(bad)
        assert (caught.value.code, caught.value.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ("buffer_id",))
