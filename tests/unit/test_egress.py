"""The shared egress pieces (faramesh_cloud/egress): the SSRF guard's self-hosted escape hatch
never opens the cloud metadata endpoints; Retry-After in both forms; backoff capped, jittered
and never sooner than the destination asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faramesh_cloud.egress.http import backoff_s, retry_after_s
from faramesh_cloud.egress.ssrf import UnsafeDestination, check_host, check_url


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254",
                                     "64:ff9b::a9fe:a9fe"])
def test_metadata_endpoints_are_refused_even_when_private_destinations_are_allowed(address: str) -> None:
    with pytest.raises(UnsafeDestination, match="metadata"):
        check_host(address, 80, allow_private=True)
    assert check_host("10.0.0.5", 80, allow_private=True) == "10.0.0.5"  # other private addresses stay allowed
    with pytest.raises(UnsafeDestination, match="metadata") as refused:
        check_url("http://metadata.internal/latest", allow_private=True, resolver=lambda h, p: [address])
    assert "ALLOW_PRIVATE_DESTINATIONS" not in str(refused.value)  # the hatch would not help: not offered


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_s("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_s("soon", now) is None and retry_after_s(None, now) is None


def test_backoff_doubles_is_capped_and_honours_what_was_asked() -> None:
    assert [backoff_s(n, 5, 900) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_s(20, 5, 900) == 900
    assert backoff_s(1, 5, 900, 1.2) == 6.0
    assert backoff_s(1, 5, 900, asked_s=120) == 120  # Retry-After wins over a shorter backoff
    assert backoff_s(1, 5, 900, asked_s=86400) == 900  # but cannot park a destination for a day
