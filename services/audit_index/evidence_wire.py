"""The evidence reads' values to and from ``query.proto`` messages (both edges: the servicer
writes them, the client reads them back into the same values)."""

from __future__ import annotations

from collections.abc import Callable

from faramesh_cloud_api.audit_index.v1 import query_pb2 as pb

from faramesh_cloud.audit_index.domain import ChainFinding
from faramesh_cloud.audit_index.evidence_views import (
    ChainCertificate,
    ChainPoint,
    DecisionStats,
    EffectBucket,
    Ranked,
    ToolUsage,
)


def _ranked(items: list[Ranked]) -> list[pb.Ranked]:
    return [pb.Ranked(name=r.name, count=r.count) for r in items]


def _ranked_view(items: list[pb.Ranked]) -> list[Ranked]:
    return [Ranked(r.name, r.count) for r in items]


def stats_message(s: DecisionStats) -> pb.DecisionStatsResponse:
    return pb.DecisionStatsResponse(
        start_ns=s.start_ns, end_ns=s.end_ns, bucket_ns=s.bucket_ns, total=s.total, by_effect=s.by_effect,
        buckets=[pb.EffectBucket(start_ns=b.start_ns, counts=b.counts) for b in s.buckets],
        top_tools=_ranked(s.top_tools), top_agents=_ranked(s.top_agents), top_rules=_ranked(s.top_rules),
        unverified_total=s.unverified_total, unverified_by_effect=s.unverified_by_effect)


def stats_view(m: pb.DecisionStatsResponse) -> DecisionStats:
    return DecisionStats(
        start_ns=m.start_ns, end_ns=m.end_ns, bucket_ns=m.bucket_ns, total=m.total,
        by_effect=dict(sorted(m.by_effect.items())),
        buckets=[EffectBucket(b.start_ns, dict(sorted(b.counts.items()))) for b in m.buckets],
        top_tools=_ranked_view(list(m.top_tools)), top_agents=_ranked_view(list(m.top_agents)),
        top_rules=_ranked_view(list(m.top_rules)), unverified_total=m.unverified_total,
        unverified_by_effect=dict(sorted(m.unverified_by_effect.items())))


def usage_message(u: ToolUsage) -> pb.ToolUsage:
    return pb.ToolUsage(stack_id=u.stack_id, agent_id=u.agent_id, tool_id=u.tool_id,
                        matched_rule_id=u.matched_rule_id, effect=u.effect, calls=u.calls, decided_by=u.decided_by)


def usage_view(m: pb.ToolUsage) -> ToolUsage:
    return ToolUsage(m.stack_id, m.agent_id, m.tool_id, m.matched_rule_id, m.effect, m.calls,
                     m.decided_by or ("rule" if m.matched_rule_id else "default"))


def _point(p: ChainPoint | None) -> pb.ChainPoint | None:
    if p is None:
        return None
    return pb.ChainPoint(record_id=p.record_id, record_hash=p.record_hash, chain_index=p.chain_index,
                         created_at=p.created_at)


def _point_view(m: pb.ChainCertificate, name: str) -> ChainPoint | None:
    if not m.HasField(name):
        return None
    p = getattr(m, name)
    return ChainPoint(p.record_id, p.record_hash, p.chain_index if p.HasField("chain_index") else None, p.created_at)


def certificate_message(c: ChainCertificate,
                        finding: Callable[[ChainFinding], pb.ChainFinding]) -> pb.ChainCertificate:
    """``finding``: the servicer's own finding conversion (one per edge, not two)."""
    return pb.ChainCertificate(
        stack_id=c.stack_id, agent_id=c.agent_id, records=c.records, duplicates=c.duplicates, first=_point(c.first),
        head=_point(c.head), invalid_hashes=c.invalid_hashes, signatures=c.signatures, chain_length=c.chain_length,
        segments=c.segments, tip_hash=c.tip_hash, tip_record_id=c.tip_record_id, verified_ns=c.verified_ns,
        findings=[finding(f) for f in c.findings])


def certificate_view(m: pb.ChainCertificate,
                     finding: Callable[[pb.ChainFinding], ChainFinding]) -> ChainCertificate:
    return ChainCertificate(
        stack_id=m.stack_id, agent_id=m.agent_id, records=m.records, duplicates=m.duplicates,
        first=_point_view(m, "first"), head=_point_view(m, "head"), invalid_hashes=m.invalid_hashes,
        signatures=dict(sorted(m.signatures.items())), chain_length=m.chain_length, segments=m.segments,
        tip_hash=m.tip_hash, tip_record_id=m.tip_record_id, verified_ns=m.verified_ns,
        findings=[finding(f) for f in m.findings])
