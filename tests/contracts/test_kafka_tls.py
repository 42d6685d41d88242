"""KafkaLog over TLS: Tansu's own TLS is unusable (TOOLING 1b), so, as in deployment, a TLS
terminator sits in front of a plain loopback listener and Tansu advertises the TLS port.
stunnel is not installed on build machines, so the front here is a small asyncio proxy
(TLS 1.3 minimum) with a throwaway self-signed certificate for 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.port import LogRecord, LogUnavailable
from tests.fixtures.kafka import TEST_GROUP_TIMEOUTS, free_port, start_broker, stop_broker

pytestmark = pytest.mark.kafka


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faramesh-test-broker")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "broker.crt", directory / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()
        with suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


class TlsFront:
    """Terminates TLS on ``port`` and forwards each connection to ``backend_port``."""

    def __init__(self, port: int, backend_port: int, context: ssl.SSLContext) -> None:
        self.port, self._backend, self._context = port, backend_port, context
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self._context
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._backend)
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._tasks.difference_update(pipes)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """(bootstrap address of the TLS front, a client context trusting its certificate)."""
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.minimum_version = ssl.TLSVersion.TLSv1_3
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    front_port = free_port()
    broker = start_broker(tmp_path / "tansu.log", advertised_port=front_port)
    front = TlsFront(front_port, int(broker.bootstrap.rsplit(":", 1)[1]), server_context)
    await front.start()
    yield f"127.0.0.1:{front_port}", client_context
    await front.close()
    stop_broker(broker)


async def test_the_log_works_end_to_end_over_tls(tls_broker: tuple[str, ssl.SSLContext]) -> None:
    bootstrap, context = tls_broker
    log = KafkaLog(bootstrap, ssl_context=context, group_timeouts=TEST_GROUP_TIMEOUTS)
    await log.start()
    try:
        topic = f"tls-{uuid.uuid4().hex[:10]}"
        await log.create_topic(topic, 2)
        records = [LogRecord(key=f"stack-{i}".encode(), value=f"v{i}".encode()) for i in range(10)]
        positions = await log.append(topic, records)
        consumer = await log.consumer(topic, f"g-{uuid.uuid4().hex[:10]}")
        got = []
        for _ in range(20):
            if len(got) >= len(records):
                break
            got.extend(await consumer.poll(timeout_s=0.5))
        await consumer.close()

        assert {(m.partition, m.offset, m.value) for m in got} == {
            (p.partition, p.offset, r.value) for p, r in zip(positions, records, strict=True)
        }
        assert sum((await log.end_offsets(topic)).values()) == len(records)
    finally:
        await log.close()


async def test_a_certificate_the_client_does_not_trust_is_log_unavailable(
    tls_broker: tuple[str, ssl.SSLContext],
) -> None:
    bootstrap, trusting = tls_broker
    trusted = KafkaLog(bootstrap, ssl_context=trusting)
    await trusted.start()  # the front is up and speaks TLS...
    await trusted.close()
    untrusting = KafkaLog(bootstrap, ssl_context=ssl.create_default_context())  # system CAs

    with pytest.raises(LogUnavailable, match=f"Kafka at {bootstrap} failed while connecting"):
        await untrusting.start()  # ...but not to a client that can't verify its certificate
