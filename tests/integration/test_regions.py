"""Two regions on one box: "us-east" and "eu-central", each a distributed install by Settings
(`faramesh-cloud up --region` on its own external PostgreSQL database, its own Kafka broker
(Tansu) and its own chDB), sharing one global directory database. Through the wires people
and daemons use: a daemon of us-east is refused by eu-central's sync channel and HTTP feeds
with a redirect hint naming us-east; a person of us-east signing in at eu-central is sent to
us-east; nothing eu-central answers (search, fleet, approvals, stacks) holds us-east's data,
its database has no row of it and its Kafka none of us-east's DPRs. Then us-east goes down:
its daemon's push fails retryably (it keeps its buffer), eu-central carries on untouched."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import psycopg
import pytest

from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.log.kafka import KafkaLog
from faramesh_cloud.rpc.sync_client import SyncClient, SyncError
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.identity import PASSWORD
from tests.fixtures.kafka import TEST_GROUP_TIMEOUTS, KafkaBroker, start_broker, stop_broker
from tests.fixtures.postgres import fresh_database
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.chdb]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EAST, EU = "us-east", "eu-central"


@dataclass
class RegionInstall:
    name: str
    data_dir: Path
    pg_url: str
    broker: KafkaBroker
    http: int = field(default_factory=free_port)
    sync: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    @property
    def sync_address(self) -> str:
        return f"127.0.0.1:{self.sync}"

    def start(self, directory_url: str, urls: str, syncs: str) -> None:
        env = {**os.environ, "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL": directory_url,
               "FARAMESH_CLOUD_REGION_URLS": urls, "FARAMESH_CLOUD_REGION_SYNC_ADDRESSES": syncs,
               "FARAMESH_CLOUD_POSTGRES_URL": self.pg_url, "FARAMESH_CLOUD_KAFKA_BOOTSTRAP": self.broker.bootstrap,
               "FARAMESH_CLOUD_KAFKA_SINGLE_BROKER": "true",
               "FARAMESH_CLOUD_CLICKHOUSE_DSN": f"chdb:///{self.data_dir / 'clickhouse'}",
               "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())}
        with (self.data_dir.parent / f"{self.name}.out").open("wb") as out:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "faramesh_cloud", "up", "--region", self.name, "--data-dir", str(self.data_dir),
                 "--http-port", str(self.http), "--sync-port", str(self.sync)],
                env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"region {self.name} did not start:\n{self.output()[-4000:]}")

    def output(self) -> str:
        return (self.data_dir.parent / f"{self.name}.out").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def daemon(self, key: str, at: RegionInstall | None = None) -> SyncClient:
        """A daemon holding ``key``, dialling ``at``'s sync channel (default: this region's)."""
        target = at or self
        cert = (target.data_dir / "tls" / "sync-cert.pem").read_bytes()
        return SyncClient(target.sync_address, key, root_certificates=cert)


@dataclass
class TwoRegions:
    east: RegionInstall
    eu: RegionInstall
    directory_url: str


@pytest.fixture(scope="module")
def regions(embedded_postgres: EmbeddedPostgres, pg_template: str, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[TwoRegions]:
    root = Path(tmp_path_factory.mktemp("regions"))
    with fresh_database(embedded_postgres, pg_template, "east") as east_pg, \
            fresh_database(embedded_postgres, pg_template, "eu") as eu_pg, \
            fresh_database(embedded_postgres, pg_template, "dir") as directory_url:
        brokers = [start_broker(root / "east-kafka.log"), start_broker(root / "eu-kafka.log")]
        east = RegionInstall(EAST, root / "east", east_pg, brokers[0])
        eu = RegionInstall(EU, root / "eu", eu_pg, brokers[1])
        urls = f"{EAST}={east.base},{EU}={eu.base}"
        syncs = f"{EAST}={east.sync_address},{EU}={eu.sync_address}"
        try:
            east.start(directory_url, urls, syncs)
            eu.start(directory_url, urls, syncs)
            east.wait_healthy()
            eu.wait_healthy()
            yield TwoRegions(east, eu, directory_url)
        finally:
            east.stop()
            eu.stop()
            for broker in brokers:
                stop_broker(broker)


class Owner:
    """A person at a region's gateway, first owner of a fresh organisation there."""

    def __init__(self, region: RegionInstall, email: str) -> None:
        self.region = region
        self.email = email
        self.http = httpx.AsyncClient(base_url=region.base, timeout=30)
        self.csrf = ""
        self.slug = ""

    async def set_up(self, slug: str) -> None:
        form = await self.http.get("/setup")
        assert form.status_code == 200, form.text[:300]
        answer = await self.http.post("/setup", data={
            "name": "Owner", "email": self.email, "password": PASSWORD, "org_name": slug.title(),
            "org_slug": slug, "csrf_token": _csrf(form.text)})
        assert answer.status_code == 303, answer.text[:500]
        self.slug = slug
        self.csrf = _csrf((await self.http.get(f"/o/{slug}/approvals")).text)

    async def register_stack(self, name: str) -> tuple[str, str]:
        answer = await self.http.post(f"/api/v1/orgs/{self.slug}/stacks", json={"name": name, "environment": ""},
                                      headers={"x-csrf-token": self.csrf})
        assert answer.status_code == 201, answer.text[:500]
        body = answer.json()
        return body["stack_id"], body["api_key"]

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def close(self) -> None:
        await self.http.aclose()


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def _push(client: SyncClient, records: list[bytes]) -> int:
    buffer_id = str(uuid.uuid4())
    await client.hello(buffer_id)
    answer = await client.push(buffer_id, [dpr_item(i + 1, raw) for i, raw in enumerate(records)])
    return int(answer.acked_through_sequence)


