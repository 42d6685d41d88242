"""One sender per product, each speaking that product's public intake API (``payloads.py``,
``otlp_wire.py`` build the bodies), over ``egress.http.PinnedHttp`` (SSRF-checked, pinned,
no redirects). ``send`` returns one ``Outcome`` per item, in order.

What is retried: network errors, 408/429/5xx (OTLP: only 429, 502, 503, 504, as its spec
says), with the destination's Retry-After honoured by the caller's backoff. 413 (too large):
the batch is split in halves and each half sent; one item still too large fails. Any other
4xx fails (wrong credentials or URL: retrying would not help). Elastic answers 200 with
per-item results: ``created`` and 409 (already there: a retry of a batch that half-landed)
are delivered, 429 and 5xx retried, the rest failed with Elastic's reason."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from faramesh_cloud.egress.http import Outcome, PinnedHttp, http_outcome
from faramesh_cloud.egress.ssrf import Resolver, UnsafeDestination, system_resolver
from faramesh_cloud.forwarding import otlp_wire, payloads
from faramesh_cloud.forwarding.domain import Destination, Item, Kind

OTLP_RETRYABLE = frozenset({429, 502, 503, 504})
DATADOG_SITES = ("datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com",
                 "ddog-gov.com")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where Datadog is reached (None: from the destination's site, the real intake hosts)."""

    datadog_logs: str | None = None
    datadog_api: str | None = None


def datadog_logs_base(site: str, endpoints: Endpoints) -> str:
    return endpoints.datadog_logs or f"https://http-intake.logs.{site}"


def datadog_api_base(site: str, endpoints: Endpoints) -> str:
    return endpoints.datadog_api or f"https://api.{site}"


def otlp_headers(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` (the OTEL_EXPORTER_OTLP_HEADERS form; values URL-decoded) as headers."""
    from urllib.parse import unquote

    headers: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"header {part.strip()!r} is not name=value")
        headers[key.strip().lower()] = unquote(value.strip())
    return headers


Post = Callable[[Sequence[Item]], Awaitable[list[Outcome]]]


class Senders:
    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver, endpoints: Endpoints | None = None,
                 timeout_s: float = 10.0) -> None:
        self.http = PinnedHttp(allow_private=allow_private, resolver=resolver, timeout_s=timeout_s,
                               user_agent="faramesh-cloud-forwarding/1")
        self._endpoints = endpoints or Endpoints()

    async def close(self) -> None:
        await self.http.close()

    async def send(self, destination: Destination, secret: dict[str, str], items: Sequence[Item]) -> list[Outcome]:
        kinds = {item.kind for item in items}
        if len(kinds) != 1:
            raise ValueError("one send carries DPRs or metrics, not both")
        metrics = kinds == {"metrics"}
        post = self._poster(destination, secret, metrics)
        return await _split_on_413(post, list(items))

    def _poster(self, destination: Destination, secret: dict[str, str], metrics: bool) -> Post:
        c = destination.config
        match destination.kind:
            case Kind.DATADOG:
                site = str(c.get("site") or "datadoghq.com")
                headers = {"dd-api-key": secret["api_key"], "content-type": "application/json",
                           "content-encoding": "gzip"}
                if metrics:
                    url = datadog_api_base(site, self._endpoints).rstrip("/") + "/api/v2/series"
                    return self._simple(url, headers, payloads.datadog_series)
                url = datadog_logs_base(site, self._endpoints).rstrip("/") + "/api/v2/logs"
                return self._simple(url, headers, payloads.datadog_logs)
            case Kind.SPLUNK_HEC:
                url = str(c["url"]).rstrip("/") + "/services/collector/event"
                headers = {"authorization": f"Splunk {secret['token']}", "content-type": "application/json"}
                return self._simple(url, headers, lambda items: payloads.splunk_events(items, c))
            case Kind.ELASTIC:
                url = str(c["url"]).rstrip("/") + "/_bulk"
                headers = {"authorization": f"ApiKey {secret['api_key']}", "content-type": "application/x-ndjson"}
                return lambda items: self._elastic(url, headers, items, c)
            case Kind.GRAFANA_OTLP | Kind.OTLP:
                if destination.kind == Kind.GRAFANA_OTLP:
                    basic = base64.b64encode(f"{c['instance_id']}:{secret['token']}".encode()).decode()
                    headers = {"authorization": f"Basic {basic}"}
                else:
                    headers = otlp_headers(secret.get("headers", ""))
                headers["content-type"] = "application/x-protobuf"
                path = "/v1/metrics" if metrics else "/v1/logs"
                body = otlp_wire.metrics_request if metrics else otlp_wire.logs_request
                return self._simple(str(c["url"]).rstrip("/") + path, headers, body, OTLP_RETRYABLE)
        raise ValueError(f"unknown destination kind {destination.kind}")

    def _simple(self, url: str, headers: dict[str, str], body: Callable[[Sequence[Item]], bytes],
                retryable: frozenset[int] | None = None) -> Post:
        async def post(items: Sequence[Item]) -> list[Outcome]:
            outcome = await self._post(url, body(items), headers, retryable)
            return [outcome] * len(items)
        return post

    async def _post(self, url: str, content: bytes, headers: dict[str, str],
                    retryable: frozenset[int] | None = None) -> Outcome:
        try:
            response = await self.http.post(url, content, headers)
        except UnsafeDestination as exc:
            return Outcome(False, retry=False, error=f"refused: {exc}")
        except httpx.HTTPError as exc:
            return Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])
        return http_outcome(response, retryable)

    async def _elastic(self, url: str, headers: dict[str, str], items: Sequence[Item],
                       config: dict[str, Any]) -> list[Outcome]:
        try:
            response = await self.http.post(url, payloads.elastic_bulk(items, config), headers)
        except UnsafeDestination as exc:
            return [Outcome(False, retry=False, error=f"refused: {exc}")] * len(items)
        except httpx.HTTPError as exc:
            return [Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])] * len(items)
        outcome = http_outcome(response)
        if not outcome.delivered:
            return [outcome] * len(items)
        try:
            answer = response.json()
            results = [next(iter(entry.values())) for entry in answer["items"]]
        except (ValueError, KeyError, TypeError, StopIteration):
            return [Outcome(False, retry=True, status=response.status_code,
                            error="Elastic answered no bulk response")] * len(items)
        if not answer.get("errors"):
            return [Outcome(True, status=int(r.get("status", 200))) for r in results]
        return [_elastic_item(r) for r in results]


def _elastic_item(result: dict[str, Any]) -> Outcome:
    status = int(result.get("status", 0))
    if 200 <= status < 300 or status == 409:  # 409: the document is there already (a retried batch)
        return Outcome(True, status=status)
    error = result.get("error") or {}
    reason = f"{error.get('type', '')}: {error.get('reason', '')}" if isinstance(error, dict) else str(error)
    return Outcome(False, retry=status == 429 or status >= 500, status=status, error=f"Elastic {status} {reason}"[:500])


async def _split_on_413(post: Post, items: list[Item]) -> list[Outcome]:
    outcomes = await post(items)
    if len(items) > 1 and any(o.status == 413 for o in outcomes):
        half = len(items) // 2
        return [*await _split_on_413(post, items[:half]), *await _split_on_413(post, items[half:])]
    return outcomes

