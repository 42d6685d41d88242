"""Live views benchmark: what open live streams cost the audit index, ClickHouse (chDB) and
PostgreSQL, at a steady DPR rate.

    python -m bench.live_bench [--viewers 200 | --arms 0,1,200] [--rate 2000] [--window 20]
                               [--pairs 3] [--mix agents|home|all] [--warmup 20] [--data-dir DIR]

Three processes besides this one:

* the server runs what ``faramesh-cloud up`` runs (every service of ``runtime/services.py`` by
  ``runtime.runner.run``, embedded PostgreSQL, the PostgreSQL log, chDB): the audit index,
  ClickHouse (chDB, in process) and the gateway share it, as in embedded mode; it also answers
  this script's questions about the live feed (its reads of the index, open viewers);
* a producer appends DPRs to ``dpr.records.v1`` at ``--rate`` (as ingest would; 5 stacks x 20
  agents, 30 % Ed25519-signed, all generated before the clock starts);
* a viewer client opens ``--viewers`` server-sent event streams, as browsers do: ``agents``
  each watches one agent on Audit → Live stream (``?agent=``, 2 viewers per agent), ``home``
  Home's activity stream of one stack, ``all`` the unfiltered Audit live stream.

After ``--warmup`` seconds, windows of ``--window`` seconds alternate: 0 viewers, then
``--viewers`` viewers, ``--pairs`` times (the viewers connect before their window and leave
after it, outside the measurement); ``--arms 0,1,200`` runs rounds of those viewer counts
instead (one viewer: what the shared feed itself costs; 200 minus 1: the fan-out). Per window, from /proc: CPU of the server process (every
thread: chDB's included) and of the embedded PostgreSQL (postmaster, every backend, the
producer's and the viewers' included); the rows indexed; the events the viewers received; the
live feed's reads of the index. Prints a Markdown report. A measurement, not a test: run it on
an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import psycopg

SEED = b"live-bench-ed25519-seed-0000000!"
STACKS, AGENTS = 5, 20  # per stack
BASE_NS = 1_780_000_000_000_000_000
PASSWORD = "live-bench-password-1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- CPU from /proc ---------------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_s(pid: int) -> float:
    """User + system seconds of one process, all its threads."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(root: int) -> float:
    """User + system seconds of ``root``, its reaped children and its live children (PostgreSQL:
    the postmaster and every backend, ended ones included)."""
    fields = _stat(root)
    total = sum(int(f) for f in fields[11:15])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, IndexError):
            child = _stat(int(pid))
            if int(child[1]) == root:
                total += int(child[11]) + int(child[12])
    return total / CLK_TCK


