"""`faramesh-cloud up` as a user runs it: a real process, real ports, Ctrl-C, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.ports import free_internal_base
from tests.status_support import OperatorStatus

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.http = free_port()
        self.sync = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())}
        self.proc = self._spawn(
            [sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(self.data_dir),
             "--http-port", str(self.http), "--sync-port", str(self.sync)], env)
        deadline = time.monotonic() + self.healthy_within_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{self.http}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.proc.kill()
        raise AssertionError(f"faramesh-cloud up did not become healthy:\n{self._finish()[-4000:]}")

    healthy_within_s = 90.0

    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)

    def _finish(self) -> str:
        """Wait for the process to end; its output."""
        assert self.proc is not None
        out, _ = self.proc.communicate(timeout=30)  # also closes the pipe
        return out.decode()

    def interrupt(self) -> tuple[int, float, str]:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        out = self._finish()
        return self.proc.returncode, time.monotonic() - started, out


def pg_url(data_dir: Path) -> str:
    return f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}"


async def append_and_read(url: str, value: bytes | None) -> list[bytes]:
    db = Database(url)
    await db.open()
    log = PostgresLog(db)
    await log.start()
    try:
        if value is not None:
            await log.append(DPR_RECORDS, [LogRecord(b"org/stack", value)])
        consumer = await log.consumer(DPR_RECORDS, "test-reader")
        got = await consumer.poll(100, 1.0)
        await consumer.close()
        return [m.value for m in got]
    finally:
        await log.close()
        await db.close()


def test_up_serves_the_landing_page_stops_on_ctrl_c_and_keeps_data(pg_data_dir: Path) -> None:
    # pg_data_dir, not tmp_path: the embedded server runs as another user, and pytest resets
    # its own temp root to 0700 whenever another pytest process starts.
    data_dir = pg_data_dir / "cloud"
    up = Up(data_dir)
    up.start()
    page = httpx.get(f"http://127.0.0.1:{up.http}/", timeout=5)
    assert page.status_code == 200
    assert "What is running" in page.text and "Connect a daemon" in page.text
    assert f"127.0.0.1:{up.sync}" in page.text
    assert str(data_dir) not in page.text  # anyone can read the first page: no data dir
    anonymous = httpx.get(f"http://127.0.0.1:{up.http}/api/v1/status", timeout=5).json()
    assert set(anonymous) == {"ok", "version"} and anonymous["ok"] is True
    operator = OperatorStatus(f"http://127.0.0.1:{up.http}")
    try:
        status = operator.get()  # the first owner, signed in
    finally:
        operator.close()
    assert status["data_dir"] == str(data_dir)
    assert status["mode"] == "embedded"
    assert {"postgresql", "log", "olap"} <= set(status["components"])
    assert all(s["state"] == "running" for s in status["services"])
    outboxes = {s["name"]: [(o["table"], o["parked"]) for o in s.get("outboxes") or []] for s in status["services"]}
    assert {"approvals": [("approvals_outbox", 0)], "notifications": [("notifications_outbox", 0)],
            "audit-index": [("audit_index_outbox", 0)], "gateway": [("stacks_outbox", 0)]}.items() <= outboxes.items()
    assert asyncio.run(append_and_read(pg_url(data_dir), b"kept across restarts")) == [b"kept across restarts"]

    code, seconds, output = up.interrupt()
    assert code == 0, output
    assert seconds < 10, f"Ctrl-C took {seconds:.1f}s"
    assert "stopped." in output

    again = Up(data_dir)
    again.start()
    try:
        assert asyncio.run(append_and_read(pg_url(data_dir), None)) == [b"kept across restarts"]
    finally:
        assert again.interrupt()[0] == 0


def test_up_with_an_unwritable_data_dir_says_what_to_do(tmp_path: Path) -> None:
    target = tmp_path / "locked"
    target.mkdir(mode=0o500)
    proc = subprocess.run(  # on free ports: a taken default port would be reported first
        [sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(target / "sub"),
         "--http-port", str(free_port()), "--sync-port", str(free_port())],
        capture_output=True, timeout=60,
        env={**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())},
        preexec_fn=(lambda: os.setuid(65534)) if os.geteuid() == 0 else None,  # root ignores modes
    )
    assert proc.returncode == 2, proc.stderr.decode()
    err = proc.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "--data-dir" in err[0] and str(target / "sub") in err[0]


def test_stacks_register_beside_up_prints_where_that_up_listens(pg_data_dir: Path) -> None:
    data_dir = pg_data_dir / "cloud"
    up = Up(data_dir)  # on free ports, not the defaults 8080 / 8443
    up.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "faramesh_cloud", "stacks", "register", "payments-prod", "--data-dir",
             str(data_dir)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f'cloud_url     = "https://127.0.0.1:{up.sync}"' in done.stdout
        assert f"--horizon-url http://127.0.0.1:{up.http}" in done.stdout
        assert f"give the daemon its CA file, {data_dir / 'tls' / 'sync-cert.pem'}" in done.stdout
        assert f"the Cloud running from {data_dir} (pid {up.proc.pid if up.proc else 0})" in done.stdout
        assert ":8443" not in done.stdout and ":8080" not in done.stdout
    finally:
        code, _, output = up.interrupt()
    assert code == 0, output
    assert not (data_dir / "running.json").exists()  # a stopped Cloud leaves no address behind
