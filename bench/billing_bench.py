"""Benchmark: what billing's decision counting costs beside the index's hot path.

    python bench/billing_bench.py [--records 50000]

1. The processor alone: ``DecisionCounter.process`` over N ``dpr.records.v1`` messages with
   real signed DPR bodies and ingest's origin headers (headers only: the body is never read),
   CPU µs per record.
2. The whole consumer: N DPRs appended to the PostgreSQL log (embedded PostgreSQL), the billing
   service started on them, wall and process CPU time until the decisions meter reads N
   (poll -> process -> sink: one upsert per (org, month) and the positions, per batch).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from faramesh_cloud.billing.domain import Meter
from faramesh_cloud.billing.processor import DecisionCounter
from faramesh_cloud.billing.service import COMPONENT, Billing, BillingConfig
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord, Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime import interpreter
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore

COMPONENTS = (("log", "faramesh_cloud.log"), ("stacks", "faramesh_cloud.stacks"),
              ("platform_audit", "faramesh_cloud.platform_audit"), ("identity", "faramesh_cloud.identity"), COMPONENT)


def records(n: int) -> list[bytes]:
    rng = random.Random(7)
    writers = [AgentWriter(f"agent-{i}", rng, ed25519_seed=bytes([i + 1]) * 32, hmac_key=b"k") for i in range(4)]
    start = time.time_ns()
    return [to_go_json(writers[i % 4].next(start + i * 1_000_003)) for i in range(n)]


def processor_only(raws: list[bytes], org_id: str) -> float:
    headers = Origin(org_id, "stack-1", "sync", 1, "bench", time.time_ns()).headers()
    messages = [Message(DPR_RECORDS, 0, i, stack_key(org_id, "stack-1"), raw, headers, 0) for i, raw in enumerate(raws)]
    counter = DecisionCounter()
    best = float("inf")
    for _ in range(5):
        cpu = time.process_time()
        for m in messages:
            counter.process(m)
        best = min(best, time.process_time() - cpu)
    return best / len(messages) * 1e6


async def main(args: argparse.Namespace) -> None:
    interpreter.tune_for_throughput()
    raws = records(args.records)
    root = Path(tempfile.mkdtemp(prefix="faramesh-billing-bench-"))
    server = EmbeddedPostgres(root / "pg")
    url = await asyncio.to_thread(server.start)
    try:
        async with Database(url, max_size=8) as db:
            await migrate(db, list(COMPONENTS))
            log = PostgresLog(db)
            await log.start()
            stacks = StackStore(db)
            await stacks.start()
            org = await stacks.create_org("bench", "Bench")
            stack, _ = await stacks.register_stack(org.org_id, "bench-stack", "prod")
            per_record = processor_only(raws, org.org_id)
            billing = Billing(db, log, BillingConfig(meter_interval_s=3600))
            await billing.prepare()
            origin = Origin(org.org_id, stack.stack_id, "sync", 1, "bench", time.time_ns())
            for at in range(0, len(raws), 1000):
                await log.append(DPR_RECORDS, [LogRecord(stack_key(org.org_id, stack.stack_id), raw, origin.headers())
                                               for raw in raws[at:at + 1000]])
            wall, cpu = time.perf_counter(), time.process_time()
            await billing.start()
            while True:
                [month] = await billing.api.usage(org.org_id, 1)
                if month.meters[Meter.DECISIONS] >= args.records:
                    break
                await asyncio.sleep(0.05)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            await billing.stop()
            await log.close()
        print(f"{datetime.now(UTC):%Y-%m-%d}: processor alone {per_record:.2f} CPU µs/record (best of 5)")
        print("| records | wall s | records/s | CPU s | CPU µs/record |")
        print("|---|---|---|---|---|")
        print(f"| {args.records} | {wall:.2f} | {args.records / wall:.0f} | {cpu:.2f} | {cpu / args.records * 1e6:.1f} |")
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    asyncio.run(main(parser.parse_args()))
