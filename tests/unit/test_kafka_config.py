"""Kafka settings that cannot work are refused when Settings load, naming the setting."""

from __future__ import annotations

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.log.kafka_common import GroupTimeouts
from faramesh_cloud.runtime.kafka_wiring import group_timeouts, kafka_log


@pytest.mark.parametrize(("env", "message"), [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "kafka_security_protocol='TLS': use one of PLAINTEXT, SSL, SASL_PLAINTEXT, "
                                         "SASL_SSL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
     "kafka_sasl_mechanism='': with kafka_security_protocol=SASL_SSL use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"},
     "kafka_security_protocol=SASL_PLAINTEXT needs kafka_sasl_username"),
    ({"KAFKA_SASL_PASSWORD": "p", "KAFKA_SASL_PASSWORD_FILE": "/p"},
     "set kafka_sasl_password or kafka_sasl_password_file, not both"),
    ({"KAFKA_SSL_CAFILE": "/ca.pem"}, "kafka_ssl_cafile is set but kafka_security_protocol=PLAINTEXT"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/c.pem"},
     "set both kafka_ssl_certfile and kafka_ssl_keyfile"),
    ({"KAFKA_REPLICATION_FACTOR": "2", "KAFKA_MIN_INSYNC_REPLICAS": "3"},
     "kafka_min_insync_replicas=3 is above kafka_replication_factor=2: no write with acks=all could ever succeed"),
    ({"KAFKA_REPLICATION_FACTOR": "0"}, "kafka_replication_factor and kafka_min_insync_replicas are at least 1"),
    ({"KAFKA_PARTITIONS": "dpr.records=32"}, "kafka_partitions: 'dpr.records' is not a topic Cloud creates"),
    ({"KAFKA_PARTITIONS": "dpr.records.v1=lots"}, "kafka_partitions: 'dpr.records.v1' needs a partition count"),
    ({"KAFKA_PARTITIONS": "dpr.records.v1=0"}, "kafka_partitions: 'dpr.records.v1' needs a partition count"),
    ({"KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "2500"},
     "kafka_heartbeat_interval_ms=2500 must be positive and at most a third of kafka_session_timeout_ms=6000"),
    ({"KAFKA_HEARTBEAT_INTERVAL_MS": "0"}, "kafka_heartbeat_interval_ms=0 must be positive"),
    ({"KAFKA_SESSION_TIMEOUT_MS": "0"}, "kafka_session_timeout_ms and kafka_rebalance_timeout_ms are positive"),
    ({"KAFKA_REBALANCE_TIMEOUT_MS": "-1"}, "kafka_session_timeout_ms and kafka_rebalance_timeout_ms are positive"),
])
def test_kafka_settings_that_cannot_work_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({f"FARAMESH_CLOUD_{k}": v for k, v in env.items()})
    assert str(refused.value).startswith(message), str(refused.value)


def test_the_defaults_are_three_replicas_two_in_sync_and_plaintext() -> None:
    settings = Settings.load({})
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)
    assert settings.kafka_security_protocol == "PLAINTEXT" and not settings.kafka_single_broker
    assert group_timeouts(settings) == GroupTimeouts(session_ms=10_000, heartbeat_ms=3_000, rebalance_ms=10_000)
    assert "s3cret" not in repr(Settings.load({"FARAMESH_CLOUD_KAFKA_SASL_PASSWORD": "s3cret",
                                               "FARAMESH_CLOUD_WEB_SECRET": "s3cret" * 8}))


def test_partition_counts_read_as_topic_equals_count() -> None:
    settings = Settings.load({"FARAMESH_CLOUD_KAFKA_PARTITIONS": " dpr.records.v1=32, sync.items.v1 = 8 "})
    assert settings.kafka_partition_counts == {"dpr.records.v1": 32, "sync.items.v1": 8}
    assert Settings.load({}).kafka_partition_counts == {}


def test_consumer_group_timeouts_come_from_the_settings() -> None:
    """What a consumer of the wired log joins its group with (a test install sets them short, so a
    killed consumer's partitions move to its successor in about a second, not ten)."""
    settings = Settings.load({"FARAMESH_CLOUD_KAFKA_BOOTSTRAP": "k:9092",
                              "FARAMESH_CLOUD_KAFKA_SESSION_TIMEOUT_MS": "1500",
                              "FARAMESH_CLOUD_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
                              "FARAMESH_CLOUD_KAFKA_REBALANCE_TIMEOUT_MS": "2000"})
    assert kafka_log(settings)._timeouts == GroupTimeouts(session_ms=1500, heartbeat_ms=500, rebalance_ms=2000)
