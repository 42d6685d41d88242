"""Benchmark: the registry's daemon API under concurrent load against the embedded install.

    python bench/registry_bench.py [--seconds 5] [--levels 1,8,32,64] [--download-levels 1,4,16]
                                   [--binary-mib 11]

``faramesh-cloud up`` runs in its own process on free ports with a temporary data dir (embedded
PostgreSQL, the seeded catalog snapshot). The bench then hosts one provider binary of
``--binary-mib`` MiB (random bytes, signed with Cloud's registry key from the data dir, stored
through the registry's ``FileBlobStore`` and ``RegistryStore`` as the publish side would) and
measures, each phase in a separate client process (httpx ``AsyncClient``, HTTP/1.1 keep-alive, N
concurrent tasks over N connections) so client CPU is not counted as server CPU:

* ``GET /registry/v1/policies/faramesh%2Fstripe/versions/1.0.0`` (the pack a daemon pulls);
* ``GET /registry/v1/policies/faramesh%2Fstripe/versions`` (the versions list);
* the hosted binary, ``.../versions/1.0.0/binaries/linux_amd64``: downloads/s and MiB/s, the
  sha256 of every download checked against the manifest's.

The machine's ceilings, measured in the same run:

* framework: a trivial Starlette app on the same ``HttpServer`` (uvicorn, the same h11
  protocol and options as ``up``) in its own process, answering the *same bytes* from memory
  (the version JSON, the list JSON, the binary), driven by the same client at the same
  concurrency, phase by phase, alternating with the registry;
* raw file read: the stored blob read in the blob store's 256 KiB chunks (MiB/s, one thread);
  and the client's own sha256 rate.

Per phase it reports requests/s, p50/p95/p99 latency, the server's CPU per request (the ``up``
process, and its PostgreSQL children separately, from /proc through psutil) and the client's
CPU (a client near 1.0 core means the phase measured the client). Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

PACK = "/v1/policies/faramesh%2Fstripe/versions/1.0.0"
LIST = "/v1/policies/faramesh%2Fstripe/versions"
PROVIDER = "bench/vault"
BINARY = "/v1/providers/bench%2Fvault/versions/1.0.0/binaries/linux_amd64"
CHUNK = 256 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


# --- the client (its own process) ----------------------------------------------------------------
async def _load(url: str, concurrency: int, seconds: float, sha256: str, size: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    moved = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(2):  # warm: connections open, caches hot
            async with client.stream("GET", url) as r:
                async for _chunk in r.aiter_raw():
                    pass
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal moved
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with client.stream("GET", url) as r:
                    h = hashlib.sha256() if sha256 else None
                    n = 0
                    async for chunk in r.aiter_raw():
                        n += len(chunk)
                        if h is not None:
                            h.update(chunk)
                latencies.append(time.perf_counter() - t0)
                moved += n
                if r.status_code != 200:
                    errors.append(f"HTTP {r.status_code}")
                elif size and n != size:
                    errors.append(f"{n} bytes, expected {size}")
                elif h is not None and h.hexdigest() != sha256:
                    errors.append("sha256 mismatch")

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"n": len(latencies), "wall": wall, "cpu": cpu, "bytes": moved, "errors": errors[:5],
            "n_errors": len(errors), "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99)}


def client_main(argv: list[str]) -> None:
    url, concurrency, seconds, sha256, size = argv[0], int(argv[1]), float(argv[2]), argv[3], int(argv[4])
    print(json.dumps(asyncio.run(_load(url, concurrency, seconds, sha256 if sha256 != "-" else "", size))))


# --- the ceiling server (its own process) --------------------------------------------------------
def ceiling_main(argv: list[str]) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer

    port, folder = int(argv[0]), Path(argv[1])
    bodies = {p.stem: p.read_bytes() for p in folder.iterdir()}

    def answer(name: str, media: str) -> Route:
        body = bodies[name]

        async def endpoint(_request: Any) -> Response:
            return Response(body, media_type=media)
        return Route(f"/{name}", endpoint)

    app = Starlette(routes=[answer("pack", "application/json"), answer("list", "application/json"),
                            answer("binary", "application/octet-stream")])

    async def run() -> None:
        server = HttpServer(app, "127.0.0.1", port, HttpOptions())
        await server.start()
        print("ready", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(run())


# --- setup: the hosted binary -------------------------------------------------------------------
async def host_binary(data_dir: Path, data: bytes) -> tuple[str, Path]:
    from faramesh_cloud.blobstore.files import FileBlobStore
    from faramesh_cloud.registry.keys import KeySource
    from faramesh_cloud.registry.signatures import binary_signature, sign_manifest
    from faramesh_cloud.registry.store import ArtifactRow, BinaryRow, RegistryStore, VersionRow
    from faramesh_cloud.sql.database import Database

    blobs = FileBlobStore(data_dir / "registry" / "blobs")
    info = await blobs.put_bytes(data, max_size=len(data))
    key = KeySource(data_dir).current()
    now = datetime.now(UTC)
    manifest = sign_manifest(key.key_id, key.signing_key, {
        "name": PROVIDER, "version": "1.0.0", "capabilities": ["SECRETS"],
        "downloads": {"linux_amd64": {"url": "file://bin/p-linux_amd64", "sha256_hex": info.sha256,
                                      "size": info.size}}})
    async with Database(f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}") as db:
        store = RegistryStore(db)
        async with db.transaction() as conn:
            await store.ensure_publisher(conn, "bench", None, "Bench", "confirmed", now, "bench")
            await store.ensure_artifact(conn, ArtifactRow("provider", PROVIDER, "bench", "Bench vault", "", (),
                                                          "community", ("SECRETS",), now))
            await store.add_version(conn, VersionRow("provider", PROVIDER, "1.0.0", "published", now, "bench",
                                                     "publish", "", None, {}, None, None, None, manifest,
                                                     manifest["signature"], key.key_id))
            await store.add_binary(conn, BinaryRow(PROVIDER, "1.0.0", "linux_amd64", info.sha256, info.size,
                                                   binary_signature(key.signing_key, data), True))
    return info.sha256, blobs.path_for(info.sha256)


async def profile_in_process(data_dir: Path, path: str, concurrency: int, seconds: float, sha256: str,
                             size: int, profiled: bool = True) -> str:
    """The registry's daemon app alone (no gateway), in this process, on the install's database
    and blobs, under cProfile while a client process loads ``path``: where its CPU goes."""
    import cProfile
    import io
    import pstats

    from starlette.applications import Starlette
    from starlette.routing import Mount

    from faramesh_cloud.blobstore.files import FileBlobStore
    from faramesh_cloud.registry.http_api import RegistryHttp
    from faramesh_cloud.registry.reads import Blobs, DownloadCounter
    from faramesh_cloud.registry.store import RegistryStore
    from faramesh_cloud.runtime.http_server import HttpOptions, HttpServer
    from faramesh_cloud.sql.database import Database

    port = free_port()
    async with Database(f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}") as db:
        store = RegistryStore(db)
        http = RegistryHttp(store, Blobs(FileBlobStore(data_dir / "registry" / "blobs")),
                            DownloadCounter(store, lambda: datetime.now(UTC), 3600))
        server = HttpServer(Starlette(routes=[Mount("/registry", app=http.app)]), "127.0.0.1", port, HttpOptions())
        await server.start()
        try:
            client = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", f"http://127.0.0.1:{port}/registry{path}", str(concurrency),
                str(seconds), sha256, str(size), stdout=subprocess.PIPE)
            profile = cProfile.Profile()
            cpu0 = time.process_time()
            if profiled:
                profile.enable()
            out, _ = await client.communicate()
            if profiled:
                profile.disable()
            cpu = time.process_time() - cpu0
        finally:
            await server.stop()
    result = json.loads(out.decode().strip().splitlines()[-1])
    if not profiled:
        return (f"in process, {concurrency} clients: {result['n'] / result['wall']:,.0f} req/s, "
                f"{cpu / (result['n'] + 2) * 1e6:,.0f} µs CPU per request, p99 {result['p99']:.1f} ms")
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return (f"{result['n']} requests, {result['n'] / result['wall']:,.0f}/s under the profiler, "
            f"{cpu / (result['n'] + 2) * 1e6:,.0f} µs CPU per request (profiled)\n" + text.getvalue())


def file_read_ceiling(path: Path, seconds: float = 2.0) -> float:
    """MiB/s reading the blob in the blob store's chunks, one thread (page cache warm)."""
    total, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                total += len(chunk)
    return total / (time.perf_counter() - t0) / 2**20