# -- the server ------------------------------------------------------------------------------
def _server(conn: Connection, data_dir: str, http_port: int, sync_port: int) -> None:
    """``faramesh-cloud up``'s services in this process; answers ("stats",) and ("stop",)."""
    from faramesh_cloud.rpc.tls13 import require_tls13_env

    require_tls13_env()  # as the entry point does, before anything imports gRPC
    from faramesh_cloud.audit_index.reader import IndexReader
    from faramesh_cloud.audit_index.views import decode_cursor, encode_cursor
    from faramesh_cloud.config import Settings
    from faramesh_cloud.runtime import interpreter
    from faramesh_cloud.runtime.runner import run
    from faramesh_cloud.runtime.services import RuntimeContext, enabled_services
    from faramesh_cloud.sql.embedded import EmbeddedPostgres
    from faramesh_cloud.telemetry import configure_logging

    settings = Settings.load(data_dir=Path(data_dir), http_port=http_port, sync_port=sync_port)
    configure_logging("WARNING")
    interpreter.tune_for_throughput()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        hub: list[Any] = []

        readers: list[Any] = []

        async def probe(org_id: str, rows: int, times: int) -> tuple[float, float]:
            """CPU and wall seconds of one read of the live tail ``rows`` behind its end, as the
            shared feed makes one per commit (run when the index is idle: process CPU, chDB's
            threads included)."""
            reader = readers[0]
            head = await reader.recent(org_id, 1, None)
            (top,) = decode_cursor("tail", head.cursor, (int,))
            cursor = encode_cursor("tail", [top - rows])
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(times):
                await reader.recent(org_id, 1000, cursor)
            return (time.process_time() - cpu) / times, (time.perf_counter() - wall) / times

        def ready(ctx: RuntimeContext) -> None:
            readers.append(IndexReader(ctx.platform.olap, ctx.platform.db))
            interpreter.freeze_startup_objects()
            for service in ctx.services:
                web = getattr(service, "_web", None)  # the gateway's; its hub, when it has one
                if web is not None and getattr(web, "live", None) is not None:
                    hub.append(web.live)
            conn.send(("ready", str(EmbeddedPostgres(settings.data_dir).pgdata)))

        def stats() -> dict[str, int | None]:
            if not hub:
                return {"reads": None, "viewers": None}
            return {"reads": hub[0].reads, "viewers": hub[0].viewers()}

        def listen() -> None:
            while True:
                try:
                    message = conn.recv()
                except EOFError:
                    message = ("stop",)
                if message[0] == "stats":  # read on the loop: the hub is not shared between threads
                    conn.send(asyncio.run_coroutine_threadsafe(_call(stats), loop).result())
                elif message[0] == "probe":
                    conn.send(asyncio.run_coroutine_threadsafe(probe(*message[1:]), loop).result())
                else:
                    loop.call_soon_threadsafe(stop.set)
                    return

        threading.Thread(target=listen, daemon=True).start()
        await run(settings, enabled_services(settings), stop, on_ready=ready)

    try:
        asyncio.run(main())
    except BaseException as exc:
        conn.send(("failed", repr(exc)))
        raise
    conn.send(("stopped",))


async def _call(fn: Any) -> Any:
    return fn()


