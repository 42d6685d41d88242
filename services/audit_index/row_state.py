"""What the reads need to show a DPR's verification state (issue 18), from PostgreSQL: the
chain verifier's watermark and the open findings.

The search index writes ``dpr_records`` rows with placeholder verdict columns; the chain
verifier writes findings to PostgreSQL and commits its positions (the watermark). A row is
``verifying`` while its log offset is at or above the verifier's committed position for its
partition, else ``failed`` when an open critical finding names it, else ``verified``; its
verdict columns are a function of its open findings and ``signature_kind``
(``verification_state``). Nothing here reads the stored verdict columns.

A finding names its row by the log position it was found at (``topic[partition]@offset`` on
the DPR topic); a finding with a position elsewhere (a WAL-corruption finding comes from the
WAL-problem topic) names its row by (stack, agent, record_id).

Where the findings are read (docs/audit-index.md, "Reads"): from PostgreSQL, passed to
ClickHouse as array parameters when a query filters on the state. Findings are rare (a
healthy fleet has none but re-genesis warnings and duplicates), so the parameter is small;
it was measured against the size at which a ``dpr_findings`` ClickHouse table would pay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.domain import (
    CHECKED_BY,
    ChainFinding,
    LinkStatus,
    Severity,
    SignatureKind,
)
from faramesh_cloud.audit_index.verification_state import (
    COVERED_SQL,
    CheckState,
    Watermark,
    derived_columns,
    state_of,
)
from faramesh_cloud.audit_index.views import FAILED, UNVERIFIED, VERIFIED, VERIFYING, RecordSummary
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.sql.database import Database

UNCHECKED: Final = LinkStatus.UNCHECKED.value  # a verdict column of a row still verifying
_FINDING_COLUMNS: Final = (
    "org_id, stack_id, agent_id, record_id, record_hash, kind, severity, message, chain_index, "
    "log_position, record_created_at, detected_ns"
)

Position = tuple[int, int]
RowKey = tuple[str, str, str]  # stack, agent, record_id


def position_on(topic: str, log_position: str) -> Position | None:
    """(partition, offset) of a finding's log position when it is on ``topic``, else None."""
    head, at, offset = log_position.rpartition("]@")
    name, bracket, partition = head.rpartition("[")
    if not at or not bracket or name != topic or not partition.isdigit() or not offset.isdigit():
        return None
    return int(partition), int(offset)


async def watermark(db: Database, topic: str, projection: str = CHECKED_BY) -> Watermark:
    """The committed positions of ``projection`` on ``topic``: the chain verifier's
    (``audit-verifier``), or while the service runs the single consumer that verifies in the
    batch it indexes, its own (``audit-index``; ``domain.CHECKED_BY``)."""
    async with db.connection() as conn:
        return await watermark_in(conn, topic, projection)


async def watermark_in(conn: AsyncConnection[Any], topic: str, projection: str = CHECKED_BY) -> Watermark:
    """``watermark`` in ``conn``'s transaction."""
    cur = await conn.execute(
        "SELECT partition, next_offset FROM audit_index_positions WHERE projection = %s AND topic = %s",
        (projection, topic),
    )
    return Watermark({int(p): int(o) for p, o in await cur.fetchall()})


def verifier_param(mark: Watermark) -> list[int]:
    """``mark`` as the ``{verifier:Array(UInt64)}`` parameter of ``COVERED_SQL``."""
    return mark.as_array(max(mark.next_offsets, default=-1) + 1)


def _finding(row: Sequence[Any]) -> ChainFinding:
    org, stack, agent, record_id, record_hash, kind, severity, message, index, where, created, ns = row
    return ChainFinding(org, stack, agent, record_id, record_hash, kind, Severity(severity), message,
                        int(index), where, created, int(ns))


async def chain_findings(db: Database, org_id: str, stack_id: str, agent_id: str) -> list[ChainFinding]:
    """The open findings of one agent chain."""
    async with db.connection() as conn:
        rows = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings WHERE org_id = %s AND stack_id = %s "
            "AND agent_id = %s AND retracted_at IS NULL", (org_id, stack_id, agent_id),
        )).fetchall()
    return [_finding(row) for row in rows]


async def signature_findings_in(conn: AsyncConnection[Any], org_id: str, stack_id: str) -> list[ChainFinding]:
    """The open ``bad_signature`` / ``untrusted_signer`` findings of one stack, in ``conn``."""
    rows = await (await conn.execute(
        f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings WHERE org_id = %s AND stack_id = %s "
        "AND retracted_at IS NULL AND kind = ANY(%s::text[])",
        (org_id, stack_id, [FindingKind.BAD_SIGNATURE.value, FindingKind.UNTRUSTED_SIGNER.value]),
    )).fetchall()
    return [_finding(row) for row in rows]


