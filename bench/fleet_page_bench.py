"""Benchmark: what one Fleet page request costs with the gateway's ``FleetReads`` in process
(``FleetQuery``) and over the fleet service's internal gRPC API on loopback (``FleetQueryClient``
-> mutual TLS 1.3 -> ``FleetQueryServicer`` -> ``FleetQuery``), on the same data.

    python bench/fleet_page_bench.py [--stacks 12] [--agents 6] [--requests 200]

One process, as ``faramesh-cloud up`` is: embedded PostgreSQL in a temporary dir (all
migrations), one organisation with ``--stacks`` registered stacks, each with a status report,
health, a provider and ``--agents`` agents with a daily budget and a credential, fed through
the real fleet processor and sink; a signed-in Owner; the real gateway app (``create_app`` +
``mount_fleet``) driven by httpx over ASGI (no HTTP socket: the same for both, so the
difference is the fleet reads). Pages: the Fleet list, a stack's overview, its Agents tab,
Home, and the REST stack list. Requests alternate between the two apps (A B A B ...) after a
warm-up; per request: wall time and the process's CPU time (client, gateway and, for gRPC,
the fleet servicer: everything ``up`` would spend). Also counts the ``FleetReads`` calls one
page makes. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faramesh_cloud.rpc.tls13 import require_tls13_env

require_tls13_env()  # before grpc is imported

import httpx  # noqa: E402
from faramesh_cloud_api.sync.v1 import agent_state_pb2, fleet_pb2  # noqa: E402
from google.protobuf.duration_pb2 import Duration  # noqa: E402
from google.protobuf.message import Message as Proto  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from faramesh_cloud.config import Settings  # noqa: E402
from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key  # noqa: E402
from faramesh_cloud.fleet.client import FleetQueryClient  # noqa: E402
from faramesh_cloud.fleet.processor import FleetProcessor  # noqa: E402
from faramesh_cloud.fleet.query import FleetQuery  # noqa: E402
from faramesh_cloud.fleet.servicer import internal_server  # noqa: E402
from faramesh_cloud.fleet.sink import FleetSink  # noqa: E402
from faramesh_cloud.gateway.app import Status, create_app  # noqa: E402
from faramesh_cloud.gateway.web.deps import WebConfig, WebDeps  # noqa: E402
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet  # noqa: E402
from faramesh_cloud.identity.config import IdentityConfig  # noqa: E402
from faramesh_cloud.identity.service import Identity  # noqa: E402
from faramesh_cloud.log.port import Message  # noqa: E402
from faramesh_cloud.platform_audit.store import PlatformAuditLog  # noqa: E402
from faramesh_cloud.rpc.internal_pki import embedded  # noqa: E402
from faramesh_cloud.runtime.platform import open_platform  # noqa: E402
from faramesh_cloud.signing.keys import load_or_create_signing_key  # noqa: E402
from faramesh_cloud.sql.database import Database  # noqa: E402
from faramesh_cloud.stacks.store import StackStore  # noqa: E402

PASSWORD = "bench-password-Fleet-1"
SLUG = "bench"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _message(org: str, stack: str, seq: int, kind: str, payload: Proto) -> Message:
    headers = Origin(org, stack, "sync", seq, "buf-bench", time.time_ns()).headers()
    headers[H_KIND] = kind.encode()
    return Message(SYNC_ITEMS, 0, seq, stack_key(org, stack), payload.SerializeToString(), headers, 0)


async def seed(db: Database, org: str, stacks: int, agents: int) -> list[str]:
    store = StackStore(db)
    now = datetime.now(UTC)
    ids, updates = [], []
    processor = FleetProcessor()
    for i in range(stacks):
        stack, _ = await store.register_stack(org, f"stack-{i:02d}", ("production", "staging")[i % 2])
        ids.append(stack.stack_id)
        names = [f"agent-{j}" for j in range(agents)]
        items: list[tuple[str, Proto]] = [
            ("stack_status", fleet_pb2.StackStatus(
                observed_at=_ts(now), daemon_version="1.4.2", framework="langgraph",
                platform=fleet_pb2.Platform(os="linux", arch="amd64", kernel_version="6.8.0", hostname=f"h{i}"),
                enforcement_layers=[fleet_pb2.ENFORCEMENT_LAYER_SECCOMP, fleet_pb2.ENFORCEMENT_LAYER_LANDLOCK],
                runtime_mode=fleet_pb2.RUNTIME_MODE_ENFORCE,
                applied_config=fleet_pb2.AppliedConfig(git_commit=f"{i:040x}", applied_at=_ts(now),
                                                       git_remote_url="https://github.com/acme/gov.git",
                                                       operator="ci", summary="apply", policy_version="v1"),
                agents=[fleet_pb2.AgentSummary(agent_id=n, active_sessions=1) for n in names],
                providers=[fleet_pb2.ProviderStatus(name="faramesh/vault", version="0.3.1",
                                                    health=fleet_pb2.PROVIDER_HEALTH_HEALTHY)])),
            ("daemon_health", fleet_pb2.DaemonHealth(ok=True, observed_at=_ts(now), uptime=Duration(seconds=3600),
                                                     lifecycle_state=fleet_pb2.LIFECYCLE_STATE_READY)),
        ]
        for n in names:
            items.append(("budget_snapshot", agent_state_pb2.BudgetSnapshot(
                agent_id=n, scope=agent_state_pb2.BUDGET_SCOPE_DAILY, spent_usd=9.5, ceiling_usd=10.0,
                observed_at=_ts(now))))
            items.append(("credential_expiry", agent_state_pb2.CredentialExpiryEvent(
                agent_id=n, credential_source="vault", credential_scope="s", expires_at=_ts(now + timedelta(hours=3)),
                event_type=agent_state_pb2.CREDENTIAL_EVENT_TYPE_ISSUED, observed_at=_ts(now), credential_id=n)))
        updates += [processor.process(_message(org, stack.stack_id, seq, kind, payload))
                    for seq, (kind, payload) in enumerate(items, 1)]
    await FleetSink(db).write(updates)  # type: ignore[arg-type]
    async with db.connection() as conn:
        await conn.execute("UPDATE stacks SET last_seen_at = now() WHERE org_id = %s", (org,))
    return ids


class Counting:
    """Counts the port calls a page makes (wraps either adapter)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)
        return call


