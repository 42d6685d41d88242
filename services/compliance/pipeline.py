"""How a report is made: gather its content from the sources (``sources.py``: the audit
index, the approvals service, the fleet; each through its port), evaluate the framework's
posture now, and hand it with the range's DPR export (streamed from the audit index) to
``report.generate.generate_report``, which writes the signed appendix, renders, embeds and
signs the PDF. The generation runs in a worker thread (it is CPU-bound); the export's
records are pulled from the event loop page by page as the thread asks for them, so memory
stays bounded whatever the range, and progress goes to the job's row as it moves."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.compliance.coverage import ToolUsage, coverage
from faramesh_cloud.compliance.domain import NS, ReportView, framework_names, to_ns
from faramesh_cloud.compliance.jobs import MadeReport, Progress
from faramesh_cloud.compliance.policy import Policies
from faramesh_cloud.compliance.posture import FrameworkPosture
from faramesh_cloud.compliance.report.generate import generate_report
from faramesh_cloud.compliance.report.model import (
    ApprovalsSummary,
    CertifiedChain,
    CoverageRow,
    CoverageStatus,
    DecisionStats,
    EffectBucket,
    Parameters,
    PostureRow,
    PostureStatus,
    ReportModel,
)
from faramesh_cloud.compliance.report.sign import DocumentKey
from faramesh_cloud.compliance.sources import Sources
from faramesh_cloud.signing.dpr_bundle import entry
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction


def at(value_ns: int) -> datetime:
    return datetime.fromtimestamp(value_ns / NS, UTC)


BUCKETS_NS: Final = tuple(m * 60 * NS for m in (1, 5, 15, 60, 6 * 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60))


def bucket_for(start_ns: int, end_ns: int, at_most: int = 120) -> int:
    """The smallest of 1 min, 5 min, 15 min, 1 h, 6 h, 1 day, 1 week, 30 days that draws the
    range in at most ``at_most`` bars."""
    span = end_ns - start_ns
    return next((b for b in BUCKETS_NS if span / b <= at_most), BUCKETS_NS[-1])


@dataclass(frozen=True)
class Keys:
    signing: Ed25519PrivateKey  # the platform key: signs the appendix
    document: DocumentKey  # the platform document certificate: signs the PDF


# The framework's posture now, measured and checked (``Sweep.posture``: not the stored one, which
# may be up to a minute old or, for an undeclared framework, absent).
PostureNow = Callable[[str, str], Awaitable[FrameworkPosture]]


class ReportPipeline:
    def __init__(self, db: Database, sources: Sources, keys: Keys, posture_now: PostureNow) -> None:
        self._db = db
        self._sources = sources
        self._keys = keys
        self._posture_now = posture_now
        self.policies = Policies(sources.fleet)

    async def model(self, org_id: str, report: ReportView) -> ReportModel:
        """What the report says of ``report``'s range (its end at most now: a report covers
        what has happened, up to when it was made)."""
        audit, start_ns, end_ns = self._sources.audit, to_ns(report.range_start), to_ns(report.range_end)
        stacks = list(report.stack_ids)
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute("SELECT slug, name FROM orgs WHERE org_id = %s", (org_id,))
            slug, name = await cur.fetchone() or ("", "")
        views = await self.policies.stacks(org_id)
        names = {s.stack_id: s.name for s in views}
        parameters = Parameters(org_id, slug, name, report.framework,
                                framework_names().get(report.framework, report.framework), tuple(stacks),
                                report.range_start, report.range_end, datetime.now(UTC), report.requested_by,
                                stack_names=names)
        certificate = await audit.integrity_certificate(org_id, stacks, start_ns, end_ns)
        stats = await audit.decision_stats(org_id, stacks, start_ns, end_ns, bucket_for(start_ns, end_ns))
        usage = await audit.tool_usage(org_id, stacks, start_ns, end_ns)
        summary = await self._sources.approvals.summary(org_id, stacks=stacks or None, start=report.range_start,
                                                        end=report.range_end)
        posture = await self._posture_now(org_id, report.framework)
        return ReportModel(
            parameters=parameters,
            certificate=tuple(certified(c) for c in certificate),
            coverage=tuple(await self.coverage_rows(
                org_id, [v for v in views if not stacks or v.stack_id in stacks], usage)),
            stats=decision_stats(stats),
            approvals=approvals_summary(summary),
            posture=tuple(PostureRow(c.control_id, c.title, PostureStatus(c.status.value))
                          for c in posture.controls),
        )

    async def coverage_rows(self, org_id: str, stacks: list[Any], usage: list[Any]) -> list[CoverageRow]:
        """Each agent's coverage on ``stacks`` (the fleet's views of the report's stacks)."""
        policies = {p.stack_id: p.policy for p in await self.policies.applied_of(org_id, stacks)}
        by_stack: dict[str, list[ToolUsage]] = {}
        for u in usage:
            by_stack.setdefault(u.stack_id, []).append(
                ToolUsage(u.stack_id, u.agent_id, u.tool_id, u.matched_rule_id, u.effect, u.calls,
                          u.decided_by))
        rows: list[CoverageRow] = []
        for stack_id, found in sorted(by_stack.items()):
            for agent in coverage(policies.get(stack_id), found):
                rows.append(CoverageRow(agent.stack_id, agent.agent_id, CoverageStatus(agent.status),
                                        tuple(t.tool_id for t in agent.tools),
                                        tuple(t.tool_id if t.status == "gap" else f"{t.tool_id} (some calls)"
                                              for t in agent.tools if t.status in ("gap", "partial"))))
        return rows

    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
        await progress(0.02, "gathering statistics, integrity and coverage")
        now = datetime.now(UTC)
        if report.range_end > now:  # a range that ends later covers what has happened by now
            report = dataclasses.replace(report, range_end=max(now, report.range_start + timedelta(microseconds=1)))
        model = await self.model(org_id, report)
        expected = max(1, sum(c.records_in_range for c in model.certificate))
        # the export's first pass sorts the range by chain before its first record comes out
        await progress(0.05, f"reading {expected:,} records of the range from the audit index")
        loop = asyncio.get_running_loop()
        records = self._sources.audit.export_range(org_id, list(report.stack_ids), to_ns(report.range_start),
                                                   to_ns(report.range_end))
        stages = {"appendix": (0.05, 0.85), "render": (0.86, 0.9), "embed": (0.9, 0.95), "sign": (0.95, 0.98)}

        def moved(stage: str, count: int) -> None:
            low, high = stages.get(stage, (0.05, 0.98))
            fraction = low + (high - low) * min(1.0, count / expected) if stage == "appendix" else low
            words = f"writing the signed appendix ({count:,} of {expected:,} records)" if stage == "appendix" \
                else {"render": "drawing the report", "embed": "attaching the appendix",
                      "sign": "signing the PDF"}.get(stage, stage)
            asyncio.run_coroutine_threadsafe(progress(fraction, words), loop)

        out = scratch / "report.pdf"
        made = await asyncio.to_thread(
            generate_report, out, model, _pull(records, loop), signing_key=self._keys.signing,
            document_key=self._keys.document, work_dir=scratch / "work", progress=moved)
        p = model.parameters
        title = (f"{p.framework_title} report, {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}"
                 + ("" if not p.stacks else f", {len(p.stacks)} stack(s)"))
        return MadeReport(made.path, title, f"faramesh-{p.framework}-report-{p.start:%Y%m%d}-{p.end:%Y%m%d}.pdf",
                          made.verification_hash,
                          {"framework": p.framework, "stacks": list(p.stacks), "since": p.start.isoformat(),
                           "until": p.end.isoformat(), "records": made.records,
                           "appendix_sha256": made.appendix_sha256, "report_id": report.report_id})


