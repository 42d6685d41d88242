"""The report's appendix: the full signed DPR export of the range, written as a stream.

The file is a ``dpr-search-export`` signed bundle (``faramesh_cloud.signing.dpr_bundle``) with
the streamed signature (``ed25519-entries-sha256``, ``faramesh_cloud.signing.bundle``), so
``faramesh-cloud verify-bundle FILE --public-key KEY`` checks it like any export. Entries
arrive from the audit index's ``export_range`` in (stack, agent, chain index) order and are
written one at a time: memory holds one entry and each chain's head, whatever the range.
While writing, the bytes are hashed (SHA-256 for the verification hash, MD5 for the PDF
embedded-file checksum) and counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.compliance.report.verification import ChainHead, sorted_heads
from faramesh_cloud.signing.dpr_bundle import HASH_ALGORITHM, KIND
from faramesh_cloud.signing.stream import BundleWriter

PROGRESS_EVERY = 10_000


class AppendixError(ValueError):
    """The entries cannot make an appendix (out of order, not DPR export entries)."""


@dataclass(frozen=True)
class Appendix:
    path: Path
    sha256: str
    md5: str
    size: int
    records: int
    heads: tuple[ChainHead, ...]  # sorted by stack, agent
    chain_records: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (stack, agent) -> records


class _Hashing:
    """A binary writer that hashes and counts what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)
        return self._out.write(data)


def write_appendix(path: Path, entries: Iterable[Mapping[str, Any]], *, org: Mapping[str, str],
                   query: Mapping[str, Any], created_at: datetime, key: Ed25519PrivateKey,
                   progress: Callable[[int], None] | None = None) -> Appendix:
    """Write the bundle of ``entries`` (``dpr_bundle.entry()`` dicts, in stack, agent, chain
    index order) to ``path``; ``progress(records_written)`` every 10,000 records."""
    heads: dict[tuple[str, str], ChainHead] = {}
    counts: dict[tuple[str, str], int] = {}
    last: tuple[str, str, int] | None = None  # the last entry placed on its chain (an index)
    with open(path, "wb") as raw:
        out = _Hashing(raw)
        writer = BundleWriter(out, kind=KIND, org=org, created_at=created_at, query=query)
        for item in entries:
            try:
                stack, agent, index = str(item["stack_id"]), str(item["agent_id"]), item.get("chain_index")
                record_hash = str(item["record_hash"])
            except (KeyError, TypeError):
                raise AppendixError(f"entry {writer.count} is not a DPR export entry") from None
            # an entry without a chain index (a duplicate, a record the index has not linked) has no
            # place to check; every other one follows its chain's previous one
            here = (stack, agent, index if isinstance(index, int) else -1)
            if last is not None and (here[:2] < last[:2] or (here[:2] == last[:2] and 0 <= here[2] < last[2])):
                raise AppendixError(f"entry {writer.count} ({item.get('record_id')}) is out of (stack, agent, "
                                    "chain index) order; export_range must return records in chain order")
            if last is None or here[:2] != last[:2] or here[2] >= 0:
                last = here
            writer.add(item)
            counts[(stack, agent)] = counts.get((stack, agent), 0) + 1
            if isinstance(index, int) or (stack, agent) not in heads:
                heads[(stack, agent)] = ChainHead(stack, agent, index if isinstance(index, int) else None,
                                                  record_hash)
            if progress is not None and writer.count % PROGRESS_EVERY == 0:
                progress(writer.count)
        writer.finish({"hash_algorithm": HASH_ALGORITHM, "records": writer.count, "agent_chains": len(heads),
                       "order": "stack_id, agent_id, chain_index"}, key)
        raw.flush()
    if progress is not None:
        progress(writer.count)
    return Appendix(path=path, sha256=out.sha256.hexdigest(), md5=out.md5.hexdigest(), size=out.size,
                    records=writer.count, heads=tuple(sorted_heads(heads.values())), chain_records=counts)
