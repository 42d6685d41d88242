"""WAL import on the real vectors: the log gets the WAL's payloads byte for byte, a second
import appends nothing, a grown WAL appends only its new frames. Real PostgreSQL and
PostgresLog."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.canonical import compute_record_hash, genesis_prev_hash
from faramesh_cloud.dpr.chain import verify_records
from faramesh_cloud.dpr.wal import VERSION_CONTROL, VERSION_DPR, StopKind, WalReader, encode_frame
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
    WAL_PROBLEMS,
    Origin,
    stack_key,
)
from faramesh_cloud.events.wal_problems import decode_wal_problem
from faramesh_cloud.ingest.feeds.import_ledger import ImportBusy, ImportLedger
from faramesh_cloud.ingest.wal_import import SOURCE, Mode, WalImporter
from faramesh_cloud.log.port import Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import MakeTenant, Tenant, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

VALID = "dpr_chain_valid_jcs.wal"
TORN = "dpr_wal_torn_tail.wal"


@pytest.fixture
async def importer(database: Database, postgres_log: PostgresLog, stack_store: StackStore) -> AsyncIterator[WalImporter]:
    ledger = ImportLedger(database)
    await ledger.start()
    for topic in (DPR_RECORDS, DEAD_LETTERS, WAL_PROBLEMS):
        await postgres_log.create_topic(topic, DEFAULT_PARTITIONS[topic])
    yield WalImporter(postgres_log, ledger, batch_size=2, wall_ns=lambda: 42)


def frames(data: bytes) -> list[tuple[int, int, bytes]]:
    return [(f.offset, f.version, f.payload) for f in WalReader(data)]


def first_hash(data: bytes) -> str:
    payload = next(p for _, v, p in frames(data) if v == VERSION_DPR)
    return str(json.loads(payload)["record_hash"])


async def records_of(log: PostgresLog, who: Tenant) -> list[Message]:
    key = stack_key(who.org.org_id, who.stack.stack_id)
    return [m for m in await read_topic(log, DPR_RECORDS) if m.key == key]


async def test_records_on_the_log_are_the_wal_payloads_byte_for_byte(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    path = vectors_dir / VALID
    data = path.read_bytes()
    report = await importer.run(path, acme.org.org_id, acme.stack.stack_id)

    expected = [(offset, index, payload) for index, (offset, version, payload) in enumerate(frames(data))
                if version == VERSION_DPR]
    assert (report.records, report.control_frames, report.malformed, report.stop) == (6, 1, [], None)
    assert report.identity == f"wal:{first_hash(data)}" and report.resumed_after is None
    messages = await records_of(postgres_log, acme)
    assert [m.value for m in messages] == [payload for _, _, payload in expected]
    for message, (offset, ordinal, _) in zip(messages, expected, strict=True):
        origin = Origin.from_headers(message.headers)
        assert (origin.org_id, origin.stack_id, origin.source, origin.sequence, origin.buffer, origin.received_ns) == (
            acme.org.org_id, acme.stack.stack_id, SOURCE, offset, report.identity, 42)
        assert (message.headers["wal_file"], message.headers["wal_offset"], message.headers["wal_frame"]) == (
            VALID.encode(), str(offset).encode(), str(ordinal).encode())
    assert await read_topic(postgres_log, DEAD_LETTERS) == []


async def test_a_torn_tail_is_reported_and_left_out(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    report = await importer.run(vectors_dir / TORN, acme.org.org_id, acme.stack.stack_id)
    assert report.records == 6 and report.stop is not None
    assert (report.stop.kind, report.stop.offset, report.stop.unread_bytes) == (StopKind.TORN_TAIL, 6900, 40)
    valid = [p for _, v, p in frames((vectors_dir / VALID).read_bytes()) if v == VERSION_DPR]
    assert [m.value for m in await records_of(postgres_log, acme)] == valid


async def test_importing_the_same_wal_twice_appends_nothing(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    path = vectors_dir / VALID
    first = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    second = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    last_offset = frames(path.read_bytes())[-1][0]
    assert (second.records, second.control_frames, second.skipped) == (0, 0, 7)
    assert second.resumed_after == last_offset and second.identity == first.identity
    assert second.total_records == 6
    # The torn copy has the same frames plus a torn tail: same file, nothing new either.
    third = await importer.run(vectors_dir / TORN, acme.org.org_id, acme.stack.stack_id)
    assert (third.identity, third.records) == (first.identity, 0)
    assert len(await records_of(postgres_log, acme)) == 6


async def test_a_grown_wal_appends_only_its_new_frames(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    table = frames(data)
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data[: table[3][0]])  # the first three frames, as the daemon had written them
    early = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert early.records == 3

    wal.write_bytes(data)  # the daemon wrote on
    grown = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (grown.resumed_after, grown.skipped, grown.records, grown.control_frames) == (table[2][0], 3, 3, 1)
    expected = [p for _, v, p in table if v == VERSION_DPR]
    assert [m.value for m in await records_of(postgres_log, acme)] == expected


async def test_after_a_torn_tail_the_daemons_next_frames_are_imported(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    wal = tmp_path / "faramesh.wal"
    torn = (vectors_dir / TORN).read_bytes()
    wal.write_bytes(torn)
    await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    # On restart the daemon truncates the torn frame and appends new records from there.
    more = (vectors_dir / "dpr_chain_valid_multi_agent.jsonl").read_bytes().splitlines()[:2]
    wal.write_bytes(torn[:6900] + b"".join(encode_frame(r) for r in more))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (report.records, report.stop) == (2, None)
    values = [m.value for m in await records_of(postgres_log, acme)]
    assert len(values) == 8 and values[-2:] == more


async def test_frames_that_are_not_dprs_are_parked_with_their_position(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    not_json, no_hash = b"this is not json", b'{"schema_version":"dpr/1.0","record_id":"x"}'
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data + encode_frame(not_json) + encode_frame(no_hash) + encode_frame(b"{", VERSION_CONTROL))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert report.records == 6
    assert [m.where for m in report.malformed] == [
        f"byte offset {len(data)}", f"byte offset {len(data) + 13 + len(not_json)}",
        f"byte offset {len(data) + 26 + len(not_json) + len(no_hash)}"]
    assert "required field" in report.malformed[1].reason
    parked = await read_topic(postgres_log, DEAD_LETTERS)
    assert [m.value for m in parked] == [not_json, no_hash, b"{"]
    assert [m.headers["kind"] for m in parked] == [b"dpr_record", b"dpr_record", b"control_frame"]
    assert all(b"MALFORMED: faramesh.wal byte offset" in m.headers["dlq-reason"] for m in parked)
    assert Origin.from_headers(parked[0].headers).sequence == len(data)
    # Parked entries count as handled: importing again parks nothing twice.
    again = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (again.records, again.malformed) == (0, [])
    assert len(await read_topic(postgres_log, DEAD_LETTERS)) == 3


async def test_a_jsonl_export_is_imported_by_line(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    path = vectors_dir / "dpr_chain_valid_jcs.jsonl"
    report = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    lines = path.read_bytes().splitlines()
    messages = await records_of(postgres_log, acme)
    assert [m.value for m in messages] == lines
    assert [Origin.from_headers(m.headers).sequence for m in messages] == list(range(1, len(lines) + 1))
    assert report.identity is not None and report.identity.startswith("jsonl:")
    assert "wal_file" not in messages[0].headers
    assert (await importer.run(path, acme.org.org_id, acme.stack.stack_id)).records == 0


async def test_a_newest_first_export_goes_on_the_log_in_chain_order_and_verifies(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    """Upstream's `faramesh audit export` writes newest first; the audit index verifies in
    arrival order, so the import puts each agent's records on the log oldest first."""
    acme = await tenant()
    lines = [line for line in (vectors_dir / "dpr_chain_valid_multi_agent.jsonl").read_bytes().splitlines() if line]
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(lines[::-1]) + b"\n")
    report = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    assert report.records == len(lines)
    messages = await records_of(postgres_log, acme)
    verifier = verify_records([json.loads(m.value) for m in messages])
    assert verifier.findings == [] and sorted(m.value for m in messages) == sorted(lines)
    # Line numbers stay what they were in the file, and a second run imports nothing.
    assert sorted(Origin.from_headers(m.headers).sequence for m in messages) == list(range(1, len(lines) + 1))
    again = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    assert (again.records, again.mode.value) == (0, "resumed")


