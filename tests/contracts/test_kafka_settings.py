"""The Kafka log as Settings configure it (runtime/kafka_wiring.py), on a real Tansu broker:
replication checked against the cluster (one broker refuses a factor of 3; one replica is
refused unless kafka_single_broker, saying why); TLS with the CA and a client certificate from
their files (a TLS front requiring client certificates, as stunnel would); SASL/PLAIN through
a SASL front (tests/kafka_sasl_front.py: Tansu itself has no PLAIN); a file that cannot be used
refused naming its setting."""

from __future__ import annotations

import datetime as dt
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from faramesh_cloud.config import Settings
from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.kafka_common import KafkaSettingsError, Replication
from faramesh_cloud.log.port import LogRecord, LogUnavailable, TopicMismatch
from faramesh_cloud.runtime.kafka_wiring import kafka_log
from tests.contracts.test_kafka_tls import TlsFront, _self_signed
from tests.fixtures.kafka import KafkaBroker, free_port, start_broker, stop_broker
from tests.kafka_sasl_front import SaslFront

pytestmark = pytest.mark.kafka


async def _round_trip(log: KafkaLog) -> None:
    """Start, create a topic, append, and read the end offsets back."""
    await log.start()
    try:
        topic = f"settings-{uuid.uuid4().hex[:10]}"
        await log.create_topic(topic, 2)
        await log.append(topic, [LogRecord(key=f"s{i}".encode(), value=b"v") for i in range(5)])
        assert sum((await log.end_offsets(topic)).values()) == 5
    finally:
        await log.close()


async def test_a_replication_factor_above_the_brokers_is_refused_at_start(kafka_broker: KafkaBroker) -> None:
    log = kafka_log(Settings(kafka_bootstrap=kafka_broker.bootstrap))  # defaults: 3 replicas, min.insync 2
    with pytest.raises(KafkaSettingsError) as refused:
        await log.start()
    assert str(refused.value) == (
        f"kafka_replication_factor=3 but the cluster at {kafka_broker.bootstrap} has 1 broker: no topic can be "
        "created; add brokers or lower it (kafka_single_broker=true and kafka_replication_factor=1 for one "
        "dev/test broker)")


async def test_one_replica_is_refused_outside_single_broker_mode_saying_why(kafka_broker: KafkaBroker) -> None:
    log = kafka_log(Settings(kafka_bootstrap=kafka_broker.bootstrap, kafka_replication_factor=1,
                             kafka_min_insync_replicas=1))
    with pytest.raises(KafkaSettingsError, match=r"kafka_replication_factor=1: producers write with acks=all, "
                                                 r"which with one replica acknowledges a record only one broker"):
        await log.start()
    await _round_trip(kafka_log(Settings(kafka_bootstrap=kafka_broker.bootstrap, kafka_single_broker=True)))


async def test_the_operators_partition_counts_win_over_the_services_default(kafka_broker: KafkaBroker) -> None:
    """kafka_partitions: a service creating dpr.records.v1 with its default 8 gets the operator's
    count (more consumers can share the index), and a later start asking for 8 again is no
    mismatch; a log without the setting refuses the topic's real count, as before."""
    topic = "dpr.records.v1"
    registry = f"_faramesh_cloud.topics-{uuid.uuid4().hex[:8]}"
    name = f"{topic}-{uuid.uuid4().hex[:8]}"
    wide = KafkaLog(kafka_broker.bootstrap, partition_counts={name: 6}, registry_topic=registry)
    await wide.start()
    try:
        await wide.create_topic(name, 2)
        assert await wide.partitions(name) == 6
        await wide.create_topic(name, 2)  # the next start: same setting, no mismatch
    finally:
        await wide.close()
    plain = KafkaLog(kafka_broker.bootstrap, registry_topic=registry)
    await plain.start()
    try:
        with pytest.raises(TopicMismatch, match="exists with 6 partitions, not 2"):
            await plain.create_topic(name, 2)
    finally:
        await plain.close()
    wired = kafka_log(Settings(kafka_bootstrap=kafka_broker.bootstrap, kafka_single_broker=True,
                               kafka_partitions=f"{topic}=12"))
    assert wired._partition_counts == {topic: 12}


