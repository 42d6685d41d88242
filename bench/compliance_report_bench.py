"""A compliance report over 1M synthetic DPR entries: wall time and peak RSS, against the
machine's ceiling for the same export measured in the same run.

    python bench/compliance_report_bench.py --records 1000000

Entries come from a generator (no database): a pool of records sealed and signed the way a
daemon writes them (``faramesh_cloud.dpr.builder``), wrapped as export entries of 50 agent
chains with increasing chain indices. Each mode runs in its own process, so its peak RSS is
its own:

* ``ceiling``: the same entries through canonical JSON, SHA-256 and a file write: the
  irreducible work of producing the appendix bytes, nothing else;
* ``report``: ``generate_report`` end to end (streamed appendix with its ed25519 signature,
  reportlab rendering, streamed FlateDecode attachment, PAdES signature) into a signed PDF.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AGENTS = 50
POOL = 2000


def pool() -> list[dict[str, Any]]:
    from tests.unit.compliance.dpr_entries import built_entries

    return list(built_entries("stack-1", 20, POOL // 20))


def entries(n: int) -> Iterator[dict[str, Any]]:
    records = pool()
    per_agent = -(-n // AGENTS)
    made = 0
    for a in range(AGENTS):
        for i in range(per_agent):
            if made == n:
                return
            base = records[made % len(records)]
            yield {**base, "stack_id": "stack-1", "agent_id": f"bench-{a:03d}", "chain_index": i}
            made += 1


def ceiling(n: int, out: Path) -> dict[str, Any]:
    from faramesh_cloud.signing.canonical import canonical_json

    digest = hashlib.sha256()
    size = 0
    with open(out, "wb") as f:
        for e in entries(n):
            data = canonical_json(e) + b",\n"
            digest.update(data)
            f.write(data)
            size += len(data)
    return {"bytes": size}


def report(n: int, out: Path) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from faramesh_cloud.compliance.report.generate import generate_report
    from faramesh_cloud.compliance.report.model import (
        DecisionStats,
        EffectBucket,
        Parameters,
        ReportModel,
    )
    from faramesh_cloud.compliance.report.sign import load_or_create_document_key

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    buckets = tuple(EffectBucket(t0 + timedelta(days=d), {"PERMIT": n // 40, "DENY": n // 120, "DEFER": n // 120})
                    for d in range(30))
    model = ReportModel(Parameters("org-1", "acme", "Acme", "soc2", "SOC 2", ("stack-1",), t0, t0 + timedelta(days=30),
                                   t0 + timedelta(days=30), "bench"),
                        stats=DecisionStats(buckets=buckets, total=sum(sum(b.counts.values()) for b in buckets)))
    phases: dict[str, float] = {}
    start = time.perf_counter()

    def progress(phase: str, _: int) -> None:
        phases.setdefault(phase, round(time.perf_counter() - start, 1))

    made = generate_report(out, model, entries(n), signing_key=Ed25519PrivateKey.generate(),
                           document_key=load_or_create_document_key(out.parent), work_dir=out.parent / "work",
                           progress=progress)
    return {"bytes": made.appendix_size, "pdf_bytes": made.size, "phases_s": phases}


def child(mode: str, n: int, out: Path) -> None:
    start = time.perf_counter()
    result = (ceiling if mode == "ceiling" else report)(n, out)
    result.update(mode=mode, seconds=round(time.perf_counter() - start, 1),
                  peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["ceiling", "report"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.records, args.out)
        return
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        results = {}
        for mode in ("ceiling", "report"):
            out = Path(tmp) / mode / ("export.json" if mode == "ceiling" else "report.pdf")
            out.parent.mkdir()
            line = subprocess.run([sys.executable, __file__, "--child", mode, "--records", str(args.records),
                                   "--out", str(out)], check=True, capture_output=True, text=True).stdout
            results[mode] = json.loads(line.strip().splitlines()[-1])
            print(json.dumps(results[mode]), flush=True)
            for f in out.parent.rglob("*"):
                if f.is_file():
                    f.unlink()
        c, r = results["ceiling"], results["report"]
        print(f"records {args.records:,}: ceiling {c['seconds']} s, report {r['seconds']} s "
              f"({100 * c['seconds'] / r['seconds']:.0f} % of ceiling speed); peak RSS ceiling {c['peak_rss_mib']} MiB, "
              f"report {r['peak_rss_mib']} MiB")


if __name__ == "__main__":
    main()
