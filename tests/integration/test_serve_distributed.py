"""`faramesh-cloud serve SERVICE` runs one service against external Kafka, ClickHouse and
PostgreSQL URLs (the distributed mode), from the same code as `up`. Only the audit index opens
the OLAP store: the gateway reads the index through its internal API, so `serve gateway` does
not open ClickHouse even when it is configured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.status_support import OperatorStatus

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.chdb]


def test_serve_gateway_uses_the_configured_kafka_and_postgresql_and_leaves_clickhouse_to_the_index(
    tmp_path: Path, pg_url: str, kafka_broker: object, shared_secrets: SharedSecrets
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FARAMESH_CLOUD_POSTGRES_URL": pg_url,
        "FARAMESH_CLOUD_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,  # type: ignore[attr-defined]
        "FARAMESH_CLOUD_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'ch'}",
        "FARAMESH_CLOUD_HTTP_PORT": str(port),
        "FARAMESH_CLOUD_KAFKA_SINGLE_BROKER": "true",  # Tansu: one broker, one replica
        **shared_secrets.env,
    }
    with subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "serve", "gateway", "--data-dir", str(tmp_path / "d")],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        try:
            status = None
            operator = OperatorStatus(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    status = operator.get()
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            operator.close()
            assert status is not None, proc.stdout.read().decode() if proc.stdout else ""
            assert status["mode"] == "distributed"
            assert status["components"]["log"].startswith("Kafka at 127.0.0.1:")
            assert "olap" not in status["components"]  # the gateway reads the audit index over gRPC
            assert not (tmp_path / "ch").exists()
            assert "embedded" not in status["components"]["postgresql"]
            assert [s["name"] for s in status["services"]] == ["gateway"]
            assert not (tmp_path / "d" / "postgres").exists()  # no embedded server was started
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    assert proc.returncode == 0

    env["FARAMESH_CLOUD_INTERNAL_BASE_PORT"] = str(free_internal_base())
    with subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "serve", "audit-index", "--data-dir",
                           str(tmp_path / "i")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as index:
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "ch").exists():  # the index opened the configured ClickHouse (chDB here)
                assert index.poll() is None, index.stdout.read().decode() if index.stdout else ""
                assert time.monotonic() < deadline, "serve audit-index did not open the configured ClickHouse"
                time.sleep(0.2)
            assert not (tmp_path / "i" / "chdb").exists()  # not an embedded one in its data dir
        finally:
            index.send_signal(signal.SIGINT)
            index.wait(timeout=30)
