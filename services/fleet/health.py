"""Pure rules: a stack's sync status and health from what its daemon last reported."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

HEALTH_STATES: Final = ("healthy", "degraded", "unhealthy", "unknown")
SYNC_STATES: Final = ("connected", "disconnected", "never connected")


def sync_status(last_seen_at: datetime | None, now: datetime, disconnect_after_s: float) -> str:
    if last_seen_at is None:
        return "never connected"
    if now - last_seen_at > timedelta(seconds=disconnect_after_s):
        return "disconnected"
    return "connected"


def stack_health(ok: bool | None, lifecycle: str, down_backends: Sequence[str],
                 provider_health: Sequence[str]) -> str:
    """unknown: no health report yet; unhealthy: the daemon says not ok, or it halted;
    degraded: ok but a backend is unavailable, a provider is not healthy, or it is not
    (yet / any more) serving; healthy otherwise."""
    if ok is None:
        return "unknown"
    if not ok or lifecycle == "halt":
        return "unhealthy"
    if down_backends or lifecycle not in ("", "ready") or any(
            h in ("degraded", "unhealthy") for h in provider_health):
        return "degraded"
    return "healthy"


def commit_url(remote: str, commit: str) -> str:
    """A browsable link to the commit for GitHub/GitLab/Bitbucket-style https remotes; ''
    when the remote is not one (never a javascript: or other scheme)."""
    if not commit or not remote:
        return ""
    base = remote.strip()
    if base.startswith("git@") and ":" in base:
        host, path = base[4:].split(":", 1)
        base = f"https://{host}/{path}"
    if not base.startswith("https://"):
        return ""
    base = base.removesuffix(".git").rstrip("/")
    if "bitbucket.org" in base:
        return f"{base}/commits/{commit}"
    if "gitlab" in base:
        return f"{base}/-/commit/{commit}"
    return f"{base}/commit/{commit}"