# -- the producer ----------------------------------------------------------------------------
def _generate(worker: int, workers: int, per_agent: int, rate: int) -> dict[int, list[bytes]]:
    from faramesh_cloud.dpr.builder import to_go_json
    from faramesh_cloud.simulator.records import AgentWriter

    out = {}
    total_agents = STACKS * AGENTS
    for i in range(worker, total_agents, workers):
        writer = AgentWriter(f"agent-{i // AGENTS}-{i % AGENTS}", random.Random(i), ed25519_seed=SEED,
                             hmac_key=b"live-bench", signed_share=0.3, sessions=[f"sess-{i}-{k}" for k in range(3)])
        out[i] = [to_go_json(writer.next(BASE_NS + (j * total_agents + i) * 1_000_000_000 // rate))
                  for j in range(per_agent)]
    return out


def _producer(conn: Connection, url: str, org_id: str, stack_ids: list[str], rate: int, seconds: float) -> None:
    """Generates its records (two processes), says so, waits for the go, then appends them to
    ``dpr.records.v1`` round-robin over the agents at ``rate`` in 50 ms ticks, until told to
    stop or out of records."""
    from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
    from faramesh_cloud.log.port import LogRecord
    from faramesh_cloud.log.postgres import PostgresLog
    from faramesh_cloud.runtime import interpreter
    from faramesh_cloud.sql.database import Database

    interpreter.tune_for_throughput()
    agents = STACKS * AGENTS
    per_agent = int(rate * seconds) // agents + 1
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        parts = pool.starmap(_generate, [(w, 2, per_agent, rate) for w in range(2)])
    by_agent = {i: values for part in parts for i, values in part.items()}
    values = [by_agent[n % agents][n // agents] for n in range(per_agent * agents)]
    conn.send("ready")
    conn.recv()

    async def produce() -> int:
        sequences = [0] * STACKS
        async with Database(url, max_size=2) as db:
            log = PostgresLog(db)
            await log.start()
            per_tick = max(1, rate // 20)
            started = time.monotonic()
            n = 0
            while n < len(values) and not conn.poll():
                now = time.time_ns()
                batch = []
                for value in values[n:n + per_tick]:
                    s = (n % agents) // AGENTS
                    origin = Origin(org_id, stack_ids[s], "sync", sequences[s], "bench", now)
                    sequences[s] += 1
                    batch.append(LogRecord(stack_key(org_id, stack_ids[s]), value, origin.headers()))
                    n += 1
                await log.append(DPR_RECORDS, batch)
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            await log.close()
        return n

    conn.send(asyncio.run(produce()))


# -- the viewers -----------------------------------------------------------------------------
def _viewers(conn: Connection, base: str, cookies: dict[str, str]) -> None:
    """Opens and closes server-sent event streams on request; counts what they receive."""

    async def main() -> None:
        counts = {"events": 0, "bytes": 0, "behind": 0}
        tasks: list[asyncio.Task[None]] = []
        client = httpx.AsyncClient(base_url=base, cookies=cookies, timeout=None,
                                   limits=httpx.Limits(max_connections=2000, max_keepalive_connections=0))

        async def watch(url: str, opened: asyncio.Event) -> None:
            tail = b""
            async with client.stream("GET", url) as response:
                async for chunk in response.aiter_raw():
                    opened.set()
                    text = tail + chunk
                    counts["events"] += text.count(b"\nevent: dpr\n") - tail.count(b"\nevent: dpr\n")
                    counts["behind"] += chunk.count(b"event: behind")
                    counts["bytes"] += len(chunk)
                    tail = text[-16:]

        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message[0] == "open":
                events = [asyncio.Event() for _ in message[1]]
                tasks = [asyncio.create_task(watch(url, e)) for url, e in zip(message[1], events, strict=True)]
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
                conn.send("open")
            elif message[0] == "count":
                conn.send(dict(counts))
            elif message[0] == "close":
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                tasks = []
                conn.send("closed")
            else:
                await client.aclose()
                conn.send("bye")
                return

    asyncio.run(main())


def viewer_urls(mix: str, n: int, stack_ids: list[str]) -> list[str]:
    urls = []
    for i in range(n):
        if mix == "agents":
            a = i % (STACKS * AGENTS)
            urls.append(f"/o/bench/audit/live/events?agent=agent-{a // AGENTS}-{a % AGENTS}")
        elif mix == "home":
            urls.append(f"/o/bench/activity/events?stack={stack_ids[i % STACKS]}")
        else:
            urls.append("/o/bench/audit/live/events")
    return urls


# -- the run ---------------------------------------------------------------------------------
def setup_org(base: str) -> tuple[dict[str, str], str, list[str]]:
    """The first owner and organisation ``bench`` (the setup form), and 5 registered stacks."""
    with httpx.Client(base_url=base, timeout=30) as web:
        form = web.get("/setup").text
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        web.post("/setup", data={"name": "Bench", "email": "bench@example.test", "password": PASSWORD,
                                 "org_name": "Bench", "org_slug": "bench", "csrf_token": csrf})
        me = web.get("/api/v1/me").json()
        org_id = me["memberships"][0]["org"]["id"]
        stack_ids = []
        for s in range(STACKS):
            r = web.post("/api/v1/orgs/bench/stacks", json={"name": f"stack-{s}"},
                         headers={"X-CSRF-Token": me["csrf_token"]})
            r.raise_for_status()
            stack_ids.append(r.json()["stack_id"])
        return dict(web.cookies), org_id, stack_ids


def horizon(url: str, org_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT next_seq FROM audit_org_sequences WHERE org_id = %s", (org_id,)).fetchone()
    return int(row[0]) if row else 0


def postmaster(pgdata: Path) -> int:
    (found,) = list(pgdata.rglob("postmaster.pid"))
    return int(found.read_text().split()[0])


def recv(conn: Connection, proc: Any, timeout_s: float = 600) -> Any:
    """The next message from ``proc``; an error if it died or stays silent."""
    deadline = time.monotonic() + timeout_s
    while not conn.poll(0.5):
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} exited ({proc.exitcode}) or did not answer")
    return conn.recv()


def ask(conn: Connection, proc: Any, *message: Any) -> Any:
    conn.send(message)
    return recv(conn, proc)


def run(args: argparse.Namespace) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="live-bench-"))
    http_port, sync_port = free_port(), free_port()
    os.environ["FARAMESH_CLOUD_INTERNAL_BASE_PORT"] = str(free_port())
    procs: list[Any] = []
    pg_pid = None
    try:
        server_conn, theirs = ctx.Pipe()
        server = ctx.Process(target=_server, args=(theirs, str(data_dir), http_port, sync_port), name="server")
        server.start()
        procs.append(server)
        kind, pgdata = recv(server_conn, server)
        if kind != "ready":
            raise RuntimeError(f"the server did not start: {pgdata}")
        base = f"http://127.0.0.1:{http_port}"
        pg_pid = postmaster(Path(pgdata))
        print(f"server pid {server.pid}, PostgreSQL pid {pg_pid}", flush=True)
        url = f"postgresql://postgres@/faramesh?host={pgdata}"
        cookies, org_id, stack_ids = setup_org(base)
        arms = [int(a) for a in args.arms.split(",")] if args.arms else [0, args.viewers]
        planned = args.warmup + args.pairs * len(arms) * (args.window + 2 * args.settle + 8) + 30
        producer_conn, theirs = ctx.Pipe()
        producer = ctx.Process(target=_producer, args=(theirs, url, org_id, stack_ids, args.rate, planned),
                               name="producer")
        producer.start()
        procs.append(producer)
        recv(producer_conn, producer)  # generated
        viewer_conn, theirs = ctx.Pipe()
        viewers = ctx.Process(target=_viewers, args=(theirs, base, cookies), name="viewers")
        viewers.start()
        procs.append(viewers)
        producer_conn.send("go")
        time.sleep(args.warmup)
        urls = viewer_urls(args.mix, max(arms), stack_ids)
        rows: list[dict[str, Any]] = []

        def snapshot() -> tuple[Any, ...]:
            return (process_cpu_s(server.pid), tree_cpu_s(pg_pid), horizon(url, org_id),
                    ask(viewer_conn, viewers, "count"), ask(server_conn, server, "stats"), time.monotonic())

        for pair in range(args.pairs):
            for n in arms:
                if n:
                    ask(viewer_conn, viewers, "open", urls[:n])
                time.sleep(args.settle)
                before = snapshot()
                time.sleep(args.window)
                after = snapshot()
                wall = after[5] - before[5]
                reads = (after[4]["reads"] - before[4]["reads"]) if after[4]["reads"] is not None else None
                rows.append({"pair": pair + 1, "viewers": n, "server": (after[0] - before[0]) / wall,
                             "postgres": (after[1] - before[1]) / wall, "indexed": (after[2] - before[2]) / wall,
                             "events": (after[3]["events"] - before[3]["events"]) / wall,
                             "behind": after[3]["behind"], "open": after[4]["viewers"],
                             "reads": None if reads is None else reads / wall})
                print(f"pair {pair + 1}, {n} viewers: server {rows[-1]['server']:.2f} cores, "
                      f"PostgreSQL {rows[-1]['postgres']:.2f}, indexed {rows[-1]['indexed']:,.0f}/s, "
                      f"events {rows[-1]['events']:,.0f}/s, feed reads {rows[-1]['reads']}/s", flush=True)
                if n:
                    ask(viewer_conn, viewers, "close")
                    time.sleep(args.settle)
        ask(viewer_conn, viewers, "bye")
        producer_conn.send("stop")
        appended = recv(producer_conn, producer)
        last = -1
        while (now := horizon(url, org_id)) != last:  # the index drains what was appended
            last = now
            time.sleep(2)
        with_reads = [r for r in rows if r["reads"]]
        # the rows one feed read brings at this rate (the old per-stream poll read pages of 200)
        per_read = statistics.median(r["indexed"] / r["reads"] for r in with_reads) if with_reads else 200
        probe = ask(server_conn, server, "probe", org_id, int(per_read), 20)
        server_conn.send(("stop",))
        recv(server_conn, server, 60)
        return report(args, arms, rows, appended, (int(per_read), *probe))
    finally:
        for proc in reversed(procs):
            proc.join(30 if proc.name == "server" else 5)
            if proc.is_alive():
                proc.kill()
        if pg_pid is not None:  # the server could not stop its PostgreSQL: stop it (fast shutdown)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pg_pid, signal.SIGINT)
                time.sleep(3)
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def report(args: argparse.Namespace, arms: list[int], rows: list[dict[str, Any]], appended: int,
           probe: tuple[int, float, float]) -> list[str]:
    def per_dpr(r: dict[str, Any]) -> float:  # server + PostgreSQL CPU per indexed DPR, µs
        return (r["server"] + r["postgres"]) / max(r["indexed"], 1) * 1e6

    load = os.getloadavg()
    given = f"--arms {args.arms}" if args.arms else f"--viewers {args.viewers}"
    out = [f"Command: `python -m bench.live_bench {given} --rate {args.rate} --window {args.window:g} "
           f"--pairs {args.pairs} --mix {args.mix}` ({appended:,} DPRs appended; load average at the end "
           f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})", "",
           "| round | viewers | server process, cores | PostgreSQL, cores | indexed DPR/s | server + PostgreSQL µs/DPR "
           "| events to viewers/s | feed reads of the index/s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reads = "—" if r["reads"] is None else f"{r['reads']:.2f}"
        out.append(f"| {r['pair']} | {r['viewers']} | {r['server']:.3f} | {r['postgres']:.3f} | {r['indexed']:,.0f} "
                   f"| {per_dpr(r):.0f} | {r['events']:,.0f} | {reads} |")
    base = [r for r in rows if r["viewers"] == arms[0]]
    out.append("")
    for arm in arms[1:]:
        these = [r for r in rows if r["viewers"] == arm]
        cores = [(b["server"] + b["postgres"]) - (a["server"] + a["postgres"]) for a, b in zip(base, these, strict=True)]
        micros = [per_dpr(b) - per_dpr(a) for a, b in zip(base, these, strict=True)]
        out.append(f"Round by round, {arm} viewers minus {arms[0]} (server + PostgreSQL): "
                   + ", ".join(f"{d:+.3f}" for d in cores) + f" cores (median {statistics.median(cores):+.3f}); "
                   + ", ".join(f"{d:+.0f}" for d in micros) + f" µs per indexed DPR (median "
                   f"{statistics.median(micros):+.0f}, of {statistics.median(per_dpr(r) for r in base):.0f} with "
                   f"{arms[0]} viewers).")
    reads = [r["reads"] for r in rows if r["reads"]]
    out.append(f"One read of the live tail {probe[0]:,} rows behind its end, index idle: {probe[1] * 1e3:.1f} ms CPU "
               f"(server process, chDB included), {probe[2] * 1e3:.1f} ms wall; at the feed's "
               + (f"{statistics.median(reads):.2f} reads/s (median of the windows with viewers) that is "
                  f"{statistics.median(reads) * probe[1]:.3f} cores, whatever the number of viewers."
                  if reads else "reads (this code has no shared feed: each open stream reads on its own)."))
    if any(r["behind"] for r in rows):
        out.append(f"Viewers told they fell behind: {max(r['behind'] for r in rows)}.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--rate", type=int, default=2_000, help="DPR/s appended to dpr.records.v1")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured per window")
    parser.add_argument("--pairs", type=int, default=3, help="rounds of (0 viewers, N viewers) windows, alternating")
    parser.add_argument("--arms", help="viewer counts of a round instead, e.g. 0,1,200 (the first is the baseline)")
    parser.add_argument("--mix", choices=("agents", "home", "all"), default="agents")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after viewers connect or leave")
    parser.add_argument("--data-dir", help="keep the server's data here (default: a temp dir, removed)")
    print("\n".join(run(parser.parse_args())))


if __name__ == "__main__":
    main()
