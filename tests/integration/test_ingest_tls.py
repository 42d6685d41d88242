"""The sync channel's transport: TLS 1.3 minimum, health service, start-up self-check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from faramesh_cloud.ingest.service import IngestService
from tests.fixtures.ingest import TlsPair

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


def _client_context(cafile: Path, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile))
    context.minimum_version = version
    context.maximum_version = version
    context.set_alpn_protocols(["h2"])
    return context


async def test_tls12_handshake_is_refused(ingest: IngestService, sync_tls: TlsPair) -> None:
    context = _client_context(sync_tls.cert, ssl.TLSVersion.TLSv1_2)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.open_connection("127.0.0.1", ingest.port, ssl=context)


async def test_tls13_handshake_is_accepted_with_h2(ingest: IngestService, sync_tls: TlsPair) -> None:
    context = _client_context(sync_tls.cert, ssl.TLSVersion.TLSv1_3)
    _, writer = await asyncio.open_connection("127.0.0.1", ingest.port, ssl=context)
    try:
        tls = writer.get_extra_info("ssl_object")
        assert tls.version() == "TLSv1.3"
        assert tls.selected_alpn_protocol() == "h2"
    finally:
        writer.close()
        # The server has already sent its HTTP/2 preface; closing may see it after close_notify.
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


async def test_health_service_reports_serving(ingest: IngestService, sync_tls: TlsPair) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=sync_tls.cert_pem)
    async with grpc.aio.secure_channel(f"127.0.0.1:{ingest.port}", credentials) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "faramesh_cloud_api.sync.v1.SyncService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_stopped_service_refuses_connections(ingest: IngestService) -> None:
    port = ingest.port
    await ingest.stop()
    with pytest.raises(ConnectionError):
        await asyncio.open_connection("127.0.0.1", port)


def test_probe_detects_a_server_that_accepts_tls12(sync_tls: TlsPair) -> None:
    """The start-up check must be able to fail: a gRPC process started without the cipher
    setting accepts TLS 1.2, and the probe says so."""
    script = textwrap.dedent(
        f"""
        import asyncio, grpc, grpc.aio
        from faramesh_cloud.rpc.tls13 import tls12_refused

        async def main():
            server = grpc.aio.server()
            creds = grpc.ssl_server_credentials([(open({str(sync_tls.key)!r}, "rb").read(),
                                                  open({str(sync_tls.cert)!r}, "rb").read())])
            port = server.add_secure_port("127.0.0.1:0", creds)
            await server.start()
            print("refused" if await tls12_refused("127.0.0.1", port) else "accepted")
            await server.stop(None)

        asyncio.run(main())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "GRPC_SSL_CIPHER_SUITES"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "accepted"
