"""`faramesh-cloud verify` on exports as the real daemon writes them: newest first (upstream's
`faramesh audit export`, ORDER BY created_at DESC, without lamport_seq), interleaved agents,
shuffled lines; WAL write order stays authoritative; findings are worded for what happened."""

from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.dpr.ordering import FileOrder, LinkMeta, chain_order, verification_order

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy_hashed_fields"


def run(path: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["verify", str(path), "--json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else {"raw": result.output}


def export_lines(lines: list[bytes]) -> list[bytes]:
    """As `faramesh audit export --format jsonl` writes them: from SQLite, which keeps no
    lamport_seq, action_type or reasoning_summary (unhashed), newest first."""
    out = []
    for line in lines:
        record = orjson.loads(line)
        for key in ("lamport_seq", "action_type", "reasoning_summary"):
            record.pop(key, None)
        out.append(orjson.dumps(record))
    created = [orjson.loads(line)["created_at"] for line in out]
    order = sorted(range(len(out)), key=lambda i: (created[i], i), reverse=True)
    return [out[i] for i in order]


def write(tmp_path: Path, name: str, lines: list[bytes]) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def vector(vectors_dir: Path, name: str) -> list[bytes]:
    return [line for line in (vectors_dir / name).read_bytes().splitlines() if line]


@pytest.mark.parametrize("name", ["dpr_chain_valid_jcs.jsonl", "dpr_chain_valid_multi_agent.jsonl",
                                  "dpr_chain_valid_legacy.jsonl"])
def test_a_newest_first_export_of_a_valid_chain_holds(vectors_dir: Path, tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "export.jsonl", export_lines(vector(vectors_dir, name)))
    code, report = run(path)
    assert code == 0, report
    assert report["findings"] == [] and report["order"].startswith("reversed")


def test_a_large_reversed_legacy_export_holds(tmp_path: Path) -> None:
    lines = [line for line in (LEGACY / "legacy_combinations.jsonl").read_bytes().splitlines() if line]
    code, report = run(write(tmp_path, "export.jsonl", export_lines(lines)))
    assert code == 0, report["findings"][:3]
    assert report["records"] == 104 and report["agents"] == 52


def test_shuffled_lines_hold_and_the_order_is_called_mixed(vectors_dir: Path, tmp_path: Path) -> None:
    lines = vector(vectors_dir, "dpr_chain_valid_jcs.jsonl")
    random.Random(7).shuffle(lines)
    code, report = run(write(tmp_path, "shuffled.jsonl", lines))
    assert code == 0 and report["order"].startswith("mixed")


def test_write_order_export_says_so(vectors_dir: Path) -> None:
    code, report = run(vectors_dir / "dpr_chain_valid_jcs.jsonl")
    assert code == 0 and report["order"].startswith("write order")


@pytest.mark.parametrize(("name", "kind", "line"), [
    ("dpr_chain_tampered_field.jsonl", "record_hash_mismatch", "line 3"),
    ("dpr_chain_gap.jsonl", "gap", None),
    ("dpr_chain_bad_genesis.jsonl", "invalid_genesis", None),
    ("dpr_chain_duplicate_record.jsonl", "duplicate_record", None),
])
def test_a_reversed_export_still_shows_real_findings(vectors_dir: Path, tmp_path: Path, name: str, kind: str,
                                                     line: str | None) -> None:
    lines = vector(vectors_dir, name)
    path = write(tmp_path, "export.jsonl", lines[::-1])
    code, report = run(path)
    assert code == 1
    assert kind in {f["kind"] for f in report["findings"]}
    assert not {f["kind"] for f in report["findings"]} & {"regenesis"}
    if line is not None:  # positions name the line of the file as given
        assert [f["where"] for f in report["findings"] if f["kind"] == kind] == [f"line {len(lines) - 2}"]


def _wal(payloads: list[bytes]) -> bytes:
    return b"".join(struct.pack("<IBII", 0x4657414C, 1, len(p), zlib.crc32(p)) + p for p in payloads)


def test_a_swapped_pair_in_a_wal_is_out_of_order_not_missing(vectors_dir: Path, tmp_path: Path) -> None:
    lines = vector(vectors_dir, "dpr_chain_valid_jcs.jsonl")
    lines[1], lines[2] = lines[2], lines[1]
    path = tmp_path / "faramesh.wal"
    path.write_bytes(_wal(lines))
    code, report = run(path)
    assert code == 1 and report["order"].startswith("write order")
    kinds = [(f["kind"], f["where"]) for f in report["findings"]]
    assert ("out_of_order", "byte offset 1053") in kinds  # the record written too early
    assert all(f["kind"] != "gap" and "missing" not in f["message"].replace("nothing is missing", "")
               for f in report["findings"]), report["findings"]


def test_upper_case_record_hash_is_named_as_such(vectors_dir: Path, tmp_path: Path) -> None:
    lines = vector(vectors_dir, "dpr_chain_valid_jcs.jsonl")
    record = orjson.loads(lines[0])
    record["record_hash"] = record["record_hash"].upper()
    lines[0] = orjson.dumps(record)
    code, report = run(write(tmp_path, "upper.jsonl", lines))
    assert code == 1
    first = [f for f in report["findings"] if f["kind"] == "record_hash_mismatch"]
    assert len(first) == 1 and "not lower-case hex" in first[0]["message"]
    assert "a hashed field was changed" not in first[0]["message"]


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_a_file_with_no_records_exits_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2
    assert "holds no DPR records" in result.stderr and "every chain holds" not in result.output


def test_a_wal_of_control_frames_only_exits_2(tmp_path: Path) -> None:
    control = b'{"frame_kind":"BUDGET_UPDATE","agent_id":"a","scope":"daily","spent_usd":1,"ceiling_usd":2}'
    path = tmp_path / "faramesh.wal"
    path.write_bytes(struct.pack("<IBII", 0x4657414C, 2, len(control), zlib.crc32(control)) + control)
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2 and "only 1 control frame(s)" in result.stderr


def _meta(position: int, record_hash: str, prev: str, lamport: int = 0, created: str = "") -> LinkMeta:
    return LinkMeta(position=position, agent_id="a", record_hash=record_hash, prev_record_hash=prev,
                    lamport_seq=lamport, created_at=created)


def test_chain_order_follows_links_and_lamport_only_breaks_ties() -> None:
    from faramesh_cloud.dpr.canonical import genesis_prev_hash

    g = genesis_prev_hash("a")
    # Written a -> b -> c, but b carries a lamport_seq lower than a's: the link decides.
    entries = [_meta(0, "c", "b", 1), _meta(1, "a", g, 9), _meta(2, "b", "a", 2)]
    assert [e.record_hash for e in chain_order(entries)] == ["a", "b", "c"]
    # A fork (two records link to a): the lower lamport_seq continues the chain.
    fork = [_meta(0, "a", g, 1), _meta(1, "x", "a", 3), _meta(2, "b", "a", 2)]
    assert [e.record_hash for e in chain_order(fork)] == ["a", "b", "x"]
    # Segments after a gap go by created_at when there is no lamport_seq (SQLite exports).
    gap = [_meta(0, "d", "c?", 0, "2026-05-17T10:00:03Z"), _meta(1, "a", g, 0, "2026-05-17T10:00:01Z")]
    ordered, order = verification_order(gap)
    assert [e.record_hash for e in ordered] == ["a", "d"] and order is FileOrder.REVERSED
