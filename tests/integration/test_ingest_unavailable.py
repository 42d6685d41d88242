"""When the log cannot take a batch, Push answers UNAVAILABLE and acknowledges nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.sync_client import SyncError
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import ClientFor, MakeTenant, StartIngest, read_topic
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


@pytest.fixture
async def log_db(pg_url: str) -> AsyncIterator[Database]:
    """The log's own connection pool (as a separate log process would have)."""
    db = Database(pg_url, max_size=2, timeout_s=5)
    await db.open()
    yield db
    await db.close()


async def test_a_log_outage_is_unavailable_and_the_acked_sequence_does_not_move(
    start_ingest: StartIngest, tenant: MakeTenant, client_for: ClientFor, log_db: Database,
    postgres_log: PostgresLog,
) -> None:
    own_log = PostgresLog(log_db)
    await own_log.start()
    try:
        service = await start_ingest(log=own_log)
        acme = await tenant()
        client = client_for(service, acme.key)
        buffer_id = str(uuid.uuid4())
        raws = synthetic_records(4)
        await client.push(buffer_id, [dpr_item(1, raws[0]), dpr_item(2, raws[1])])

        await log_db.close()  # the log loses its database
        with pytest.raises(SyncError) as caught:
            await client.push(buffer_id, [dpr_item(3, raws[2]), dpr_item(4, raws[3])])
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
        assert "log is unavailable, nothing from this call was acknowledged" in caught.value.message
        assert caught.value.retryable

        assert (await client.hello(buffer_id)).acked_through_sequence == 2
        # Read through another log on the same tables: only the first batch is there.
        assert [m.value for m in await read_topic(postgres_log, DPR_RECORDS)] == raws[:2]
    finally:
        await own_log.close()
