"""Every `faramesh-cloud serve NAME` process answers the Kubernetes probes on its health port
(runtime/health.py): /livez as soon as the process runs, /readyz 503 until its service has
started and 200 after. The test holds the migration runner's advisory lock, so the process is
provably still starting (its migrations wait on the lock) while /readyz is asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from faramesh_cloud.sql.migrate import MIGRATION_LOCK_KEY
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_up import free_port
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _serve(service: str, data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "serve", service, "--data-dir", str(data_dir)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _output(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
    return out.decode(errors="replace")


def _get_when_listening(url: str, proc: subprocess.Popen[bytes], within_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + within_s
    while True:
        assert proc.poll() is None, _output(proc)
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"nothing listens on {url}"
            time.sleep(0.1)


def test_readyz_is_503_until_the_service_has_started_and_200_after(tmp_path: Path, pg_url: str,
                                                                   shared_secrets: SharedSecrets) -> None:
    health = free_port()
    base = f"http://127.0.0.1:{health}"
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))  # migrations wait on it
        proc = _serve("fleet", tmp_path / "fleet", {
            "FARAMESH_CLOUD_POSTGRES_URL": pg_url, "FARAMESH_CLOUD_HEALTH_PORT": str(health),
            "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()), **shared_secrets.env})
        try:
            live = _get_when_listening(f"{base}/livez", proc)
            assert live.status_code == 200, live.text
            assert live.json()["status"] == "alive"
            starting = httpx.get(f"{base}/readyz", timeout=5)
            assert starting.status_code == 503, starting.text
            assert starting.json() == {"status": "starting", "services": {}}
            assert httpx.post(f"{base}/readyz", timeout=5).status_code == 405
            assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404

            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
            deadline = time.monotonic() + 90
            while (ready := httpx.get(f"{base}/readyz", timeout=5)).status_code != 200:
                assert ready.status_code == 503, ready.text
                assert proc.poll() is None, _output(proc)
                assert time.monotonic() < deadline, f"serve fleet never became ready: {ready.text}"
                time.sleep(0.1)
            assert ready.json() == {"status": "ready", "services": {"fleet": "running"}}
            assert httpx.get(f"{base}/livez", timeout=5).json() == {"status": "alive",
                                                                     "services": {"fleet": "running"}}
        finally:
            out = _output(proc)
    assert proc.returncode == 0, out
    with pytest.raises(httpx.TransportError):  # the listener went with the process
        httpx.get(f"{base}/livez", timeout=2)


def test_a_taken_health_port_stops_serve_with_one_line_naming_the_setting(tmp_path: Path, pg_url: str,
                                                                          shared_secrets: SharedSecrets) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve("fleet", tmp_path / "fleet", {
            "FARAMESH_CLOUD_POSTGRES_URL": pg_url, "FARAMESH_CLOUD_HEALTH_PORT": str(port),
            "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()), **shared_secrets.env})
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # it kept running: it served without its health listener
            out = _output(proc).encode()
    errors = [line for line in out.decode().splitlines() if line.startswith("error:")]
    assert proc.returncode == 1, out.decode()
    assert len(errors) == 1 and "FARAMESH_CLOUD_HEALTH_PORT" in errors[0] and "/livez" in errors[0], out.decode()