async def _records(owner: Owner, expected: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while True:
        answer = await owner.get(f"/api/v1/orgs/{owner.slug}/audit/records")
        assert answer.status_code == 200, answer.text[:300]
        records: list[dict[str, object]] = answer.json()["records"]
        if len(records) >= expected or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.3)


async def _keys_on_log(broker: KafkaBroker, expected: int) -> list[bytes]:
    """The keys of every record on the region's ``dpr.records.v1`` (a new group: from offset 0)."""
    log = KafkaLog(broker.bootstrap, group_timeouts=TEST_GROUP_TIMEOUTS)
    await log.start()
    try:
        consumer = await log.consumer(DPR_RECORDS, f"test-{uuid.uuid4().hex}")
        found: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(found) < expected and time.monotonic() < deadline:
            found += [m.key for m in await consumer.poll(500, 1.0)]
        found += [m.key for m in await consumer.poll(500, 1.0)]  # anything beyond: a failure
        await consumer.close()
        return found
    finally:
        await log.close()


async def test_two_regions_share_only_the_directory(regions: TwoRegions) -> None:
    east, eu = regions.east, regions.eu
    ana, bo = Owner(east, "ana@east.example.test"), Owner(eu, "bo@eu.example.test")
    try:
        await ana.set_up("alpha")
        await bo.set_up("beta")
        east_stack, east_key = await ana.register_stack("payments")
        eu_stack, eu_key = await bo.register_stack("billing")

        # Each region's daemons sync with their own region.
        east_records, eu_records = synthetic_records(3, seed=1), synthetic_records(2, seed=2)
        async with east.daemon(east_key) as daemon:
            assert await _push(daemon, east_records) == 3
        async with eu.daemon(eu_key) as daemon:
            assert await _push(daemon, eu_records) == 2

        # us-east's daemon at eu-central's sync channel: refused with the redirect hint.
        async with east.daemon(east_key, at=eu) as lost:
            with pytest.raises(SyncError) as refused:
                await lost.hello(str(uuid.uuid4()))
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert EAST in refused.value.message and east.sync_address in refused.value.message
        assert refused.value.reason == "STACK_IN_OTHER_REGION"
        assert refused.value.metadata == {"region": EAST, "sync_address": east.sync_address, "url": east.base}
        async with eu.daemon(east_key.replace(east_key[7:23], "0" * 16)) as unknown:  # a key no region issued
            with pytest.raises(SyncError) as stranger:
                await unknown.hello(str(uuid.uuid4()))
        assert stranger.value.code == grpc.StatusCode.UNAUTHENTICATED and not stranger.value.reason

        # ... and at eu-central's HTTP feeds: 421 with the same hint, nothing stored.
        async with httpx.AsyncClient(base_url=eu.base, timeout=10) as http:
            bearer = {"authorization": f"Bearer {east_key}"}
            feed = await http.post("/v1/ingest/dpr", headers=bearer, json={"agent_id": "a", "events": []})
            me = await http.get("/v1/auth/me", headers=bearer)
            hook = await http.post(f"/v1/webhooks/faramesh/{east_stack}", content=b"{}",
                                   headers={"content-type": "application/json"})
        for answer in (feed, me, hook):
            assert answer.status_code == 421, answer.text
            assert answer.json()["region"] == EAST and answer.json()["sync_address"] == east.sync_address
            assert answer.json()["url"] == east.base

        # A person of us-east signing in at eu-central is sent to us-east's sign-in.
        async with httpx.AsyncClient(base_url=eu.base, timeout=30) as browser:
            form = await browser.get("/login")
            sent = await browser.post("/login", data={"email": ana.email, "password": PASSWORD, "next": "/o/alpha/",
                                                      "csrf_token": _csrf(form.text)})
            assert sent.status_code == 303, sent.text[:300]
            target = urlsplit(sent.headers["location"])
            assert f"{target.scheme}://{target.netloc}" == east.base and target.path == "/login"
            assert parse_qs(target.query) == {"email": [ana.email], "next": ["/o/alpha/"], "region": [EAST]}
            stranger_form = await browser.get("/login")
            nobody = await browser.post("/login", data={"email": "nobody@example.test", "password": PASSWORD,
                                                        "csrf_token": _csrf(stranger_form.text)})
            assert nobody.status_code == 401  # unknown everywhere: the ordinary refusal
        async with httpx.AsyncClient(timeout=30) as browser:  # where she was sent, she signs in
            page = await browser.get(sent.headers["location"])
            assert page.status_code == 200 and ana.email in page.text
            signed_in = await browser.post(f"{east.base}/login", data={
                "email": ana.email, "password": PASSWORD, "next": "/o/alpha/", "csrf_token": _csrf(page.text)})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/o/alpha/"

        # Nothing of us-east is visible in eu-central, through any query its people can make.
        east_seen, eu_seen = await _records(ana, 3), await _records(bo, 2)
        assert len(east_seen) == 3 and len(eu_seen) == 2
        assert not {r["record_id"] for r in east_seen} & {r["record_id"] for r in eu_seen}
        assert {r["stack_id"] for r in eu_seen} == {eu_stack}
        assert [s["stack_id"] for s in (await bo.get("/api/v1/orgs/beta/fleet/stacks")).json()] == [eu_stack]
        assert [s["stack_id"] for s in (await bo.get("/api/v1/orgs/beta/stacks")).json()] == [eu_stack]
        assert (await bo.get("/api/v1/orgs/beta/approvals")).json() == []
        for path in ("/api/v1/orgs/alpha/audit/records", "/api/v1/orgs/alpha/fleet/stacks",
                     f"/api/v1/orgs/beta/fleet/stacks/{east_stack}"):
            assert (await bo.get(path)).status_code == 404, path
        # Each region's DPRs are on its own Kafka only.
        assert all(k.endswith(f"/{eu_stack}".encode()) for k in await _keys_on_log(eu.broker, 2))
        assert len(await _keys_on_log(eu.broker, 2)) == 2
        east_keys = await _keys_on_log(east.broker, 3)
        assert len(east_keys) == 3 and all(k.endswith(f"/{east_stack}".encode()) for k in east_keys)
        status = (await ana.get("/api/v1/status")).json()
        assert status["mode"] == "distributed" and status["components"]["region"].startswith(f"{EAST} (directory ")
        with psycopg.connect(eu.pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM orgs WHERE slug = 'alpha'").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM stacks WHERE stack_id = %s", (east_stack,)).fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM users WHERE email = %s", (ana.email,)).fetchone() == (0,)

        # The directory holds where things live, and nothing else.
        with psycopg.connect(regions.directory_url) as conn:
            assert dict(conn.execute("SELECT slug, region FROM directory_orgs").fetchall()) == {
                "alpha": EAST, "beta": EU}
            assert dict(conn.execute("SELECT email, home_region FROM directory_users").fetchall()) == {
                ana.email: EAST, bo.email: EU}
            assert dict(conn.execute("SELECT key_id, region FROM directory_stack_keys").fetchall()) == {
                east_key[7:23]: EAST, eu_key[7:23]: EU}

        # us-east goes down: its daemons cannot sync (a retryable failure: they keep their
        # buffer); eu-central is untouched, and still sends us-east's people home.
        east.proc.kill()  # type: ignore[union-attr]
        east.proc.wait(timeout=30)  # type: ignore[union-attr]
        async with east.daemon(east_key) as stranded:
            with pytest.raises(SyncError) as down:
                await _push(stranded, synthetic_records(1, seed=3))
        assert down.value.code == grpc.StatusCode.UNAVAILABLE and down.value.retryable
        async with eu.daemon(eu_key) as daemon:
            buffer_id = str(uuid.uuid4())
            await daemon.hello(buffer_id)
            more = synthetic_records(4, seed=2)[2:]
            answer = await daemon.push(buffer_id, [dpr_item(i + 1, raw) for i, raw in enumerate(more)])
            assert answer.acked_through_sequence == 2
        assert len(await _records(bo, 4)) == 4
        async with httpx.AsyncClient(base_url=eu.base, timeout=30) as browser:
            form = await browser.get("/login")
            again = await browser.post("/login", data={"email": ana.email, "password": PASSWORD,
                                                       "csrf_token": _csrf(form.text)})
            assert again.status_code == 303 and again.headers["location"].startswith(f"{east.base}/login?")
    finally:
        await ana.close()
        await bo.close()

