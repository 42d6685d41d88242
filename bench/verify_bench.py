"""Benchmark: `faramesh-cloud verify` throughput on a 1M-record WAL, against this machine's
own ceiling measured in the same run (the bare decode + canonicalise + SHA-256 loop).

    python bench/verify_bench.py [--records 1000000] [--agents 50] [--export]

Writes bench/out/verify-<n>.wal once (reused on later runs), then reports records/s for
(a) the ceiling loop, (b) the full verifier without signatures, (c) the CLI end to end, as wall
clock and as the child process's CPU time (getrusage RUSAGE_CHILDREN).
``--export`` also writes the same records as upstream's ``faramesh audit export`` would
(JSONL, newest first, without lamport_seq) and reports (d) the CLI on that file, which is
verified in chain order (two passes: the links first).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.canonical import canonical_bytes, parse_record
from faramesh_cloud.dpr.chain import ChainVerifier
from faramesh_cloud.dpr.view import decode_view
from faramesh_cloud.dpr.wal import WalReader, encode_frame
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sources import open_source

OUT = Path(__file__).resolve().parent / "out"


def generate(path: Path, records: int, agents: int) -> None:
    rng = random.Random(42)
    seed = hashlib.sha256(b"bench-seed").digest()
    writers = [AgentWriter(f"agent-{i:03d}", rng, ed25519_seed=seed, hmac_key=b"k", signed_share=0.05)
               for i in range(agents)]
    ns = 1_779_000_000_000_000_000
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for i in range(records):
            ns += rng.randrange(1, 5_000_000)
            out.write(encode_frame(to_go_json(writers[rng.randrange(agents)].next(ns))))
            if i % 100_000 == 0:
                print(f"  generated {i:,}", file=sys.stderr)
    os.replace(tmp, path)


def ceiling(path: Path) -> float:
    """The irreducible per-record work: read the frame, decode the record once, build its
    canonical bytes, hash them. No chain bookkeeping, no report."""
    data = path.read_bytes()
    started = time.process_time()
    n = 0
    for frame in WalReader(data):
        decoded = decode_view(frame.payload)
        canonical = decoded[1] if decoded is not None else canonical_bytes(parse_record(frame.payload))
        hashlib.sha256(canonical).hexdigest()
        n += 1
    return n / (time.process_time() - started)


def verifier(path: Path) -> float:
    started = time.process_time()
    v = ChainVerifier(check_signatures=False)
    with open_source(path, lean=True) as source:  # the CLI's loop (compiled when the accelerator is built)
        source.verify_into(v, lambda item: None)
    findings = v.finish()
    assert not findings, findings[:3]
    return v.records / (time.process_time() - started)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(path: Path, records: int) -> tuple[float, float]:
    """records/s of the CLI as a whole process, including start-up: (wall clock, CPU time of
    the child process). On a loaded box the wall clock mostly measures the other processes."""
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "faramesh_cloud", "verify", str(path), "--skip-signatures"],
                   check=True, stdout=subprocess.DEVNULL)
    return records / (time.perf_counter() - started), records / (_children_cpu() - cpu)


def export(wal: Path, path: Path) -> None:
    """The WAL's records as `faramesh audit export --format jsonl` writes them: newest first,
    from SQLite, which keeps no lamport_seq (unhashed)."""
    import orjson

    lines = []
    for frame in WalReader(wal.read_bytes()):
        record = orjson.loads(frame.payload)
        record.pop("lamport_seq", None)
        lines.append(orjson.dumps(record))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"\n".join(reversed(lines)) + b"\n")
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--export", action="store_true", help="also time the CLI on a newest-first JSONL export")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"verify-{args.records}.wal"
    if not path.exists():
        generate(path, args.records, args.agents)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.records:,} records, {args.agents} agents)")
    exported = OUT / f"verify-{args.records}-export.jsonl"
    if args.export and not exported.exists():
        export(path, exported)
    rows = []
    for _ in range(args.runs):
        wal_wall, wal_cpu = cli(path, args.records)
        export_wall, export_cpu = cli(exported, args.records) if args.export else (0.0, 0.0)
        rows.append((ceiling(path), verifier(path), wal_wall, wal_cpu, export_wall, export_cpu))
    med = [sorted(col)[len(col) // 2] for col in zip(*rows, strict=True)]
    print(f"ceiling (frame + one decode + canonical bytes + sha256, CPU time): {med[0]:,.0f} records/s")
    print(f"verifier, no signatures (CPU time):             {med[1]:,.0f} records/s  ({med[1] / med[0]:.0%} of ceiling)")
    print(f"CLI end to end incl. start-up, wall clock:      {med[2]:,.0f} records/s  ({med[2] / med[0]:.0%} of ceiling)")
    print(f"CLI end to end incl. start-up, CPU time:        {med[3]:,.0f} records/s  ({med[3] / med[0]:.0%} of ceiling)")
    if args.export:
        print(f"CLI on the newest-first JSONL export (chain order), wall clock: {med[4]:,.0f} records/s  "
              f"({med[4] / med[0]:.0%} of ceiling, {med[4] / med[2]:.0%} of the WAL's)")
        print(f"CLI on the newest-first JSONL export (chain order), CPU time:   {med[5]:,.0f} records/s  "
              f"({med[5] / med[0]:.0%} of ceiling, {med[5] / med[3]:.0%} of the WAL's)")


if __name__ == "__main__":
    main()
