"""The gateway at the door, through the runtime's real HTTP server (uvicorn on loopback): which
address a request comes from (forwarded headers only from configured proxies), how large a
body may be (413 before it is read), NUL bytes (400 at the edge, never a 500 from PostgreSQL),
validation errors that do not echo the input, and connections that never finish their
request head (closed after the header timeout)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS
from faramesh_cloud.gateway.edge import EdgeLimits
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.http_server import HttpOptions
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.fixtures.gateway import csrf_of
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

# Generous bounds for "the server closed it": the configured timeouts are 1 s.
CLOSED_WITHIN_S = 20.0


async def _failed_logins(base: str, email: str, forwarded: list[str]) -> list[int]:
    codes = []
    for address in forwarded:
        async with httpx.AsyncClient(base_url=base) as client:  # a fresh client each time, as a bot would
            response = await sign_in_with(client, email, "guess", {"X-Forwarded-For": address})
            codes.append(response.status_code)
    return codes


async def sign_in_with(client: httpx.AsyncClient, email: str, password: str,
                       headers: dict[str, str]) -> httpx.Response:
    form = await client.get("/login", headers=headers)
    return await client.post("/login", headers=headers, data={"email": email, "password": password, "next": "/",
                                                               "csrf_token": csrf_of(form.text)})


async def _login_ips(audit_log: PlatformAuditLog, org_id: str) -> list[str]:
    return [e.actor.ip for e in await audit_log.entries(org_id) if e.action == "identity:session:login_failed"]


# -- forwarded headers ---------------------------------------------------------------------

async def test_a_rotating_x_forwarded_for_does_not_escape_the_lockout(
        served: str, people: People, audit_log: PlatformAuditLog) -> None:
    owner = await people.org("acme")
    codes = await _failed_logins(served, owner.email, [f"198.51.100.{n}" for n in range(1, 5)])
    assert codes == [401, 401, 429, 429]  # max_failures=3: the third failure locks, whatever the header says
    async with httpx.AsyncClient(base_url=served) as client:
        right = await sign_in_with(client, owner.email, PASSWORD, {"X-Forwarded-For": "203.0.113.99"})
    assert right.status_code == 429  # the right password does not help while locked
    assert set(await _login_ips(audit_log, owner.org.org_id)) == {"127.0.0.1"}  # the socket peer


@pytest.mark.parametrize("http_options", [HttpOptions(trusted_proxies=("127.0.0.1",))])
async def test_a_configured_proxy_is_believed_for_the_address_it_appends(
        served: str, people: People, audit_log: PlatformAuditLog) -> None:
    owner = await people.org("acme")
    # Behind a proxy that appends the peer it saw: what the client put first is not believed.
    spoofed = [f"10.9.9.{n}, 192.0.2.44" for n in range(1, 5)]
    assert await _failed_logins(served, owner.email, spoofed) == [401, 401, 429, 429]
    assert set(await _login_ips(audit_log, owner.org.org_id)) == {"192.0.2.44"}
    # Another client behind the same proxy is not locked out by the first one's failures.
    async with httpx.AsyncClient(base_url=served) as client:
        other = await sign_in_with(client, owner.email, PASSWORD, {"X-Forwarded-For": "192.0.2.45"})
    assert other.status_code == 303


# -- request bodies ------------------------------------------------------------------------

async def _raw(base: str, request: bytes, then: bytes = b"") -> tuple[bytes, bool]:
    """Send ``request`` (and ``then``, ignoring a reset), read the answer until the server
    closes; (answer, closed by the server)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        if then:
            try:
                writer.write(then)
                await writer.drain()
            except ConnectionError:
                pass
        try:
            answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN_S)
            return answer, True
        except TimeoutError:
            return b"", False
    finally:
        writer.close()


async def test_a_declared_50_mb_body_is_refused_before_it_is_read(served: str) -> None:
    head = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 52428800\r\n\r\n")
    answer, closed = await _raw(served, head + b"email=a")  # 7 of the 50 MB announced
    assert answer.startswith(b"HTTP/1.1 413 ") and closed
    assert b"exceeds 4194304 bytes" in answer


@pytest.mark.parametrize("edge_limits", [EdgeLimits(max_body_bytes=64 * 1024, body_limits={"/api/v1/uploads/": 1 << 20})])
async def test_a_chunked_body_is_cut_off_at_the_configured_limit(served: str) -> None:
    head = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"a" * 16384
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    answer, closed = await _raw(served, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413 ") and closed and b"exceeds 65536 bytes" in answer
    async with httpx.AsyncClient(base_url=served) as client:
        small = await client.post("/login", data={"email": "x"})
        # A path with its own larger limit is let through to its route (none here: 404, not 413).
        upload = await client.post("/api/v1/uploads/blob", content=b"b" * (200 * 1024))
    assert small.status_code == 403  # under the limit: the route answers (no CSRF token)
    assert upload.status_code == 404


async def test_validation_errors_name_the_field_without_echoing_the_input(
        served: str, people: People) -> None:
    owner = await people.org("acme")
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.OWNER, await people.principal(owner))
    secret = "s3cr3t-" + uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {key}"}) as client:
        bad = await client.post("/api/v1/orgs/acme/api-keys", json={"name": secret, "role": secret})
        not_json = await client.post("/api/v1/orgs/acme/api-keys", content=b"{" + secret.encode(),
                                     headers={"Content-Type": "application/json"})
    assert bad.status_code == 422 and not_json.status_code == 422
    assert secret not in bad.text and secret not in not_json.text
    problem = bad.json()["detail"][0]
    assert problem["loc"] == ["body", "role"] and "input" not in problem and problem["msg"]


