"""Offline verification of an exported registry log (pure: no database, no network).

An export (``faramesh-cloud registry export-log``) is one JSON object::

    {"format": "faramesh-cloud/registry-log/v1", "origin": ..., "exported_at": ...,
     "keys": [{"key_id", "algorithm": "ed25519", "public_key_b64"}, ...],
     "entries": [<entry as hashed, plus "entry_hash">, ...],          # seq 1, 2, ... in order
     "checkpoints": [{"size", "head_hash", "origin", "key_id", "signed_at", "note"}, ...]}

:func:`verify_log` checks, in this order, and lists every problem with the seq it concerns:

1. entries run 1, 2, 3, ... in the file (a gap: entries deleted; a step back: reordered);
2. every entry's hash recomputed from its content (``translog_format``), and every link:
   ``prev_hash`` of entry 1 is the genesis hash, of entry n the hash of entry n-1;
3. every checkpoint's note: its body matches its fields, it is signed by its key, and that
   key is **pinned** (given by the verifier: ``--key ID=BASE64``). A key that only the file
   lists is trusted only when asked (``trust_file_keys``): a file can list any key;
4. every checkpoint agrees with the entries: entry ``size`` exists (else the log was cut
   after the checkpoint was signed) and its hash is the checkpoint's head (else history
   before it was rewritten);
5. some checkpoint by a trusted key vouches for the log; entries after the last one are
   covered by the chain only (a note, not a problem).

Checkpoints saved elsewhere (a witness, an earlier download) are checked the same way
(``extra_notes``): a log cut back together with its own checkpoints still fails against them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faramesh_cloud.registry.translog_format import (
    FORMAT,
    GENESIS_HASH,
    ParsedNote,
    entry_from_json,
    note_key_hash,
    parse_note,
)


class NotALogExport(ValueError):
    """The input is not a registry log export at all (exit code 2, not a finding)."""


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None  # the entry (or checkpoint size) concerned; None for the file as a whole
    reason: str
    part: str = "chain"  # "keys", "chain" or "checkpoints"

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}" if self.seq is not None else self.reason


@dataclass
class CheckpointResult:
    where: str  # "checkpoint 3" or the name of an external note
    size: int | None
    key_id: str
    ok: bool
    detail: str


@dataclass
class LogReport:
    origin: str = ""
    entries: int = 0
    head_seq: int = 0
    head_hash: bytes = GENESIS_HASH
    checkpoints: list[CheckpointResult] = field(default_factory=list)
    covered: int = 0  # entries vouched for by a valid checkpoint of a trusted key
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def parse_key_b64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes in base64")
    return raw


def _file_keys(bundle: Mapping[str, Any], report: LogReport) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    raw = bundle.get("keys")
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            key_id = str(item["key_id"])
            value = parse_key_b64(str(item["public_key_b64"]))
        except (KeyError, TypeError, ValueError) as exc:
            report.problems.append(Problem(None, f"keys[{index}] is not a key ({exc})", "keys"))
            continue
        if key_id in keys and keys[key_id] != value:
            report.problems.append(Problem(None, f"the file lists two different public keys for {key_id!r}",
                                           "keys"))
        keys[key_id] = value
    return keys


def _check_entries(raw_entries: list[Any], report: LogReport) -> dict[int, bytes]:
    """Steps 1 and 2; the hash of each seq as the file has it."""
    parsed = []
    for index, raw in enumerate(raw_entries):
        try:
            parsed.append(entry_from_json(raw))
        except ValueError as exc:
            report.problems.append(Problem(None, f"entries[{index}] is not a log entry ({exc})"))
    present = {e.seq for e in parsed}
    heads: dict[int, bytes] = {0: GENESIS_HASH}
    highest = 0
    for entry in parsed:  # 1: the order of the file
        report.entries += 1
        seq = entry.seq
        if seq > highest + 1:
            skipped = range(highest + 1, seq)
            gap = str(skipped[0]) if len(skipped) == 1 else f"{skipped[0]}..{skipped[-1]}"
            if any(s in present for s in skipped):
                reason = (f"entry {seq} follows entry {highest}: entries are out of order "
                          f"(entry {gap} is elsewhere in the file)")
            else:
                reason = f"entry {seq} follows entry {highest}: entry {gap} is missing (deleted)"
            report.problems.append(Problem(seq, reason))
        elif seq in heads:
            report.problems.append(Problem(seq, f"entry {seq} appears twice"))
        elif seq <= highest:
            report.problems.append(Problem(seq, f"entry {seq} comes after entry {highest}: entries are out of order"))
        heads.setdefault(seq, entry.entry_hash)
        highest = max(highest, seq)
    for entry in sorted(parsed, key=lambda e: e.seq):  # 2: each entry's hash, and its link
        seq = entry.seq
        if entry.computed_hash() != entry.entry_hash:
            report.problems.append(Problem(seq, "the entry's content does not match its hash "
                                                "(it was changed after it was written)"))
        elif seq - 1 in heads and entry.prev_hash != heads[seq - 1]:
            what = "the genesis hash" if seq == 1 else f"the hash of entry {seq - 1}"
            report.problems.append(Problem(seq, f"prev_hash is not {what}: the chain is broken here "
                                                "(an entry before it was replaced or removed)"))
    report.head_seq = max(heads)
    report.head_hash = heads[report.head_seq]
    return heads


def _check_note(note: ParsedNote, where: str, key_id: str | None, trusted: Mapping[str, bytes],
                file_keys: Mapping[str, bytes], heads: Mapping[int, bytes], report: LogReport) -> None:
    """Steps 3 and 4 for one note (``key_id``: the signature to check; None: any trusted one)."""
    candidates = [s for s in note.signatures if key_id is None or s.key_id == key_id]
    chosen = next((s for s in candidates if s.key_id in trusted), candidates[0] if candidates else None)
    if chosen is None:
        reason = f"the note has no signature by {key_id!r}"
        report.checkpoints.append(CheckpointResult(where, note.size, key_id or "", False, reason))
        report.problems.append(Problem(note.size, f"{where}: {reason}", "checkpoints"))
        return
    public = trusted.get(chosen.key_id)
    result = CheckpointResult(where, note.size, chosen.key_id, False, "")
    report.checkpoints.append(result)
    if public is None:
        if chosen.key_id in file_keys:
            result.detail = (f"signed by key {chosen.key_id!r}, which only the file lists: it is not pinned "
                             f"(pass --key {chosen.key_id}=<base64> from a source you trust, or --trust-file-keys)")
        else:
            result.detail = f"signed by key {chosen.key_id!r}, which is neither pinned nor listed in the file"
    elif chosen.key_hash != note_key_hash(chosen.key_id, public):
        result.detail = (f"the signature names key {chosen.key_id!r} but was made with another key "
                         "(its key hash does not match the trusted one): a forged checkpoint")
    else:
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(chosen.signature, note.body)
        except InvalidSignature:
            result.detail = (f"the signature by {chosen.key_id!r} does not verify: the checkpoint was altered "
                             "or forged")
    if result.detail:
        report.problems.append(Problem(note.size, f"{where}: {result.detail}", "checkpoints"))
        return
    if report.origin and note.origin != report.origin:
        result.detail = f"it is for log {note.origin!r}, not {report.origin!r}"
    elif note.size > report.head_seq:
        result.detail = (f"it was signed for {note.size} entries but the log ends at entry {report.head_seq}: "
                         "entries were removed after it was signed (truncated)")
    elif heads.get(note.size) != note.head_hash:
        result.detail = (f"its head hash is not the hash of entry {note.size}: the history up to "
                         "that entry was rewritten after it was signed")
    if result.detail:
        report.problems.append(Problem(note.size, f"{where}: {result.detail}", "checkpoints"))
        return
    result.ok = True
    result.detail = f"signature by {chosen.key_id!r} valid; head is entry {note.size}'s hash"
    report.covered = max(report.covered, note.size)


def _check_fields(raw: Mapping[str, Any], note: ParsedNote) -> str:
    """Why the readable fields of an exported checkpoint disagree with its note ("" if not)."""
    if raw.get("size") != note.size or raw.get("origin") != note.origin:
        return "its size or origin fields differ from its signed note"
    if str(raw.get("head_hash")) != note.head_hash.hex():
        return "its head_hash field differs from its signed note"
    return ""


def verify_log(bundle: Any, *, pinned: Mapping[str, bytes], trust_file_keys: bool = False,
               extra_notes: Sequence[tuple[str, str]] = ()) -> LogReport:
    """Verify an export (see the module docstring). ``pinned``: key id -> raw public key;
    ``extra_notes``: (name, note text) of checkpoints saved elsewhere."""
    if not isinstance(bundle, Mapping) or bundle.get("format") != FORMAT:
        found = bundle.get("format") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise NotALogExport(f"not a registry log export (format {found!r}, expected {FORMAT!r})")
    entries, checkpoints = bundle.get("entries"), bundle.get("checkpoints")
    if not isinstance(entries, list) or not isinstance(checkpoints, list):
        raise NotALogExport("a registry log export has an 'entries' list and a 'checkpoints' list")
    report = LogReport(origin=str(bundle.get("origin") or ""))
    file_keys = _file_keys(bundle, report)
    trusted = dict(pinned)
    for key_id, value in file_keys.items():
        if key_id in pinned and pinned[key_id] != value:
            report.problems.append(Problem(None, f"the file lists a public key for {key_id!r} that is not the "
                                                 "pinned one: the file's keys were replaced", "keys"))
        elif key_id not in pinned and trust_file_keys:
            trusted[key_id] = value
            report.notes.append(f"key {key_id!r} trusted because the file lists it (--trust-file-keys)")
    heads = _check_entries(entries, report)
    for index, raw in enumerate(checkpoints):
        where = f"checkpoint {index + 1}"
        try:
            if not isinstance(raw, Mapping):
                raise ValueError("not a JSON object")
            note = parse_note(str(raw.get("note")))
        except ValueError as exc:
            report.problems.append(Problem(None, f"{where} is not a signed checkpoint ({exc})", "checkpoints"))
            continue
        mismatch = _check_fields(raw, note)
        if mismatch:
            report.problems.append(Problem(note.size, f"{where}: {mismatch}", "checkpoints"))
        _check_note(note, where, str(raw.get("key_id")), trusted, file_keys, heads, report)
    for name, text in extra_notes:
        try:
            note = parse_note(text)
        except ValueError as exc:
            report.problems.append(Problem(None, f"{name} is not a signed checkpoint ({exc})", "checkpoints"))
            continue
        _check_note(note, name, None, trusted, file_keys, heads, report)
    if report.head_seq and not report.covered:
        report.problems.append(Problem(None, "no valid checkpoint by a trusted key vouches for this log",
                                       "checkpoints"))
    elif report.covered < report.head_seq:
        after = (f"entry {report.head_seq} was" if report.covered + 1 == report.head_seq
                 else f"entries {report.covered + 1}..{report.head_seq} were")
        report.notes.append(f"{after} logged after the last checkpoint: hashes and links hold, but no "
                            "signature covers them yet")
    return report
