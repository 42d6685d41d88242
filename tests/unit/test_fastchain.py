"""`ChainVerifier.add_items`: the compiled common case (``dpr/_fastchain.c``) and the pure-Python
loop verify every input the same way, finding for finding, chain for chain."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sysconfig
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.dpr import chain as chain_module
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.canonical import canonical_bytes
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


def _rechained(records: list[bytes], agent: str) -> list[bytes]:
    """``records`` with ``agent``'s chain relinked and rehashed in order (after an edit), so
    every record of it is valid again: what a daemon would have written."""
    out, tip = [], None
    for raw in records:
        record = orjson.loads(raw)
        if record["agent_id"] == agent:
            if tip is not None:
                record["prev_record_hash"] = tip
            record["record_hash"] = tip = hashlib.sha256(canonical_bytes(record)).hexdigest()
            raw = orjson.dumps(record)
        out.append(raw)
    return out


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
    # a defer whose parent never existed, in a valid chain: applied by the common case, then
    # reported by the cascade check at its own position
    defer = next(i for i in a0 if orjson.loads(base[i]).get("defer_token"))
    orphan = [_edit(raw, parent_defer_token="0badc0de", cascade_depth=1, cascade_path=["0badc0de"])
              if i == defer else raw for i, raw in enumerate(base)]
    cases["orphan_defer"] = _rechained(orphan, "agent-0")
    return cases


def _wal(path: Path, records: list[bytes], tail: bytes = b"") -> Path:
    frames = [encode_frame(raw) for raw in records]
    frames.insert(3, encode_frame(b'{"type":"checkpoint"}', version=VERSION_CONTROL))
    path.write_bytes(b"".join(frames) + tail)
    return path


def _frame_cases() -> dict[str, tuple[list[bytes], bytes]]:
    """WALs whose edits are in the frames themselves (what ``run_frames`` reads): (records, tail)."""
    base = _records()
    a0 = _agent_positions(base, "agent-0")
    not_json = [*base[:50], b"{not json", *base[50:]]
    # a timestamp the lean decoder leaves to the full parser (and an object that is no DPR)
    odd_time = [_edit(raw, created_at="2026-05-17T10:00:00.5+02:00") if i == a0[3] else raw
                for i, raw in enumerate(base)]
    corrupt = bytearray(encode_frame(base[-1]))
    corrupt[-1] ^= 0xFF  # CRC mismatch, not at the end: corrupt
    return {
        "not_json": (not_json, b""),
        "odd_timestamp": (odd_time, b""),
        "no_dpr": ([*base[:60], b'{"hello": 1}', *base[60:]], b""),
        "bad_control_frame": (base, encode_frame(b"{oops", version=VERSION_CONTROL) + encode_frame(base[0])),
        "torn_tail": (base, encode_frame(base[-1])[:-7]),
        "corrupt_frame": (base, bytes(corrupt) + encode_frame(base[0])),
    }


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


@pytest.mark.parametrize("case", sorted(_frame_cases()))
def test_compiled_frames_and_pure_python_reports_are_identical(case: str, tmp_path: Path, compiled: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The WAL loop with its per-frame layer compiled (``run_frames``) reads, numbers and
    reports every frame as ``sources._wal`` and the Python loop do, tail included."""
    records, tail = _frame_cases()[case]
    path = _wal(tmp_path / "faramesh.wal", records, tail)
    fast = _report(path)
    monkeypatch.setattr(chain_module, "_FAST", None)
    assert _report(path) == fast
    assert fast["findings_total"] or fast["wal_tail"], "each edited case is reported"