# -- NUL bytes -----------------------------------------------------------------------------

async def test_nul_bytes_are_refused_at_the_edge(served: str, people: People) -> None:
    owner = await people.org("acme")
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.OWNER, await people.principal(owner))
    async with httpx.AsyncClient(base_url=served) as browser:
        login = await sign_in_with(browser, "a\x00@example.test", "x", {})
        sso = await browser.get("/sso/start", params={"org": "ac\x00me"})
        form = await browser.get("/login")
        multipart = await browser.post("/login", files={"email": (None, "a\x00@example.test"), "password": (None, "x"),
                                                        "csrf_token": (None, csrf_of(form.text))})
    api = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=served, headers=api) as client:
        filters = {name: await client.get(f"/api/v1/orgs/acme/{path}", params={name: "x\x00y"})
                   for name, path in (("stack", "approvals"), ("agent", "approvals"), ("rule", "approvals"),
                                      ("tool", "approvals/history"), ("action", "audit-log"))}
        slug_api = await client.get("/api/v1/orgs/ac%00me/members")
        slug_page = await client.get("/o/ac%00me/")
        json_string = await client.post("/api/v1/orgs/acme/api-keys", json={"name": "ci\x00", "role": "viewer"})
        nested = await client.put("/api/v1/orgs/acme/sso", content=json.dumps(
            {"enabled": False, "mappings": {"ad\x00min": "admin"}}), headers={"Content-Type": "application/json"})
    answers = {"login": login, "sso": sso, "multipart": multipart, **filters, "slug_api": slug_api, "slug_page": slug_page,
               "json": json_string, "json_key": nested}
    assert {name: r.status_code for name, r in answers.items()} == {name: 400 for name in answers}
    assert "NUL" in login.json()["detail"] and "form field" in login.json()["detail"]
    assert "query string" in filters["stack"].json()["detail"] and "path" in slug_api.json()["detail"]
    assert "JSON string" in json_string.json()["detail"]
    async with httpx.AsyncClient(base_url=served, headers=api) as client:
        # Text that merely spells an escape is not a NUL: it reaches the route.
        literal = await client.get("/api/v1/orgs/acme/approvals", params={"agent": "%00 and \\u0000"})
    assert literal.status_code == 200


# -- slow request heads --------------------------------------------------------------------

@pytest.mark.parametrize("http_options", [HttpOptions(header_timeout_s=1.0, keep_alive_s=1)])
async def test_connections_that_never_finish_their_request_head_are_closed(served: str) -> None:
    partial, closed = await _raw(served, b"GET /healthz HT")  # the slowloris opening
    assert closed and partial == b""
    silent, closed_silent = await _raw(served, b"")
    assert closed_silent and silent == b""
    # A complete request is answered; the kept-alive connection then idles and is closed too.
    answer, closed_after = await _raw(served, b"GET /login HTTP/1.1\r\nHost: x\r\n\r\nGET /login HT")
    assert answer.startswith(b"HTTP/1.1 ") and b"HTTP/1.1 " not in answer[9:] and closed_after


@pytest.mark.parametrize("http_options", [HttpOptions(header_timeout_s=1.0)])
async def test_a_slow_but_complete_request_head_within_the_timeout_is_served(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for piece in (b"GET /setup HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.1)
        answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN_S)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


# -- the runtime wires the settings in -------------------------------------------------------

async def test_the_gateway_service_applies_the_http_settings(
        database: Database, postgres_log: PostgresLog, people: People, tmp_path: Path) -> None:
    from tests.integration.test_gateway_daemon_feeds import free_port

    await postgres_log.create_topic(LEGACY_DECISIONS, DEFAULT_PARTITIONS[LEGACY_DECISIONS])
    settings = Settings(data_dir=tmp_path, http_port=free_port(), http_max_body_bytes=2048,
                        http_header_timeout_s=1.0)
    gateway = GatewayService(RuntimeContext(Platform(settings, database, postgres_log, None), "now", []))  # type: ignore[arg-type]
    await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=settings.http_url) as client:
            big = await client.post("/login", content=b"e" * 4096,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
            nul = await client.get("/login", params={"email": "\x00"})
            # The daemon feeds (mounted at /v1) get the refusal in their own error shape.
            feed = await client.post("/v1/ingest/dpr", json={"events": [{"agent_id": "a\x00"}]},
                                     headers={"Authorization": "Bearer fmc_sk_x"})
        _, closed = await _raw(settings.http_url, b"GET / HTT")
    finally:
        await gateway.stop()
    assert big.status_code == 413 and "2048" in big.json()["detail"]
    assert nul.status_code == 400 and closed
    assert feed.status_code == 400 and "NUL" in feed.json()["error"]
