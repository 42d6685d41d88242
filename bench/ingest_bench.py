"""Benchmark: DPRs per second acknowledged durably, end to end through the gRPC sync API,
embedded mode (`faramesh-cloud serve ingest`: embedded PostgreSQL + the PostgreSQL log),
with the machine's own ceiling measured in the same run.

    python bench/ingest_bench.py [--records 200000] [--stacks 8] [--batch 500] [--rate 10000] [--otel]

--otel starts the server with OpenTelemetry on (`serve ingest --otel`), exporting OTLP/HTTP to
a receiver in this process that reads and discards what it gets; the receiver runs without
--otel too (it then gets nothing), so the two runs differ only in the server's telemetry.

Phases:
  ceiling     the pure decode + canonicalise + SHA-256 loop over the same records (1 core)
  throughput  every stack pushes as fast as acks come back (one push in flight per buffer,
              as the protocol asks); DPR/s = records acknowledged / wall time
  latency     all stacks together paced at --rate DPR/s; p50/p95/p99 of push -> ack
The server runs in its own process; client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from faramesh_cloud.rpc.tls13 import require_tls13_env

require_tls13_env()  # before grpc is imported

import orjson  # noqa: E402
from faramesh_cloud_api.sync.v1 import push_pb2  # noqa: E402

from faramesh_cloud.dpr.builder import to_go_json  # noqa: E402
from faramesh_cloud.dpr.canonical import canonical_bytes  # noqa: E402
from faramesh_cloud.rpc.sync_client import SyncClient, push_item  # noqa: E402
from faramesh_cloud.simulator.records import AgentWriter  # noqa: E402
from faramesh_cloud.sql.database import Database  # noqa: E402
from faramesh_cloud.stacks.store import StackStore  # noqa: E402


def discarding_receiver() -> str:
    """An OTLP/HTTP endpoint that reads each export and answers 200 (an empty, valid response)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Discard(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Discard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_records(n: int, stacks: int) -> list[list[bytes]]:
    rng = random.Random(1)
    seed = hashlib.sha256(b"bench").digest()
    per_stack: list[list[bytes]] = []
    ns = 1_779_000_000_000_000_000
    for s in range(stacks):
        writers = [AgentWriter(f"s{s}-agent-{a}", rng, ed25519_seed=seed, hmac_key=b"k", signed_share=0.1)
                   for a in range(10)]
        rows = []
        for _ in range(n // stacks):
            ns += rng.randrange(1, 2_000_000)
            rows.append(to_go_json(writers[rng.randrange(10)].next(ns)))
        per_stack.append(rows)
    return per_stack


def ceiling(records: list[bytes]) -> float:
    started = time.process_time()
    for raw in records:
        hashlib.sha256(canonical_bytes(orjson.loads(raw), raw)).hexdigest()
    return len(records) / (time.process_time() - started)


def batches(rows: list[bytes], size: int, start_seq: int) -> list[list[push_pb2.PushItem]]:
    out = []
    seq = start_seq
    for i in range(0, len(rows), size):
        items = []
        for raw in rows[i : i + size]:
            seq += 1
            items.append(push_item(seq, push_pb2.DprRecord(record_json=raw)))
        out.append(items)
    return out


async def register(data_dir: Path, stacks: int) -> list[str]:
    db = Database(f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}")
    await db.open()
    store = StackStore(db)
    await store.start()
    org = await store.create_org(f"bench-{uuid.uuid4().hex[:6]}", "Bench")
    keys = [(await store.register_stack(org.org_id, f"stack-{i}"))[1] for i in range(stacks)]
    await db.close()
    return keys


async def push_all(target: str, ca: bytes, key: str, pushes: list[list[push_pb2.PushItem]],
                   latencies: list[float], pace_s: float | None, t0: float) -> int:
    buffer_id = str(uuid.uuid4())
    acked = 0
    async with SyncClient(target, key, root_certificates=ca, server_name="localhost") as client:
        await client.hello(buffer_id)
        for i, items in enumerate(pushes):
            if pace_s is not None:
                delay = t0 + i * pace_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent = time.perf_counter()
            response = await client.push(buffer_id, items)
            latencies.append(time.perf_counter() - sent)
            assert response.acked_through_sequence == items[-1].sequence, response
            acked += len(items)
    return acked


async def phase(target: str, ca: bytes, keys: list[str], data: list[list[bytes]], batch: int,
                rate: float | None, seq_base: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    per_stack_rate = rate / len(keys) if rate else None
    pace = batch / per_stack_rate if per_stack_rate else None
    t0 = time.perf_counter() + 0.2
    jobs = [push_all(target, ca, key, batches(rows, batch, seq_base), latencies, pace, t0)
            for key, rows in zip(keys, data, strict=True)]
    started = time.perf_counter()
    acked = sum(await asyncio.gather(*jobs))
    return acked / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--stacks", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--otel", action="store_true", help="the server with OpenTelemetry on")
    args = parser.parse_args()
    print(f"generating {args.records:,} records for {args.stacks} stacks ...", flush=True)
    data = make_records(args.records, args.stacks)
    flat = [raw for rows in data for raw in rows]
    print(f"ceiling (decode + canonicalise + SHA-256, 1 core): {ceiling(flat):,.0f} DPR/s", flush=True)

    data_dir = Path(tempfile.mkdtemp(prefix="faramesh-ingest-bench-"))
    port, http = free_port(), free_port()
    env = {**os.environ, "FARAMESH_CLOUD_SYNC_PORT": str(port), "FARAMESH_CLOUD_HTTP_PORT": str(http),
           "OTEL_EXPORTER_OTLP_ENDPOINT": discarding_receiver(), "OTEL_METRIC_EXPORT_INTERVAL": "5000"}
    argv = [sys.executable, "-m", "faramesh_cloud", "serve", "ingest", "--data-dir", str(data_dir)]
    server = subprocess.Popen([*argv, "--otel"] if args.otel else argv,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if b"Ctrl-C" in line:
                break
        # Keep reading: a server whose output pipe fills up stalls.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        ca = (data_dir / "tls" / "sync-cert.pem").read_bytes()
        keys = asyncio.run(register(data_dir, args.stacks))
        target = f"127.0.0.1:{port}"
        rate, lat = asyncio.run(phase(target, ca, keys, data, args.batch, None, 0))
        print(f"throughput: {rate:,.0f} DPR/s acknowledged durably "
              f"(push->ack p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms, batches of {args.batch})", flush=True)
        paced, lat = asyncio.run(phase(target, ca, keys, data, args.batch, args.rate, len(data[0])))
        print(f"latency at {args.rate:,.0f} DPR/s offered ({paced:,.0f} achieved): push->ack "
              f"p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms, p99 {pct(lat, 99):.0f} ms", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
