"""Stack API keys on the sync channel: only a valid key gets in, and it alone names the
stack; rotation keeps both keys working for the overlap window."""

from __future__ import annotations

import uuid

import grpc
import grpc.aio
import pytest
from faramesh_cloud_api.sync.v1 import sync_pb2, sync_pb2_grpc

from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, SYNC_ITEMS, Origin
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import SyncClient, SyncError
from faramesh_cloud.stacks.keys import parse_key
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeClient, MakeTenant, TlsPair, read_topic
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def _refused(client: SyncClient) -> str:
    """Push one record with ``client``; assert UNAUTHENTICATED and return the message."""
    with pytest.raises(SyncError) as caught:
        await client.push(str(uuid.uuid4()), [dpr_item(1, synthetic_records(1)[0])])
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(SyncError) as hello:
        await client.hello(str(uuid.uuid4()))
    assert hello.value.code == grpc.StatusCode.UNAUTHENTICATED
    return caught.value.message


async def _nothing_stored(log: PostgresLog) -> None:
    for topic in (DPR_RECORDS, SYNC_ITEMS, DEAD_LETTERS):
        assert await read_topic(log, topic) == []


async def test_missing_malformed_and_unknown_keys_are_unauthenticated(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    parsed = parse_key(acme.key)
    assert parsed is not None
    wrong_secret = f"fmc_sk_{parsed.key_id}_{'A' * 43}"
    unknown_id = f"fmc_sk_{'0' * 16}_{parsed.secret}"

    for not_a_stack_key in ("", "fmc_pk_platformkey", "Bearer " + acme.key):
        assert "not a stack API key" in await _refused(sync_client(not_a_stack_key))
    for key in (wrong_secret, unknown_id, acme.key[:-1]):
        message = await _refused(sync_client(key))
        assert "rejected" in message
        assert parsed.secret not in message  # never echo a key
    await _nothing_stored(postgres_log)


async def test_a_call_without_a_key_is_told_how_to_send_one(
    ingest: IngestService, sync_tls: TlsPair, postgres_log: PostgresLog
) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=sync_tls.cert_pem)
    async with grpc.aio.secure_channel(f"127.0.0.1:{ingest.port}", credentials) as channel:
        stub = sync_pb2_grpc.SyncServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Push(sync_pb2.PushRequest(buffer_id=str(uuid.uuid4()),
                                                 items=[dpr_item(1, synthetic_records(1)[0])]),
                            timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer fmc_sk_" in (caught.value.details() or "")
    await _nothing_stored(postgres_log)


async def test_a_key_spliced_from_two_organisations_is_refused(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    acme, globex = await tenant(), await tenant()
    a, g = parse_key(acme.key), parse_key(globex.key)
    assert a is not None and g is not None
    await _refused(sync_client(f"fmc_sk_{a.key_id}_{g.secret}"))
    await _nothing_stored(postgres_log)


async def test_the_key_alone_decides_the_tenant(
    tenant: MakeTenant, sync_client: MakeClient, postgres_log: PostgresLog
) -> None:
    """Two organisations pushing the same buffer id and sequences never mix."""
    acme, globex = await tenant(), await tenant()
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(3)
    await sync_client(acme.key).push(buffer_id, [dpr_item(1, raws[0]), dpr_item(2, raws[1])])
    response = await sync_client(globex.key).push(buffer_id, [dpr_item(1, raws[2])])
    assert response.acked_through_sequence == 1
    assert (await sync_client(acme.key).hello(buffer_id)).acked_through_sequence == 2
    by_org = {(Origin.from_headers(m.headers).org_id, m.value)
              for m in await read_topic(postgres_log, DPR_RECORDS)}
    assert by_org == {(acme.org.org_id, raws[0]), (acme.org.org_id, raws[1]),
                      (globex.org.org_id, raws[2])}


async def test_a_revoked_key_is_refused(
    tenant: MakeTenant, sync_client: MakeClient, stack_store: StackStore, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    client = sync_client(acme.key)
    await client.hello(str(uuid.uuid4()))
    parsed = parse_key(acme.key)
    assert parsed is not None
    await stack_store.revoke_key(acme.org.org_id, parsed.key_id)
    await _refused(client)
    await _nothing_stored(postgres_log)


async def test_rotation_overlap_keeps_both_keys_working_then_the_old_one_ends(
    tenant: MakeTenant, sync_client: MakeClient, stack_store: StackStore, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    new_key = await stack_store.rotate_key(acme.org.org_id, acme.stack.stack_id, overlap_s=3600)
    old, new = sync_client(acme.key), sync_client(new_key)
    buffer_id = str(uuid.uuid4())
    raws = synthetic_records(2)

    old_hello, new_hello = await old.hello(buffer_id), await new.hello(buffer_id)
    assert old_hello.stack_id == new_hello.stack_id == acme.stack.stack_id
    assert old_hello.HasField("api_key_expires_at")  # the old key is being rotated out
    assert 3000 < old_hello.api_key_expires_at.seconds - old_hello.server_time.seconds <= 3600
    assert not new_hello.HasField("api_key_expires_at")
    await old.push(buffer_id, [dpr_item(1, raws[0])])
    await new.push(buffer_id, [dpr_item(2, raws[1])])

    await stack_store.rotate_key(acme.org.org_id, acme.stack.stack_id, overlap_s=0)
    await _refused(old)
    await _refused(new)  # a second rotation without overlap ends every earlier key
    assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == raws


async def test_keys_of_a_deregistered_stack_are_refused(
    tenant: MakeTenant, sync_client: MakeClient, stack_store: StackStore, postgres_log: PostgresLog
) -> None:
    acme = await tenant()
    await stack_store.deregister_stack(acme.org.org_id, acme.stack.stack_id)
    await _refused(sync_client(acme.key))
    await _nothing_stored(postgres_log)
