"""Ingest in a region (in process, real gRPC over TLS 1.3 and the real HTTP feeds app): a
key of this region never costs a directory lookup; a key the directory places in another
region is refused with the redirect hint, after exactly one lookup; a key no region issued is
the ordinary UNAUTHENTICATED."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.directory.memory import InMemoryDirectory
from faramesh_cloud.directory.region import Region
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import SyncClient, SyncError
from faramesh_cloud.simulator.buffer import SyncBuffer
from faramesh_cloud.simulator.sync import SyncLoop, SyncStopped
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeTenant, TlsPair
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

OTHER_KEY_ID = "0123456789abcdef"
OTHER_KEY = f"fmc_sk_{OTHER_KEY_ID}_{'A' * 43}"


class CountingDirectory(InMemoryDirectory):
    """The in-memory adapter, counting the lookups made of it."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def region_of_stack_key(self, key_id: str) -> str | None:
        self.lookups += 1
        return await super().region_of_stack_key(key_id)

    async def region_of_stack(self, stack_id: str) -> str | None:
        self.lookups += 1
        return await super().region_of_stack(stack_id)


@pytest.fixture
def directory() -> CountingDirectory:
    return CountingDirectory()


@pytest.fixture
async def regional_ingest(database: Database, postgres_log: PostgresLog, stack_store: StackStore,
                          sync_tls: TlsPair, tmp_path: Path, directory: CountingDirectory,
                          ) -> AsyncIterator[IngestService]:
    region = Region("eu-central", directory, gateway_urls={"us-east": "https://us-east.example.test"},
                    sync_addresses={"us-east": "sync.us-east.example.test:443"})
    settings = Settings(data_dir=tmp_path, sync_host="127.0.0.1", sync_port=0,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    service = IngestService(settings, postgres_log, database, stack_store, region=region)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def _client(service: IngestService, key: str, tls: TlsPair) -> SyncClient:
    return SyncClient(f"127.0.0.1:{service.port}", key, root_certificates=tls.cert_pem)


async def test_a_key_of_this_region_costs_no_directory_lookup(
        regional_ingest: IngestService, tenant: MakeTenant, sync_tls: TlsPair, directory: CountingDirectory) -> None:
    mine = await tenant()
    buffer_id = str(uuid.uuid4())
    async with _client(regional_ingest, mine.key, sync_tls) as daemon:
        await daemon.hello(buffer_id)
        answer = await daemon.push(buffer_id, [dpr_item(i + 1, raw) for i, raw in enumerate(synthetic_records(2))])
    assert answer.acked_through_sequence == 2
    transport = httpx.ASGITransport(app=regional_ingest.feeds_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        me = await http.get("/auth/me", headers={"authorization": f"Bearer {mine.key}"})
    assert me.status_code == 200
    assert directory.lookups == 0


async def test_a_key_of_another_region_is_refused_with_where_to_go(
        regional_ingest: IngestService, sync_tls: TlsPair, directory: CountingDirectory) -> None:
    await directory.claim_stack_key(OTHER_KEY_ID, "us-east")
    async with _client(regional_ingest, OTHER_KEY, sync_tls) as daemon:
        with pytest.raises(SyncError) as refused:
            await daemon.push(str(uuid.uuid4()), [dpr_item(1, synthetic_records(1)[0])])
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "us-east" in refused.value.message and "sync.us-east.example.test:443" in refused.value.message
    assert refused.value.reason == "STACK_IN_OTHER_REGION"
    assert refused.value.metadata == {"region": "us-east", "sync_address": "sync.us-east.example.test:443",
                                      "url": "https://us-east.example.test"}
    assert directory.lookups == 1


async def test_the_http_feeds_answer_421_for_another_regions_key_or_stack(
        regional_ingest: IngestService, directory: CountingDirectory) -> None:
    stack_id = str(uuid.uuid4())
    await directory.claim_stack_key(OTHER_KEY_ID, "us-east")
    await directory.claim_stack(stack_id, "us-east")
    transport = httpx.ASGITransport(app=regional_ingest.feeds_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        feed = await http.post("/ingest/dpr", headers={"authorization": f"Bearer {OTHER_KEY}"},
                               json={"agent_id": "a", "events": []})
        hook = await http.post(f"/webhooks/faramesh/{stack_id}", content=b"{}")
        unknown = await http.post(f"/webhooks/faramesh/{uuid.uuid4()}", content=b"{}")
    for answer in (feed, hook):
        assert answer.status_code == 421
        assert answer.json() | {"error": ""} == {"error": "", "region": "us-east",
                                                 "sync_address": "sync.us-east.example.test:443",
                                                 "url": "https://us-east.example.test"}
    assert unknown.status_code == 401


async def test_a_key_no_region_issued_is_unauthenticated(
        regional_ingest: IngestService, sync_tls: TlsPair, directory: CountingDirectory) -> None:
    async with _client(regional_ingest, OTHER_KEY, sync_tls) as daemon:
        with pytest.raises(SyncError) as refused:
            await daemon.hello(str(uuid.uuid4()))
    assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED and refused.value.reason == ""


class _Quiet:
    """The daemon side the sync loop needs; nothing is delivered before the loop stops."""

    flush = asyncio.Event()
    status_interval_s = 60.0

    async def apply_delivery(self, delivery: object) -> object:
        raise AssertionError("no delivery expected")

    async def apply_command(self, command: object) -> object:
        raise AssertionError("no command expected")


async def test_the_reference_daemon_stops_keeping_its_buffer_and_says_where_to_go(
        regional_ingest: IngestService, sync_tls: TlsPair, directory: CountingDirectory, tmp_path: Path) -> None:
    await directory.claim_stack_key(OTHER_KEY_ID, "us-east")
    buffer = await SyncBuffer.open(tmp_path / "stack-1" / "buffer.db")
    loop = SyncLoop(lambda: _client(regional_ingest, OTHER_KEY, sync_tls), buffer, _Quiet())  # type: ignore[arg-type]
    try:
        with pytest.raises(SyncStopped) as stopped:
            await loop.run(asyncio.Event())
    finally:
        await buffer.close()
    assert "region us-east (sync.us-east.example.test:443)" in str(stopped.value)
    assert "point --target at sync.us-east.example.test:443" in str(stopped.value)
    assert loop.status.state == "stopped"
