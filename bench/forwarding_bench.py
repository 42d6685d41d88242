"""Benchmark: observability forwarding throughput, embedded PostgreSQL, a local OTLP receiver.

    python bench/forwarding_bench.py [--records 20000] [--destinations 1]

Appends N signed synthetic DPRs of one stack to ``dpr.records.v1`` (the PostgreSQL log),
starts the forwarding service with D generic OTLP destinations on a local OTLP/HTTP receiver
(uvicorn on 127.0.0.1, decoding every ``ExportLogsServiceRequest``) and measures the wall and
process CPU time until all N*D items are recorded delivered: consumer -> outbox (in the sink's
transaction) -> claim -> protobuf body -> SSRF check -> POST -> recorded outcome. The receiver
runs in the same process and loop, so its decoding is in the CPU figure too (an upper bound).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.forwarding.delivery import DeliveryConfig
from faramesh_cloud.forwarding.service import COMPONENT, Forwarding, ForwardingConfig
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore

COMPONENTS = (("log", "faramesh_cloud.log"), ("stacks", "faramesh_cloud.stacks"),
              ("platform_audit", "faramesh_cloud.platform_audit"), COMPONENT)


class Receiver:
    """OTLP/HTTP logs receiver: counts the log records of each request it decodes."""

    def __init__(self) -> None:
        self.records = 0
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = ExportLogsServiceRequest()
        request.ParseFromString(body)
        self.records += sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
        self.requests += 1
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-protobuf")]})
        await send({"type": "http.response.body", "body": b""})


def records(n: int) -> list[bytes]:
    rng = random.Random(7)
    writers = [AgentWriter(f"agent-{i}", rng, ed25519_seed=bytes([i + 1]) * 32, hmac_key=b"k") for i in range(4)]
    start = time.time_ns()
    return [to_go_json(writers[i % 4].next(start + i * 1_000_003)) for i in range(n)]


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()
    root = Path(tempfile.mkdtemp(prefix="faramesh-forwarding-bench-"))
    server = EmbeddedPostgres(root / "pg")
    url = await asyncio.to_thread(server.start)
    receiver = Receiver()
    http = uvicorn.Server(uvicorn.Config(receiver, host="127.0.0.1", port=args.port, log_level="warning",
                                         lifespan="off"))
    serving = asyncio.create_task(http.serve())
    try:
        async with Database(url, max_size=8) as db:
            await migrate(db, list(COMPONENTS))
            log = PostgresLog(db)
            await log.start()
            stacks = StackStore(db)
            await stacks.start()
            org = await stacks.create_org("bench", "Bench")
            stack, _ = await stacks.register_stack(org.org_id, "bench-stack", "prod")
            forwarding = Forwarding(db, log, ForwardingConfig(key=secrets.token_bytes(32), allow_private=True,
                                                              metrics_interval_s=3600,
                                                              delivery=DeliveryConfig(batch=args.batch)))
            await forwarding.prepare()
            for i in range(args.destinations):
                await forwarding.api.create_destination(org.org_id, f"otlp-{i}", "otlp",
                                                        {"url": f"http://127.0.0.1:{args.port}"}, Actor.system("bench"))
            raws = records(args.records)
            origin = Origin(org.org_id, stack.stack_id, "sync", 1, "bench", time.time_ns())
            for at in range(0, len(raws), 1000):
                await log.append(DPR_RECORDS, [LogRecord(stack_key(org.org_id, stack.stack_id), raw, origin.headers())
                                               for raw in raws[at:at + 1000]])
            want = args.records * args.destinations
            wall, cpu = time.perf_counter(), time.process_time()
            await forwarding.start()
            while receiver.records < want:
                await asyncio.sleep(0.05)
            while True:
                async with db.connection() as conn:
                    row = await (await conn.execute(
                        "SELECT count(*) FROM forwarding_outbox WHERE state = 'delivered'")).fetchone()
                if row is not None and int(row[0]) >= want:
                    break
                await asyncio.sleep(0.05)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            await forwarding.stop()
            await log.close()
        print("| records | destinations | batch | requests | wall s | items/s | CPU s | CPU µs/item |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {args.records} | {args.destinations} | {args.batch} | {receiver.requests} | {wall:.2f} | "
              f"{want / wall:.0f} | {cpu:.2f} | {cpu / want * 1e6:.0f} |")
    finally:
        http.should_exit = True
        await serving
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--destinations", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--port", type=int, default=18931)
    asyncio.run(main(parser.parse_args()))
