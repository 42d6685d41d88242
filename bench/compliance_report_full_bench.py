"""A compliance report over 1M DPRs read from the audit index, end to end: wall time per
phase and peak RSS of ``ReportPipeline.make``, against the machine's ceiling for the same
export measured in the same run.

    python bench/compliance_report_full_bench.py --data-dir /tmp/report-full-bench [--records 1000000]
                                                 [--only fill|ceiling|export|report|verify]

Fill (once per data dir; a later run with the same dir reuses it): an embedded PostgreSQL
and a chDB data dir, every schema migrated, one organisation with 3 stacks registered through
the stack store, and ``--records`` signed, chained DPRs of 51 agents (17 per stack, busier
and quieter ones; the simulator's ``AgentWriter``: 30 % Ed25519-signed, the rest HMAC, 10 %
legacy canonicalisation) spread over 30 days. Records are generated in a worker process and
go through the index's own ``DprProcessor`` and ``AuditIndexSink`` (chain projection in
PostgreSQL, rows in chDB), pipelined as the consumer runner hands them over
(``bench/audit_bench.py``'s load).

Then, each in its own process (so its peak RSS is its own), one after the other:

* ``ceiling``: one ClickHouse scan of the same rows' ``raw`` bytes in the export's order
  (stack, agent, created_at, lamport), written to a file and hashed with SHA-256;
* ``report``: ``ReportPipeline.make`` over the whole range and every stack, with the
  objects ``runtime/compliance_wiring.py`` builds in process (the audit index's
  ``IndexReader``, the approvals service's ``ApprovalsApi``, the fleet's ``FleetQuery``,
  the posture ``Sweep``), into a signed PDF; its phases from the pipeline's own progress;
* ``verify``: ``faramesh-cloud verify-report`` on that PDF (whole process, its peak RSS);
* ``export`` (only when asked with ``--only export``): ``IndexReader.export_range`` alone.

A measurement, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STACKS = 3
AGENTS_PER_STACK = 17
BATCH = 10_000
SPAN_NS = 30 * 86_400 * 1_000_000_000
BASE_NS = 1_780_000_000_000_000_000  # 2026-05-28
SEED = b"report-bench-ed25519-seed-00000!"
LOAD_TOPIC = "bench.report.v1"
ORG_SLUG = "acme-bench"


def writers() -> list[Any]:
    from faramesh_cloud.simulator.records import AgentWriter

    rng = random.Random(42)
    return [AgentWriter(f"agent-{s}-{a:02d}", random.Random(rng.getrandbits(32)), ed25519_seed=SEED,
                        hmac_key=b"bench-hmac", signed_share=0.3)
            for s in range(STACKS) for a in range(AGENTS_PER_STACK)]


def weights() -> list[float]:
    """Some agents are busy, most are not (1/rank, shuffled so each stack has both)."""
    n = STACKS * AGENTS_PER_STACK
    w = [1.0 / (1 + r) + 0.05 for r in range(n)]
    random.Random(7).shuffle(w)
    return w


def picks(total: int) -> Iterator[list[tuple[int, int]]]:
    """Per batch: (writer, created_ns) of each record, in created order."""
    rng = random.Random(11)
    w, population = weights(), range(STACKS * AGENTS_PER_STACK)
    for first in range(0, total, BATCH):
        chosen = rng.choices(population, w, k=min(BATCH, total - first))
        yield [(pick, BASE_NS + (first + i) * (SPAN_NS // total)) for i, pick in enumerate(chosen)]


def _generator(conn: Connection) -> None:
    from faramesh_cloud.dpr.builder import to_go_json

    mine = writers()
    while (job := conn.recv()) is not None:
        conn.send([to_go_json(mine[pick].next(created)) for pick, created in job])


def batches(total: int, org_id: str, stack_ids: list[str]) -> Iterator[list[Any]]:
    """The log messages of the load, each batch generated one ahead in a worker process."""
    from faramesh_cloud.events.topics import Origin, stack_key
    from faramesh_cloud.log.port import Message, partition_for

    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=_generator, args=(theirs,), daemon=True)
    proc.start()
    offsets: dict[int, int] = {}
    seq = 0
    try:
        jobs = picks(total)
        ahead = next(jobs, None)
        if ahead is not None:
            mine.send(ahead)
        while ahead is not None:
            following = next(jobs, None)
            values = mine.recv()
            if following is not None:
                mine.send(following)
            batch = []
            for (pick, created), value in zip(ahead, values, strict=True):
                stack = stack_ids[pick // AGENTS_PER_STACK]
                key = stack_key(org_id, stack)
                partition = partition_for(key, 8)
                offset = offsets.get(partition, 0)
                offsets[partition] = offset + 1
                seq += 1
                origin = Origin(org_id, stack, "sync", seq, "bench", created + 1_000_000)
                batch.append(Message(LOAD_TOPIC, partition, offset, key, value, origin.headers(),
                                     created // 1_000_000))
            yield batch
            ahead = following
    finally:
        with contextlib.suppress(OSError):
            mine.send(None)
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()


# Every schema, the gateway's identity and platform audit log included (as `up` has them).
SCHEMAS = (("identity", "faramesh_cloud.identity"), ("platform_audit", "faramesh_cloud.platform_audit"))


class Platform:
    """The data dir's embedded PostgreSQL (started, every schema migrated) and chDB (opened)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def __aenter__(self) -> Platform:
        from faramesh_cloud.audit_index.schema import AuditTables, ensure_schema
        from faramesh_cloud.olap.chdb import ChdbOlap
        from faramesh_cloud.runtime.platform import MIGRATIONS
        from faramesh_cloud.sql.database import Database
        from faramesh_cloud.sql.embedded import EmbeddedPostgres
        from faramesh_cloud.sql.migrate import migrate

        self.server = EmbeddedPostgres(self.root / "pg")
        self.url = await asyncio.to_thread(self.server.start)
        self.olap = ChdbOlap(self.root / "chdb")
        self.tables = AuditTables()
        self.db = Database(self.url, max_size=4)
        await self.db.__aenter__()
        await migrate(self.db, [*MIGRATIONS, *SCHEMAS])
        ensure_schema(self.olap, self.tables)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.__aexit__(None, None, None)
        self.olap.close()
        await asyncio.to_thread(self.server.stop)