PULL_BATCH: Final = 1_000  # records fetched on the event loop per hop (one export page)


def _pull(records: AsyncIterator[Any], loop: asyncio.AbstractEventLoop,
          batch: int = PULL_BATCH) -> Iterator[Mapping[str, Any]]:
    """The export's records as a plain iterator for the worker thread, fetched on the event
    loop ``batch`` at a time when the thread asks for them (memory bounded by a batch; one
    hop from thread to loop per record cost ~200 µs each on a busy 2-core box: 1M records,
    minutes)."""
    iterator = records.__aiter__()

    async def some() -> list[Any]:
        out: list[Any] = []
        try:
            while len(out) < batch:
                out.append(await iterator.__anext__())
        except StopAsyncIteration:
            out.append(_END)
        return out

    while True:
        for record in asyncio.run_coroutine_threadsafe(some(), loop).result():
            if record is _END:
                return
            yield entry(record)


_END = object()


def certified(c: Any) -> CertifiedChain:
    return CertifiedChain(c.stack_id, c.agent_id, c.head.record_hash if c.head else "",
                          c.head.chain_index if c.head else None, c.chain_length, c.records, c.segments,
                          len(c.findings), at(c.verified_ns) if c.verified_ns else None)


def decision_stats(s: Any) -> DecisionStats:
    return DecisionStats(buckets=tuple(EffectBucket(at(b.start_ns), dict(b.counts)) for b in s.buckets),
                         top_tools=tuple((r.name, r.count) for r in s.top_tools),
                         top_agents=tuple((r.name, r.count) for r in s.top_agents),
                         top_rules=tuple((r.name or "(no rule: default)", r.count) for r in s.top_rules),
                         total=s.total, unverified_summaries=s.unverified_total)


def approvals_summary(s: Any) -> ApprovalsSummary:
    return ApprovalsSummary(
        by_outcome={"approved": s.approved, "denied": s.denied, "expired": s.expired, "withdrawn": s.withdrawn,
                    "pending": s.pending},
        median_pending_s=s.median_pending_s, p95_pending_s=s.p95_pending_s,
        approvers=tuple((a.label or a.approver_id, a.approved + a.denied) for a in s.approvers),
        bulk_actions=s.bulk_actions, expired=s.expired)

