"""The report's verification hash and its machine-readable chain heads (pure).

**Verification hash.** Lowercase hex SHA-256 of the canonical JSON
(``faramesh_cloud.signing.canonical``: sorted keys, no blanks, UTF-8) of::

    {"version": "faramesh-cloud/report-verification/v1",
     "appendix_sha256": "<hex SHA-256 of the appendix file's bytes, exactly as embedded>",
     "heads": [{"stack_id": ..., "agent_id": ..., "chain_index": <int or null>,
                "record_hash": "<hex>"}, ...]}

``heads`` are the certified chain heads: per (stack, agent) chain in the appendix, its last
record (the appendix is ordered by stack, agent, chain index), sorted by stack then agent.
Anyone can recompute it with ``sha256sum`` of the appendix and a few lines of any language.

**Chain heads document** (``chain-heads.json``, embedded next to the appendix)::

    {"format": "faramesh-cloud/report-chain-heads/v1",
     "appendix": {"name": ..., "sha256": ..., "size": <bytes>, "records": <count>},
     "heads": [...as above...], "verification_hash": "<hex>"}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud.signing.canonical import canonical_json

VERSION: Final = "faramesh-cloud/report-verification/v1"
HEADS_FORMAT: Final = "faramesh-cloud/report-chain-heads/v1"
APPENDIX_NAME: Final = "dpr-appendix.json"
HEADS_NAME: Final = "chain-heads.json"


@dataclass(frozen=True, order=True)
class ChainHead:
    stack_id: str
    agent_id: str
    chain_index: int | None
    record_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"stack_id": self.stack_id, "agent_id": self.agent_id, "chain_index": self.chain_index,
                "record_hash": self.record_hash}

    @classmethod
    def from_json(cls, value: Any) -> ChainHead:
        if not isinstance(value, Mapping):
            raise ValueError("a chain head is not an object")
        index = value.get("chain_index")
        if not (index is None or (isinstance(index, int) and not isinstance(index, bool))):
            raise ValueError("a chain head's chain_index is not an integer")
        fields = [value.get(k) for k in ("stack_id", "agent_id", "record_hash")]
        if not all(isinstance(f, str) for f in fields):
            raise ValueError("a chain head lacks stack_id, agent_id or record_hash")
        return cls(str(fields[0]), str(fields[1]), index, str(fields[2]))


def sorted_heads(heads: Iterable[ChainHead]) -> list[ChainHead]:
    return sorted(heads, key=lambda h: (h.stack_id, h.agent_id))


def verification_hash(appendix_sha256: str, heads: Iterable[ChainHead]) -> str:
    """See the module docstring."""
    return hashlib.sha256(canonical_json({
        "version": VERSION, "appendix_sha256": appendix_sha256,
        "heads": [h.to_json() for h in sorted_heads(heads)]})).hexdigest()


def heads_document(*, appendix_sha256: str, appendix_size: int, records: int,
                   heads: Iterable[ChainHead]) -> dict[str, Any]:
    ordered = sorted_heads(heads)
    return {"format": HEADS_FORMAT,
            "appendix": {"name": APPENDIX_NAME, "sha256": appendix_sha256, "size": appendix_size,
                         "records": records},
            "heads": [h.to_json() for h in ordered],
            "verification_hash": verification_hash(appendix_sha256, ordered)}