def state(root: Path) -> dict[str, Any]:
    return json.loads((root / "loaded.json").read_text())


async def fill(root: Path, total: int) -> None:
    from bench.audit_bench import load
    from faramesh_cloud.audit_index.clickhouse import IndexWriter
    from faramesh_cloud.audit_index.processor import DprProcessor
    from faramesh_cloud.audit_index.sink import AuditIndexSink
    from faramesh_cloud.runtime import interpreter
    from faramesh_cloud.stacks.store import StackStore

    if (root / "loaded.json").exists():
        print(f"reusing the index in {root}: {state(root)}", flush=True)
        return
    interpreter.tune_for_throughput()
    async with Platform(root) as p:
        store = StackStore(p.db)
        org = await store.create_org(ORG_SLUG, "Acme (bench)")
        stack_ids = [(await store.register_stack(org.org_id, f"stack-{s}", "production"))[0].stack_id
                     for s in range(STACKS)]
        start = time.perf_counter()
        lines = await load(argparse.Namespace(records=total, pipelined=True), batches(total, org.org_id, stack_ids),
                           DprProcessor(), AuditIndexSink(p.db, IndexWriter(p.olap, p.tables)))
        took = time.perf_counter() - start
        count = int(p.olap.query(f"SELECT count() FROM {p.tables.dpr} WHERE org_id = {{o:String}}",
                                 {"o": org.org_id}).scalar())
        chains = int(p.olap.query(f"SELECT uniqExact(stack_id, agent_id) FROM {p.tables.dpr}").scalar())
    loaded = {"records": count, "chains": chains, "org_id": org.org_id, "stack_ids": stack_ids,
              "start_ns": BASE_NS, "end_ns": BASE_NS + SPAN_NS, "fill_s": round(took), "load": lines}
    (root / "loaded.json").write_text(json.dumps(loaded, indent=1))
    print(f"filled {root}: {loaded}", flush=True)


EXPORT_ORDER = "stack_id, agent_id, created_at, lamport_seq, record_id"


