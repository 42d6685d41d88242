"""The platform audit chain: canonical form, hashing, verification."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from faramesh_cloud.platform_audit.chain import (
    AuditEntry,
    entry_from_json,
    genesis_hash,
    verify_entries,
)
from faramesh_cloud.platform_audit.events import Actor, ActorType, Target
from faramesh_cloud.signing.canonical import CanonicalJsonError, canonical_json

ORG = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def chain(n: int, org: str = ORG) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = genesis_hash(org)
    for seq in range(1, n + 1):
        entry = AuditEntry(org, seq, f"00000000-0000-4000-8000-{seq:012d}", T0 + timedelta(seconds=seq),
                           "identity:member:role_change", Actor(ActorType.USER, "u1", "ann@example.test", "10.0.0.1"),
                           Target("member", "u2"), {"from": "viewer", "to": "operator", "note": "Zoë"}, prev).sealed()
        out.append(entry)
        prev = entry.entry_hash
    return out


def test_canonical_json_is_sorted_compact_utf8_and_refuses_floats() -> None:
    assert canonical_json({"b": 1, "a": {"d": [True, None], "c": "Zoë"}}) == \
        '{"a":{"c":"Zoë","d":[true,null]},"b":1}'.encode()
    with pytest.raises(CanonicalJsonError, match=r"\$\.x: floating-point"):
        canonical_json({"x": 1.5})


def test_entry_hash_is_sha256_of_the_documented_canonical_form() -> None:
    entry = chain(1)[0]
    expected_text = (
        '{"action":"identity:member:role_change","actor":{"id":"u1","ip":"10.0.0.1","label":"ann@example.test",'
        '"type":"user"},"details":{"from":"viewer","note":"Zoë","to":"operator"},'
        '"event_id":"00000000-0000-4000-8000-000000000001","occurred_at":"2026-03-01T12:00:01.123456Z",'
        f'"org_id":"{ORG}","prev_hash":"{genesis_hash(ORG)}","seq":1,'
        '"target":{"id":"u2","type":"member"},"v":1}'
    )
    assert entry.entry_hash == hashlib.sha256(expected_text.encode()).hexdigest()
    assert genesis_hash(ORG) == hashlib.sha256(f"faramesh-cloud/platform-audit/v1/genesis/{ORG}".encode()).hexdigest()


def test_an_intact_chain_verifies_and_round_trips_through_json() -> None:
    entries = [entry_from_json(e.to_json()) for e in chain(5)]
    report = verify_entries(ORG, entries)
    assert report.ok and report.complete and report.entries == 5 and report.head_hash == entries[-1].entry_hash


def test_a_changed_entry_is_a_hash_mismatch() -> None:
    entries = chain(3)
    entries[1] = replace(entries[1], details={"from": "viewer", "to": "owner"})
    assert verify_entries(ORG, entries).problems == [
        "entry 2: hash mismatch (the entry was changed after it was written)"]


def test_a_resealed_changed_entry_breaks_the_next_link() -> None:
    entries = chain(3)
    entries[1] = replace(entries[1], details={"to": "owner"}).sealed()
    assert verify_entries(ORG, entries).problems == ["entry 3: broken link to entry 2"]


def test_a_removed_entry_makes_the_chain_incomplete_and_the_first_must_start_at_genesis() -> None:
    entries = chain(4)
    report = verify_entries(ORG, [entries[0], entries[2], entries[3]])
    assert report.ok and not report.complete
    moved = chain(2, org="2b4e28ba-2fa1-11d2-883f-0016d3cca427")
    assert "does not start from the organisation's genesis hash" in " ".join(verify_entries(moved[0].org_id, [
        replace(moved[0], prev_hash="0" * 64).sealed()]).problems)
    assert any("belongs to organisation" in p for p in verify_entries(ORG, moved).problems)
