"""The registry log's formats (pure): an entry's hash, a checkpoint's signed note.

Everything a verifier in another language needs is here and in docs/registry-log.md.

**Entry hash.** Entry ``n`` is hashed as this JSON object::

    {"v": 1, "seq": n, "logged_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "action": "published",
     "subject": {...}, "actor": {...}, "body": {...}, "prev_hash": "<64 lowercase hex>"}

``entry_hash = SHA-256(canonical_json(object))`` (32 bytes; lowercase hex in JSON), with the
canonical JSON of :mod:`faramesh_cloud.signing.canonical` (UTF-8, no whitespace, keys sorted
by code point at every level, non-ASCII as itself, integers only). ``logged_at`` is UTC with
exactly six fractional digits. ``prev_hash`` of entry 1 is :data:`GENESIS_HASH`,
``SHA-256("faramesh-cloud/registry-log/v1/genesis")``; every later entry's is the hash of the
entry before it. So the hash of entry ``n`` commits to entries 1..n: a plain hash chain.

**Checkpoint.** A C2SP signed note (https://c2sp.org/signed-note) whose text is a
tlog-checkpoint-shaped body::

    <origin>\\n<size>\\n<base64 of the head hash>\\n

``size`` is the number of entries (decimal), the head hash is ``entry_hash`` of entry
``size`` (``GENESIS_HASH`` for size 0). NB: it is a hash-chain head, not an RFC 6962 Merkle
root; the origin (default :data:`DEFAULT_ORIGIN`) names this log so that no Merkle-log tool
mistakes one for the other. The body is followed by a blank line and one signature line per
key, ``— <key_id> <base64(key_hash ‖ signature)>\\n`` (an em dash U+2014), where
``signature`` is Ed25519 over the body bytes and ``key_hash`` the first 4 bytes of
``SHA-256(key_id ‖ "\\n" ‖ 0x01 ‖ public_key)`` (0x01: the signed-note Ed25519 type).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from faramesh_cloud.signing.bundle import iso_utc
from faramesh_cloud.signing.canonical import canonical_json

FORMAT: Final = "faramesh-cloud/registry-log/v1"
ENTRY_VERSION: Final = 1
GENESIS_HASH: Final = hashlib.sha256(b"faramesh-cloud/registry-log/v1/genesis").digest()
DEFAULT_ORIGIN: Final = "faramesh-cloud/registry-log/v1"
_KEY_NAME = re.compile(r"^[^\s+]+$")  # signed-note key names: no spaces, no '+'
_SIG_LINE = re.compile(r"^\u2014 (\S+) (\S+)$")
_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")
ED25519_NOTE_TYPE: Final = b"\x01"


class LogAction(StrEnum):
    """What an entry records. Add a member for a new kind of registry command."""

    SEEDED = "seeded"
    PUBLISHED = "published"
    YANKED = "yanked"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    KEY_ADDED = "key_added"
    KEY_RETIRED = "key_retired"
    PUBLISHER_CLAIMED = "publisher_claimed"
    PUBLISHER_CONFIRMED = "publisher_confirmed"
    PUBLISHER_REJECTED = "publisher_rejected"
    MIRRORED = "mirrored"
    QUARANTINED = "quarantined"
    ISSUE_REPORTED = "issue_reported"
    ISSUE_REPLIED = "issue_replied"


def check_action(action: str) -> LogAction:
    try:
        return LogAction(action)
    except ValueError:
        raise ValueError(f"{action!r} is not a registry log action; use one of "
                         f"{', '.join(a.value for a in LogAction)} (or add one to LogAction)") from None


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    logged_at: datetime
    action: str
    subject: Mapping[str, Any]
    actor: Mapping[str, Any]
    body: Mapping[str, Any]
    prev_hash: bytes
    entry_hash: bytes = b""

    def hashed(self) -> dict[str, Any]:
        """The object the hash covers (everything but ``entry_hash``)."""
        return {"v": ENTRY_VERSION, "seq": self.seq, "logged_at": iso_utc(self.logged_at),
                "action": self.action, "subject": dict(self.subject), "actor": dict(self.actor),
                "body": dict(self.body), "prev_hash": self.prev_hash.hex()}

    def computed_hash(self) -> bytes:
        return hashlib.sha256(canonical_json(self.hashed())).digest()

    def sealed(self) -> LogEntry:
        return LogEntry(self.seq, self.logged_at, self.action, self.subject, self.actor, self.body,
                        self.prev_hash, self.computed_hash())

    def to_json(self) -> dict[str, Any]:
        return {**self.hashed(), "entry_hash": self.entry_hash.hex()}


def _hash(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{what} is not 64 hex digits")
    return raw


def entry_from_json(data: Any) -> LogEntry:
    """An entry from its exported form; ``ValueError`` says what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError("not a JSON object")
    try:
        if data["v"] != ENTRY_VERSION:
            raise ValueError(f"entry format v{data['v']} is not v{ENTRY_VERSION}")
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError("seq is not a positive integer")
        objects = [data[k] for k in ("subject", "actor", "body")]
        if not all(isinstance(o, Mapping) for o in objects):
            raise ValueError("subject, actor and body must be JSON objects")
        moment = datetime.fromisoformat(str(data["logged_at"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("logged_at has no time zone")
        return LogEntry(seq, moment, str(data["action"]), objects[0], objects[1], objects[2],
                        _hash(data["prev_hash"], "prev_hash"), _hash(data["entry_hash"], "entry_hash"))
    except KeyError as exc:
        raise ValueError(f"missing {exc.args[0]!r}") from None


def note_key_hash(key_id: str, public_key: bytes) -> bytes:
    """The 4-byte key hash a signed-note signature line starts with."""
    return hashlib.sha256(key_id.encode() + b"\n" + ED25519_NOTE_TYPE + public_key).digest()[:4]


def check_key_id(key_id: str) -> str:
    if not key_id or not _KEY_NAME.match(key_id):
        raise ValueError(f"key id {key_id!r} cannot name a signed-note key (no spaces or '+')")
    return key_id


def checkpoint_body(origin: str, size: int, head_hash: bytes) -> bytes:
    if not origin or "\n" in origin or origin != origin.strip():
        raise ValueError(f"origin {origin!r} must be one non-empty line without surrounding spaces")
    return f"{origin}\n{size}\n{base64.b64encode(head_hash).decode()}\n".encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed (size, head hash) of the log, by one key."""

    origin: str
    size: int
    head_hash: bytes
    key_id: str
    signature: bytes  # the 64-byte Ed25519 signature over ``body()``
    signed_at: datetime | None = None  # when it was made (informational: not signed)

    def body(self) -> bytes:
        return checkpoint_body(self.origin, self.size, self.head_hash)

    def note(self, public_key: bytes) -> str:
        line = base64.b64encode(note_key_hash(self.key_id, public_key) + self.signature).decode()
        return self.body().decode() + f"\n\u2014 {self.key_id} {line}\n"

    def to_json(self, public_key: bytes) -> dict[str, Any]:
        return {"size": self.size, "head_hash": self.head_hash.hex(), "origin": self.origin,
                "key_id": self.key_id,
                "signed_at": iso_utc(self.signed_at) if self.signed_at else None,
                "note": self.note(public_key)}


@dataclass(frozen=True, slots=True)
class NoteSignature:
    key_id: str
    key_hash: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class ParsedNote:
    origin: str
    size: int
    head_hash: bytes
    body: bytes
    signatures: tuple[NoteSignature, ...]


def parse_note(text: str) -> ParsedNote:
    """A checkpoint note; ``ValueError`` says which part is malformed."""
    if not text.endswith("\n") or "\n\n" not in text:
        raise ValueError("a signed note is its text, a blank line, then signature lines, ending in a newline")
    body, _, block = text.rpartition("\n\n")  # as Go's note.Open: the last blank line
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise ValueError("a checkpoint has an origin line, a size line and a hash line")
    origin, size_text, hash_text = lines[:3]
    if not _SIZE.match(size_text):
        raise ValueError(f"size {size_text!r} is not a decimal number")
    try:
        head = base64.b64decode(hash_text, validate=True)
    except (binascii.Error, ValueError):
        head = b""
    if len(head) != 32:
        raise ValueError("the hash line is not base64 of 32 bytes")
    signatures = []
    for line in block.split("\n")[:-1]:
        match = _SIG_LINE.match(line)
        if match is None:
            raise ValueError(f"{line!r} is not a signature line ('\u2014 <key> <base64>')")
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 68:
            raise ValueError(f"the signature by {match.group(1)!r} is not base64 of a key hash and an Ed25519 signature")
        signatures.append(NoteSignature(match.group(1), raw[:4], raw[4:]))
    if not signatures:
        raise ValueError("the note has no signature line")
    return ParsedNote(origin, int(size_text), head, body.encode(), tuple(signatures))
