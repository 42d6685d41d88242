"""The approvals service's internal API (DaemonControlService) admits only ingest, over mutual
TLS: real gRPC on 127.0.0.1 against the real approvals stores on PostgreSQL.

The attack from issue 12: a local process that knows an org and a stack id (both shown to
members) reads the stack's pending kill, marks it delivered and forges its acknowledgement
("applied", a made-up DPR id). Each way in is tried: plaintext, TLS without a certificate,
a certificate from another CA (even one naming ingest), and a valid certificate of another
Cloud service; none gets through and the command stays issued. Then ingest's own client
does what the daemon asks, end to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faramesh_cloud_api.approvals.v1 import control_pb2, control_pb2_grpc
from faramesh_cloud_api.sync.v1 import emergency_pb2, sync_pb2

from faramesh_cloud.approvals.client import ApprovalsClient
from faramesh_cloud.approvals.service import Approvals, ApprovalsConfig
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.rpc.internal_pki import ServiceCredentials, dns_name, embedded
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import MakeTenant
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

OPERATOR = Actor(ActorType.USER, "33333333-3333-3333-3333-333333333333", "ops@example.com")


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog, internal_tls: ServiceTls) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log, ApprovalsConfig(internal_address="127.0.0.1:0",
                                                                internal_tls=internal_tls("approvals")))
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


def _address(approvals: Approvals) -> str:
    assert approvals.server is not None
    return approvals.server.address


def _with_cert(address: str, ca: bytes, cert: bytes | None = None, key: bytes | None = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[("grpc.ssl_target_name_override", dns_name("approvals"))])


def _as(address: str, tls: ServiceCredentials, trusting: bytes) -> grpc.aio.Channel:
    return _with_cert(address, trusting, tls.cert, tls.key)


async def _forge(channel: grpc.aio.Channel, org: str, stack: str, command_id: str) -> grpc.aio.AioRpcError:
    """Read the stack's commands (marks them delivered) and forge the kill's "applied" ack;
    the first refusal, which every call must meet."""
    stub = control_pb2_grpc.DaemonControlServiceStub(channel)
    ref = control_pb2.StackRef(org_id=org, stack_id=stack)
    refusals = []
    try:
        await stub.PollCommands(control_pb2.PollCommandsRequest(stack=ref), timeout=10)
    except grpc.aio.AioRpcError as exc:
        refusals.append(exc)
    ack = sync_pb2.AckEmergencyCommandRequest(command_id=command_id, outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED,
                                              dpr_record_id="rec-made-up")
    try:
        await stub.AckCommand(control_pb2.AckCommandRequest(stack=ref, ack=ack), timeout=10)
    except grpc.aio.AioRpcError as exc:
        refusals.append(exc)
    await channel.close()
    assert len(refusals) == 2, "an internal call got through"
    assert refusals[0].code() == refusals[1].code()
    return refusals[0]


async def test_only_ingest_reads_and_acknowledges_emergency_commands(
        approvals: Approvals, internal_tls: ServiceTls, other_ca_tls: ServiceTls, tenant: MakeTenant) -> None:
    t = await tenant()
    org, stack = t.org.org_id, t.stack.stack_id
    command = await approvals.commands.issue(org, stack, "payments-bot", OPERATOR, "runaway refunds", "kill",
                                             permitted=True)
    address, ca = _address(approvals), internal_tls("approvals").ca

    plaintext = await _forge(grpc.aio.insecure_channel(address), org, stack, command.command_id)
    assert plaintext.code() == grpc.StatusCode.UNAVAILABLE

    no_certificate = await _forge(_with_cert(address, ca), org, stack, command.command_id)
    assert no_certificate.code() == grpc.StatusCode.UNAVAILABLE

    # A certificate that names ingest, but from a CA Cloud does not trust.
    other_ca = await _forge(_as(address, other_ca_tls("ingest"), ca), org, stack, command.command_id)
    assert other_ca.code() == grpc.StatusCode.UNAVAILABLE

    # A real internal certificate, of a service that may not speak for daemons.
    gateway = await _forge(_as(address, internal_tls("gateway"), ca), org, stack, command.command_id)
    assert gateway.code() == grpc.StatusCode.PERMISSION_DENIED
    assert gateway.details() == ("the gateway service may not call faramesh_cloud_api.approvals.v1."
                                 "DaemonControlService; only ingest may")

    untouched = await approvals.commands.get(org, command.command_id)
    assert untouched.state == "issued" and untouched.delivered_at is None and not untouched.dpr_record_id

    # Ingest's client, with ingest's certificate: the daemon's poll and ack go through.
    client = ApprovalsClient(address, internal_tls("ingest"))
    try:
        [polled] = await client.poll_commands(org, stack)
        assert polled.command_id == command.command_id
        known = await client.ack_command(org, stack, sync_pb2.AckEmergencyCommandRequest(
            command_id=command.command_id, outcome=emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED, dpr_record_id="rec-1"))
        assert known
    finally:
        await client.close()
    done = await approvals.commands.get(org, command.command_id)
    assert done.state == "acknowledged" and done.dpr_record_id == "rec-1"


async def test_a_certificate_of_the_internal_ca_that_names_no_service_is_unauthenticated(
        database: Database, postgres_log: PostgresLog, tenant: MakeTenant, tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    service = Approvals(database, postgres_log, ApprovalsConfig(internal_address="127.0.0.1:0",
                                                                internal_tls=embedded(pki, "approvals")))
    await service.start()
    try:
        t = await tenant()
        cert, key = _issue_without_service_name(pki)
        refused = await _forge(_with_cert(_address(service), (pki / "ca.pem").read_bytes(), cert, key),
                               t.org.org_id, t.stack.stack_id, "no-such-command")
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "names a Faramesh Cloud service" in refused.details()
    finally:
        await service.stop()


async def test_ingest_refuses_a_server_that_is_not_the_approvals_service(
        database: Database, postgres_log: PostgresLog, internal_tls: ServiceTls, tenant: MakeTenant) -> None:
    from faramesh_cloud.approvals.client import ControlUnavailable

    # A service of Cloud's own CA listening where ingest expects approvals: ingest will not
    # hand it the daemon's acknowledgements.
    impostor = Approvals(database, postgres_log, ApprovalsConfig(internal_address="127.0.0.1:0",
                                                                 internal_tls=internal_tls("fleet")))
    await impostor.start()
    client = ApprovalsClient(_address(impostor), internal_tls("ingest"), timeout_s=5.0)
    try:
        t = await tenant()
        with pytest.raises(ControlUnavailable, match="UNAVAILABLE"):
            await client.poll_commands(t.org.org_id, t.stack.stack_id)
    finally:
        await client.close()
        await impostor.stop()


def _issue_without_service_name(pki: Path) -> tuple[bytes, bytes]:
    ca_key = serialization.load_pem_private_key((pki / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ingest")]))  # a CN is not a name
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("printer.example.com")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