def ceiling(root: Path, out: Path) -> dict[str, Any]:
    """One ClickHouse scan of the range's raw bytes in the export's order, written to a file
    by chDB itself, then hashed with SHA-256 (read back in 1 MiB chunks)."""
    from faramesh_cloud.audit_index.schema import AuditTables
    from faramesh_cloud.olap.chdb import ChdbOlap

    loaded = state(root)
    target = str(out)
    if "'" in target or "\\" in target:
        raise SystemExit(f"{target}: a path without quotes or backslashes, please (it is a literal in the SQL)")
    olap = ChdbOlap(root / "chdb")
    try:
        start = time.perf_counter()
        olap.command(
            f"SELECT raw FROM {AuditTables().dpr} WHERE org_id = {{o:String}} "
            "AND created_at >= fromUnixTimestamp64Nano({s:Int64}, 'UTC') "
            "AND created_at < fromUnixTimestamp64Nano({e:Int64}, 'UTC') "
            f"ORDER BY {EXPORT_ORDER} INTO OUTFILE '{target}' FORMAT TSVRaw",
            {"o": loaded["org_id"], "s": loaded["start_ns"], "e": loaded["end_ns"]})
        scanned = time.perf_counter() - start
    finally:
        olap.close()
    digest, size = hashlib.sha256(), 0
    with open(out, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "scan_s": round(scanned, 1), "sha256": digest.hexdigest()[:16]}


async def report(root: Path, out: Path) -> dict[str, Any]:
    """``ReportPipeline.make`` with the objects ``runtime/compliance_wiring.py`` builds in process."""
    from faramesh_cloud.approvals.service import Approvals
    from faramesh_cloud.audit_index.reader import IndexReader
    from faramesh_cloud.compliance.domain import ReportView
    from faramesh_cloud.compliance.measure import Measurer
    from faramesh_cloud.compliance.pipeline import Keys, ReportPipeline
    from faramesh_cloud.compliance.policy import Policies, policy_words
    from faramesh_cloud.compliance.report.sign import load_or_create_document_key
    from faramesh_cloud.compliance.sources import Sources
    from faramesh_cloud.compliance.sweep import Sweep
    from faramesh_cloud.fleet.query import FleetQuery
    from faramesh_cloud.log.postgres import PostgresLog
    from faramesh_cloud.platform_audit.store import PlatformAuditLog
    from faramesh_cloud.runtime import interpreter
    from faramesh_cloud.runtime.compliance_wiring import OrgSettings
    from faramesh_cloud.signing.keys import load_or_create_signing_key
    from faramesh_cloud.stacks.store import StackStore

    interpreter.tune_for_throughput()  # as `faramesh-cloud up` / `serve` run the services
    loaded = state(root)
    async with Platform(root) as p:
        found = Sources(audit=IndexReader(p.olap, p.db, p.tables),
                        approvals=Approvals(p.db, PostgresLog(p.db)).api,
                        fleet=FleetQuery(p.db, StackStore(p.db)))
        measurer = Measurer(found.audit, found.approvals, PlatformAuditLog(p.db), OrgSettings(p.db))
        posture = Sweep(p.db, measurer, Policies(found.fleet).checks, lambda: datetime.now(UTC),
                        policy_words=policy_words())
        keys = Keys(load_or_create_signing_key(root), load_or_create_document_key(root))
        pipeline = ReportPipeline(p.db, found, keys, posture.posture)
        now = datetime.now(UTC)
        view = ReportView("bench", "soc2", (), datetime.fromtimestamp(loaded["start_ns"] / 1e9, UTC),
                          datetime.fromtimestamp(loaded["end_ns"] / 1e9, UTC), now, "bench@example.test",
                          "running", 0.0, "", "", "", None, "")
        marks: dict[str, float] = {}
        start = time.perf_counter()

        async def progress(fraction: float, words: str) -> None:
            marks.setdefault(words.split(" (")[0], time.perf_counter() - start)

        gather = pipeline.model

        async def model(org_id: str, view: ReportView) -> Any:  # the gather phase ends with the model
            made = await gather(org_id, view)
            marks["model"] = time.perf_counter() - start
            return made

        pipeline.model = model  # type: ignore[method-assign]

        made = await pipeline.make(loaded["org_id"], view, out.parent / "scratch", progress)
        total = time.perf_counter() - start
    order = [("gathering statistics, integrity and coverage", "gather"), ("model", "export+appendix"),
             ("drawing the report", "render"), ("attaching the appendix", "embed"), ("signing the PDF", "sign")]
    at = [marks.get(words, total) for words, _ in order] + [total]
    phases = {name: round(at[i + 1] - at[i], 1) for i, (_, name) in enumerate(order)}
    return {"records": made.parameters["records"], "path": str(made.path), "phases_s": phases}


