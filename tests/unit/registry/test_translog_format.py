"""The registry log's formats as docs/registry-log.md states them, recomputed here by hand
(the way a verifier in another language would), and the offline verifier's edge cases that
need no database (the tamper cases run end to end in tests/integration/test_registry_log.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faramesh_cloud.registry.translog import Ed25519Signer
from faramesh_cloud.registry.translog_format import (
    DEFAULT_ORIGIN,
    FORMAT,
    GENESIS_HASH,
    Checkpoint,
    LogEntry,
    check_action,
    checkpoint_body,
    entry_from_json,
    parse_note,
)
from faramesh_cloud.registry.translog_verify import NotALogExport, verify_log

MOMENT = datetime(2026, 5, 17, 19, 29, 4, 120000, tzinfo=UTC)
SIGNER = Ed25519Signer("cloud-registry-1", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def entry(seq: int = 1, prev: bytes = GENESIS_HASH) -> LogEntry:
    return LogEntry(seq, MOMENT, "published", {"kind": "policy", "name": "acme/pay", "version": "1.0.0"},
                    {"type": "member", "id": "u1", "label": "Zoë"}, {"body_sha256": "ab" * 32, "n": 7},
                    prev).sealed()


def test_the_genesis_hash_is_the_documented_constant() -> None:
    assert GENESIS_HASH == hashlib.sha256(b"faramesh-cloud/registry-log/v1/genesis").digest()


def test_an_entry_hash_is_sha256_of_the_documented_canonical_json() -> None:
    by_hand = ('{"action":"published","actor":{"id":"u1","label":"Zoë","type":"member"},'
               f'"body":{{"body_sha256":"{"ab" * 32}","n":7}},"logged_at":"2026-05-17T19:29:04.120000Z",'
               f'"prev_hash":"{GENESIS_HASH.hex()}",'
               '"seq":1,"subject":{"kind":"policy","name":"acme/pay","version":"1.0.0"},"v":1}')
    assert entry().entry_hash == hashlib.sha256(by_hand.encode("utf-8")).digest()
    assert entry_from_json(entry().to_json()) == entry()


def test_a_malformed_entry_or_action_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="missing 'seq'"):
        entry_from_json({k: v for k, v in entry().to_json().items() if k != "seq"})
    with pytest.raises(ValueError, match="prev_hash is not 64 hex digits"):
        entry_from_json({**entry().to_json(), "prev_hash": "zz"})
    with pytest.raises(ValueError, match="'deleted' is not a registry log action"):
        check_action("deleted")


def test_a_checkpoint_is_a_c2sp_signed_note_over_origin_size_and_head() -> None:
    head = entry().entry_hash
    body = checkpoint_body("example.org/registry-log", 1, head)
    assert body == f"example.org/registry-log\n1\n{base64.b64encode(head).decode()}\n".encode()
    point = Checkpoint("example.org/registry-log", 1, head, SIGNER.key_id, SIGNER.sign(body), MOMENT)
    note = point.note(SIGNER.public_key)
    text, _, line = note.rpartition("\n\n")
    assert text.encode() + b"\n" == body
    assert line.startswith("\u2014 cloud-registry-1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split()[2])
    key_hash = hashlib.sha256(b"cloud-registry-1\n\x01" + SIGNER.public_key).digest()[:4]
    assert raw[:4] == key_hash
    Ed25519PublicKey.from_public_bytes(SIGNER.public_key).verify(raw[4:], body)  # raises if not
    parsed = parse_note(note)
    assert (parsed.origin, parsed.size, parsed.head_hash, parsed.signatures[0].key_id) == (
        "example.org/registry-log", 1, head, "cloud-registry-1")


@pytest.mark.parametrize(("text", "why"), [
    ("o\n1\nAAAA\n\n\u2014 k " + "A" * 92 + "\n", "not base64 of 32 bytes"),
    ("o\n01\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k " + "A" * 92 + "\n", "not a decimal"),
    ("o\n1\n" + base64.b64encode(b"x" * 32).decode() + "\n\n- k xyz\n", "is not a signature line"),
    ("o\n1\n" + base64.b64encode(b"x" * 32).decode() + "\n", "a blank line"),
])
def test_a_malformed_note_is_refused_naming_the_part(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_note(text)


def test_something_that_is_not_an_export_is_refused_not_verified() -> None:
    with pytest.raises(NotALogExport, match="not a registry log export"):
        verify_log({"format": "faramesh-cloud/signed-bundle/v1"}, pinned={})
    with pytest.raises(NotALogExport, match="'entries' list"):
        verify_log({"format": FORMAT, "entries": {}}, pinned={})


def test_an_empty_log_verifies_and_a_checkpoint_whose_fields_lie_about_its_note_does_not() -> None:
    assert verify_log({"format": FORMAT, "entries": [], "checkpoints": []}, pinned={}).ok
    first = entry()
    body = checkpoint_body("o", 1, first.entry_hash)
    point = Checkpoint("o", 1, first.entry_hash, SIGNER.key_id, SIGNER.sign(body), MOMENT)
    bundle = {"format": FORMAT, "origin": "o", "entries": [first.to_json()],
              "checkpoints": [point.to_json(SIGNER.public_key)]}
    pins = {SIGNER.key_id: SIGNER.public_key}
    assert verify_log(bundle, pinned=pins).ok
    bundle["checkpoints"][0]["size"] = 2
    report = verify_log(bundle, pinned=pins)
    assert [str(p) for p in report.problems] == [
        "seq 1: checkpoint 1: its size or origin fields differ from its signed note"]


def test_the_docs_verify_by_hand_script_checks_a_log_and_catches_an_edit(tmp_path: Path) -> None:
    """docs/registry-log.md's "Verifying by hand" runs as written on a log made here."""
    docs = (Path(__file__).resolve().parents[3] / "docs" / "registry-log.md").read_text()
    assert "27abbd0bb1b5427f0fd47b042da5c09fa8772cac9a2e75ac77b5591d6550da6a" == GENESIS_HASH.hex()
    assert GENESIS_HASH.hex() in docs
    script = "\n".join(line[4:] for line in docs.split("## Verifying by hand", 1)[1].splitlines()
                       if line.startswith("    "))
    first = entry()
    second = LogEntry(2, MOMENT, "yanked", {"kind": "policy"}, {"id": "u1"}, {"reason": "é"}, first.entry_hash).sealed()
    body = checkpoint_body(DEFAULT_ORIGIN, 2, second.entry_hash)
    point = Checkpoint(DEFAULT_ORIGIN, 2, second.entry_hash, SIGNER.key_id, SIGNER.sign(body), MOMENT)
    bundle = {"format": FORMAT, "entries": [first.to_json(), second.to_json()],
              "checkpoints": [point.to_json(SIGNER.public_key)]}
    script = script.replace('open("registry-log.json"', "open(PATH").replace(
        "<the pinned key>", base64.b64encode(SIGNER.public_key).decode())
    path = tmp_path / "registry-log.json"
    path.write_text(json.dumps(bundle))
    exec(script, {"PATH": str(path)})
    bundle["entries"][1]["body"]["reason"] = "e"
    path.write_text(json.dumps(bundle))
    with pytest.raises(AssertionError):
        exec(script, {"PATH": str(path)})