def test_an_existing_topic_with_fewer_replicas_than_the_setting_is_refused() -> None:
    three = Replication(3, 2)
    assert three.topic_refusal("dpr.records.v1", [3, 3, 3]) is None
    assert three.topic_refusal("dpr.records.v1", [3, 1, 3]) == (
        "topic 'dpr.records.v1' exists with 1 replica per partition, below kafka_replication_factor=3: acks=all "
        "would not mean what the setting says; raise its replication (kafka-reassign-partitions) or lower the setting")
    assert Replication(2, 2).refusal(3, "k:9092") is None
    assert "kafka_min_insync_replicas=1" in (Replication(3, 1).refusal(3, "k:9092") or "")
    assert Replication(3, 2).new_topic("t", 4).topic_configs == {"min.insync.replicas": "2"}


def _ca(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _client_cert(directory: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloud")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / "client.crt", directory / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class MtlsBroker:
    bootstrap: str
    broker_ca: Path
    client_cert: Path
    client_key: Path


@pytest.fixture
async def mtls_broker(tmp_path: Path) -> AsyncIterator[MtlsBroker]:
    """Tansu behind a TLS front that requires a client certificate from its own client CA."""
    broker_cert, broker_key = _self_signed(tmp_path)
    client_ca_key, client_ca = _ca(tmp_path, "client-ca")
    client_cert, client_key = _client_cert(tmp_path, client_ca_key, client_ca)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "client-ca.crt"))
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_cert_chain(broker_cert, broker_key)
    front_port = free_port()
    broker = start_broker(tmp_path / "tansu.log", advertised_port=front_port)
    front = TlsFront(front_port, int(broker.bootstrap.rsplit(":", 1)[1]), server)
    await front.start()
    yield MtlsBroker(f"127.0.0.1:{front_port}", broker_cert, client_cert, client_key)
    await front.close()
    stop_broker(broker)


async def test_tls_with_a_client_certificate_from_the_settings_files(mtls_broker: MtlsBroker) -> None:
    tls = {"kafka_bootstrap": mtls_broker.bootstrap, "kafka_single_broker": True,
           "kafka_security_protocol": "SSL", "kafka_ssl_cafile": mtls_broker.broker_ca}
    await _round_trip(kafka_log(Settings(**tls, kafka_ssl_certfile=mtls_broker.client_cert,  # type: ignore[arg-type]
                                         kafka_ssl_keyfile=mtls_broker.client_key)))
    without = kafka_log(Settings(**tls))  # type: ignore[arg-type]
    with pytest.raises(LogUnavailable, match="failed while connecting"):
        await without.start()  # the broker requires a client certificate


def test_tls_files_that_cannot_be_used_are_refused_naming_the_setting(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(KafkaSettingsError, match=r"^kafka_ssl_cafile=.*garbage.pem: cannot use it as the brokers' CA"):
        kafka_log(Settings(kafka_bootstrap="k:9093", kafka_security_protocol="SSL", kafka_ssl_cafile=garbage))
    with pytest.raises(KafkaSettingsError, match=r"^kafka_ssl_certfile=.* not a usable certificate and key"):
        kafka_log(Settings(kafka_bootstrap="k:9093", kafka_security_protocol="SSL", kafka_ssl_certfile=garbage,
                           kafka_ssl_keyfile=garbage))


@pytest.fixture
async def sasl_broker(tmp_path: Path) -> AsyncIterator[SaslFront]:
    front_port = free_port()
    broker = start_broker(tmp_path / "tansu.log", advertised_port=front_port)
    front = SaslFront(front_port, int(broker.bootstrap.rsplit(":", 1)[1]), "cloud", "s3cret")
    await front.start()
    yield front
    await front.close()
    stop_broker(broker)


async def test_sasl_plain_credentials_from_the_settings_reach_the_broker(sasl_broker: SaslFront,
                                                                          tmp_path: Path) -> None:
    password = tmp_path / "kafka-password"
    password.write_text("s3cret\n")  # as a mounted Secret holds it
    sasl = {"kafka_bootstrap": f"127.0.0.1:{sasl_broker.port}", "kafka_single_broker": True,
            "kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": "cloud"}
    await _round_trip(kafka_log(Settings(**sasl, kafka_sasl_password_file=password)))  # type: ignore[arg-type]
    assert set(sasl_broker.seen.mechanisms) == {"PLAIN"} and set(sasl_broker.seen.users) == {"cloud"}
    assert sasl_broker.seen.refused == 0

    wrong = kafka_log(Settings(**sasl, kafka_sasl_password="guess"))  # type: ignore[arg-type]
    with pytest.raises(LogUnavailable, match="failed while connecting"):
        await wrong.start()
    assert sasl_broker.seen.refused >= 1

    plain = KafkaLog(f"127.0.0.1:{sasl_broker.port}")  # no SASL: the front lets nothing through
    with pytest.raises(LogUnavailable):
        await plain.start()
