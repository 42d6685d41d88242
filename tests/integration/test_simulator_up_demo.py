"""`faramesh-cloud up --demo` as a user runs it: the demo fleet starts with Cloud, registers
three stacks in Cloud's own database and feeds their records through the local sync endpoint
onto the log, and Ctrl-C stops it all. (Reuse across restarts is covered in-process by
test_simulator_demo.py.)"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.events.topics import DPR_RECORDS, SYNC_ITEMS, Origin
from faramesh_cloud.log.port import Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime.demo_service import DEMO_STACKS
from faramesh_cloud.simulator.registration import load_saved
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import read_topic
from tests.ports import free_internal_base
from tests.simulator_support import free_port, stack_keys, verify, wal_records
from tests.status_support import OperatorStatus

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]


class UpDemo:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.http, self.sync = data_dir, free_port(), free_port()
        env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faramesh_cloud", "up", "--demo", "--data-dir", str(data_dir),
             "--http-port", str(self.http), "--sync-port", str(self.sync)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.operator = OperatorStatus(f"http://127.0.0.1:{self.http}")  # the full status needs an owner

    def demo(self) -> dict[str, str]:
        """The demo service's line on the status API, once every service has started."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stdout.read().decode() if self.proc.stdout else ""
            try:
                services = self.operator.get()["services"]
                # demo starts after the gateway, so it may not be listed yet
                demo = next((s for s in services if s["name"] == "demo"), None)
                if demo is not None and demo["state"] != "starting":
                    return dict(demo)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("faramesh-cloud up --demo did not start its services in 90 s")

    def interrupt(self) -> tuple[int, str]:
        self.operator.close()
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        return self.proc.returncode, out.decode()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _acknowledged(role: str) -> int:
    match = re.search(r"(\d+) items acknowledged", role)
    return int(match.group(1)) if match else 0


async def _log_by_stack(data_dir: Path, topic: str = DPR_RECORDS) -> dict[str, list[Message]]:
    """What is on the running Cloud's log, per stack id (read like any consumer would)."""
    async with Database(f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}", max_size=2) as db:
        log = PostgresLog(db)
        await log.start()
        try:
            by_stack: dict[str, list[Message]] = {}
            for message in await read_topic(log, topic):
                by_stack.setdefault(Origin.from_headers(message.headers).stack_id, []).append(message)
            return by_stack
        finally:
            await log.close()


def test_up_demo_feeds_cloud_from_a_fleet_registered_in_its_own_database(pg_data_dir: Path) -> None:
    # pg_data_dir, not tmp_path: the embedded server runs as another user (see test_up.py)
    data_dir = pg_data_dir / "cloud"
    up = UpDemo(data_dir)
    try:
        demo = up.demo()
        assert demo["state"] == "running" and "3 stacks" in demo["role"]
        assert demo["address"] == f"127.0.0.1:{up.sync}"
        saved = load_saved(data_dir / "demo" / "keys.json")
        assert saved is not None
        deadline = time.monotonic() + 60
        while True:  # until ingest has DPRs of every demo stack on the log
            on_log = asyncio.run(_log_by_stack(data_dir))
            if all(on_log.get(stack.stack_id) for stack in saved.stacks):
                break
            assert time.monotonic() < deadline, f"the demo fleet did not deliver: {up.demo()}"
            time.sleep(0.5)
        assert _acknowledged(up.demo()["role"]) > 0
        # Health and budgets came first, not one status (60 s) or budget (30 s) interval later:
        # each daemon buffers them at start, ahead of its first DPR, and pushes in order.
        items = asyncio.run(_log_by_stack(data_dir, SYNC_ITEMS))
        for stack in saved.stacks:
            kinds = {m.headers["kind"] for m in items.get(stack.stack_id, [])}
            assert {b"stack_status", b"daemon_health", b"budget_snapshot"} <= kinds, (stack.name, kinds)
    finally:
        code, out = up.interrupt()
    assert code == 0, out
    assert "stopped." in out

    assert [s.name for s in saved.stacks] == list(DEMO_STACKS)
    assert stat.S_IMODE((data_dir / "demo" / "keys.json").stat().st_mode) == 0o600
    for stack in saved.stacks:
        stack_dir = data_dir / "demo" / stack.name
        written = wal_records(stack_dir)
        assert verify(written, stack_keys(stack_dir))[1] == []
        delivered = [m.value for m in on_log.get(stack.stack_id, [])]
        assert delivered and delivered == written[: len(delivered)]  # byte for byte, in WAL order
