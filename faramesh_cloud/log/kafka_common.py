"""Settings and error mapping shared by the Kafka adapter's modules."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError

from faramesh_cloud.config import ConfigError
from faramesh_cloud.log.port import LogUnavailable


@dataclass(frozen=True, slots=True)
class GroupTimeouts:
    """Consumer-group timing. Kafka refuses a session timeout below the broker's
    ``group.min.session.timeout.ms`` (6 s by default). Tansu holds a JoinGroup for about half
    the session timeout (at least 1 s), so tests use short values; see TOOLING 1c."""

    session_ms: int = 10_000
    heartbeat_ms: int = 3_000
    rebalance_ms: int = 10_000

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_ms * 3 <= self.session_ms:
            raise ValueError(
                f"heartbeat_ms ({self.heartbeat_ms}) must be positive and at most a third of "
                f"session_ms ({self.session_ms})"
            )


class KafkaSettingsError(ConfigError):
    """The replication or security settings cannot work with this cluster; the message names
    the setting and why (a ConfigError: ``up`` / ``serve`` print it as one line and exit 2)."""


@dataclass(frozen=True, slots=True)
class Sasl:
    """SASL credentials (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), over TLS or not."""

    mechanism: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Replication:
    """Replicas per topic and ``min.insync.replicas``: producers write with ``acks=all``, which
    is only as durable as these. ``single_broker`` allows one replica (dev and test brokers)."""

    factor: int = 3
    min_insync: int = 2
    single_broker: bool = False

    @classmethod
    def one_broker(cls) -> Replication:
        return cls(1, 1, single_broker=True)

    def new_topic(self, topic: str, partitions: int, **configs: str) -> NewTopic:
        """The CreateTopics entry of ``topic`` with these replication settings."""
        return NewTopic(topic, partitions, self.factor,
                        topic_configs={"min.insync.replicas": str(self.min_insync), **configs})

    def refusal(self, brokers: int, bootstrap: str) -> str | None:
        """Why these settings cannot be used on a cluster of ``brokers`` brokers, or None."""
        if self.factor == 1 and not self.single_broker:
            return ("kafka_replication_factor=1: producers write with acks=all, which with one replica "
                    "acknowledges a record only one broker holds, so losing that broker loses acknowledged "
                    "records; use 3 (with kafka_min_insync_replicas=2), or kafka_single_broker=true for a "
                    "dev/test broker")
        if self.min_insync < 2 and not self.single_broker:
            return (f"kafka_min_insync_replicas={self.min_insync}: acks=all then waits for the leader alone, so "
                    "losing it loses acknowledged records; use 2 (or kafka_single_broker=true for a dev/test broker)")
        if self.factor > brokers:
            return (f"kafka_replication_factor={self.factor} but the cluster at {bootstrap} has {brokers} "
                    f"broker{'s' if brokers != 1 else ''}: no topic can be created; add brokers or lower it "
                    "(kafka_single_broker=true and kafka_replication_factor=1 for one dev/test broker)")
        return None

    def topic_refusal(self, topic: str, replicas: list[int]) -> str | None:
        """Why an existing topic, whose partitions have ``replicas`` replicas each, is not
        durable enough for these settings, or None."""
        fewest = min(replicas, default=self.factor)
        if fewest < self.factor:
            return (f"topic {topic!r} exists with {fewest} replica{'s' if fewest != 1 else ''} per partition, "
                    f"below kafka_replication_factor={self.factor}: acks=all would not mean what the setting "
                    "says; raise its replication (kafka-reassign-partitions) or lower the setting")
        return None


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """Where the broker is and how to talk to it; shared by every client the adapter opens."""

    bootstrap: str
    ssl_context: ssl.SSLContext | None = None
    client_id: str = "faramesh-cloud"
    request_timeout_ms: int = 30_000
    # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; "" for SSL when ssl_context is set, else PLAINTEXT.
    security_protocol: str = ""
    sasl: Sasl | None = None

    @property
    def protocol(self) -> str:
        return self.security_protocol or ("SSL" if self.ssl_context is not None else "PLAINTEXT")

    def options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client (admin, producer, consumer) accepts."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "security_protocol": self.protocol,
        }
        if self.protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = self.ssl_context or ssl.create_default_context()
        if self.protocol.startswith("SASL_"):
            if self.sasl is None:
                raise KafkaSettingsError(f"kafka_security_protocol={self.protocol} needs kafka_sasl_mechanism "
                                         "and kafka_sasl_username")
            options["sasl_mechanism"] = self.sasl.mechanism
            options["sasl_plain_username"] = self.sasl.username
            options["sasl_plain_password"] = self.sasl.password
        return options

    def unavailable(self, doing: str, exc: BaseException) -> LogUnavailable:
        """A LogUnavailable for a failed broker call, saying what to check."""
        detail = str(exc) or type(exc).__name__
        return LogUnavailable(
            f"Kafka at {self.bootstrap} failed while {doing}: {detail}; check that the broker is "
            "running and reachable at that address (and TLS settings match), then retry"
        )


async def stop_quietly(stop: Callable[[], Awaitable[object]], what: str) -> None:
    """Close an aiokafka client without letting a dead broker turn close into an error.

    aiokafka 0.14's fetcher re-raises the CancelledError of a fetch task it cancels while that
    task sleeps in retry backoff (the broker is gone); that is not a cancellation of *us*."""
    try:
        await stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        logging.getLogger(__name__).warning("closing the Kafka %s was cut short", what)
    except KafkaError as exc:
        logging.getLogger(__name__).warning("closing the Kafka %s failed: %s", what, exc)