def test_compiled_frames_build_items_only_for_what_add_reports(tmp_path: Path, compiled: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the CLI's ``verify_into``, the compiled WAL loop hands ``add`` only the first
    record of each chain and the edited ones, and ``other`` only the control frame."""
    calls: list[tuple[int, str]] = []
    add = ChainVerifier.add

    def spy(self: ChainVerifier, rec: object, index: int, where: str = "", *args: object) -> object:
        calls.append((index, where))
        return add(self, rec, index, where, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ChainVerifier, "add", spy)
    records = _cases()["tampered"]
    tampered = next(i for i, (raw, orig) in enumerate(zip(records, _records(), strict=True)) if raw != orig)
    path = _wal(tmp_path / "faramesh.wal", records)
    verifier = ChainVerifier(check_signatures=False)
    others: list[str] = []
    with open_source(path, lean=True) as source:
        source.verify_into(verifier, lambda item: others.append(item.where))
        assert source.bytes_read == path.stat().st_size and source.stop is None
    firsts = sorted({orjson.loads(raw)["agent_id"]: i for i, raw in reversed(list(enumerate(records)))}.values())
    assert [index for index, _ in calls] == sorted({*firsts, tampered})
    assert all(where.startswith("byte offset ") for _, where in calls)
    assert len(others) == 1 and others[0].startswith("byte offset ")
    assert verifier.records == len(records)
    assert [f.kind.value for f in verifier.finish()] == ["record_hash_mismatch"]


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
    framed = ChainVerifier(check_signatures=False)
    with open_source(path, lean=True) as source:  # the CLI's loop: run_frames when compiled
        source.verify_into(framed, lambda item: controls.append(item.index))
    assert controls == [-1, -1]
    assert batched.records == single.records == framed.records
    assert batched.finish() == single.finish() == framed.finish()
    assert batched.chains == single.chains == framed.chains


def test_seen_keys_are_one_to_one() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert seen_key(digest) == bytes.fromhex(digest)
    assert seen_key(digest.upper()) == digest.upper()  # not the daemon's spelling: kept as written
    assert seen_key(digest[:-1]) == digest[:-1]
    assert seen_key(" " + digest[1:]) == " " + digest[1:]
    assert seen_key(digest) != seen_key(digest.upper())


def test_seen_answers_as_the_dict_it_replaces(compiled: None) -> None:
    """``Seen`` (the accelerator's ``AgentChain.seen``) against a dict, key for key: digests in
    its flat table through several growths, other keys (exact strings, short bytes) beside
    it, lookups of absent keys, equality, and what it refuses."""
    seen, model = chain_module.new_seen(), {}
    assert type(seen).__name__ == "Seen"
    rng = random.Random(3)
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5000)]
    for i, digest in enumerate(digests):
        for key in (seen_key(digest), digest.upper()[: 64 - i % 3], b"short"):
            seen[key] = model[key] = i
    seen[seen_key(digests[7])] = model[seen_key(digests[7])] = 123  # a later set replaces
    assert len(seen) == len(model)
    absent = [seen_key(hashlib.sha256(b"absent%d" % i).hexdigest()) for i in range(2000)]
    for key in [*model, *absent, "x", b"", digests[0]]:
        assert (key in seen) == (key in model)
        if key in model:
            assert seen[key] == model[key]
        else:
            with pytest.raises(KeyError):
                seen[key]
    assert seen == model and seen.to_dict() == model and not (seen != model)
    twin = chain_module.new_seen()
    for key in rng.sample(list(model), len(model)):
        twin[key] = model[key]
    assert twin == seen
    twin[seen_key(digests[0])] = -1
    assert twin != seen
    with pytest.raises(TypeError):
        seen[seen_key(digests[1])] = "not an index"
    with pytest.raises(TypeError):
        del seen[seen_key(digests[1])]


def _compiler_here() -> bool:
    """Whether the C compiler this Python builds extensions with is on this machine."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    return bool(cc) and shutil.which(cc[0]) is not None


@pytest.mark.skipif(bool(os.environ.get("FARAMESH_CLOUD_PURE_PYTHON")), reason="pure Python asked for")
@pytest.mark.skipif(not _compiler_here(), reason="no C compiler on this machine: the install runs the pure-Python "
                    "loop, as it should (setup.py builds the accelerator as optional)")
def test_the_accelerator_is_built_here() -> None:
    """An install with a C compiler builds it (setup.py); without one the install still works
    (the test skips, saying why); with one, this is the test that says it was not built."""
    assert chain_module._FAST is not None, "faramesh_cloud/dpr/_fastchain.c was not built: pip install -e ."
