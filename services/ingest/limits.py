"""Size limits and the per-stack rate limit of the sync channel (pure; the clock is injected).

The rate limit is a token bucket per stack, counted in *items*: a Push costs one token per
item (at least one), every other call one token. So a stack may stream steadily at
``rate_per_s`` items per second and catch up after an outage with bursts of ``rate_burst``;
one noisy stack never slows another, because each has its own bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB
# The WAL's frame limit: every valid DPR must fit in one item (docs/sync-api.md section 4).
WAL_FRAME_LIMIT: Final = 8 * MIB
# The largest applied governance.fms text a StackStatus may carry (docs/sync-api.md section 2).
GOVERNANCE_FMS_MAX_BYTES: Final = 256 * KIB


class LimitsError(ValueError):
    """Limits that cannot work together; the message says which and how to fix them."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_push_items: int = 1_000
    max_push_bytes: int = 16 * MIB
    max_item_bytes: int = WAL_FRAME_LIMIT + 4 * KIB
    rate_per_s: float = 5_000.0  # items per second per stack, refilled continuously
    rate_burst: float = 20_000.0  # bucket size: the most items a stack may send at once

    def __post_init__(self) -> None:
        if self.max_push_items < 1:
            raise LimitsError(f"max_push_items must be at least 1, got {self.max_push_items}")
        if self.max_item_bytes < 1:
            raise LimitsError(f"max_item_bytes must be positive, got {self.max_item_bytes}")
        if self.max_push_bytes < self.max_item_bytes + 64 * KIB:
            raise LimitsError(
                f"max_push_bytes ({self.max_push_bytes}) must be at least max_item_bytes + 64 KiB "
                f"({self.max_item_bytes + 64 * KIB}) so any acceptable item fits in a push alone"
            )
        if self.rate_per_s <= 0:
            raise LimitsError(f"rate_per_s must be positive, got {self.rate_per_s}")
        if self.rate_burst < self.max_push_items:
            raise LimitsError(
                f"rate_burst ({self.rate_burst:g}) must be at least max_push_items "
                f"({self.max_push_items}), or a full push could never be admitted"
            )

    @property
    def transport_max_bytes(self) -> int:
        """The gRPC receive limit: a little above ``max_push_bytes`` so a push slightly over
        it gets an explanatory RESOURCE_EXHAUSTED from ingest, while anything far larger is
        refused by the transport before it is buffered."""
        return self.max_push_bytes + 64 * KIB


def push_cost(items: int) -> int:
    return max(1, items)


def oversize_message(request_bytes: int, limits: IngestLimits) -> str | None:
    """Why a request of this size is refused, or None when it fits."""
    if request_bytes <= limits.max_push_bytes:
        return None
    return (
        f"push of {request_bytes} bytes exceeds max_push_bytes ({limits.max_push_bytes}); "
        "split the batch (halve it and retry) and honour the limits HelloResponse returns"
    )


@dataclass(slots=True)
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, cost: float, now: float) -> float:
        """Take ``cost`` tokens if there are enough and return 0; otherwise take nothing and
        return the seconds until there will be enough."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


@dataclass(slots=True)
class RateLimiter:
    """One token bucket per key (a stack id). Full buckets are forgotten when there are many,
    since a forgotten bucket and a full one behave the same."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    max_buckets: int = 10_000
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @classmethod
    def for_limits(cls, limits: IngestLimits, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        return cls(rate=limits.rate_per_s, burst=limits.rate_burst, clock=clock)

    def try_take(self, key: str, cost: float) -> float | None:
        """None when admitted; otherwise the seconds to wait before retrying."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:
                self._forget_full(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
        wait = bucket.take(min(cost, self.burst), now)
        return None if wait == 0.0 else wait

    def _forget_full(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
