"""The narrow calls the index's sinks make into retention (and nothing else of retention):
which organisations' horizons apply to a batch, which records of it retention already
removed, and the state a chain starts from when only its checkpoint is left."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from psycopg import AsyncConnection

from faramesh_cloud.audit_index.chain import AgentState, ChainKey
from faramesh_cloud.audit_index.retention.store import checkpoint_seeds, share_horizons

__all__ = ["advanced", "checkpoint_states", "share_horizons", "within"]


class _Positioned(Protocol):
    @property
    def org_id(self) -> str: ...
    @property
    def created_ns(self) -> int: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=_Positioned)


def within(rows: Sequence[R], horizons: Mapping[str, int]) -> list[R]:
    """The rows retention has not removed: created at or after their organisation's horizon."""
    if not horizons:
        return list(rows)
    return [r for r in rows if r.created_ns >= horizons.get(r.org_id, 0)]


def advanced(positions: dict[int, int], rows: Iterable[_Positioned]) -> dict[int, int]:
    """``positions`` moved past every row (the batch's rows are all handled)."""
    for row in rows:
        positions[row.partition] = max(positions[row.partition], row.offset + 1)
    return positions


async def checkpoint_states(conn: AsyncConnection[Any], keys: Iterable[ChainKey]) -> dict[ChainKey, AgentState]:
    """For chains with no stored state, the state their checkpoint leaves: the tip is the last
    removed record, the length counts it (chain indexes are never renumbered)."""
    seeds = await checkpoint_seeds(conn, keys)
    return {key: AgentState(tip_hash=cp.record_hash, tip_record_id=cp.record_id, chain_length=cp.chain_index + 1,
                            segments=1, last_lamport=0, first_created_at="", last_created_at=cp.record_created_at,
                            last_verified_ns=0)
            for key, cp in seeds.items()}
