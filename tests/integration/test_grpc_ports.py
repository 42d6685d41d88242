"""One owner per gRPC port: the sync channel and an internal API refuse to share their port
(grpcio's default SO_REUSEPORT would let a second server bind it and split the connections),
with a one-line error naming the address and the setting to change."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.config import Settings
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.ports import PortUnavailable, check_free
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import StartIngest, TlsPair
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def test_a_second_sync_server_on_the_same_port_is_refused(
        start_ingest: StartIngest, database: Database, postgres_log: PostgresLog, stack_store: StackStore,
        sync_tls: TlsPair, tmp_path: Path) -> None:
    first = await start_ingest()
    settings = Settings(data_dir=tmp_path / "second", sync_host="127.0.0.1", sync_port=first.port,
                        tls_cert=sync_tls.cert, tls_key=sync_tls.key)
    second = IngestService(settings, postgres_log, database, stack_store)
    with pytest.raises(PortUnavailable) as refused:
        await second.start()
    await second.stop()
    assert str(refused.value) == (
        f"the sync channel cannot listen on 127.0.0.1:{first.port}: the port is in use (another Faramesh Cloud, "
        "or another program, listens there); set FARAMESH_CLOUD_SYNC_PORT (up --sync-port) to a free port")


async def test_a_second_internal_server_on_the_same_port_is_refused(
        database: Database, postgres_log: PostgresLog, internal_tls: ServiceTls) -> None:
    tls = internal_tls("approvals")
    first = Approvals(database, postgres_log, ApprovalsConfig(internal_address="127.0.0.1:0", internal_tls=tls))
    await first.start()
    try:
        assert first.server is not None
        taken = first.server.address
        second = Approvals(database, postgres_log, ApprovalsConfig(group="approvals-2", internal_address=taken,
                                                                   internal_tls=tls))
        with pytest.raises(PortUnavailable) as refused:
            await second.start()
        assert second.server is None
    finally:
        await first.stop()
    message = str(refused.value)
    assert message.startswith(f"the approvals service's internal gRPC API cannot listen on {taken}: the port is in use")
    assert "set FARAMESH_CLOUD_INTERNAL_BASE_PORT to the first of a free range of ports" in message
    assert "\n" not in message


def test_a_port_held_by_any_program_is_reported_and_a_free_one_is_not() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortUnavailable, match=rf"^the thing cannot listen on 127.0.0.1:{port}: the port is in use"):
            check_free(f"127.0.0.1:{port}", "the thing", "X_PORT")
        with pytest.raises(PortUnavailable, match="the port is in use"):
            check_free(f"0.0.0.0:{port}", "the thing", "X_PORT")  # the wildcard overlaps loopback
    check_free(f"127.0.0.1:{port}", "the thing", "X_PORT")  # released: free again
    check_free("127.0.0.1:0", "the thing", "X_PORT")
