"""The order to verify an export's records in: each agent's chain itself.

A WAL holds records in write order, which is authoritative: it is verified as it is read. A
JSONL export carries no order of its own. Upstream's ``faramesh audit export`` writes newest
first (``ORDER BY created_at DESC``), others may write oldest first or anything else; read in
file order, a perfectly valid export would show gaps, an invalid genesis and re-geneses.

So for an export, each agent's records are put in chain order: start at the record that
links to the agent's genesis hash and follow ``prev_record_hash`` forward. ``lamport_seq``,
then ``created_at``, then the position in the file only break ties (two records linking to
the same one, several chain segments) and order the segments a gap leaves; they never
override a link. An exact repeat (same ``record_hash``) goes right after its original, so
the verifier reports it as a repeat. Whatever the links do not reach in this way (a cycle,
which SHA-256 makes impossible in practice) is appended in file order.

Pure: no I/O. Used by ``faramesh-cloud verify`` and by JSONL imports.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from enum import StrEnum
from itertools import pairwise
from typing import Final

import msgspec

from faramesh_cloud.dpr.canonical import DprFormatError, genesis_prev_hash, parse_record
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at


class FileOrder(StrEnum):
    WRITE = "write order"  # every chain oldest first
    REVERSED = "reversed"  # every chain newest first (``faramesh audit export``)
    MIXED = "mixed"  # neither
    UNKNOWN = "unknown"  # no chain has two records: nothing to tell


class LinkMeta(msgspec.Struct, kw_only=True, gc=False):
    """What ordering reads of one record; ``position`` is its place in the file. Decoded
    straight from a record's JSON by ``decode_links`` (the other fields are skipped)."""

    agent_id: str = ""
    record_hash: str = ""
    prev_record_hash: str = ""
    lamport_seq: int = 0
    created_at: str = ""
    position: int = 0


_LINKS: Final = msgspec.json.Decoder(LinkMeta)


def decode_links(raw: bytes | memoryview, position: int) -> LinkMeta | None:
    """The links of one record's JSON, or None when it cannot be placed (not a JSON object
    with string ``agent_id`` and ``record_hash``: such an entry is verified where it stands)."""
    try:
        entry = _LINKS.decode(raw)
    except (msgspec.DecodeError, ValueError):  # bad UTF-8, a lone surrogate, a null...: Go's semantics
        try:
            record = parse_record(bytes(raw))
            entry = msgspec.convert({k: v for k in LinkMeta.__struct_fields__
                                     if (v := record.get(k)) is not None}, LinkMeta)
        except (DprFormatError, msgspec.ValidationError):
            return None
    if not (entry.agent_id and entry.record_hash):
        return None
    entry.position = position
    return entry


def _key(entry: LinkMeta) -> tuple[int, str, int]:
    """Tie-break order: lamport_seq, then created_at (as UTC text with the fraction padded to
    nine digits, which sorts as time does), then the position in the file."""
    try:
        created = canonical_created_at(entry.created_at) if entry.created_at else ""
    except TimestampError:
        created = ""
    seconds, _, fraction = created.rstrip("Z").partition(".")
    return entry.lamport_seq, seconds + "." + fraction.ljust(9, "0"), entry.position


def chain_order(entries: Sequence[LinkMeta]) -> list[LinkMeta]:
    """One agent's records (in file order) in chain order."""
    if not entries:
        return []
    genesis = genesis_prev_hash(entries[0].agent_id)
    first: dict[str, LinkMeta] = {}
    repeats: dict[str, list[LinkMeta]] = {}
    for entry in entries:
        if entry.record_hash in first:
            repeats.setdefault(entry.record_hash, []).append(entry)
        else:
            first[entry.record_hash] = entry
    # Each record has one predecessor, so it is either a start or one record's successor:
    # every record is reached at most once.
    successor: dict[str, LinkMeta] = {}
    forks: dict[str, list[LinkMeta]] = {}
    starts: list[tuple[int, tuple[int, str, int], LinkMeta]] = []
    for entry in first.values():
        prev = entry.prev_record_hash
        if prev in first and prev != entry.record_hash:
            if prev in successor:
                forks.setdefault(prev, []).append(entry)
            else:
                successor[prev] = entry
        else:  # a genesis record, or one whose predecessor is not in the file
            starts.append((0 if prev == genesis else 1, _key(entry), entry))
    for prev, others in forks.items():  # the lowest key continues the chain
        siblings = sorted([successor[prev], *others], key=_key)
        successor[prev], forks[prev] = siblings[0], siblings[1:]
    heapq.heapify(starts)
    ordered: list[LinkMeta] = []
    while starts:
        node: LinkMeta | None = heapq.heappop(starts)[2]
        while node is not None:
            ordered.append(node)
            record_hash = node.record_hash
            if repeats and record_hash in repeats:
                ordered.extend(repeats[record_hash])
            if forks and record_hash in forks:  # the other branches are segments of their own
                for other in forks[record_hash]:
                    heapq.heappush(starts, (1, _key(other), other))
            node = successor.get(record_hash)
    if len(ordered) < len(entries):  # a cycle, unreachable from any start: keep file order
        placed = {entry.record_hash for entry in ordered}
        for entry in first.values():
            if entry.record_hash not in placed:
                ordered.append(entry)
                ordered.extend(repeats.get(entry.record_hash, ()))
    return ordered


def file_order(chains: Iterable[Sequence[LinkMeta]]) -> FileOrder:
    """How the file held its chains, given each chain in chain order."""
    seen: set[FileOrder] = set()
    for chain in chains:
        positions = [entry.position for n, entry in enumerate(chain)
                     if n == 0 or entry.record_hash != chain[n - 1].record_hash]  # not the repeats
        if len(set(positions)) < 2:
            continue
        if all(a < b for a, b in pairwise(positions)):
            seen.add(FileOrder.WRITE)
        elif all(a > b for a, b in pairwise(positions)):
            seen.add(FileOrder.REVERSED)
        else:
            seen.add(FileOrder.MIXED)
    if not seen:
        return FileOrder.UNKNOWN
    return seen.pop() if len(seen) == 1 else FileOrder.MIXED


def verification_order(entries: Sequence[LinkMeta]) -> tuple[list[LinkMeta], FileOrder]:
    """Every record of a file (in file order) in the order to verify it: agents by first
    appearance, each in chain order; and how the file held them."""
    agents: dict[str, list[LinkMeta]] = {}
    for entry in entries:
        agents.setdefault(entry.agent_id, []).append(entry)
    chains = [chain_order(members) for members in agents.values()]
    return [entry for chain in chains for entry in chain], file_order(chains)
