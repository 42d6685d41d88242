"""The hash chain of the platform audit log (pure).

One chain per organisation. Entry ``n`` is this JSON object (``v`` is the chain format)::

    {"v": 1, "org_id": "<uuid>", "seq": n, "event_id": "<uuid>",
     "occurred_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "action": "scope:resource:action",
     "actor": {"type": ..., "id": ..., "label": ..., "ip": ...},
     "target": {"type": ..., "id": ...}, "details": {...}, "prev_hash": "<64 hex>"}

and ``entry_hash = hex(SHA-256(canonical_json(entry)))``, with the canonical JSON of
``faramesh_cloud.signing.canonical`` (sorted keys, no whitespace, UTF-8, no floats).
``prev_hash`` of entry 1 is the organisation's genesis hash,
``hex(SHA-256("faramesh-cloud/platform-audit/v1/genesis/" + org_id))``; every later entry's
``prev_hash`` is the ``entry_hash`` of the entry before it. Changing, removing or reordering
any entry breaks the hash of that entry or the link of the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.platform_audit.events import Actor, ActorType, Target
from faramesh_cloud.signing.bundle import iso_utc
from faramesh_cloud.signing.canonical import canonical_json

CHAIN_VERSION: Final = 1
ALGORITHM: Final = "sha256-canonical-json-v1"
BUNDLE_KIND: Final = "platform-audit-log"


def genesis_hash(org_id: str) -> str:
    return hashlib.sha256(f"faramesh-cloud/platform-audit/v1/genesis/{org_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    org_id: str
    seq: int
    event_id: str
    occurred_at: datetime
    action: str
    actor: Actor
    target: Target
    details: Mapping[str, Any]
    prev_hash: str
    entry_hash: str = ""

    def body(self) -> dict[str, Any]:
        """The hashed object (everything but ``entry_hash``)."""
        return {
            "v": CHAIN_VERSION,
            "org_id": self.org_id,
            "seq": self.seq,
            "event_id": self.event_id,
            "occurred_at": iso_utc(self.occurred_at),
            "action": self.action,
            "actor": {"type": str(self.actor.type), "id": self.actor.id, "label": self.actor.label,
                      "ip": self.actor.ip},
            "target": {"type": self.target.type, "id": self.target.id},
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body())).hexdigest()

    def sealed(self) -> AuditEntry:
        """This entry with its ``entry_hash`` filled in."""
        return AuditEntry(self.org_id, self.seq, self.event_id, self.occurred_at, self.action,
                          self.actor, self.target, self.details, self.prev_hash, self.computed_hash())

    def to_json(self) -> dict[str, Any]:
        """The exported form: the hashed object plus ``entry_hash``."""
        return {**self.body(), "entry_hash": self.entry_hash}


def entry_from_json(data: Mapping[str, Any]) -> AuditEntry:
    """An entry from its exported form; ``ValueError`` names what is missing."""
    try:
        actor, target = data["actor"], data["target"]
        moment = datetime.fromisoformat(str(data["occurred_at"]).replace("Z", "+00:00"))
        return AuditEntry(
            org_id=str(data["org_id"]), seq=int(data["seq"]), event_id=str(data["event_id"]),
            occurred_at=moment, action=str(data["action"]),
            actor=Actor(ActorType(actor["type"]), str(actor["id"]), str(actor["label"]), str(actor["ip"])),
            target=Target(str(target["type"]), str(target["id"])),
            details=dict(data["details"]), prev_hash=str(data["prev_hash"]),
            entry_hash=str(data["entry_hash"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a platform audit entry ({exc!r})") from None


@dataclass
class ChainReport:
    """What verification found. ``complete`` is False when entries are missing between the
    first and last (a filtered export): each entry's hash is still checked, and every link
    between consecutive entries."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    complete: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_entries(org_id: str, entries: Iterable[AuditEntry]) -> ChainReport:
    """Check every entry's hash and every link between consecutive entries (by ``seq``)."""
    report = ChainReport()
    previous: AuditEntry | None = None
    for entry in sorted(entries, key=lambda e: e.seq):
        report.entries += 1
        if report.first_seq is None:
            report.first_seq = entry.seq
        report.last_seq, report.head_hash = entry.seq, entry.entry_hash
        if entry.org_id != org_id:
            report.problems.append(f"entry {entry.seq}: belongs to organisation {entry.org_id}, not {org_id}")
        if entry.computed_hash() != entry.entry_hash:
            report.problems.append(f"entry {entry.seq}: hash mismatch (the entry was changed after it was written)")
        if entry.seq == 1 and entry.prev_hash != genesis_hash(org_id):
            report.problems.append("entry 1: does not start from the organisation's genesis hash")
        if previous is not None:
            if entry.seq == previous.seq:
                report.problems.append(f"entry {entry.seq}: appears twice")
            elif entry.seq == previous.seq + 1:
                if entry.prev_hash != previous.entry_hash:
                    report.problems.append(f"entry {entry.seq}: broken link to entry {previous.seq}")
            else:
                report.complete = False
        previous = entry
    if report.first_seq not in (None, 1):
        report.complete = False
    return report
