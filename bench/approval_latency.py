"""Benchmark: approval decision-to-daemon latency, end to end, embedded mode.

    python bench/approval_latency.py [--decisions 100] [--stacks 2] [--poll-interval 2] [--gap 0.25]

`faramesh-cloud up` runs in its own process (embedded PostgreSQL, the PostgreSQL log, every
service). Simulated daemons (the reference simulator: real WAL, buffer and sync loop over
gRPC/TLS 1.3) push pending approvals; an approver signed in to the gateway decides N of them
one at a time through the REST API (`POST /api/v1/orgs/{org}/approvals/{id}/decision`, the
same path as the Approve button). Per decision:

  received  decision committed (its `decided_at`, PostgreSQL's clock) -> the daemon's
            apply_delivery is called with it (the simulator's clock; same host)
  acked     decision committed -> the daemon's acknowledgement is recorded
            (`approval_deliveries.acked_at`, PostgreSQL's clock)

Two modes, each with its own stacks:
  long-poll  the daemon holds PollDecisions open (Cloud's max_poll_wait, 25 s); Cloud answers
             it when a decision for the stack commits (target: p95 under 1 s)
  polling    the daemon polls without waiting every --poll-interval seconds
             (target: p95 under the interval)
Decisions are spaced by a random gap (mean --gap s) so they do not arrive as one batch.
Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from faramesh_cloud.rpc.tls13 import require_tls13_env

require_tls13_env()  # before grpc is imported

import httpx  # noqa: E402
from faramesh_cloud_api.sync.v1 import deliveries_pb2  # noqa: E402

from faramesh_cloud.identity.config import IdentityConfig  # noqa: E402
from faramesh_cloud.identity.service import Identity  # noqa: E402
from faramesh_cloud.platform_audit.store import PlatformAuditLog  # noqa: E402
from faramesh_cloud.simulator.daemon import DaemonOptions  # noqa: E402
from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec  # noqa: E402
from faramesh_cloud.simulator.sync_parts import SyncOptions  # noqa: E402
from faramesh_cloud.sql.database import Database  # noqa: E402
from faramesh_cloud.stacks.store import StackStore  # noqa: E402

PASSWORD = "bench-password-Approvals-1"
SLUG = "bench"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


@dataclasses.dataclass
class ModeResult:
    name: str
    received: list[float]
    acked: list[float]
    missing: int


async def create_owner(db: Database) -> str:
    """The first user (Owner) and organisation of this fresh Cloud; returns the org id."""
    identity = Identity(db, PlatformAuditLog(db), IdentityConfig(password_time_cost=1, password_memory_kib=1024))
    await identity.start()
    _, org = await identity.users.create_first_owner(email="approver@bench.test", name="Approver",
                                                     password=PASSWORD, org_slug=SLUG, org_name="Bench")
    return org.org_id


async def register(db: Database, org_id: str, stacks: int, prefix: str) -> list[str]:
    store = StackStore(db)
    await store.start()
    return [(await store.register_stack(org_id, f"{prefix}-{i}"))[1] for i in range(stacks)]


async def sign_in(http: httpx.AsyncClient) -> str:
    form = await http.get("/login")
    token = CSRF.search(form.text)
    assert token, "no CSRF token on /login"
    done = await http.post("/login", data={"email": "approver@bench.test", "password": PASSWORD, "next": "/",
                                           "csrf_token": token.group(1)})
    assert done.status_code in (302, 303), done.text[:300]
    page = await http.get(f"/o/{SLUG}/approvals")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the approvals page"
    return token.group(1)


async def run_mode(name: str, *, db: Database, org_id: str, http: httpx.AsyncClient, csrf: str, target: str,
                   ca: bytes, work: Path, stacks: int, decisions: int, gap_s: float,
                   sync: SyncOptions) -> ModeResult:
    keys = await register(db, org_id, stacks, name)
    store = StackStore(db)
    stack_ids = {s.stack_id for s in await store.list_stacks(org_id) if s.name.startswith(name)}
    fleet = Fleet([StackSpec(f"{name}-{i}", key) for i, key in enumerate(keys)], work / name,
                  Connection(target, ca, "localhost"),
                  DaemonOptions(agents=3, rate_per_s=30.0, approval_timeout_s=3600.0, seed=3), sync)
    await fleet.open()
    received: dict[str, float] = {}
    for daemon in fleet.daemons:
        apply = daemon.apply_delivery

        async def timed(delivery: deliveries_pb2.Delivery, apply=apply) -> deliveries_pb2.DeliveryAck:  # type: ignore[no-untyped-def]
            received.setdefault(delivery.delivery_id, time.time())
            return await apply(delivery)

        daemon.apply_delivery = timed  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(fleet.run(stop, drain_timeout_s=5))
    rng = random.Random(7)
    decided: dict[str, float] = {}  # decision id -> decided_at (epoch s)
    taken: set[str] = set()
    try:
        await asyncio.sleep(3.0)  # Hello, first long polls in place
        while len(decided) < decisions:
            listed = (await http.get(f"/api/v1/orgs/{SLUG}/approvals")).json()
            fresh = [a for a in listed if a["stack_id"] in stack_ids and a["approval_id"] not in taken]
            if not fresh:
                await asyncio.sleep(0.2)
                continue
            for item in fresh[: decisions - len(decided)]:
                taken.add(item["approval_id"])
                verdict = "approve" if len(decided) % 2 else "deny"
                response = await http.post(f"/api/v1/orgs/{SLUG}/approvals/{item['approval_id']}/decision",
                                           json={"verdict": verdict, "reason": "bench"},
                                           headers={"x-csrf-token": csrf})
                if response.status_code != 200:
                    continue  # resolved meanwhile (not expected: 1 h deadlines)
                body = response.json()
                decided[body["decision_id"]] = datetime.fromisoformat(body["decided_at"]).timestamp()
                await asyncio.sleep(rng.expovariate(1 / gap_s))
        deadline = time.monotonic() + 90
        acked: dict[str, float] = {}
        while time.monotonic() < deadline:
            async with db.connection() as conn:
                cur = await conn.execute(
                    "SELECT delivery_id::text, extract(epoch FROM acked_at)::float8 FROM approval_deliveries "
                    "WHERE delivery_id = ANY(%s::uuid[]) AND acked_at IS NOT NULL", (list(decided),))
                acked = {str(r[0]): float(r[1]) for r in await cur.fetchall()}
            if len(acked) == len(decided) and set(decided) <= set(received):
                break
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await running
    return ModeResult(
        name,
        received=[received[d] - at for d, at in decided.items() if d in received],
        acked=[acked[d] - at for d, at in decided.items() if d in acked],
        missing=sum(1 for d in decided if d not in acked),
    )


def report(results: list[ModeResult], args: argparse.Namespace) -> str:
    lines = [
        f"### Approval decision-to-daemon latency ({args.decisions} decisions per mode, {args.stacks} stacks, "
        f"mean gap {args.gap:g} s)",
        "",
        "| mode | target | received p50 | p95 | p99 | max | acked p50 | p95 | p99 | not acked |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = "p95 < 1 s" if r.name == "long-poll" else f"p95 < {args.poll_interval:g} s"
        lines.append(
            f"| {r.name} | {target} | {pct(r.received, 50):.0f} ms | {pct(r.received, 95):.0f} ms | "
            f"{pct(r.received, 99):.0f} ms | {max(r.received, default=float('nan')) * 1000:.0f} ms | "
            f"{pct(r.acked, 50):.0f} ms | {pct(r.acked, 95):.0f} ms | {pct(r.acked, 99):.0f} ms | {r.missing} |")
    return "\n".join(lines)


async def measure(args: argparse.Namespace, data_dir: Path, target: str, http_url: str) -> list[ModeResult]:
    ca = (data_dir / "tls" / "sync-cert.pem").read_bytes()
    async with Database(f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}") as db:
        org_id = await create_owner(db)
        async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
            csrf = await sign_in(http)
            common = dict(db=db, org_id=org_id, http=http, csrf=csrf, target=target, ca=ca, work=data_dir / "sim",
                          stacks=args.stacks, decisions=args.decisions, gap_s=args.gap)
            results = [await run_mode("long-poll", sync=SyncOptions(), **common)]  # type: ignore[arg-type]
            print(f"long-poll done: {len(results[0].received)} received", flush=True)
            results.append(await run_mode(  # type: ignore[arg-type]
                "polling", sync=SyncOptions(decision_wait_s=0.0, decision_poll_interval_s=args.poll_interval),
                **common))
            print(f"polling done: {len(results[1].received)} received", flush=True)
            return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--stacks", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--gap", type=float, default=0.25)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="faramesh-approval-bench-"))
    sync, http, internal = free_port(), free_port(), free_port()
    env = {**os.environ, "FARAMESH_CLOUD_SYNC_PORT": str(sync), "FARAMESH_CLOUD_HTTP_PORT": str(http),
           "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(internal)}
    server = subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(data_dir)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if b"Ctrl-C" in line:
                break
            if server.poll() is not None:
                raise SystemExit(f"faramesh-cloud up failed: {line!r}")
        results = asyncio.run(measure(args, data_dir, f"127.0.0.1:{sync}", f"http://127.0.0.1:{http}"))
        print()
        print(report(results, args))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
