"""Identity settings (one typed object, built by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    # A session ends this long after sign-in, or after this long without a request.
    session_ttl_s: int = 12 * 3600
    session_idle_s: int = 2 * 3600
    invitation_ttl_s: int = 7 * 24 * 3600
    # Password sign-in throttling per (client IP, email).
    max_failures: int = 5
    failure_window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    # argon2id cost: tune to the hardware (RFC 9106 second recommendation by default).
    password_time_cost: int = 3
    password_memory_kib: int = 65536
