"""Defer cascade rules (``VerifyCascadeChain``, FARAMESH_FORMATS 1.14).

Defer tokens are unique; a record with a ``parent_defer_token`` has ``cascade_depth`` equal
to its number of ancestors and ``cascade_path`` equal to the ancestor tokens, root first;
no self-reference, no cycles, no missing parent; a record without a parent has depth 0 and
an empty path. Tokens are scoped per agent (a token is 8 hex chars, so a fleet-wide scope
would collide), and a parent is looked up in the same agent first, then in any agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from faramesh_cloud.dpr.meta import RecordLike


@dataclass(frozen=True, slots=True)
class CascadeIssue:
    agent_id: str
    record_id: str
    index: int
    message: str


@dataclass(slots=True)
class _Defer:
    agent_id: str
    record_id: str
    index: int
    token: str
    parent: str
    depth: int
    path: list[str]


class CascadeChecker:
    def __init__(self) -> None:
        self._defers: dict[tuple[str, str], _Defer] = {}
        self._by_token: dict[str, _Defer] = {}
        self._issues: list[CascadeIssue] = []

    def add(self, record: RecordLike, index: int) -> None:
        if isinstance(record, Mapping):
            get = record.get
        else:  # a msgspec view (`RecordMeta`, `dpr/view.py`), whose get() is getattr: read it
            get = partial(getattr, record)  # with the builtin, once per record, not six times
        token = get("defer_token") or ""
        if not token:
            return
        agent = str(get("agent_id", ""))
        defer = _Defer(agent, str(get("record_id", "")), index, str(token), str(get("parent_defer_token") or ""),
                       int(get("cascade_depth") or 0), list(get("cascade_path") or []))
        if (agent, defer.token) in self._defers:
            self._issue(defer, f"duplicate defer token '{defer.token}'")
            return
        self._defers[(agent, defer.token)] = defer
        self._by_token.setdefault(defer.token, defer)

    def _issue(self, defer: _Defer, message: str) -> None:
        self._issues.append(CascadeIssue(defer.agent_id, defer.record_id, defer.index, message))

    def _parent_of(self, defer: _Defer) -> _Defer | None:
        return self._defers.get((defer.agent_id, defer.parent)) or self._by_token.get(defer.parent)

    def finish(self) -> list[CascadeIssue]:
        for defer in self._defers.values():
            self._check(defer)
        return sorted(self._issues, key=lambda i: i.index)

    def _check(self, defer: _Defer) -> None:
        if not defer.parent:
            if defer.depth != 0 or defer.path:
                self._issue(defer, f"defer '{defer.token}' has no parent but cascade_depth={defer.depth} path={defer.path}")
            return
        if defer.parent == defer.token:
            self._issue(defer, f"defer '{defer.token}' references itself")
            return
        ancestors: list[str] = []
        current: _Defer | None = defer
        seen = {defer.token}
        while current is not None and current.parent:
            parent = self._parent_of(current)
            if parent is None:
                self._issue(defer, f"defer '{current.token}' references missing parent '{current.parent}'")
                return
            if parent.token in seen:
                self._issue(defer, f"defer '{defer.token}' is part of a cascade cycle")
                return
            seen.add(parent.token)
            ancestors.append(parent.token)
            current = parent
        ancestors.reverse()
        if defer.depth != len(ancestors) or defer.path != ancestors:
            self._issue(
                defer,
                f"defer '{defer.token}' has cascade_depth={defer.depth} path={defer.path}, "
                f"want depth={len(ancestors)} path={ancestors}",
            )
