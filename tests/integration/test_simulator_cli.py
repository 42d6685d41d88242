"""``faramesh-cloud simulate`` as a user runs it: a real process against a real sync server,
and a second process that finds and delivers what the first one could not."""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path

import pytest

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.simulator.buffer import SyncBuffer
from faramesh_cloud.simulator.registration import load_saved
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.keys import parse_key
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeTenant, TlsPair
from tests.simulator_support import (
    Cloud,
    cloud_fixture,  # noqa: F401
    free_port,
    read_log,
    stack_keys,
    verify,
    wal_records,
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def simulate(*args: str) -> tuple[int, str]:
    """Run the CLI in its own process (the test's event loop keeps serving meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "faramesh_cloud", "simulate", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_simulate_runs_for_its_duration_and_delivers_everything(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, tmp_path: Path
) -> None:
    acme = await tenant()
    code, out = await simulate("--duration", "2", "--rate", "40", "--agents", "2", "--api-key", acme.key,
                               "--target", cloud.target, "--ca-file", str(cloud.tls.cert), "--data-dir",
                               str(tmp_path / "sim"))
    assert code == 0, out
    assert "connected" in out and "payments-prod" in out  # the stack's name, from Hello
    assert "0 queued" in out
    key = parse_key(acme.key)
    assert key is not None
    stack_dir = tmp_path / "sim" / "simulator" / key.key_id
    written = wal_records(stack_dir)
    assert len(written) >= 40
    view = await read_log(postgres_log)
    assert view.dprs[acme.stack.stack_id] == written
    assert verify(written, stack_keys(stack_dir))[1] == []


async def test_a_restarted_simulator_delivers_what_it_buffered_while_cloud_was_unreachable(
    cloud: Cloud, tenant: MakeTenant, postgres_log: PostgresLog, tmp_path: Path
) -> None:
    acme = await tenant()
    common = ("--api-key", acme.key, "--ca-file", str(cloud.tls.cert), "--data-dir", str(tmp_path / "sim"),
              "--agents", "2", "--rate", "40")
    code, out = await simulate("--duration", "1", "--drain-timeout", "0", "--target", f"127.0.0.1:{free_port()}",
                               *common)
    assert code == 0, out
    assert "retrying" in out and "UNAVAILABLE" in out
    key = parse_key(acme.key)
    assert key is not None
    stack_dir = tmp_path / "sim" / "simulator" / key.key_id
    first_run = wal_records(stack_dir)
    buffer = await SyncBuffer.open(stack_dir / "sync-buffer.db")
    try:
        assert first_run and buffer.acked_through == 0 and buffer.queued == buffer.last_sequence
        held = buffer.last_sequence
    finally:
        await buffer.close()

    code, out = await simulate("--duration", "1", "--target", cloud.target, *common)
    assert code == 0, out
    view = await read_log(postgres_log)
    written = wal_records(stack_dir)
    assert written[: len(first_run)] == first_run and len(written) > len(first_run)
    assert view.dprs[acme.stack.stack_id] == written
    assert set(view.sequences[acme.stack.stack_id]) >= set(range(1, held + 1))
    assert verify(written, stack_keys(stack_dir))[1] == []


async def test_simulate_without_keys_says_how_to_get_some(tmp_path: Path) -> None:
    code, out = await simulate("--data-dir", str(tmp_path))
    assert code == 2
    assert "--api-key" in out and "--register" in out


async def test_a_rejected_key_ends_simulate_with_the_reason(
    cloud: Cloud, tenant: MakeTenant, stack_store: StackStore, tmp_path: Path
) -> None:
    acme = await tenant()
    await stack_store.revoke_key(acme.org.org_id, parse_key(acme.key).key_id)  # type: ignore[union-attr]
    code, out = await simulate("--api-key", acme.key, "--target", cloud.target, "--ca-file", str(cloud.tls.cert),
                               "--data-dir", str(tmp_path / "sim"))  # no --duration: it must end by itself
    assert code == 1, out
    assert "error: " in out and "refused the stack API key" in out and "stays buffered" in out


async def test_simulate_register_uses_the_running_clouds_database_and_reuses_its_stacks(
    pg_data_dir: Path, sync_tls: TlsPair, tmp_path: Path
) -> None:
    """`--register` with Cloud's data dir attaches to the embedded PostgreSQL that Cloud is
    running there, registers the stacks once, and a second run reuses them."""
    server = EmbeddedPostgres(pg_data_dir)
    url = await asyncio.to_thread(server.start)
    try:
        async with Database(url, max_size=4) as db:
            await migrate(db, [("log", "faramesh_cloud.log")])
            log = PostgresLog(db)
            await log.start()
            cloud = Cloud(db, log, StackStore(db), sync_tls, pg_data_dir)
            await cloud.start()
            try:
                args = ("--register", "--stacks", "2", "--agents", "2", "--rate", "20", "--duration", "1",
                        "--data-dir", str(pg_data_dir), "--target", cloud.target, "--ca-file", str(sync_tls.cert))
                code, out = await simulate(*args)
                assert code == 0, out
                first = load_saved(pg_data_dir / "simulator" / "keys.json")
                code, out = await simulate(*args)
                assert code == 0, out
                view = await read_log(log)
            finally:
                await cloud.stop()
                await log.close()
    finally:
        await asyncio.to_thread(server.stop)
    assert first is not None and load_saved(pg_data_dir / "simulator" / "keys.json") == first
    assert [s.name for s in first.stacks] == ["sim-stack-1", "sim-stack-2"]
    assert stat.S_IMODE((pg_data_dir / "simulator" / "keys.json").stat().st_mode) == 0o600
    for stack in first.stacks:
        written = wal_records(pg_data_dir / "simulator" / stack.name)
        assert view.dprs[stack.stack_id] == written  # both runs, one chain per agent
        assert verify(written, stack_keys(pg_data_dir / "simulator" / stack.name))[1] == []
