"""``InMemoryDirectory``: the directory in a dict (one process; tests and the contract suite)."""

from __future__ import annotations

from faramesh_cloud.directory.port import Taken


class InMemoryDirectory:
    def __init__(self) -> None:
        self._orgs: dict[str, tuple[str, str]] = {}  # slug -> (org_id, region)
        self._users: dict[str, str] = {}
        self._stacks: dict[str, str] = {}
        self._keys: dict[str, str] = {}

    async def claim_org(self, org_id: str, slug: str, region: str) -> None:
        held = self._orgs.setdefault(slug, (org_id, region))
        if held != (org_id, region):
            raise Taken(f"the organisation slug {slug!r} is taken (region {held[1]}); pick another slug", held[1])

    async def claim_user(self, email: str, region: str) -> str:
        return self._users.setdefault(email.strip().lower(), region)

    async def claim_stack(self, stack_id: str, region: str) -> None:
        _claim(self._stacks, str(stack_id), region, "stack")

    async def claim_stack_key(self, key_id: str, region: str) -> None:
        _claim(self._keys, key_id, region, "stack key")

    async def region_of_org(self, slug: str) -> str | None:
        held = self._orgs.get(slug)
        return None if held is None else held[1]

    async def home_of(self, email: str) -> str | None:
        return self._users.get(email.strip().lower())

    async def region_of_stack(self, stack_id: str) -> str | None:
        return self._stacks.get(str(stack_id))

    async def region_of_stack_key(self, key_id: str) -> str | None:
        return self._keys.get(key_id)


def _claim(table: dict[str, str], name: str, region: str, what: str) -> None:
    held = table.setdefault(name, region)
    if held != region:
        raise Taken(f"{what} {name} is held by region {held}", held)
