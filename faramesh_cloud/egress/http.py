"""HTTP posts to destinations people configure (and reads from the git providers they
connect), and the retry rule senders share.

``PinnedHttp.post`` and ``PinnedHttp.get`` resolve and checks the URL with the SSRF guard just before the request
and connects to the checked address (the host name kept for Host and TLS SNI/certificate
checks; DNS rebinding cannot swap the address), never follows redirects and keeps no
connection alive (a pooled connection is keyed by the pinned address).

``backoff_s``: capped exponential backoff with jitter, never sooner than a ``Retry-After``
the destination asked for (``retry_after_s``: seconds or an HTTP date)."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from faramesh_cloud.egress.ssrf import Resolver, check_url, system_resolver


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    retry: bool = False
    status: int | None = None
    error: str = ""
    retry_after_s: float | None = None  # what the destination asked for (429/503 Retry-After)


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_s(attempts: int, initial_s: float, max_s: float, jitter: float = 1.0,
              asked_s: float | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: initial * 2^(attempts-1), capped, jittered;
    at least what the destination asked for (capped at ``max_s`` too: a destination cannot
    park deliveries for a day)."""
    wait = min(max_s, initial_s * 2 ** max(0, attempts - 1)) * jitter
    if asked_s is not None:
        wait = max(wait, min(max_s, asked_s))
    return wait


def http_outcome(response: httpx.Response, retryable: frozenset[int] | None = None) -> Outcome:
    """2xx delivered; ``retryable`` statuses (default 408, 425, 429 and every 5xx) retried with
    the destination's Retry-After; any other status failed (the destination is wrong)."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, status=code)
    retry = code in retryable if retryable is not None else (code in (408, 425, 429) or code >= 500)
    return Outcome(False, retry=retry, status=code, error=f"HTTP {code}: {response.text[:300]}",
                   retry_after_s=retry_after_s(response.headers.get("retry-after")))


class BodyTooLarge(ValueError):
    """An answer longer than the caller's limit (nothing more of it was read)."""


class PinnedHttp:
    """``user_agent``: sent unless a request's headers name one; None leaves httpx's default."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver, timeout_s: float = 10.0,
                 user_agent: str | None = "faramesh-cloud/1") -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._timeout_s = timeout_s
        self._user_agent = user_agent
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False, trust_env=False,
                                             limits=httpx.Limits(max_keepalive_connections=0))
        return self._client

    async def post(self, url: str, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST to ``url`` at its checked address; raises ``UnsafeDestination`` (refused) or
        ``httpx.HTTPError`` (network)."""
        target = await asyncio.to_thread(check_url, url, allow_private=self._allow_private, resolver=self._resolver)
        agent = {"user-agent": self._user_agent} if self._user_agent is not None else {}
        return await self._http().post(target.pinned_url(), content=content,
                                       headers={**agent, **headers, "host": target.host_header},
                                       extensions={"sni_hostname": target.host})

    async def get(self, url: str, headers: Mapping[str, str], *, max_bytes: int | None = None) -> httpx.Response:
        """GET ``url`` at its checked address (the same guard and pinning as ``post``). With
        ``max_bytes``, the body is read in chunks and a longer one raises ``BodyTooLarge``
        before more than ``max_bytes`` (+ one chunk) is held: a destination cannot fill memory."""
        target = await asyncio.to_thread(check_url, url, allow_private=self._allow_private, resolver=self._resolver)
        agent = {"user-agent": self._user_agent} if self._user_agent is not None else {}
        request = self._http().build_request("GET", target.pinned_url(),
                                             headers={**agent, **headers, "host": target.host_header},
                                             extensions={"sni_hostname": target.host})
        response = await self._http().send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decoded: a compressed bomb stops at the limit too
                body += chunk
                if max_bytes is not None and len(body) > max_bytes:
                    raise BodyTooLarge(f"the answer from {target.host} is over {max_bytes} bytes")
        finally:
            await response.aclose()
        kept = [(k, v) for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=kept, content=bytes(body), request=request)
