"""`faramesh-cloud verify FILE`: exit codes, report and one-line errors, on real vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.dpr.wal import HEADER_SIZE


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["dpr_chain_valid_jcs.jsonl", "dpr_chain_valid_multi_agent.jsonl",
                                  "dpr_chain_valid_jcs.wal", "dpr_chain_unhashed_field_edit.jsonl"])
def test_valid_inputs_exit_0_with_a_per_agent_report(vectors_dir: Path, name: str) -> None:
    code, out, _ = run(str(vectors_dir / name))
    assert code == 0, out
    assert "every chain holds" in out


@pytest.mark.parametrize("name", ["dpr_chain_tampered_field.jsonl", "dpr_chain_gap.jsonl",
                                  "dpr_chain_broken_prev_link.jsonl", "dpr_chain_bad_genesis.jsonl",
                                  "dpr_chain_duplicate_record.jsonl", "dpr_chain_bad_signature.jsonl"])
def test_any_finding_exits_1(vectors_dir: Path, name: str) -> None:
    code, out, _ = run(str(vectors_dir / name))
    assert code == 1, out
    assert "finding(s)" in out


def test_json_report_names_agent_record_and_position(vectors_dir: Path) -> None:
    code, out, _ = run(str(vectors_dir / "dpr_chain_tampered_field.jsonl"), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["findings"][0] == {
        "kind": "record_hash_mismatch", "agent_id": "payments-bot",
        "record_id": "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03", "index": 2, "where": "line 3",
        "message": report["findings"][0]["message"],
    }
    assert report["chains"][0]["records"] == 6


def test_torn_tail_is_reported_but_the_chain_holds(vectors_dir: Path) -> None:
    code, out, _ = run(str(vectors_dir / "dpr_wal_torn_tail.wal"))
    assert code == 0
    assert "torn tail at byte offset 6900" in out


def test_corruption_inside_a_wal_is_a_finding(vectors_dir: Path, tmp_path: Path) -> None:
    data = bytearray((vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes())
    data[1053 + HEADER_SIZE + 100] ^= 0x01  # a payload byte of the second frame
    path = tmp_path / "faramesh.wal"
    path.write_bytes(bytes(data))
    code, out, _ = run(str(path), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["records"] == 1
    assert report["findings"][0]["kind"] == "wal_corrupt"
    assert report["findings"][0]["where"] == "byte offset 1053"


def test_a_line_that_is_not_a_dpr_is_named_and_the_rest_is_still_verified(vectors_dir: Path, tmp_path: Path) -> None:
    lines = (vectors_dir / "dpr_chain_valid_jcs.jsonl").read_bytes().splitlines()
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join([*lines[:3], b'{"hello": "world"}', *lines[3:]]) + b"\n")
    code, out, _ = run(str(path), "--json")
    assert code == 1
    report = json.loads(out)
    assert [(f["kind"], f["where"]) for f in report["findings"]] == [("malformed_record", "line 4")]
    assert "agent_id" in report["findings"][0]["message"] or "required" in report["findings"][0]["message"]
    assert report["records"] == 6


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("text", "neither a JSON object nor a WAL frame"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path: Path, setup: str, message: str) -> None:
    target = tmp_path / "input"
    if setup == "directory":
        target.mkdir()
    elif setup == "text":
        target.write_text("hello\n")
    code, _, err = run(str(target))
    assert code == 2
    assert err.count("\n") == 1 and message in err and str(target) in err


def test_trusted_key_pins_the_signer(vectors_dir: Path) -> None:
    expected = json.loads((vectors_dir / "expected.json").read_text())
    good = expected["keys"]["ed25519_public_key_b64"]
    assert run(str(vectors_dir / "dpr_chain_valid_multi_agent.jsonl"), "--public-key", good)[0] == 0
    other = "A" * 43 + "="
    code, out, _ = run(str(vectors_dir / "dpr_chain_valid_multi_agent.jsonl"), "--public-key", other)
    assert code == 1 and "untrusted_signer" in out


def test_the_input_file_is_never_modified(vectors_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "faramesh.wal"
    shutil.copy(vectors_dir / "dpr_wal_torn_tail.wal", path)
    before = path.read_bytes()
    run(str(path))
    assert path.read_bytes() == before


def test_unknown_canonicalization_is_named_with_what_to_do(vectors_dir: Path, tmp_path: Path) -> None:
    from faramesh_cloud.dpr.builder import seal, to_go_json
    from faramesh_cloud.dpr.canonical import parse_record

    record = parse_record((vectors_dir / "dpr_chain_valid_jcs.jsonl").read_bytes().splitlines()[0])
    record["canonicalization_algorithm"] = "jcs-rfc8785-v2"
    path = tmp_path / "future.jsonl"
    path.write_bytes(to_go_json(seal(record, record["prev_record_hash"])) + b"\n")
    code, out, _ = run(str(path), "--json", "--skip-signatures")
    report = json.loads(out)
    assert code == 1
    assert [f["kind"] for f in report["findings"]] == ["unknown_canonicalization"]
    assert "upgrade faramesh-cloud" in report["findings"][0]["message"]
    assert report["findings"][0]["where"] == "line 1"
