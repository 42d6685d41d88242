"""Benchmark: notification throughput, embedded PostgreSQL, a local webhook receiver.

    python bench/notifications_bench.py [--approvals 1000] [--destinations 2]

Pushes N pending approvals onto ``sync.items.v1`` (the PostgreSQL log) of one stack routed to
D Standard Webhooks destinations on a local receiver (uvicorn, 127.0.0.1), starts the
notifications service and measures wall time until all N*D notifications are recorded as
delivered: consumer -> routing -> deliveries (and their events) -> SSRF check -> signed POST -> recorded outcome.

Ceilings measured in the same run against the same receiver:
  * signed POSTs from one httpx client, 20 in flight, a new connection each (what the sender
    does: no keep-alive on pinned connections);
  * the same with keep-alive.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications import payloads
from faramesh_cloud.notifications.domain import Event, Notice
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore

COMPONENTS = (("log", "faramesh_cloud.log"), ("stacks", "faramesh_cloud.stacks"),
              ("identity", "faramesh_cloud.identity"), ("platform_audit", "faramesh_cloud.platform_audit"),
              ("notifications", "faramesh_cloud.notifications"))


class Receiver:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        self.count += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ceiling(url: str, n: int, keepalive: bool) -> float:
    secret = payloads.new_webhook_secret()
    now = datetime.now(UTC).isoformat()
    notice = Notice(Event.REQUESTED, "o", "acme", "s", "stack", "tok", "bot", "tool", "why", "high", "rule",
                    "sess", now, now, "https://cloud.example.test/x")
    limits = httpx.Limits(max_keepalive_connections=20 if keepalive else 0)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        semaphore = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with semaphore:
                ts = int(time.time())
                body = payloads.webhook_body(notice, ts)
                response = await client.post(url, content=body, headers=payloads.webhook_headers(
                    secret, f"msg_{i}", ts, body))
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


async def run(approvals: int, destinations: int, data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    url = await asyncio.to_thread(pg.start)
    receiver = Receiver()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        async with Database(url, max_size=8) as db:
            await migrate(db, COMPONENTS)
            identity = Identity(db, PlatformAuditLog(db), IdentityConfig(password_time_cost=1,
                                                                         password_memory_kib=1024))
            _, org = await identity.users.create_first_owner(email="bench@example.test", name="Bench",
                                                             password="bench-password-Notify-1", org_slug="acme",
                                                             org_name="Acme")
            stack, _ = await StackStore(db).register_stack(org.org_id, "payments-prod", "prod")
            log = PostgresLog(db)
            await log.start()
            await log.create_topic(SYNC_ITEMS, 4)
            service = Notifications(db, log, NotificationsConfig(key=secrets.token_bytes(32), allow_private=True,
                                                                 send_interval_s=0.2))
            await service.prepare()
            ids = []
            for d in range(destinations):
                made, _ = await service.api.create_destination(org.org_id, f"hook-{d}", "webhook",
                                                               {"url": f"{base}/hook/{d}"}, Actor.system("bench"))
                ids.append(made.destination_id)
            await service.api.put_rule(org.org_id, "", "", [{"after_minutes": 0, "destinations": ids}],
                                       Actor.system("bench"))
            created = datetime.now(UTC)
            records = []
            for i in range(approvals):
                approval = approvals_pb2.PendingApproval(defer_token=f"tok-{i:06d}", agent_id=f"agent-{i % 20}",
                                                         tool_id="stripe/refund", reason="bench")
                approval.created_at.FromDatetime(created)
                approval.deadline.FromDatetime(created + timedelta(hours=1))
                headers = Origin(org.org_id, stack.stack_id, "sync", i, "bench", time.time_ns()).headers()
                headers[H_KIND] = b"approval_event"
                event = approvals_pb2.ApprovalEvent(state=approvals_pb2.APPROVAL_STATE_PENDING, approval=approval)
                records.append(LogRecord(stack_key(org.org_id, stack.stack_id), event.SerializeToString(), headers))
            await log.append(SYNC_ITEMS, records)

            total = approvals * destinations
            start = time.perf_counter()
            queued_at = None
            await service.start()
            while True:
                async with db.transaction() as conn:
                    cur = await conn.execute("SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) "
                                             "FROM notification_deliveries")
                    row = await cur.fetchone()
                assert row is not None
                if queued_at is None and int(row[1]) >= total:
                    queued_at = time.perf_counter() - start
                if int(row[0]) >= total:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            await service.stop()
            await log.close()
        no_keepalive = await ceiling(f"{base}/ceiling", max(total, 500), keepalive=False)
        keepalive = await ceiling(f"{base}/ceiling", max(total, 500), keepalive=True)
        ours = total / elapsed
        print(f"{approvals} approvals x {destinations} webhook destinations = {total} notifications, "
              f"all queued (consumed and routed) after {queued_at:.2f} s, all delivered after {elapsed:.2f} s\n")
        print("| what | notifications/s | of ceiling (no keep-alive) |")
        print("|---|---|---|")
        print(f"| ceiling: signed POSTs, 20 in flight, new connection each | {no_keepalive:,.0f} | 100 % |")
        print(f"| same with keep-alive | {keepalive:,.0f} | {keepalive / no_keepalive:.0%} |")
        print(f"| notifications service end to end (log -> routing -> outbox -> POST -> recorded) | {ours:,.0f} | "
              f"{ours / no_keepalive:.0%} |")
    finally:
        server.should_exit = True
        await serving
        await asyncio.to_thread(pg.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=2)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="faramesh-bench-notify-"))
    data_dir.chmod(0o755)
    try:
        asyncio.run(run(args.approvals, args.destinations, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