def app_with(reads: Any, deps: WebDeps, stacks: StackStore) -> Any:
    def status() -> Status:
        return Status(mode="embedded", data_dir="-", components={}, services=[], sync_address="-",
                      sync_cert=None, started_at="-")
    app = create_app(status, web=deps)
    mount_fleet(app, FleetPorts(query=reads, registry=stacks, cloud_url="https://bench:8443"))
    return app


async def signed_in(app: Any) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    form = await client.get("/login")
    token = CSRF.search(form.text)
    assert token
    done = await client.post("/login", data={"email": "owner@bench.test", "password": PASSWORD, "next": "/",
                                             "csrf_token": token.group(1)})
    assert done.status_code in (302, 303), done.text[:300]
    return client


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def measure(get: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    response = await get()
    assert response.status_code == 200, response.status_code
    return time.perf_counter() - wall, time.process_time() - cpu


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        work = Path(tmp)
        platform = await open_platform(Settings(data_dir=work / "data"), with_olap=False)
        try:
            db = platform.db
            identity = Identity(db, PlatformAuditLog(db), IdentityConfig(password_time_cost=1,
                                                                         password_memory_kib=1024))
            await identity.start()
            _, org = await identity.users.create_first_owner(email="owner@bench.test", name="Owner",
                                                             password=PASSWORD, org_slug=SLUG, org_name="Bench")
            stack_ids = await seed(db, org.org_id, args.stacks, args.agents)
            stacks = StackStore(db)
            deps = WebDeps(identity=identity, stacks=stacks, signing_key=load_or_create_signing_key(work),
                           config=WebConfig(secret_key="bench"))
            query = FleetQuery(db, stacks)
            server = internal_server(query, "127.0.0.1:0", embedded(work / "pki", "fleet"))
            await server.start()
            client = FleetQueryClient(server.address, embedded(work / "pki", "gateway"))
            local, remote = Counting(query), Counting(client)
            http = {"in-process": await signed_in(app_with(local, deps, stacks)),
                    "gRPC loopback": await signed_in(app_with(remote, deps, stacks))}
            stack = stack_ids[0]
            pages = {"Fleet list `/o/{org}/fleet`": f"/o/{SLUG}/fleet",
                     "stack overview": f"/o/{SLUG}/fleet/stacks/{stack}",
                     "stack Agents tab": f"/o/{SLUG}/fleet/stacks/{stack}/agents",
                     "Home `/o/{org}/`": f"/o/{SLUG}/",
                     "REST stack list": f"/api/v1/orgs/{SLUG}/fleet/stacks"}
            rows = []
            for label, path in pages.items():
                for c in http.values():  # warm-up
                    for _ in range(10):
                        await c.get(path)
                local.calls.clear()
                await http["in-process"].get(path)
                calls = sum(local.calls.values())
                samples: dict[str, list[tuple[float, float]]] = {k: [] for k in http}
                for _ in range(args.requests):
                    for kind, c in http.items():
                        samples[kind].append(await measure(lambda c=c, path=path: c.get(path)))  # type: ignore[misc]
                walls = {k: [w for w, _ in v] for k, v in samples.items()}
                cpus = {k: statistics.fmean(c for _, c in v) for k, v in samples.items()}
                a, b = "in-process", "gRPC loopback"
                rows.append(f"| {label} | {calls} | {statistics.median(walls[a]) * 1e3:.2f} / {pct(walls[a], 95) * 1e3:.2f} "
                            f"| {statistics.median(walls[b]) * 1e3:.2f} / {pct(walls[b], 95) * 1e3:.2f} "
                            f"| {cpus[a] * 1e3:.2f} | {cpus[b] * 1e3:.2f} | {cpus[b] / cpus[a]:.2f}x |")
            for c in http.values():
                await c.aclose()
            await client.close()
            await server.stop()
        finally:
            await platform.close()
    print(f"{args.stacks} stacks x {args.agents} agents, {args.requests} requests per page and adapter (alternating)\n")
    print("| page | FleetReads calls | in-process wall ms (median / p95) | gRPC wall ms (median / p95) "
          "| in-process CPU ms | gRPC CPU ms | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", type=int, default=12)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
