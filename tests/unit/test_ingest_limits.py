"""Size limits and the per-stack token bucket, driven by an injected clock."""

from __future__ import annotations

import pytest

from faramesh_cloud.ingest.limits import (
    KIB,
    MIB,
    IngestLimits,
    LimitsError,
    RateLimiter,
    oversize_message,
    push_cost,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_defaults_match_the_published_api() -> None:
    limits = IngestLimits()
    assert limits.max_push_items == 1000
    assert limits.max_item_bytes == 8 * MIB + 4 * KIB
    assert limits.max_push_bytes == 16 * MIB
    assert limits.transport_max_bytes > limits.max_push_bytes


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"max_push_items": 0}, "max_push_items"),
        ({"max_item_bytes": 100 * KIB, "max_push_bytes": 120 * KIB}, "max_item_bytes + 64 KiB"),
        ({"rate_per_s": 0}, "rate_per_s"),
        ({"max_push_items": 100, "rate_burst": 50}, "rate_burst"),
    ],
)
def test_limits_that_cannot_work_are_refused_with_the_reason(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(LimitsError, match=words.replace("+", r"\+")):
        IngestLimits(**kwargs)  # type: ignore[arg-type]


def test_oversize_message_only_above_the_limit() -> None:
    limits = IngestLimits()
    assert oversize_message(limits.max_push_bytes, limits) is None
    message = oversize_message(limits.max_push_bytes + 1, limits)
    assert message is not None and "split the batch" in message


def test_cost_is_one_per_item_and_at_least_one() -> None:
    assert (push_cost(0), push_cost(1), push_cost(250)) == (1, 1, 250)


def test_a_bucket_admits_its_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10.0, burst=100.0, clock=clock)
    assert limiter.try_take("s1", 60) is None
    assert limiter.try_take("s1", 40) is None
    assert limiter.try_take("s1", 20) == pytest.approx(2.0)  # 20 tokens at 10/s
    clock.now += 1.0
    assert limiter.try_take("s1", 20) == pytest.approx(1.0)  # refused calls take nothing
    clock.now += 1.0
    assert limiter.try_take("s1", 20) is None


def test_stacks_have_their_own_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=5.0, clock=Clock())
    assert limiter.try_take("noisy", 5) is None
    assert limiter.try_take("noisy", 1) is not None
    assert limiter.try_take("quiet", 5) is None


def test_refill_never_exceeds_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=100.0, burst=10.0, clock=clock)
    assert limiter.try_take("s1", 10) is None
    clock.now += 3600
    assert limiter.try_take("s1", 10) is None
    assert limiter.try_take("s1", 1) is not None


def test_full_buckets_are_forgotten_when_there_are_too_many() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=5.0, clock=clock, max_buckets=2)
    limiter.try_take("a", 5)
    limiter.try_take("b", 1)
    clock.now += 10  # both refill to full
    limiter.try_take("c", 5)
    assert limiter.try_take("c", 1) is not None  # c's bucket survived the pruning
    assert limiter.try_take("a", 5) is None  # a forgotten bucket starts full, as it was
