"""The gateway's proxy to ingest's HTTP feeds (``serve gateway``), against a real upstream that
answers with what it received: path, query, body and headers arrive as sent, the client's
address is passed on only as the gateway's own server believes it (``http_trusted_proxies``),
a body over the limit never reaches the upstream, and the answer comes back as the upstream
gave it. Real uvicorn on both sides."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from faramesh_cloud.runtime.feeds_proxy import IngestHttpProxy
from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer

pytestmark = [pytest.mark.integration]

LIMIT = 64 * 1024


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Upstream:
    url: str
    seen: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    port = _port()
    received = Upstream(f"http://127.0.0.1:{port}")

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        seen = {"path": request.url.path, "query": request.url.query, "size": len(body),
                "headers": {k: v for k, v in request.headers.items()}}
        received.seen.append(seen)
        return JSONResponse({"echo": seen}, status_code=202, headers={"X-Upstream": "ingest"})

    server = HttpServer(Starlette(routes=[Route("/v1/{rest:path}", echo, methods=["GET", "POST"])]),
                        "127.0.0.1", port)
    await server.start()
    yield received
    await server.stop()


@pytest.fixture(params=[(), ("127.0.0.1",)], ids=["no-trusted-proxy", "trusted-local-proxy"])
async def gateway(request: pytest.FixtureRequest, upstream: Upstream) -> AsyncIterator[tuple[str, bool]]:
    proxy = IngestHttpProxy(upstream.url, max_body_bytes=LIMIT)
    port = _port()
    server = HttpServer(Starlette(routes=[Mount("/v1", app=proxy)]), "127.0.0.1", port,
                        HttpOptions(trusted_proxies=request.param))
    await server.start()
    yield f"http://127.0.0.1:{port}", bool(request.param)
    await server.stop()
    await proxy.close()


async def test_a_request_reaches_ingest_as_sent_and_its_answer_comes_back(
        gateway: tuple[str, bool], upstream: Upstream) -> None:
    base, trusted = gateway
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.post("/v1/webhooks/faramesh/abc", params={"x": "1 2"}, content=b"e" * 1000,
                                   headers={"X-Faramesh-Signature": "sha256=ab", "Authorization": "Bearer k",
                                            "X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9",
                                            "X-Real-IP": "203.0.113.9"})
    assert answer.status_code == 202 and answer.headers["x-upstream"] == "ingest"
    [seen] = upstream.seen
    assert answer.json() == {"echo": seen}
    assert (seen["path"], seen["query"], seen["size"]) == ("/v1/webhooks/faramesh/abc", "x=1+2", 1000)
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["x-faramesh-signature"] == "sha256=ab" and headers["authorization"] == "Bearer k"
    # The gateway's server believed the header only from a trusted proxy; what it believed is
    # all that is passed on, and nothing else the client claimed.
    assert headers["x-forwarded-for"] == ("203.0.113.9" if trusted else "127.0.0.1")
    assert "forwarded" not in headers and "x-real-ip" not in headers
    assert headers["x-forwarded-proto"] == "http"


async def test_a_body_over_the_limit_is_refused_before_anything_reaches_ingest(
        gateway: tuple[str, bool], upstream: Upstream) -> None:
    base, _ = gateway

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024

    async with httpx.AsyncClient(base_url=base) as client:
        declared = await client.post("/v1/ingest/dpr", content=b"x" * (LIMIT + 1))
        streamed = await client.post("/v1/ingest/dpr", content=chunked())
        fits = await client.post("/v1/ingest/dpr", content=b"x" * LIMIT)
    for refused in (declared, streamed):
        assert refused.status_code == 413 and str(LIMIT) in refused.json()["error"]
    assert fits.status_code == 202
    assert [s["size"] for s in upstream.seen] == [LIMIT]


async def test_ingest_down_is_a_503_in_the_feeds_error_shape() -> None:
    proxy = IngestHttpProxy(f"http://127.0.0.1:{_port()}", max_body_bytes=LIMIT)  # nothing listens
    port = _port()
    server = HttpServer(Starlette(routes=[Mount("/v1", app=proxy)]), "127.0.0.1", port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            down = await client.post("/v1/ingest/dpr", content=b"{}", headers={"Content-Type": "application/json"})
    finally:
        await server.stop()
        await proxy.close()
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert json.loads(down.content) == {
        "error": "Cloud's ingest service is not answering; nothing was stored, send it again later"}
