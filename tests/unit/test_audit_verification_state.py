"""The verification state a row shows after the split (issue 18), derived from the chain
verifier's watermark and findings (``verification_state``, pure).

The claim the design rests on is checked against today's single consumer on the real
vectors: for every record, the verdict columns derived from the findings that name its log
position equal what the processor and the chain projection give it now. If a future finding
kind or verdict stopped being derivable from the findings, this fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.audit_index.domain import LinkStatus, SignatureKind
from faramesh_cloud.audit_index.verification_state import (
    CheckState,
    Watermark,
    derived_columns,
    state_of,
)
from faramesh_cloud.dpr.signatures import SignatureStatus
from tests.unit.test_audit_chain_projection import EXPECTED, Store, records_of


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_columns_are_a_function_of_the_findings(vectors_dir: Path, name: str) -> None:
    records = records_of(vectors_dir / name)
    outcome = Store().apply(records)
    kinds: dict[str, list[str]] = {}
    for finding in outcome.findings:
        kinds.setdefault(finding.log_position, []).append(finding.kind)

    for rec, link in zip(records, outcome.link_status, strict=True):
        today = (rec.hash_valid, rec.signature_status, link)
        assert derived_columns(kinds.get(rec.log_position, []), rec.signature_kind) == today, rec.record_id


def test_an_untrusted_signer_finding_reads_as_untrusted() -> None:
    assert derived_columns(["untrusted_signer"], SignatureKind.ED25519) == (
        True, SignatureStatus.UNTRUSTED, LinkStatus.LINKED)
    assert derived_columns([], SignatureKind.HMAC) == (True, SignatureStatus.UNSIGNED, LinkStatus.LINKED)
    assert derived_columns(["gap", "broken_link"], SignatureKind.NONE)[2] is LinkStatus.BROKEN_LINK


def test_a_row_is_verifying_until_the_verifier_commits_past_its_message() -> None:
    mark = Watermark({0: 10, 3: 1})

    assert mark.covers(0, 9) and not mark.covers(0, 10)
    assert mark.covers(3, 0) and not mark.covers(3, 1)
    assert not mark.covers(5, 0)  # a partition the verifier never applied
    assert mark.as_array(5) == [10, 0, 0, 1, 0]


def test_state_names_verifying_then_verified_or_failed() -> None:
    assert state_of(False, ["record_hash_mismatch"]) is CheckState.VERIFYING
    assert state_of(True, []) is CheckState.VERIFIED
    assert state_of(True, ["regenesis", "duplicate_record"]) is CheckState.VERIFIED  # warning, info
    assert state_of(True, ["bad_signature"]) is CheckState.FAILED