def sha256_rate(data: bytes) -> float:
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 1.0:
        hashlib.sha256(data).digest()
        n += 1
    return n * len(data) / (time.perf_counter() - t0) / 2**20


# --- measuring -------------------------------------------------------------------------------------
@dataclass
class Phase:
    what: str
    target: str
    concurrency: int
    result: dict[str, Any]
    server_cpu: float
    pg_cpu: float

    @property
    def rps(self) -> float:
        return float(self.result["n"]) / float(self.result["wall"])

    @property
    def mib_s(self) -> float:
        return float(self.result["bytes"]) / float(self.result["wall"]) / 2**20


@dataclass
class Server:
    proc: psutil.Process
    postgres: psutil.Process | None = None  # the embedded postmaster (its backends are its children)
    idle: float = 0.0  # CPU seconds per second the process uses with no requests (its background loops)


def postmaster(pg_dir: Path) -> psutil.Process | None:
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if any(str(pg_dir) in part for part in cmd) and "postgres" in os.path.basename(cmd[0] if cmd else ""):
            return p
    return None


def cpu_of(server: Server) -> tuple[float, float]:
    """(the server process's CPU seconds, the embedded PostgreSQL's: postmaster and backends)."""
    own = sum(server.proc.cpu_times()[:2])
    pg = 0.0
    if server.postgres is not None:
        for p in [server.postgres, *server.postgres.children(recursive=True)]:
            try:
                pg += sum(p.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
    return own, pg


def idle_rate(server: Server, seconds: float = 3.0) -> float:
    own0, _ = cpu_of(server)
    time.sleep(seconds)
    return (cpu_of(server)[0] - own0) / seconds


def run_phase(what: str, target: str, url: str, concurrency: int, seconds: float, server: Server,
              sha256: str = "-", size: int = 0) -> Phase:
    own0, kids0 = cpu_of(server)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--client", url, str(concurrency), str(seconds), sha256,
                          str(size)], capture_output=True, text=True, timeout=seconds * 4 + 120, check=True)
    own1, kids1 = cpu_of(server)
    elapsed = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["n_errors"]:
        raise SystemExit(f"{what} {target} c={concurrency}: {result['n_errors']} errors, e.g. {result['errors']}")
    # The client warms up with 2 requests before its clock starts: counted in the server's CPU;
    # the server's idle CPU (its background loops) over the phase is taken off.
    n = result["n"] + 2
    return Phase(what, target, concurrency, result, (own1 - own0 - server.idle * elapsed) / n, (kids1 - kids0) / n)