async def test_the_same_wal_into_two_stacks_fills_both(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme, globex = await tenant(), await tenant(name="globex")
    for who in (acme, globex):
        assert (await importer.run(vectors_dir / VALID, who.org.org_id, who.stack.stack_id)).records == 6
    assert len(await records_of(postgres_log, acme)) == len(await records_of(postgres_log, globex)) == 6


async def test_a_file_without_a_dpr_imports_nothing(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, tmp_path: Path
) -> None:
    acme = await tenant()
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(encode_frame(b'{"frame_kind":"BUDGET_UPDATE"}', VERSION_CONTROL))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (report.identity, report.records) == (None, 0)
    assert await read_topic(postgres_log, DPR_RECORDS) == []


async def test_a_second_concurrent_import_of_the_same_file_is_refused(
    database: Database, importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    path = vectors_dir / VALID
    identity = f"wal:{first_hash(path.read_bytes())}"
    async with ImportLedger(database).exclusive(acme.org.org_id, acme.stack.stack_id, identity):
        with pytest.raises(ImportBusy, match="another import"):
            await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    assert await read_topic(postgres_log, DPR_RECORDS) == []
    assert (await importer.run(path, acme.org.org_id, acme.stack.stack_id)).records == 6


# -- a WAL the daemon truncated and wrote on, compacted, or found corrupt (issue 12 §4) ---------

def daemon_records(vectors_dir: Path, count: int) -> list[bytes]:
    """Records the daemon writes after it restarted: none of them imported before."""
    return (vectors_dir / "dpr_chain_valid_multi_agent.jsonl").read_bytes().splitlines()[:count]


def corrupt_at(data: bytes, offset: int) -> bytes:
    """``data`` with one payload byte of the frame at ``offset`` flipped: its CRC-32 no longer
    matches, and the frames after it are intact (corruption, not a torn tail)."""
    at = offset + 13 + 5
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


async def test_an_unchanged_wal_is_skipped_by_position_after_checking_its_bytes(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    path = vectors_dir / VALID
    first = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    second = await importer.run(path, acme.org.org_id, acme.stack.stack_id)
    assert (first.mode, second.mode) == (Mode.FIRST, Mode.RESUMED)
    assert (second.records, second.skipped, second.previous_end) == (0, 7, path.stat().st_size)
    assert len(await records_of(postgres_log, acme)) == 6


async def test_a_wal_truncated_and_written_on_past_its_old_length_imports_exactly_the_new_records(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    table = frames(data)
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data)
    await importer.run(wal, acme.org.org_id, acme.stack.stack_id)

    # The daemon met a corrupt frame 4 on start, truncated the WAL there and wrote on.
    new = daemon_records(vectors_dir, 5)
    wal.write_bytes(data[: table[4][0]] + b"".join(encode_frame(r) for r in new))
    assert wal.stat().st_size > len(data)
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert report.identity == f"wal:{first_hash(data)}"  # same first record: same file to the ledger
    assert (report.mode, report.records, report.rewritten_at) == (Mode.REWRITTEN, 5, table[4][0])
    assert report.skipped == 3  # frames 0-2 (frame 3 is a control frame: passed, not imported)
    values = [m.value for m in await records_of(postgres_log, acme)]
    assert len(values) == 11 and values[-5:] == new

    # The ledger now fingerprints the rewritten file: the next import is by position again.
    again = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (again.mode, again.records) == (Mode.RESUMED, 0)
    assert len(await records_of(postgres_log, acme)) == 11


async def test_a_wal_truncated_shorter_than_before_and_written_on_imports_the_new_records(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    table = frames(data)
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data)
    await importer.run(wal, acme.org.org_id, acme.stack.stack_id)

    new = daemon_records(vectors_dir, 2)
    wal.write_bytes(data[: table[4][0]] + b"".join(encode_frame(r) for r in new))
    assert wal.stat().st_size < len(data)
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (report.mode, report.records, report.rewritten_at) == (Mode.REWRITTEN, 2, table[4][0])
    assert report.size < report.previous_end == len(data)
    values = [m.value for m in await records_of(postgres_log, acme)]
    assert len(values) == 8 and values[-2:] == new

    # Cut short with nothing written after: nothing new, and nothing appended twice.
    wal.write_bytes(data[: table[2][0]])
    cut = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (cut.mode, cut.records, cut.skipped, cut.rewritten_at) == (Mode.REWRITTEN, 0, 2, None)
    assert len(await records_of(postgres_log, acme)) == 8


async def test_a_grown_wal_is_still_resumed_by_position(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data)
    await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    new = daemon_records(vectors_dir, 3)
    wal.write_bytes(data + b"".join(encode_frame(r) for r in new))
    grown = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (grown.mode, grown.records, grown.skipped, grown.rewritten_at) == (Mode.RESUMED, 3, 7, None)
    assert [m.value for m in await records_of(postgres_log, acme)][-3:] == new


async def test_a_wal_rewritten_with_the_same_records_imports_nothing_new(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    """Compaction that kept every record rewrites them (hmac_signature cleared, FARAMESH_FORMATS
    1.6.4): other bytes, the same records (record_hash does not cover the HMAC)."""
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data)
    await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    rewritten = []
    for _, version, payload in frames(data):
        record = json.loads(payload)
        if version == VERSION_DPR:
            record["hmac_signature"] = ""
        rewritten.append(encode_frame(json.dumps(record, separators=(",", ":")).encode(), version))
    wal.write_bytes(b"".join(rewritten))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (report.mode, report.records, report.skipped, report.rewritten_at) == (Mode.REWRITTEN, 0, 6, None)
    assert len(await records_of(postgres_log, acme)) == 6


async def test_the_same_records_from_a_jsonl_export_and_the_wal_are_imported_once(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    assert (await importer.run(vectors_dir / "dpr_chain_valid_jcs.jsonl", acme.org.org_id,
                               acme.stack.stack_id)).records == 6
    wal = await importer.run(vectors_dir / VALID, acme.org.org_id, acme.stack.stack_id)
    assert (wal.mode, wal.records, wal.skipped, wal.control_frames) == (Mode.FIRST, 0, 6, 1)
    assert len(await records_of(postgres_log, acme)) == 6


async def test_a_mid_file_crc_error_goes_into_the_ledger_and_onto_the_problems_topic_once(
    database: Database, importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant,
    vectors_dir: Path, tmp_path: Path
) -> None:
    acme = await tenant()
    data = (vectors_dir / VALID).read_bytes()
    table = frames(data)
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(corrupt_at(data, table[4][0]))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert report.stop is not None and report.corrupt and report.problem_new
    assert (report.stop.offset, report.records) == (table[4][0], 3)
    assert "CRC-32 mismatch" in report.stop.reason

    assert report.identity is not None
    ledger = ImportLedger(database)
    [problem] = await ledger.problems(acme.org.org_id, acme.stack.stack_id, report.identity)
    assert (problem.offset, problem.unread_bytes, problem.times_met) == (table[4][0], len(data) - table[4][0], 1)
    assert "CRC-32 mismatch" in problem.reason and problem.last_file == str(wal)
    [message] = await read_topic(postgres_log, WAL_PROBLEMS)
    event = decode_wal_problem(message.value)
    before = json.loads(table[2][2])  # the last DPR before the damage (frame 3 is a control frame)
    assert (event.offset, event.record_id, event.record_hash, event.agent_id, event.file_name) == (
        table[4][0], before["record_id"], before["record_hash"], before["agent_id"], "faramesh.wal")
    origin = Origin.from_headers(message.headers)
    assert (origin.org_id, origin.stack_id, message.key) == (
        acme.org.org_id, acme.stack.stack_id, stack_key(acme.org.org_id, acme.stack.stack_id))

    # Met again: counted in the ledger, not announced twice.
    again = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert again.corrupt and not again.problem_new and again.records == 0
    assert (await ledger.problems(acme.org.org_id, acme.stack.stack_id, report.identity))[0].times_met == 2
    assert len(await read_topic(postgres_log, WAL_PROBLEMS)) == 1

    # The daemon truncates at the corrupt frame when it starts, and writes on: imported.
    new = daemon_records(vectors_dir, 2)
    wal.write_bytes(data[: table[4][0]] + b"".join(encode_frame(r) for r in new))
    after = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (after.mode, after.records, after.stop) == (Mode.RESUMED, 2, None)


async def test_a_compacted_wal_imports_the_rebased_records_as_new_versions_and_skips_the_unchanged(
    importer: WalImporter, postgres_log: PostgresLog, tenant: MakeTenant, tmp_path: Path
) -> None:
    """Compaction (FARAMESH_FORMATS 1.6.4, 1.9) drops old records and re-chains what it keeps
    from genesis: agent b lost its first record, so its kept ones come back with the same
    record_id and a new record_hash (new versions: imported); agent a lost nothing, so its
    records keep their hashes (imported before: skipped). HMACs are cleared either way."""
    acme = await tenant()
    a = AgentWriter("agent-a", random.Random(1), hmac_key=b"k", signed_share=0.0)
    b = AgentWriter("agent-b", random.Random(2), hmac_key=b"k", signed_share=0.0)
    written = [w.next(1_780_000_000_000_000_000 + i * 1_000_000) for i, w in enumerate([a, b, a, b, a, b])]
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(b"".join(encode_frame(to_go_json(r)) for r in written))
    assert (await importer.run(wal, acme.org.org_id, acme.stack.stack_id)).records == 6

    kept: list[dict[str, object]] = []
    tips = {"agent-b": genesis_prev_hash("agent-b")}
    for record in written[:1] + written[2:]:  # b's first record is dropped
        record = {**record, "hmac_signature": ""}
        if record["agent_id"] == "agent-b":
            record["prev_record_hash"] = tips["agent-b"]
            record["record_hash"] = compute_record_hash(record)
            tips["agent-b"] = record["record_hash"]
        kept.append(record)
    wal.write_bytes(b"".join(encode_frame(to_go_json(r)) for r in kept))
    report = await importer.run(wal, acme.org.org_id, acme.stack.stack_id)
    assert (report.mode, report.records, report.skipped) == (Mode.REWRITTEN, 2, 3)
    appended = [json.loads(m.value) for m in (await records_of(postgres_log, acme))[6:]]
    assert [(r["record_id"], r["record_hash"]) for r in appended] == [
        (r["record_id"], r["record_hash"]) for r in kept if r["agent_id"] == "agent-b"]
    assert {r["record_id"] for r in appended} <= {r["record_id"] for r in written}  # same ids, new versions
