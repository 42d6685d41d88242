"""The report appendix: a streamed-signed DPR bundle that ``verify-bundle`` and the streaming
verifier both check, with its heads and hashes computed while writing."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.cli.main import cli
from faramesh_cloud.compliance.report.appendix import AppendixError, write_appendix
from faramesh_cloud.signing.dpr_bundle import verify_dpr_bundle, verify_dpr_bundle_stream
from faramesh_cloud.signing.keys import public_pem
from faramesh_cloud.signing.stream import read_bundle
from tests.unit.compliance.dpr_entries import built_entries, vector_entries

ORG = {"id": "org-1", "slug": "acme", "name": "Acme"}
AT = datetime(2026, 3, 2, tzinfo=UTC)


def write(tmp_path: Path, entries: list[dict[str, object]], key: Ed25519PrivateKey, name: str = "a.json"):
    return write_appendix(tmp_path / name, entries, org=ORG, query={"stacks": ["stack-1"]}, created_at=AT, key=key)


def test_appendix_verifies_with_verify_bundle_and_the_stream_verifier(tmp_path: Path, vectors_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    entries = vector_entries(vectors_dir) + list(built_entries("stack-2", 2, 5))
    appendix = write(tmp_path, entries, key)
    data = appendix.path.read_bytes()
    assert appendix.sha256 == hashlib.sha256(data).hexdigest() and appendix.size == len(data)
    assert appendix.records == len(entries) == 15
    assert [(h.stack_id, h.agent_id, h.chain_index) for h in appendix.heads] == [
        ("stack-1", "agent-a", 1), ("stack-1", "agent-b", 1), ("stack-1", "support-bot#mcp-3f9a2c71", 0),
        ("stack-2", "agent-00", 4), ("stack-2", "agent-01", 4)]
    assert appendix.heads[0].record_hash == entries[1]["record_hash"]
    bundle = json.loads(data)
    assert bundle["signature"]["algorithm"] == "ed25519-entries-sha256"
    assert verify_dpr_bundle(bundle, key.public_key()).ok
    streamed = verify_dpr_bundle_stream(io.StringIO(data.decode()), key.public_key())
    assert streamed.report.ok and streamed.report.entries == 15
    assert "10 chain links checked" in streamed.report.notes[0]
    assert streamed.heads[("stack-2", "agent-01")] == (4, appendix.heads[-1].record_hash)
    (tmp_path / "pub.pem").write_text(public_pem(key.public_key()))
    result = CliRunner().invoke(cli, ["verify-bundle", str(appendix.path), "--public-key", str(tmp_path / "pub.pem")])
    assert result.exit_code == 0 and "OK: the bundle is intact" in result.output


def test_a_changed_entry_or_a_dropped_one_breaks_the_streamed_signature(tmp_path: Path, vectors_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    bundle = json.loads(write(tmp_path, vector_entries(vectors_dir), key).path.read_bytes())
    changed = json.loads(json.dumps(bundle))
    changed["entries"][2]["link_status"] = "gap"
    report = verify_dpr_bundle(changed, key.public_key())
    assert not report.ok and "signature does not match" in report.problems[0]
    dropped = json.loads(json.dumps(bundle))
    del dropped["entries"][0]
    assert not verify_dpr_bundle(dropped, key.public_key()).signature_ok
    assert not verify_dpr_bundle(bundle, Ed25519PrivateKey.generate().public_key()).signature_ok


def test_a_tampered_record_resigned_is_found_by_its_hash(tmp_path: Path, vectors_dir: Path) -> None:
    key = Ed25519PrivateKey.generate()
    entries = vector_entries(vectors_dir)
    entries[3] = {**entries[3], "raw": entries[3]["raw"].replace('"DENY"', '"PERMIT"')}
    data = write(tmp_path, entries, key).path.read_text()
    report = verify_dpr_bundle_stream(io.StringIO(data), key.public_key()).report
    assert report.signature_ok and not report.ok
    assert report.problems[0].startswith("entry 3 (") and "hash mismatch" in report.problems[0]


def test_entries_out_of_chain_order_are_refused(tmp_path: Path, vectors_dir: Path) -> None:
    entries = vector_entries(vectors_dir)
    with pytest.raises(AppendixError, match=r"entry 1 .* out of"):
        write(tmp_path, [entries[1], entries[0]], Ed25519PrivateKey.generate())


def test_an_empty_range_is_a_valid_empty_bundle(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    appendix = write(tmp_path, [], key)
    assert appendix.records == 0 and appendix.heads == ()
    assert json.loads(appendix.path.read_bytes())["entries"] == []
    assert verify_dpr_bundle_stream(io.StringIO(appendix.path.read_text()), key.public_key()).report.ok


def test_the_stream_reader_reads_any_layout_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import faramesh_cloud.signing.stream as stream

    monkeypatch.setattr(stream, "CHUNK", 3)
    text = ' {"a" : 12345 , "entries" : [ {"x": "y\\"z"} ,\n{"n": [1, 2.5e3]} ] , "b": [true, null]}  '
    assert list(read_bundle(io.StringIO(text))) == [
        ("member", "a", 12345), ("entry", 0, {"x": 'y"z'}), ("entry", 1, {"n": [1, 2500.0]}),
        ("member", "b", [True, None])]
    for bad in ('{"a": 1', '{"a": 1} x', '[1]', '{"entries": [1,]}'):
        with pytest.raises(stream.BundleError):
            list(read_bundle(io.StringIO(bad)))


def test_an_entry_the_index_has_not_linked_does_not_break_the_order_and_counts_on_its_chain(
        tmp_path: Path) -> None:
    """export_range gives duplicates and records the index has not linked without a chain
    index: they are written where they come, the rest of the chain is still checked."""
    key = Ed25519PrivateKey.generate()
    entries = list(built_entries("stack-1", 1, 4))
    unlinked = {**entries[1], "chain_index": None}
    appendix = write(tmp_path, [entries[0], entries[1], unlinked, entries[2], entries[3]], key)
    assert appendix.records == 5 and appendix.chain_records == {("stack-1", "agent-00"): 5}
    assert [(h.chain_index, h.record_hash) for h in appendix.heads] == [(3, entries[3]["record_hash"])]
    with pytest.raises(AppendixError, match="out of"):  # an index going back is still refused
        write(tmp_path, [entries[0], entries[2], unlinked, entries[1]], key, "b.json")
