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
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from faramesh_cloud.dpr.canonical import genesis_prev_hash
from faramesh_cloud.dpr.timefmt import TimestampError, created_at_nanos


class FileOrder(StrEnum):
    WRITE = "write order"  # every chain oldest first
    REVERSED = "reversed"  # every chain newest first (``faramesh audit export``)
    MIXED = "mixed"  # neither
    UNKNOWN = "unknown"  # no chain has two records: nothing to tell


@dataclass(frozen=True, slots=True)
class LinkMeta:
    """What ordering reads of one record; ``position`` is its place in the file."""

    position: int
    agent_id: str
    record_hash: str
    prev_record_hash: str
    lamport_seq: int = 0
    created_at: str = ""


def _key(entry: LinkMeta) -> tuple[int, int, int]:
    try:
        created = created_at_nanos(entry.created_at) if entry.created_at else 0
    except TimestampError:
        created = 0
    return entry.lamport_seq, created, entry.position


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
    children: dict[str, list[LinkMeta]] = {}
    starts: list[tuple[int, tuple[int, int, int], LinkMeta]] = []
    for entry in first.values():
        if entry.prev_record_hash in first and entry.prev_record_hash != entry.record_hash:
            children.setdefault(entry.prev_record_hash, []).append(entry)
        else:  # a genesis record, or one whose predecessor is not in the file
            starts.append((0 if entry.prev_record_hash == genesis else 1, _key(entry), entry))
    for siblings in children.values():
        siblings.sort(key=_key)
    heapq.heapify(starts)
    ordered: list[LinkMeta] = []
    placed: set[str] = set()
    while starts:
        node: LinkMeta | None = heapq.heappop(starts)[2]
        while node is not None and node.record_hash not in placed:
            placed.add(node.record_hash)
            ordered.append(node)
            ordered.extend(repeats.get(node.record_hash, ()))
            following = children.get(node.record_hash, [])
            for other in following[1:]:  # a fork: the other branches are segments of their own
                heapq.heappush(starts, (1, _key(other), other))
            node = following[0] if following else None
    if len(placed) < len(first):  # unreachable (a cycle): keep file order
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