async def export(root: Path) -> dict[str, Any]:
    """``IndexReader.export_range`` alone over the whole range (what the report pulls)."""
    from faramesh_cloud.audit_index.reader import IndexReader

    loaded = state(root)
    async with Platform(root) as p:
        reader, n = IndexReader(p.olap, p.db, p.tables), 0
        start = time.perf_counter()
        async for _ in reader.export_range(loaded["org_id"], [], loaded["start_ns"], loaded["end_ns"]):
            n += 1
        return {"records": n, "export_s": round(time.perf_counter() - start, 1)}


def verify(root: Path, pdf: Path) -> dict[str, Any]:
    """``faramesh-cloud verify-report`` on the report, as a whole process (its own peak RSS)."""
    from faramesh_cloud.compliance.report.sign import CERT_FILE
    from faramesh_cloud.signing.keys import load_or_create_signing_key, public_pem

    key = root / "platform.pem"
    key.write_text(public_pem(load_or_create_signing_key(root).public_key()))
    cli = Path(sys.executable).with_name("faramesh-cloud")
    run = subprocess.run(["/usr/bin/time", "-f", "%e %M", str(cli), "verify-report", str(pdf),
                          "--platform-key", str(key), "--certificate", str(root / CERT_FILE)],
                         capture_output=True, text=True)
    wall, rss_kib = run.stderr.strip().splitlines()[-1].split()
    return {"exit": run.returncode, "verify_s": float(wall), "verify_peak_rss_mib": round(int(rss_kib) / 1024),
            "last_line": run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-300:]}


def child(mode: str, root: Path, out: Path) -> None:
    start = time.perf_counter()
    if mode == "ceiling":
        result = ceiling(root, out)
    elif mode == "export":
        result = asyncio.run(export(root))
    elif mode == "report":
        result = asyncio.run(report(root, out))
        shutil.move(result.pop("path"), out)
        shutil.rmtree(out.parent / "scratch", ignore_errors=True)
        result["pdf_bytes"] = out.stat().st_size
    else:
        result = verify(root, out)
    result.update(mode=mode, seconds=round(time.perf_counter() - start, 1),
                  peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print(json.dumps(result), flush=True)


def run_child(mode: str, root: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--data-dir", str(root), "--out", str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, help="keep the index here (a later run reuses it)")
    parser.add_argument("--only", choices=["fill", "ceiling", "export", "report", "verify"], action="append",
                        help="run only these steps (repeatable; default: all, in order)")
    parser.add_argument("--child", choices=["ceiling", "export", "report", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data_dir, args.out)
        return
    steps = args.only or ["fill", "ceiling", "report", "verify"]
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="report-full-bench-"))
    out = root / "out"
    try:
        root.mkdir(parents=True, exist_ok=True)
        asyncio.run(fill(root, args.records))
        out.mkdir(exist_ok=True)
        results: dict[str, dict[str, Any]] = {}
        if "ceiling" in steps:
            results["ceiling"] = run_child("ceiling", root, out / "export.tsv")
            (out / "export.tsv").unlink()
        if "export" in steps and args.only:  # not in a default run: the report includes it
            results["export"] = run_child("export", root, out / "unused")
        if "report" in steps:
            (out / "report.pdf").unlink(missing_ok=True)
            results["report"] = run_child("report", root, out / "report.pdf")
        if "verify" in steps and (out / "report.pdf").exists():
            results["verify"] = run_child("verify", root, out / "report.pdf")
        c, r = results.get("ceiling"), results.get("report")
        if c and r:
            print(f"{r['records']:,} records: ceiling (one scan of raw, file + SHA-256) {c['seconds']} s, "
                  f"ReportPipeline.make {r['seconds']} s, peak RSS {r['peak_rss_mib']} MiB; phases {r['phases_s']}")
    finally:
        if not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
