"""The sync loop's settings, limits, status counters, backoff and channel handling (plain
parts of :mod:`faramesh_cloud.simulator.sync`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from faramesh_cloud_api.sync.v1 import sync_pb2

from faramesh_cloud.rpc.sync_client import SyncClient

Connect = Callable[[], SyncClient]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    bug_retry_s: float = 300.0  # after INVALID_ARGUMENT: a daemon bug, an identical retry fails again
    rehello_s: float = 3600.0
    max_deliveries: int = 100
    # PollDecisions: None long-polls up to Cloud's max_poll_wait (a decision arrives as soon as
    # it is taken); 0 polls plainly, every decision_poll_interval_s (None: Hello's interval).
    decision_wait_s: float | None = None
    decision_poll_interval_s: float | None = None
    daemon_version: str = "1.4.2"
    hostname: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    """What Hello says (the defaults apply until it has answered, or where it sends 0)."""

    push_interval_s: float = 5.0
    decision_poll_interval_s: float = 5.0
    emergency_poll_interval_s: float = 30.0
    status_interval_s: float = 60.0
    max_poll_wait_s: float = 25.0
    max_push_items: int = 1000
    max_push_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_hello(cls, hello: sync_pb2.HelloResponse) -> Limits:
        d = cls()

        def seconds(value: float, default: float) -> float:
            return value if value > 0 else default

        return cls(
            push_interval_s=seconds(hello.push_interval.ToNanoseconds() / 1e9, d.push_interval_s),
            decision_poll_interval_s=seconds(hello.decision_poll_interval.ToNanoseconds() / 1e9,
                                             d.decision_poll_interval_s),
            emergency_poll_interval_s=seconds(hello.emergency_poll_interval.ToNanoseconds() / 1e9,
                                              d.emergency_poll_interval_s),
            status_interval_s=seconds(hello.status_interval.ToNanoseconds() / 1e9, d.status_interval_s),
            max_poll_wait_s=hello.max_poll_wait.ToNanoseconds() / 1e9,
            max_push_items=hello.max_push_items or d.max_push_items,
            max_push_bytes=hello.max_push_bytes or d.max_push_bytes,
        )


@dataclass(slots=True)
class SyncStatus:
    """Live counters for status lines and tests."""

    state: str = "connecting"  # connecting | connected | retrying | stopped
    stack_id: str = ""
    org_id: str = ""
    stack_name: str = ""
    hellos: int = 0
    pushes: int = 0
    rejected: int = 0
    failures: int = 0  # calls that failed, in total
    last_error: str = ""
    last_code: str = ""  # status code name of the last failure
    decision_polls: int = 0
    emergency_polls: int = 0
    deliveries: int = 0
    commands: int = 0
    last_contact_ns: int = 0
    retry_waits: list[float] = field(default_factory=list)  # the last few waits before a retry


class Backoff:
    """Exponential backoff with jitter: ``initial`` doubling to ``maximum``, each wait drawn
    between half and all of the current step."""

    def __init__(self, initial: float, maximum: float, rng: random.Random) -> None:
        self._initial, self._maximum, self._rng = initial, maximum, rng
        self._attempt = 0

    def next(self) -> float:
        step: float = min(self._maximum, self._initial * 2.0 ** min(self._attempt, 32))
        self._attempt += 1
        return step * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._attempt = 0


class Link:
    """One loop's channel; replaced after a transport failure so the next attempt dials
    afresh instead of waiting out gRPC's own reconnect backoff."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._client: SyncClient | None = None

    def client(self) -> SyncClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    async def reset(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
