"""``egress.http.PinnedHttp`` over a real local HTTP server: the user agent it sends (its own,
or httpx's when given none, as notifications' webhooks always have)."""

from __future__ import annotations

import asyncio
import http.server
import threading

import httpx
import pytest

from faramesh_cloud.egress.http import PinnedHttp


@pytest.mark.parametrize(("user_agent", "sent"), [("faramesh-cloud-test/1", "faramesh-cloud-test/1"),
                                                  (None, f"python-httpx/{httpx.__version__}")])
def test_pinned_posts_carry_its_user_agent_or_none_of_its_own(user_agent: str | None, sent: str) -> None:
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("user-agent"))
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    async def post() -> int:
        pinned = PinnedHttp(allow_private=True, user_agent=user_agent)
        try:
            response = await pinned.post(f"http://127.0.0.1:{server.server_address[1]}/x", b"{}", {})
            return response.status_code
        finally:
            await pinned.close()

    try:
        assert asyncio.run(post()) == 204
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [sent]
