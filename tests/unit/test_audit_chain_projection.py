"""The chain projection (pure): findings on the real vectors, and the same answer whether a
stream arrives as one batch or record by record against the stored state, and whether the
hashes of records that extend their chain's tip are looked up or not.

Stored state is kept here in dicts shaped like the PostgreSQL tables (tips and chain
members); the PostgreSQL round trip itself is tested in tests/integration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

    def __init__(self, *, tips: bool = False) -> None:
        self.agents: dict[ChainKey, AgentState] = {}
        self.members: dict[ChainKey, dict[str, int]] = {}
        self.tips = tips  # look up as VerifierSink does: not what extends a tip
        self.looked_up_again = 0

    def apply(self, records: Sequence[IndexedRecord]) -> ChainOutcome:
        agents = {k: v for k, v in self.agents.items() if k in {r.chain_key for r in records}}
        outcome = self._place(records, agents, lookup_hashes(records, agents if self.tips else None))
        if any(link.record_hash in self.members.get(link.key, {}) for link in outcome.links):
            # the members' primary key refuses the batch: VerifierSink rolls back and looks up all
            self.looked_up_again += 1
            outcome = self._place(records, agents, lookup_hashes(records))
        self.agents.update(outcome.agents)
        for link in outcome.links:
            self.members.setdefault(link.key, {})[link.record_hash] = link.chain_index
        return outcome

    def _place(self, records: Sequence[IndexedRecord], agents: dict[ChainKey, AgentState],
               wanted: dict[ChainKey, set[str]]) -> ChainOutcome:
        seen = {key: {h: i for h, i in self.members.get(key, {}).items() if h in hashes}
                for key, hashes in wanted.items()}
        return project(records, agents, seen)


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


def _stream_of(vectors_dir: Path) -> list[IndexedRecord]:
    return [rec for n, name in enumerate(("dpr_chain_valid_multi_agent.jsonl", "dpr_chain_duplicate_record.jsonl",
                                          "dpr_chain_gap.jsonl", "dpr_chain_broken_prev_link.jsonl"))
            for rec in records_of(vectors_dir / name, f"stack-{n}")]


def test_records_that_extend_their_tip_look_up_nothing(vectors_dir: Path) -> None:
    records = records_of(vectors_dir / "dpr_chain_valid_jcs.jsonl")
    store = Store(tips=True)
    store.apply(records[:1])

    wanted = lookup_hashes(records[1:], store.agents)
    assert wanted == {records[0].chain_key: set()}  # the chain is still locked, nothing looked up
    assert lookup_hashes(records[1:])[records[0].chain_key] == {  # without the tips, everything
        h for r in records[1:] for h in (r.record_hash, r.meta.prev_record_hash)}
    new_chain = records_of(vectors_dir / "dpr_chain_valid_multi_agent.jsonl")
    assert all(lookup_hashes(new_chain, store.agents).values())  # a chain never seen: looked up


def test_a_repeat_delivered_after_its_late_predecessor_is_still_a_repeat(vectors_dir: Path) -> None:
    # 1a01 <- 1a02 <- 1a03: 1a03 arrives before 1a02 (a gap), then 1a02 (a broken link onto the
    # genesis' successor), then 1a03 again, whose predecessor is now the tip: a stored member.
    first, second, third = records_of(vectors_dir / "dpr_chain_valid_jcs.jsonl")[:3]
    order = [[first], [third], [second], [third]]
    full, tips = Store(), Store(tips=True)
    expected = [full.apply(batch) for batch in order]
    got = [tips.apply(batch) for batch in order]

    assert [o.link_status for o in got] == [o.link_status for o in expected]
    assert got[-1].link_status == [LinkStatus.DUPLICATE]
    assert [o.findings for o in got] == [o.findings for o in expected]
    assert (tips.agents, tips.members) == (full.agents, full.members)
    assert tips.looked_up_again == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_looking_up_only_what_leaves_the_tip_gives_every_outcome_a_full_lookup_gives(
    vectors_dir: Path, data: st.DataObject,
) -> None:
    records = _stream_of(vectors_dir)
    # Any delivery: records in any order, repeated, cut into batches anywhere.
    picks = data.draw(st.lists(st.integers(0, len(records) - 1), min_size=1, max_size=40))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(picks) - 1)), max_size=8)))
    stream = [records[i] for i in picks]
    batches = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True) if stream[a:b]]
    full, tips = Store(), Store(tips=True)
    for batch in batches:
        expected, got = full.apply(batch), tips.apply(batch)
        assert got.link_status == expected.link_status
        assert got.findings == expected.findings
        assert got.links == expected.links
    assert (tips.agents, tips.members) == (full.agents, full.members)
