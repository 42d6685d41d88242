"""The search index's processor (issue 18): the columns people filter on, nothing verified,
and exactly the rejections of today's processor (the verifier reads the same log and must
skip what the search index parks). Pure: no sockets, no clock."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from faramesh_cloud.audit_index.domain import IndexedRecord, SignatureKind
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.search_processor import SearchProcessor, SearchRow
from faramesh_cloud.consumer.runner import Rejected
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.log.port import Message
from tests.unit.test_audit_processor import CREATED_NS, message, writer

SHARED = ("topic", "partition", "offset", "org_id", "stack_id", "source", "origin_seq", "origin_buffer",
          "received_ns", "raw", "content_sha256", "created_ns", "session_id", "tool_id", "action_type", "effect",
          "matched_rule_id", "reason_code", "reason", "intercept_adapter", "policy_version", "incident_severity",
          "schema_version", "signature_kind")


def _bad_messages() -> list[Message]:
    good = writer(1.0).next(CREATED_NS)
    value = to_go_json(good)
    mutated = []
    for change in ({"record_hash": None}, {"created_at": "yesterday"}, {"created_at": "1800-01-01T00:00:00Z"},
                   {"agent_id": "a\x00b"}, {"lamport_seq": -1}, {"record_id": 7}):
        mutated.append(message(orjson.dumps({**good, **change})))
    return [
        *mutated,
        message(b"{not json"),
        message(b"\xff\xfe"),
        message(value, headers={}),
        message(value, key=b"org-x/stack-y"),
    ]


def _corpus(vectors_dir: Path) -> list[Message]:
    out = [message(to_go_json(writer(share).next(CREATED_NS + n)), offset=n)
           for share in (0.0, 1.0) for n in range(5)]
    for path in sorted(vectors_dir.glob("dpr_chain_*.jsonl")):
        out += [message(line, offset=i) for i, line in enumerate(path.read_bytes().splitlines())]
    return out + _bad_messages()


def test_it_rejects_exactly_what_the_full_processor_rejects_with_the_same_reason(vectors_dir: Path) -> None:
    full, search = DprProcessor(), SearchProcessor()
    rejected = 0
    for msg in _corpus(vectors_dir):
        today, row = full.process(msg), search.process(msg)
        if isinstance(today, Rejected):
            rejected += 1
            assert row == today
        else:
            assert isinstance(row, SearchRow) and isinstance(today, IndexedRecord)
            assert {f: getattr(row, f) for f in SHARED} == {f: getattr(today, f) for f in SHARED}
            assert row.meta == today.meta
    assert rejected == len(_bad_messages())


@pytest.mark.parametrize(("share", "kind"), [(1.0, SignatureKind.ED25519), (0.0, SignatureKind.HMAC)])
def test_a_row_carries_its_signature_kind_and_identity_but_no_verdict(share: float, kind: SignatureKind) -> None:
    value = to_go_json(writer(share).next(CREATED_NS))

    row = SearchProcessor().process(message(value))

    assert isinstance(row, SearchRow)
    assert row.signature_kind is kind
    assert row.identity[-1] == hashlib.sha256(value).hexdigest()
    assert not {"hash_valid", "signature_status", "computed_hash"} & set(SearchRow.__struct_fields__)


def test_a_tampered_record_is_still_searchable(vectors_dir: Path) -> None:
    lines = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    rows = [SearchProcessor().process(message(line, offset=i)) for i, line in enumerate(lines)]

    assert all(isinstance(r, SearchRow) for r in rows)  # the verifier, not search, finds the tampering
