"""Registering simulated stacks in Cloud, idempotently: for ``simulate --register`` and the
``up --demo`` fleet, which have the Cloud database at hand.

The plaintext keys exist only when issued, so they are kept in a JSON file in the data dir
(mode 0600): ``{"org_id", "org_slug", "stacks": [{"name", "stack_id", "api_key"}]}``. On the
next run a stack whose saved key still authenticates is reused as is; a stack that exists
but whose key no longer works gets a fresh key; a missing stack (or organisation, e.g. after
the database was reset) is registered anew.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from faramesh_cloud.simulator.fleet import StackSpec
from faramesh_cloud.simulator.keys import write_private
from faramesh_cloud.stacks.domain import Org, Stack, StackError, StackIdentity


class StackStore(Protocol):
    """What registering the simulated stacks needs of ``stacks.store.StackStore`` (injected:
    the simulator does not import Cloud's stores, whose writes pull in the log's outbox)."""

    async def create_org(self, slug: str, name: str) -> Org: ...

    async def list_stacks(self, org_id: str) -> list[Stack]: ...

    async def rotate_key(self, org_id: str, stack_id: str, overlap_s: float) -> str: ...

    async def register_stack(self, org_id: str, name: str, environment: str = "") -> tuple[Stack, str]: ...

    async def authenticate(self, plaintext: str) -> StackIdentity | None: ...


class SavedStack(msgspec.Struct):
    name: str
    stack_id: str
    api_key: str


class SavedFleet(msgspec.Struct):
    org_id: str
    org_slug: str
    stacks: list[SavedStack] = msgspec.field(default_factory=list)


class RegistrationError(RuntimeError):
    """Stacks could not be registered; the message says what to do."""


def load_saved(path: Path) -> SavedFleet | None:
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=SavedFleet)
    except (OSError, msgspec.DecodeError) as exc:
        raise RegistrationError(f"cannot read the saved stack keys in {path} ({exc}); move the file "
                                "aside to register new stacks") from exc


async def _org(store: StackStore, slug: str, name: str) -> tuple[str, str]:
    try:
        org = await store.create_org(slug, name)
    except StackError:  # the slug is taken (its keys file was lost): use a fresh one
        org = await store.create_org(f"{slug}-{secrets.token_hex(3)}", name)
    return org.org_id, org.slug


async def _stack(store: StackStore, org_id: str, name: str, environment: str) -> SavedStack:
    existing = next((s for s in await store.list_stacks(org_id) if s.name == name and s.registered), None)
    if existing is not None:  # registered, but the saved key is gone or no longer works
        key = await store.rotate_key(org_id, existing.stack_id, 0)
        return SavedStack(name, existing.stack_id, key)
    stack, key = await store.register_stack(org_id, name, environment)
    return SavedStack(name, stack.stack_id, key)


async def ensure_stacks(
    store: StackStore,
    path: Path,
    names: Sequence[str],
    *,
    org_slug: str,
    org_name: str,
    environment: str = "simulated",
) -> list[StackSpec]:
    """A working key for each stack in ``names`` (registering or re-keying only what is
    needed); the keys are saved in ``path``."""
    saved = load_saved(path)
    by_name = {s.name: s for s in saved.stacks} if saved else {}
    org_id, slug = (saved.org_id, saved.org_slug) if saved else ("", org_slug)
    changed = saved is None
    result: list[SavedStack] = []
    for name in names:
        known = by_name.get(name)
        if known is not None and org_id:
            identity = await store.authenticate(known.api_key)
            if identity is not None and identity.stack_id == known.stack_id and identity.org_id == org_id:
                result.append(known)
                continue
        if not org_id or not await _org_known(store, org_id):
            org_id, slug = await _org(store, org_slug, org_name)
            by_name = {}
        fresh = await _stack(store, org_id, name, environment)
        by_name[name] = fresh
        result.append(fresh)
        changed = True
    if changed:
        keep = [s for n, s in by_name.items() if n not in names]
        document = SavedFleet(org_id=org_id, org_slug=slug, stacks=[*result, *keep])
        write_private(path, msgspec.json.format(msgspec.json.encode(document)))
    return [StackSpec(label=s.name, api_key=s.api_key) for s in result]


async def _org_known(store: StackStore, org_id: str) -> bool:
    """Whether the organisation still exists: it does while it lists any stack, registered
    or not (this module never leaves one of its organisations without stacks)."""
    try:
        return bool(await store.list_stacks(org_id))
    except StackError:
        return False
