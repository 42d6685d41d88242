"""The chain projection (pure): findings on the real vectors, and the same answer whether a
stream arrives as one batch or record by record against the stored state.

Stored state is kept here in dicts shaped like the PostgreSQL tables (tips and chain
members); the PostgreSQL round trip itself is tested in tests/integration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from faramesh_cloud.audit_index.chain import (
    AgentState,
    ChainKey,
    ChainOutcome,
    lookup_hashes,
    project,
)
from faramesh_cloud.audit_index.domain import IndexedRecord, LinkStatus, Severity
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.events.topics import DPR_RECORDS, Origin, stack_key
from faramesh_cloud.log.port import Message

ORG, STACK = "org-a", "stack-1"

# (kind, record id suffix) per vector file, in stream order.
EXPECTED = {
    "dpr_chain_valid_jcs.jsonl": [],
    "dpr_chain_valid_legacy.jsonl": [],
    "dpr_chain_valid_multi_agent.jsonl": [],
    "dpr_chain_unhashed_field_edit.jsonl": [],
    # The edit also breaks the Ed25519 signature over the canonical bytes.
    "dpr_chain_tampered_field.jsonl": [("record_hash_mismatch", "1a03"), ("bad_signature", "1a03")],
    "dpr_chain_gap.jsonl": [("gap", "1a04")],
    "dpr_chain_broken_prev_link.jsonl": [("broken_link", "1a04"), ("gap", "1a05")],
    "dpr_chain_duplicate_record.jsonl": [("duplicate_record", "1a02")],
    "dpr_chain_bad_signature.jsonl": [("bad_signature", "1a01")],
    "dpr_chain_bad_genesis.jsonl": [("invalid_genesis", "1a01"), ("gap", "1a02")],
}


class Store:
    """What the sink keeps in PostgreSQL, in dicts."""

    def __init__(self) -> None:
        self.agents: dict[ChainKey, AgentState] = {}
        self.members: dict[ChainKey, dict[str, int]] = {}

    def apply(self, records: Sequence[IndexedRecord]) -> ChainOutcome:
        wanted = lookup_hashes(records)
        seen = {key: {h: i for h, i in self.members.get(key, {}).items() if h in hashes}
                for key, hashes in wanted.items()}
        outcome = project(records, {k: v for k, v in self.agents.items() if k in wanted}, seen)
        self.agents.update(outcome.agents)
        for link in outcome.links:
            self.members.setdefault(link.key, {})[link.record_hash] = link.chain_index
        return outcome


def records_of(path: Path, stack: str = STACK) -> list[IndexedRecord]:
    processor = DprProcessor()
    rows = []
    for offset, line in enumerate(path.read_bytes().splitlines()):
        headers = Origin(ORG, stack, "wal-import", offset, path.name, 1_000 + offset).headers()
        row = processor.process(Message(DPR_RECORDS, 0, offset, stack_key(ORG, stack), line, headers, 0))
        assert isinstance(row, IndexedRecord), row
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_on_the_vectors(vectors_dir: Path, name: str) -> None:
    outcome = Store().apply(records_of(vectors_dir / name))

    found = [(f.kind, f.record_id[-4:]) for f in outcome.findings]
    assert found == EXPECTED[name]
    for finding in outcome.findings:
        critical = finding.kind != "duplicate_record"
        assert (finding.severity is Severity.CRITICAL) is critical


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_record_by_record_against_stored_state_equals_one_batch(vectors_dir: Path, name: str) -> None:
    records = records_of(vectors_dir / name)
    whole = Store()
    at_once = whole.apply(records)
    piecewise = Store()
    outcomes = [piecewise.apply([rec]) for rec in records]

    assert [s for o in outcomes for s in o.link_status] == at_once.link_status
    assert [f for o in outcomes for f in o.findings] == at_once.findings
    assert piecewise.agents == whole.agents
    assert piecewise.members == whole.members


def test_link_status_names_what_happened_to_each_record(vectors_dir: Path) -> None:
    statuses = {name: Store().apply(records_of(vectors_dir / name)).link_status
                for name in ("dpr_chain_gap.jsonl", "dpr_chain_duplicate_record.jsonl",
                             "dpr_chain_bad_genesis.jsonl", "dpr_chain_broken_prev_link.jsonl")}

    linked = LinkStatus.LINKED
    assert statuses["dpr_chain_gap.jsonl"] == [linked, linked, LinkStatus.GAP, linked, linked]
    assert statuses["dpr_chain_duplicate_record.jsonl"] == [linked, linked, LinkStatus.DUPLICATE, linked]
    assert statuses["dpr_chain_bad_genesis.jsonl"] == [LinkStatus.INVALID_GENESIS, LinkStatus.GAP]
    assert statuses["dpr_chain_broken_prev_link.jsonl"] == [
        linked, linked, linked, LinkStatus.BROKEN_LINK, LinkStatus.GAP, linked]


def test_chain_shape_is_kept_per_agent(vectors_dir: Path) -> None:
    store = Store()
    store.apply(records_of(vectors_dir / "dpr_chain_valid_multi_agent.jsonl"))
    duplicate = store.apply(records_of(vectors_dir / "dpr_chain_duplicate_record.jsonl", "stack-2"))

    lengths = {key[1:]: state.chain_length for key, state in store.agents.items()}
    assert lengths == {
        (STACK, "agent-a"): 2, (STACK, "agent-b"): 2, (STACK, "support-bot#mcp-3f9a2c71"): 1,
        ("stack-2", "payments-bot"): 3,  # the repeat is not counted again
    }
    assert all(state.segments == 1 for state in store.agents.values())
    tip = store.agents[(ORG, "stack-2", "payments-bot")]
    assert tip.tip_record_id.endswith("1a03")
    assert [link.chain_index for link in duplicate.links] == [0, 1, 2]
