"""Which signing keys were pinned for a stack at a given time (pure).

The index keeps every pin and revocation it read from ``stacks.signing_keys.v1`` with the
time it takes effect. A record is checked against the pins in force when Cloud received it
(``received_ns``), so a replay from offset 0 gives each record the verdict it was given then,
whatever was pinned or revoked since. A change at time T counts for records received at T or
later. A stack that has no key pinned at that time reads as ``None``: a valid signature is
then valid (nothing to compare it with).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from faramesh_cloud.dpr.signatures import SignatureStatus

LATEST: Final = 2**63 - 1  # "received now": after every change
UNVERIFIED: Final = -1  # the generation of a record checked without a pin history


class TrustView(Protocol):
    """What the processor reads: the keys pinned for a stack when a record was received, and
    the version of the history that answer came from."""

    @property
    def generation(self) -> int: ...

    def get(self, org_id: str, stack_id: str, received_ns: int = LATEST) -> Collection[str] | None: ...


@dataclass(frozen=True, slots=True)
class PinChange:
    org_id: str
    stack_id: str
    key_id: str
    public_key: str  # empty for a revocation (the key is known by its id from its pin)
    pinned: bool  # True: pinned from effective_ns on; False: revoked from then on
    effective_ns: int


class PinHistory:
    """Immutable: built once from a stack's changes in the order they happened (by effective
    time, then log order); ``at`` is a dictionary lookup and a binary search."""

    def __init__(self, changes: Iterable[PinChange] = ()) -> None:
        by_stack: dict[tuple[str, str], list[PinChange]] = {}
        for change in changes:
            by_stack.setdefault((change.org_id, change.stack_id), []).append(change)
        self._versions: dict[tuple[str, str], tuple[list[int], list[frozenset[str] | None]]] = {}
        for stack, found in by_stack.items():
            keys: dict[str, str] = {}  # key id -> public key, of every key ever pinned here
            active: set[str] = set()
            times: list[int] = []
            sets: list[frozenset[str] | None] = []
            for change in sorted(found, key=lambda c: c.effective_ns):  # stable: log order on ties
                if change.public_key:
                    keys[change.key_id] = change.public_key
                if change.pinned:
                    active.add(change.key_id)
                else:
                    active.discard(change.key_id)
                pinned = frozenset(keys[k] for k in active if k in keys) or None
                if times and times[-1] == change.effective_ns:
                    sets[-1] = pinned
                else:
                    times.append(change.effective_ns)
                    sets.append(pinned)
            self._versions[stack] = (times, sets)

    def at(self, org_id: str, stack_id: str, received_ns: int) -> frozenset[str] | None:
        """The public keys pinned for the stack at ``received_ns`` (None: none pinned)."""
        versions = self._versions.get((org_id, stack_id))
        if versions is None:
            return None
        times, sets = versions
        i = bisect_right(times, received_ns) - 1
        return sets[i] if i >= 0 else None

    def knows(self, org_id: str, stack_id: str) -> bool:
        """Whether the stack ever had a pin (only then can a re-check change a verdict)."""
        return (org_id, stack_id) in self._versions

    def current(self) -> Mapping[tuple[str, str], frozenset[str]]:
        """Every stack's pins after its latest change (stacks with none left are absent)."""
        return {stack: sets[-1] for stack, (_, sets) in self._versions.items() if sets and sets[-1]}


def trust_status(status: SignatureStatus, signer_public_key: str, trusted: Collection[str] | None) -> SignatureStatus:
    """A verified signature's status under ``trusted`` (a signature that does not verify, or
    none, stays as it is: pins only decide whether a valid signer is trusted)."""
    if status not in (SignatureStatus.VALID, SignatureStatus.UNTRUSTED):
        return status
    return SignatureStatus.UNTRUSTED if trusted is not None and signer_public_key not in trusted else SignatureStatus.VALID


class FixedTrust:
    """A ``TrustView`` over one history that does not change (a benchmark's, a tool's)."""

    def __init__(self, history: PinHistory, generation: int = 0) -> None:
        self.history = history
        self.generation = generation

    def get(self, org_id: str, stack_id: str, received_ns: int = LATEST) -> Collection[str] | None:
        return self.history.at(org_id, stack_id, received_ns)
