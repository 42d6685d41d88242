"""Settings and error mapping shared by the Kafka adapter's modules."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

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


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """Where the broker is and how to talk to it; shared by every client the adapter opens."""

    bootstrap: str
    ssl_context: ssl.SSLContext | None = None
    client_id: str = "faramesh-cloud"
    request_timeout_ms: int = 30_000

    def options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client (admin, producer, consumer) accepts."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.ssl_context is not None:
            options["security_protocol"] = "SSL"
            options["ssl_context"] = self.ssl_context
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
