"""Two `faramesh-cloud up` on one host: the second, on another data dir, must not share the
first's HTTP, sync or internal gRPC port (with grpcio's default SO_REUSEPORT it did, and the kernel
split daemons' pushes between two Clouds with different databases). It stops with one line
naming the port and the setting to change, no traceback; the first keeps serving."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.rpc.internal_pki import embedded
from tests.integration.test_up import free_port
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]


def spawn(data_dir: Path, http: int, sync: int, internal: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(internal)}
    return subprocess.Popen(
        [sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(data_dir), "--http-port", str(http),
         "--sync-port", str(sync)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_healthy(proc: subprocess.Popen[bytes], http: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    out, err = proc.communicate(timeout=30)
    raise AssertionError(f"faramesh-cloud up did not become healthy:\n{(out + err).decode()[-4000:]}")


def sync_serving(data_dir: Path, sync: int) -> bool:
    """The sync channel on ``sync`` answers a health check with this data dir's certificate."""
    credentials = grpc.ssl_channel_credentials((data_dir / "tls" / "sync-cert.pem").read_bytes())
    with grpc.secure_channel(f"127.0.0.1:{sync}", credentials) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def internal_serving(data_dir: Path, internal: int) -> bool:
    """The approvals service's internal API on ``internal`` answers ingest (this data dir's CA)."""
    client = ApprovalsClient(f"127.0.0.1:{internal}", embedded(data_dir / "tls" / "internal", "ingest"))
    try:
        return await client.poll_commands(str(uuid.uuid4()), "no-such-stack") == []
    finally:
        await client.close()


def test_a_second_up_with_a_taken_grpc_port_stops_with_one_line_and_the_first_keeps_serving(
        pg_data_dir: Path) -> None:
    http, sync, internal = free_port(), free_port(), free_internal_base()
    first = spawn(pg_data_dir / "first", http, sync, internal)
    try:
        wait_healthy(first, http)
        # Same sync port, its own internal ports; and its own sync port, the same internal ports.
        same_sync = spawn(pg_data_dir / "second", free_port(), sync, free_internal_base())
        same_internal = spawn(pg_data_dir / "third", free_port(), free_port(), internal)
        same_http = spawn(pg_data_dir / "fourth", http, free_port(), free_internal_base())
        outcomes = []
        for proc in (same_sync, same_internal, same_http):
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate(timeout=30)
                raise AssertionError(f"a second up shared a port and kept running:\n{(out + err).decode()[-3000:]}") from None
            outcomes.append((proc.returncode, out.decode(), err.decode()))

        for (code, out, err), port, setting in ((outcomes[0], sync, "FARAMESH_CLOUD_SYNC_PORT"),
                                                (outcomes[1], internal, "FARAMESH_CLOUD_INTERNAL_BASE_PORT"),
                                                (outcomes[2], http, "FARAMESH_CLOUD_HTTP_PORT")):
            assert code == 1, out + err
            assert "Traceback" not in out + err, out + err
            errors = [line for line in err.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, err
            assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in errors[0]
            assert f"set {setting}" in errors[0]
            assert "Faramesh Cloud is up" not in out
        assert "the sync channel cannot listen" in outcomes[0][2]
        assert "the approvals service's internal gRPC API cannot listen" in outcomes[1][2]
        assert "the web UI and REST API cannot listen" in outcomes[2][2]

        # The first is untouched: its web, sync channel and internal API answer.
        assert first.poll() is None
        assert httpx.get(f"http://127.0.0.1:{http}/healthz", timeout=5).status_code == 200
        assert sync_serving(pg_data_dir / "first", sync)
        assert asyncio.run(internal_serving(pg_data_dir / "first", internal))
    finally:
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, (out + err).decode()[-3000:]