async def open_findings(db: Database, org_id: str, record_ids: Sequence[str]) -> list[ChainFinding]:
    """The open (not retracted) findings about these record ids of ``org_id``."""
    if not record_ids:
        return []
    async with db.connection() as conn:
        rows = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings WHERE org_id = %s "
            "AND record_id = ANY(%s::text[]) AND retracted_at IS NULL ORDER BY detected_ns, kind",
            (org_id, sorted(set(record_ids))),
        )).fetchall()
    return [_finding(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Named:
    """Open findings indexed by the rows they name."""

    topic: str
    by_position: dict[Position, list[ChainFinding]]
    by_key: dict[RowKey, list[ChainFinding]]

    @classmethod
    def of(cls, topic: str, findings: Iterable[ChainFinding]) -> Named:
        by_position: dict[Position, list[ChainFinding]] = {}
        by_key: dict[RowKey, list[ChainFinding]] = {}
        for finding in findings:
            at = position_on(topic, finding.log_position)
            if at is None:
                by_key.setdefault((finding.stack_id, finding.agent_id, finding.record_id), []).append(finding)
            else:
                by_position.setdefault(at, []).append(finding)
        return cls(topic, by_position, by_key)

    def naming(self, stack_id: str, agent_id: str, record_id: str, record_hash: str, partition: int,
               offset: int) -> list[ChainFinding]:
        """The open findings naming one row (same stack, agent, record and hash at its log
        position; or, found off the DPR topic, the same stack, agent and record)."""
        mine = [f for f in self.by_position.get((partition, offset), [])
                if (f.stack_id, f.agent_id, f.record_id, f.record_hash) == (stack_id, agent_id, record_id, record_hash)]
        return mine + self.by_key.get((stack_id, agent_id, record_id), [])

    def of_row(self, row: RecordSummary) -> list[ChainFinding]:
        return self.naming(row.stack_id, row.agent_id, row.record_id, row.record_hash, row.log_partition,
                           row.log_offset)

    def link_status(self, mark: Watermark, stack_id: str, agent_id: str, record_id: str, record_hash: str,
                    partition: int, offset: int) -> str:
        """A row's link status as its findings say (``unchecked`` while verifying)."""
        if not mark.covers(partition, offset):
            return UNCHECKED
        kinds = [f.kind for f in self.naming(stack_id, agent_id, record_id, record_hash, partition, offset)]
        return derived_columns(kinds, SignatureKind.NONE)[2].value


def derive(row: RecordSummary, mark: Watermark, named: Named) -> RecordSummary:
    """``row`` with its state and verdict columns as the verifier's watermark and findings
    say (a decision summary unchanged: ``unverified``)."""
    if not row.verified:
        return row if row.state == UNVERIFIED else replace(row, state=UNVERIFIED)
    kinds = [f.kind for f in named.of_row(row)]
    state = state_of(mark.covers(row.log_partition, row.log_offset), kinds)
    if state is CheckState.VERIFYING:
        return replace(row, state=VERIFYING, hash_valid=False, signature_status=UNCHECKED, link_status=UNCHECKED)
    hash_valid, signature, link = derived_columns(kinds, SignatureKind(row.signature_kind))
    return replace(row, state=state.value, hash_valid=hash_valid, signature_status=signature.value,
                   link_status=link.value)


def behind(row: RecordSummary, mark: Watermark) -> int:
    """How many messages of the row's partition the verifier has still to check up to and
    including the row (0 once it has)."""
    if not row.verified:
        return 0
    return max(0, row.log_offset + 1 - mark.next_offsets.get(row.log_partition, 0))


async def critical(db: Database, org_id: str, stack_id: str | None = None) -> list[ChainFinding]:
    """The organisation's open critical findings (what makes a checked row ``failed``)."""
    stack_clause = "" if stack_id is None else " AND stack_id = %(stack)s"
    async with db.connection() as conn:
        rows = await (await conn.execute(
            f"SELECT {_FINDING_COLUMNS} FROM audit_chain_findings WHERE org_id = %(org)s{stack_clause} "
            "AND retracted_at IS NULL AND severity = %(critical)s",
            {"org": org_id, "stack": stack_id, "critical": Severity.CRITICAL.value},
        )).fetchall()
    return [_finding(row) for row in rows]


# "the row is named by one of these findings", with the parameters ``{prefix}_pos``
# (partition, offset) and ``{prefix}_key`` (stack, agent, record_id).
def named_sql(prefix: str) -> str:
    return (f"((log_partition, log_offset) IN {{{prefix}_pos:Array(Tuple(UInt16, UInt64))}} "
            f"OR (stack_id, agent_id, record_id) IN {{{prefix}_key:Array(Tuple(String, String, String))}})")


def named_params(prefix: str, named: Named) -> dict[str, Any]:
    return {f"{prefix}_pos": sorted(named.by_position), f"{prefix}_key": sorted(named.by_key)}


def state_clause(state: str, mark: Watermark, failing: Named) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (on ``dpr_records``) of a state filter and its parameters: ``failing``
    holds the open critical findings."""
    params: dict[str, Any] = {"verifier": verifier_param(mark)}
    if state == VERIFYING:
        return f"NOT ({COVERED_SQL})", params
    params.update(named_params("failing", failing))
    named = named_sql("failing")
    if state == FAILED:
        return f"({COVERED_SQL}) AND {named}", params
    if state == VERIFIED:
        return f"({COVERED_SQL}) AND NOT {named}", params
    raise ValueError(f"unknown state {state!r}")


@dataclass(frozen=True, slots=True)
class EvidenceSets:
    """The findings the integrity certificate counts by, as ClickHouse parameters."""

    params: dict[str, Any]

    @classmethod
    def of(cls, topic: str, mark: Watermark, findings: Iterable[ChainFinding]) -> EvidenceSets:
        groups: dict[str, list[ChainFinding]] = {"dup": [], "badhash": [], "badsig": [], "untrusted": []}
        kind_group = {FindingKind.DUPLICATE.value: "dup", FindingKind.RECORD_HASH_MISMATCH.value: "badhash",
                      FindingKind.BAD_SIGNATURE.value: "badsig", FindingKind.UNTRUSTED_SIGNER.value: "untrusted"}
        for finding in findings:
            group = kind_group.get(finding.kind)
            if group is not None:
                groups[group].append(finding)
        params: dict[str, Any] = {"verifier": verifier_param(mark)}
        for prefix, found in groups.items():
            params.update(named_params(prefix, Named.of(topic, found)))
        return cls(params)

    @staticmethod
    def sql(prefix: str) -> str:
        return named_sql(prefix)

