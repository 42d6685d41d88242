"""The Kafka log as Settings configure it: TLS (a CA, a client certificate), SASL (PLAIN or
SCRAM) and replication (factor and ``min.insync.replicas``, checked against the cluster by
``KafkaLog.start``). A file that cannot be read or used fails here, with one line naming its
setting (``KafkaSettingsError``, a ``ConfigError``)."""

from __future__ import annotations

import ssl

from faramesh_cloud.config import Settings, read_setting_file
from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.log.kafka_common import GroupTimeouts, KafkaSettingsError, Replication, Sasl


def replication(settings: Settings) -> Replication:
    """kafka_single_broker means one broker: one replica, min.insync.replicas 1 (dev/test)."""
    if settings.kafka_single_broker:
        return Replication.one_broker()
    return Replication(settings.kafka_replication_factor, settings.kafka_min_insync_replicas)


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = settings.kafka_ssl_cafile
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise KafkaSettingsError(f"kafka_ssl_cafile={cafile}: cannot use it as the brokers' CA ({exc}); "
                                 "give a readable PEM file of CA certificates") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.kafka_ssl_certfile is not None and settings.kafka_ssl_keyfile is not None:
        try:
            context.load_cert_chain(str(settings.kafka_ssl_certfile), str(settings.kafka_ssl_keyfile))
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSettingsError(f"kafka_ssl_certfile={settings.kafka_ssl_certfile} / kafka_ssl_keyfile="
                                     f"{settings.kafka_ssl_keyfile}: not a usable certificate and key ({exc}); "
                                     "give PEM files of the client certificate and its unencrypted key") from None
    return context


def sasl(settings: Settings) -> Sasl | None:
    if not settings.kafka_security_protocol.startswith("SASL_"):
        return None
    password = settings.kafka_sasl_password
    if settings.kafka_sasl_password_file is not None:
        password = read_setting_file("kafka_sasl_password_file", settings.kafka_sasl_password_file,
                                     "the password").rstrip("\r\n")
    if not password:
        raise KafkaSettingsError(f"kafka_security_protocol={settings.kafka_security_protocol} needs "
                                 "kafka_sasl_password or kafka_sasl_password_file")
    return Sasl(settings.kafka_sasl_mechanism, settings.kafka_sasl_username, password)


def group_timeouts(settings: Settings) -> GroupTimeouts:
    return GroupTimeouts(session_ms=settings.kafka_session_timeout_ms, heartbeat_ms=settings.kafka_heartbeat_interval_ms,
                         rebalance_ms=settings.kafka_rebalance_timeout_ms)


def kafka_log(settings: Settings) -> KafkaLog:
    assert settings.kafka_bootstrap, "kafka_log needs kafka_bootstrap"
    return KafkaLog(settings.kafka_bootstrap, ssl_context=ssl_context(settings),
                    security_protocol=settings.kafka_security_protocol, sasl=sasl(settings),
                    replication=replication(settings), partition_counts=settings.kafka_partition_counts,
                    group_timeouts=group_timeouts(settings))
