"""A row's verification state, derived (pure) from the chain verifier's watermark and findings.

Issue 18 splits the index into a search index (group ``audit-index``: rows searchable first)
and a chain verifier (group ``audit-verifier``). The verifier writes nothing per record to
ClickHouse; what the explorer shows is derived at read (docs/audit-index.md, "Searchable
first, verified right after"):

* **verifying**: the verifier has not committed past the message the row was indexed from
  (``Watermark.covers`` is false): it commits per partition in log order, after its sink;
* otherwise **failed** when an open critical finding names the row, else **verified**;
* the old per-row verdict columns (``hash_valid``, ``signature_status``, ``link_status``)
  are a function of the row's findings and its ``signature_kind`` (``derived_columns``),
  the same values today's single consumer stores (tested against it on the vectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from faramesh_cloud.audit_index.domain import (
    LINK_KINDS,
    LinkStatus,
    Severity,
    SignatureKind,
    severity_of,
)
from faramesh_cloud.dpr.chain import FindingKind
from faramesh_cloud.dpr.signatures import SignatureStatus


class CheckState(StrEnum):
    VERIFYING = "verifying"  # searchable; the chain verifier has not checked it yet
    VERIFIED = "verified"  # checked: no open critical finding (warnings and info may exist)
    FAILED = "failed"  # checked: at least one open critical finding


@dataclass(frozen=True, slots=True)
class Watermark:
    """The chain verifier's committed positions on ``dpr.records.v1``: per partition, the next
    offset it has not applied (absent partition: nothing applied)."""

    next_offsets: Mapping[int, int]

    def covers(self, partition: int, offset: int) -> bool:
        return offset < self.next_offsets.get(partition, 0)

    def as_array(self, partitions: int) -> list[int]:
        """For ClickHouse: ``arrayElement(array, log_partition + 1)`` is the partition's next
        offset, so a row is verifying when ``log_offset >= arrayElement(…)``."""
        return [self.next_offsets.get(p, 0) for p in range(partitions)]


# The ClickHouse expression of "the verifier has this row", with the parameter named
# ``verifier`` (Array(UInt64), from ``Watermark.as_array``). A partition past the array's
# end reads 0 (arrayElement's default): verifying, as ``covers`` says.
COVERED_SQL = "log_offset < arrayElement({verifier:Array(UInt64)}, log_partition + 1)"


def state_of(covered: bool, open_kinds: Iterable[str]) -> CheckState:
    """The state a person sees: ``open_kinds`` are the kinds of the row's open (not
    retracted) findings."""
    if not covered:
        return CheckState.VERIFYING
    if any(severity_of(kind) is Severity.CRITICAL for kind in open_kinds):
        return CheckState.FAILED
    return CheckState.VERIFIED


_SIGNATURE_BY_FINDING = {
    FindingKind.BAD_SIGNATURE.value: SignatureStatus.INVALID,
    FindingKind.UNTRUSTED_SIGNER.value: SignatureStatus.UNTRUSTED,
}


def derived_columns(kinds: Iterable[str], signature_kind: SignatureKind) -> tuple[bool, SignatureStatus, LinkStatus]:
    """(hash_valid, signature_status, link_status) of a verified row from its open findings'
    kinds: what today's sink stores in the row's columns."""
    found = set(kinds)
    hash_valid = FindingKind.RECORD_HASH_MISMATCH.value not in found
    link = next((status for kind, status in LINK_KINDS.items() if kind.value in found), LinkStatus.LINKED)
    signature = next((status for kind, status in _SIGNATURE_BY_FINDING.items() if kind in found), None)
    if signature is None:
        signature = SignatureStatus.VALID if signature_kind is SignatureKind.ED25519 else SignatureStatus.UNSIGNED
    return hash_valid, signature, link