def table(rows: list[tuple[Phase, Phase]], downloads: bool) -> str:
    head = ("| conc | registry req/s | ceiling req/s | of ceiling | registry p50 / p95 / p99 ms | ceiling p99 ms "
            "| server CPU µs/req: registry (+PG) / ceiling | client CPU cores |")
    if downloads:
        head = ("| conc | registry dl/s | MiB/s | ceiling MiB/s | of ceiling | registry p50 / p95 / p99 ms "
                "| server CPU ms/dl: registry / ceiling | client CPU cores |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for reg, ceil in rows:
        r, c = reg.result, ceil.result
        client = f"{r['cpu'] / r['wall']:.2f} / {c['cpu'] / c['wall']:.2f}"
        if downloads:
            lines.append(f"| {reg.concurrency} | {reg.rps:,.1f} | {reg.mib_s:,.0f} | {ceil.mib_s:,.0f} | "
                         f"{reg.mib_s / ceil.mib_s:.0%} | {r['p50']:.0f} / {r['p95']:.0f} / {r['p99']:.0f} | "
                         f"{reg.server_cpu * 1e3:.1f} (+{reg.pg_cpu * 1e3:.2f}) / {ceil.server_cpu * 1e3:.1f} | "
                         f"{client} |")
        else:
            lines.append(f"| {reg.concurrency} | {reg.rps:,.0f} | {ceil.rps:,.0f} | {reg.rps / ceil.rps:.0%} | "
                         f"{r['p50']:.1f} / {r['p95']:.1f} / {r['p99']:.1f} | {c['p99']:.1f} | "
                         f"{reg.server_cpu * 1e6:,.0f} (+{reg.pg_cpu * 1e6:,.0f}) / {ceil.server_cpu * 1e6:,.0f} | "
                         f"{client} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--levels", default="1,8,32,64")
    parser.add_argument("--download-levels", default="1,4,16")
    parser.add_argument("--binary-mib", type=float, default=11.0)
    parser.add_argument("--only", default="pack,list,download", help="phases to run (comma-separated)")
    parser.add_argument("--profile", choices=("pack", "list", "download"),
                        help="instead of the phases: profile the registry app in this process under that load")
    parser.add_argument("--cpu-only", action="store_true",
                        help="with --profile: no profiler, only the app's CPU per request (old vs new code)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    levels = [int(x) for x in args.levels.split(",")]
    dl_levels = [int(x) for x in args.download_levels.split(",")]

    work = Path(tempfile.mkdtemp(prefix="faramesh-registry-bench-"))
    data_dir, bodies = work / "data", work / "bodies"
    bodies.mkdir()
    http, sync, internal, ceiling_port = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(internal)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        server = subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(data_dir),
                                   "--http-port", str(http), "--sync-port", str(sync)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(server)
        assert server.stdout is not None
        for line in server.stdout:
            if b"Ctrl-C" in line:
                break
            if server.poll() is not None:
                raise SystemExit(f"faramesh-cloud up failed: {line!r}")
        else:
            raise SystemExit("faramesh-cloud up exited during start-up")
        base = f"http://127.0.0.1:{http}/registry"
        data = os.urandom(int(args.binary_mib * 2**20))
        sha256, blob_path = asyncio.run(host_binary(data_dir, data))
        with httpx.Client(timeout=30) as c:
            (bodies / "pack.bin").write_bytes(c.get(base + PACK).raise_for_status().content)
            (bodies / "list.bin").write_bytes(c.get(base + LIST).raise_for_status().content)
            manifest = c.get(base + "/v1/providers/bench%2Fvault/versions/1.0.0").raise_for_status().json()
        assert manifest["downloads"]["linux_amd64"]["sha256_hex"] == sha256
        (bodies / "binary.bin").write_bytes(data)
        if args.profile:
            path = {"pack": PACK, "list": LIST, "download": BINARY}[args.profile]
            dl = args.profile == "download"
            size = len(data) if dl else (bodies / f"{args.profile}.bin").stat().st_size
            print(asyncio.run(profile_in_process(data_dir, path, 4 if dl else 8, args.seconds,
                                                 sha256 if dl else "-", size, not args.cpu_only)))
            return
        ceiling = subprocess.Popen([sys.executable, __file__, "--ceiling", str(ceiling_port), str(bodies)],
                                   stdout=subprocess.PIPE)
        procs.append(ceiling)
        assert ceiling.stdout is not None and ceiling.stdout.readline().strip() == b"ready"
        ceil_base = f"http://127.0.0.1:{ceiling_port}"
        up_proc = Server(psutil.Process(server.pid), postmaster(data_dir / "postgres"))
        ceil_proc = Server(psutil.Process(ceiling.pid))
        time.sleep(2.0)  # start-up work settles
        up_proc.idle, ceil_proc.idle = idle_rate(up_proc), idle_rate(ceil_proc)
        load0 = os.getloadavg()[0]
        started = datetime.now(UTC)

        results: dict[str, list[tuple[Phase, Phase]]] = {}
        plan = [("pack", PACK, "/pack", levels, "-", len((bodies / "pack.bin").read_bytes())),
                ("list", LIST, "/list", levels, "-", len((bodies / "list.bin").read_bytes())),
                ("download", BINARY, "/binary", dl_levels, sha256, len(data))]
        for what, path, ceil_path, conc_levels, digest, size in plan:
            if what not in only:
                continue
            for conc in conc_levels:
                reg = run_phase(what, "registry", base + path, conc, args.seconds, up_proc, digest, size)
                ceil = run_phase(what, "ceiling", ceil_base + ceil_path, conc, args.seconds, ceil_proc, digest, size)
                results.setdefault(what, []).append((reg, ceil))
                print(f"{what} c={conc}: registry {reg.rps:,.1f}/s p99 {reg.result['p99']:.1f} ms, "
                      f"ceiling {ceil.rps:,.1f}/s", file=sys.stderr, flush=True)
        load1 = os.getloadavg()[0]
        read_mib = file_read_ceiling(blob_path)
        sha_mib = sha256_rate(data)

        print(f"\n## Registry bench ({started:%Y-%m-%d %H:%M} UTC, load average {load0:.1f} → {load1:.1f}, "
              f"{args.seconds:g} s per phase, binary {len(data) / 2**20:.1f} MiB)\n")
        print(f"Idle CPU taken off the server figures: `up` {up_proc.idle:.3f} cores, ceiling {ceil_proc.idle:.3f}; "
              f"PostgreSQL found: {up_proc.postgres is not None}.\n")
        titles = {"pack": f"`GET /registry{PACK}` (the pack, {(bodies / 'pack.bin').stat().st_size:,} B of JSON)",
                  "list": f"`GET /registry{LIST}` (the versions list)",
                  "download": f"`GET /registry{BINARY}` (sha256 of every download checked)"}
        for what, rows in results.items():
            print(f"### {titles[what]}\n")
            print(table(rows, what == "download"))
            print()
        print(f"Raw file read of the blob, 256 KiB chunks, one thread: {read_mib:,.0f} MiB/s; "
              f"sha256 in the client: {sha_mib:,.0f} MiB/s.")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if p is not procs[0] else signal.SIGINT)
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--ceiling":
        ceiling_main(sys.argv[2:])
    else:
        main()
