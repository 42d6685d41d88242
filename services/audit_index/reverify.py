"""Re-checking earlier verdicts after a verifier fix (``VERIFIER_REVISION`` in the kernel).

The index stores its verdicts as findings and alerts in PostgreSQL; a row's ``hash_valid``
and ``signature_status`` are derived from them at read (issue 18, ``row_state``). When a fix changes what an unchanged record
verifies as (revision 2: the legacy canonical key order), those verdicts are wrong for every
record the old code misjudged, and a rebuild from the log would silently drop the alerts
people may already have acted on. So on start, when the stored revision is older than the
code's, the index re-checks every open finding a verifier fix can change (a hash mismatch, a
bad signature) against the record's stored raw bytes:

* a finding that no longer holds is **retracted**, not deleted: it keeps its row, with when
  and why, and no longer counts in the chain's verdict;
* its alert, if still open, is closed (acknowledged by the system) with a note saying why:
  an ``AlertRetracted`` event (``alert_state``), in the outbox of this transaction, which the
  notifications service passes on (PagerDuty ``resolve``), so a page opened by the defect is
  closed by the fix;
* nothing in ClickHouse changes: the row's verdict columns follow its findings (a crash
  before the commit re-runs the pass, and every step is idempotent);
* a signature that verifies but by a key not pinned for the stack (when the record was
  received) becomes an ``untrusted_signer`` finding, as the processor would have said;
* each organisation's platform audit log gets one entry naming what was retracted and why.

Then the stored revision moves to the code's, in the same transaction. One pass per
upgrade, under a row lock, so two index processes starting together do it once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.audit_index import alert_state
from faramesh_cloud.audit_index.alert_events import AlertKey, AlertRetracted
from faramesh_cloud.audit_index.domain import ChainFinding, severity_of
from faramesh_cloud.audit_index.pin_history import TrustView
from faramesh_cloud.audit_index.postgres import Conn, save_findings
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.dpr.canonical import DprFormatError, canonical_bytes, hash_bytes, parse_record
from faramesh_cloud.dpr.chain import VERIFIER_REVISION, VERIFIER_REVISIONS, FindingKind
from faramesh_cloud.dpr.meta import to_meta
from faramesh_cloud.dpr.signatures import SignatureStatus, check_ed25519
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import APP_ROLE, enter_org

RECHECKED: Final = (FindingKind.RECORD_HASH_MISMATCH.value, FindingKind.BAD_SIGNATURE.value)
SYSTEM: Final = Actor.system("faramesh-cloud verifier")
_CHUNK: Final = 1000
_LISTED: Final = 200  # findings named in one platform audit entry

Key = tuple[str, str, str, str, str]  # org, stack, agent, record id, record hash


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the current verifier says of one stored finding."""

    holds: bool
    signature: SignatureStatus | None = None  # the row's new signature status, when it changes


def recheck(kind: str, record_hash: str, raws: Sequence[str], trusted: Collection[str] | None) -> Verdict:
    """Pure: does ``kind`` still hold for every stored copy (``raws``) of the record?"""
    if not raws:
        return Verdict(True)  # nothing to re-check against: keep the finding
    statuses: set[SignatureStatus] = set()
    for raw in raws:
        try:
            record = parse_record(raw)
            canonical = canonical_bytes(record, raw.encode())
        except DprFormatError:
            return Verdict(True)
        if kind == FindingKind.RECORD_HASH_MISMATCH.value:
            if hash_bytes(canonical) != record_hash:
                return Verdict(True)
            continue
        meta = to_meta(record)
        if check_ed25519(meta, canonical, None) is not SignatureStatus.VALID:
            return Verdict(True)
        statuses.add(check_ed25519(meta, canonical, trusted))
    signature = None if kind == FindingKind.RECORD_HASH_MISMATCH.value else (
        SignatureStatus.UNTRUSTED if SignatureStatus.UNTRUSTED in statuses else SignatureStatus.VALID)
    return Verdict(False, signature)


@dataclass(slots=True)
class ReverifyReport:
    from_revision: int
    to_revision: int
    checked: int = 0
    retracted: list[ChainFinding] = field(default_factory=list)
    added: list[ChainFinding] = field(default_factory=list)  # untrusted_signer, where pins say so


def _note(from_revision: int, now: datetime) -> str:
    reasons = "; ".join(VERIFIER_REVISIONS[r] for r in range(from_revision + 1, VERIFIER_REVISION + 1))
    return (f"Retracted automatically on {now:%Y-%m-%d %H:%M} UTC by the verifier's revision {VERIFIER_REVISION}: "
            f"the record verifies. The earlier finding came from a defect in Cloud's verifier, not from a "
            f"change to the record: {reasons}.")


