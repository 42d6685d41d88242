"""`ChainVerifier.add_items`: the compiled common case (``dpr/_fastchain.c``) and the pure-Python
loop verify every input the same way, finding for finding, chain for chain."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.dpr import chain as chain_module
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.chain import ChainVerifier, seen_key
from faramesh_cloud.dpr.wal import VERSION_CONTROL, encode_frame
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sources import open_source


def _records(count: int = 240) -> list[bytes]:
    rng = random.Random(7)
    seed = hashlib.sha256(b"fastchain-test").digest()
    writers = [AgentWriter(f"agent-{i}", rng, ed25519_seed=seed, hmac_key=b"k", signed_share=0.1) for i in range(3)]
    ns = 1_779_000_000_000_000_000
    out = []
    for _ in range(count):
        ns += rng.randrange(1, 5_000_000)
        out.append(to_go_json(writers[rng.randrange(3)].next(ns)))
    return out


def _edit(raw: bytes, **fields: object) -> bytes:
    record = orjson.loads(raw)
    record.update(fields)
    return orjson.dumps(record)


def _agent_positions(records: list[bytes], agent: str) -> list[int]:
    return [i for i, raw in enumerate(records) if orjson.loads(raw)["agent_id"] == agent]


def _cases() -> dict[str, list[bytes]]:
    base = _records()
    a0 = _agent_positions(base, "agent-0")
    cases: dict[str, list[bytes]] = {"valid": base}
    cases["duplicate"] = [*base[:150], base[a0[10]], *base[150:]]
    cases["gap"] = [raw for i, raw in enumerate(base) if i != a0[20]]
    swapped = list(base)
    swapped[a0[30]], swapped[a0[31]] = swapped[a0[31]], swapped[a0[30]]
    cases["out_of_order"] = swapped
    cases["tampered"] = [_edit(raw, tool_id="tampered") if i == a0[5] else raw for i, raw in enumerate(base)]
    upper = orjson.loads(base[a0[6]])["record_hash"].upper()
    cases["upper_case_hash"] = [_edit(raw, record_hash=upper) if i == a0[6] else raw for i, raw in enumerate(base)]
    cases["unknown_algorithm"] = [_edit(raw, canonicalization_algorithm=" jcs-rfc8785-v1 ") if i == a0[7] else raw
                                  for i, raw in enumerate(base)]
    cases["unknown_algorithm_name"] = [_edit(raw, canonicalization_algorithm="jcs-v9") if i == a0[9] else raw
                                       for i, raw in enumerate(base)]
    cases["missing_field"] = [_edit(raw, record_id="") if i == a0[8] else raw for i, raw in enumerate(base)]
    genesis = orjson.loads(base[a0[0]])["prev_record_hash"]
    cases["regenesis"] = [_edit(raw, prev_record_hash=genesis) if i == a0[40] else raw for i, raw in enumerate(base)]
    cases["repeat_of_the_tip"] = [*base[:a0[12] + 1], base[a0[12]], *base[a0[12] + 1:]]
    return cases


def _wal(path: Path, records: list[bytes]) -> Path:
    frames = [encode_frame(raw) for raw in records]
    frames.insert(3, encode_frame(b'{"type":"checkpoint"}', version=VERSION_CONTROL))
    path.write_bytes(b"".join(frames))
    return path


def _report(path: Path) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["verify", str(path), "--json", "--skip-signatures"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    del report["seconds"], report["records_per_second"]
    return report


@pytest.fixture
def compiled() -> None:
    if chain_module._FAST is None:
        pytest.skip("the accelerator is not built or FARAMESH_CLOUD_PURE_PYTHON is set: only one path to compare")


@pytest.mark.parametrize("case", sorted(_cases()))
def test_compiled_and_pure_python_reports_are_identical(case: str, tmp_path: Path, compiled: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    records = _cases()[case]
    path = _wal(tmp_path / "faramesh.wal", records)
    fast = _report(path)
    monkeypatch.setattr(chain_module, "_FAST", None)
    pure = _report(path)
    assert fast == pure
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_bytes(b"\n".join(reversed(records)) + b"\n")
    pure_jsonl = _report(jsonl)
    monkeypatch.undo()
    assert _report(jsonl) == pure_jsonl
    if case != "valid":
        assert fast["findings_total"], "each edited case has findings"


def test_add_items_equals_add_per_item_state_for_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever path runs (compiled when built), the chains it leaves and its findings equal
    those of calling ``add`` item by item, the path that predates ``add_items``."""
    path = _wal(tmp_path / "faramesh.wal", _cases()["out_of_order"] + _cases()["duplicate"][-30:])
    controls: list[int] = []
    batched = ChainVerifier(check_signatures=False)
    with open_source(path, lean=True) as source:
        batched.add_items(source.in_chain_order(), lambda item: controls.append(item.index))
    single = ChainVerifier(check_signatures=False)
    with open_source(path, lean=True) as source:
        for item in source.in_chain_order():
            if item.record is not None:
                single.add(item.record, item.index, item.where, item.raw, item.canonical)
    assert controls == [-1]
    assert batched.records == single.records
    assert batched.finish() == single.finish()
    assert batched.chains == single.chains


def test_seen_keys_are_one_to_one() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert seen_key(digest) == bytes.fromhex(digest)
    assert seen_key(digest.upper()) == digest.upper()  # not the daemon's spelling: kept as written
    assert seen_key(digest[:-1]) == digest[:-1]
    assert seen_key(" " + digest[1:]) == " " + digest[1:]
    assert seen_key(digest) != seen_key(digest.upper())


@pytest.mark.skipif(bool(os.environ.get("FARAMESH_CLOUD_PURE_PYTHON")), reason="pure Python asked for")
def test_the_accelerator_is_built_here() -> None:
    """An install with a C compiler builds it (setup.py); without one the install still works
    and this is the one test that says so."""
    assert chain_module._FAST is not None, "faramesh_cloud/dpr/_fastchain.c was not built: pip install -e ."