async def reverify(db: Database, olap: Olap, tables: AuditTables, audit: PlatformAuditLog,
                   trusted: TrustView | None, now: datetime) -> ReverifyReport | None:
    """Re-check earlier verdicts if the stored verifier revision is older than the code's;
    None when there was nothing to do."""
    async with db.transaction() as conn:
        row = await (await conn.execute(
            "SELECT revision FROM audit_verifier_revision WHERE singleton FOR UPDATE")).fetchone()
        if row is None or int(row[0]) >= VERIFIER_REVISION:
            return None
        report = ReverifyReport(int(row[0]), VERIFIER_REVISION)
        findings = await _open_findings(conn)
        report.checked = len(findings)
        raws = await asyncio.to_thread(_stored_raws, olap, tables, findings)
        changes: list[tuple[ChainFinding, Verdict]] = []
        for finding in findings:
            keys = trusted.get(finding.org_id, finding.stack_id, finding.detected_ns) if trusted else None
            verdict = recheck(finding.kind, finding.record_hash, raws.get(_key(finding), []), keys)
            if not verdict.holds:
                changes.append((finding, verdict))
        report.retracted = [finding for finding, _ in changes]
        report.added = [_untrusted(finding) for finding, verdict in changes
                        if verdict.signature is SignatureStatus.UNTRUSTED]
        if changes:
            await _retract(conn, report, _note(report.from_revision, now), now)
        await conn.execute("UPDATE audit_verifier_revision SET revision = %s, updated_at = %s WHERE singleton",
                           (VERIFIER_REVISION, now))
        await _log_per_org(conn, audit, report, _note(report.from_revision, now))
    return report


def _key(finding: ChainFinding) -> Key:
    return (finding.org_id, finding.stack_id, finding.agent_id, finding.record_id, finding.record_hash)


async def _open_findings(conn: Conn) -> list[ChainFinding]:
    rows = await (await conn.execute(
        "SELECT org_id, stack_id, agent_id, record_id, record_hash, kind, severity, message, chain_index, "
        "log_position, record_created_at, detected_ns FROM audit_chain_findings "
        "WHERE retracted_at IS NULL AND kind = ANY(%s::text[]) "
        "ORDER BY org_id, stack_id, agent_id, chain_index, kind", (list(RECHECKED),))).fetchall()
    return [ChainFinding(o, s, a, r, h, k, severity_of(k), m, int(i), p, c, int(n))
            for o, s, a, r, h, k, _, m, i, p, c, n in rows]


def _stored_raws(olap: Olap, tables: AuditTables, findings: Sequence[ChainFinding]) -> dict[Key, list[str]]:
    """Every stored copy of each finding's record (blocking: run in a thread)."""
    by_org: dict[str, list[str]] = {}
    for finding in findings:
        by_org.setdefault(finding.org_id, []).append(finding.record_id)
    raws: dict[Key, list[str]] = {}
    for org, ids in by_org.items():
        unique = sorted(set(ids))
        for start in range(0, len(unique), _CHUNK):
            result = olap.query(
                f"SELECT org_id, stack_id, agent_id, record_id, record_hash, raw FROM {tables.dpr} "
                "WHERE org_id = {org:String} AND record_id IN {ids:Array(String)}",
                {"org": org, "ids": unique[start:start + _CHUNK]})
            for o, s, a, r, h, raw in result.rows:
                raws.setdefault((o, s, a, r, h), []).append(raw)
    return raws


def _untrusted(finding: ChainFinding) -> ChainFinding:
    kind = FindingKind.UNTRUSTED_SIGNER.value
    return ChainFinding(finding.org_id, finding.stack_id, finding.agent_id, finding.record_id, finding.record_hash,
                        kind, severity_of(kind), "Ed25519 signature is valid but by a key not pinned for this stack",
                        finding.chain_index, finding.log_position, finding.record_created_at, finding.detected_ns)


async def _retract(conn: Conn, report: ReverifyReport, note: str, now: datetime) -> None:
    """Each retraction is an ``AlertRetracted`` event, applied (the finding retracted, its alert
    closed by the system if still open) and added to the outbox in this transaction."""
    keys = [AlertKey(*_key(f), f.kind) for f in report.retracted]
    ids = await alert_state.alert_ids(conn, keys)
    await alert_state.record(conn, [
        AlertRetracted(key=key, occurred_at=now, alert_id=ids.get(key, 0), actor_label=SYSTEM.label, note=note,
                       from_revision=report.from_revision, to_revision=report.to_revision,
                       cause=f"verifier-revision-{report.to_revision}")
        for key in keys])
    await save_findings(conn, report.added)


def _org_uuid(org_id: str) -> str | None:
    try:
        return str(uuid.UUID(org_id))
    except ValueError:
        return None  # an organisation id that is not a UUID has no platform audit log (tests, benches)


async def _log_per_org(conn: Conn, audit: PlatformAuditLog, report: ReverifyReport, note: str) -> None:
    """One platform audit entry per organisation with retractions. Last in the transaction:
    it acts as the application role from here on."""
    by_org: dict[str, list[ChainFinding]] = {}
    for finding in report.retracted:
        if _org_uuid(finding.org_id) is not None:
            by_org.setdefault(finding.org_id, []).append(finding)
    if not by_org:
        return
    await conn.execute("SELECT set_config('role', %s, true)", (APP_ROLE,))
    for org, members in by_org.items():
        await enter_org(conn, org)
        details: dict[str, Any] = {
            "from_revision": report.from_revision, "to_revision": report.to_revision, "note": note,
            "retracted": len(members),
            "findings": [{"stack_id": f.stack_id, "agent_id": f.agent_id, "record_id": f.record_id, "kind": f.kind}
                         for f in members[:_LISTED]],
        }
        await audit.append_in(conn, org, AuditAction.FINDING_RETRACTED, SYSTEM,
                              target=Target("audit_findings", str(len(members))), details=details)
