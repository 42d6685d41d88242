"""``Region``: this process's region, the directory, and where the other regions answer.

Built once by the composition root when ``Settings.region`` is set (``None`` in a
single-region install, which then never touches a directory) and injected into the stores
that create organisations, people and stacks (they *claim* in the directory before their own
insert, so nothing exists in a region without its directory entry; a claim left behind by a
failed insert names an id nobody uses) and into the ways in (ingest's key check, the
gateway's sign-in), which ask it only after their own lookup failed: a caller of this region
costs nothing, a caller of another region is told where to go.

A lookup that fails because the directory is down answers "not elsewhere" (the caller gets
the ordinary refusal and retries); a claim that fails refuses the creation, with the reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from faramesh_cloud.directory.port import Directory, DirectoryError

REGION_NAME: Final = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """Another region, and where its people (``gateway_url``) and daemons (``sync_address``) go."""

    region: str
    gateway_url: str
    sync_address: str


class Region:
    def __init__(self, name: str, directory: Directory, *, gateway_urls: Mapping[str, str] | None = None,
                 sync_addresses: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.directory = directory
        self._gateway_urls = dict(gateway_urls or {})
        self._sync_addresses = dict(sync_addresses or {})

    def endpoints(self, region: str) -> Elsewhere:
        return Elsewhere(region, self._gateway_urls.get(region, ""), self._sync_addresses.get(region, ""))

    # -- claims (before the region's own insert) -------------------------------------------

    async def claim_org(self, org_id: str, slug: str) -> None:
        await self.directory.claim_org(org_id, slug, self.name)

    async def claim_user(self, email: str) -> None:
        await self.directory.claim_user(email, self.name)

    async def claim_stack(self, stack_id: str, key_id: str) -> None:
        await self.directory.claim_stack(stack_id, self.name)
        await self.directory.claim_stack_key(key_id, self.name)

    async def claim_stack_key(self, key_id: str) -> None:
        await self.directory.claim_stack_key(key_id, self.name)

    # -- lookups (after a local miss) ------------------------------------------------------

    async def key_elsewhere(self, key_id: str) -> Elsewhere | None:
        return await self._elsewhere("stack key", self.directory.region_of_stack_key, key_id)

    async def person_elsewhere(self, email: str) -> Elsewhere | None:
        return await self._elsewhere("person", self.directory.home_of, email)

    async def stack_elsewhere(self, stack_id: str) -> Elsewhere | None:
        return await self._elsewhere("stack", self.directory.region_of_stack, stack_id)

    async def org_elsewhere(self, slug: str) -> Elsewhere | None:
        return await self._elsewhere("organisation", self.directory.region_of_org, slug)

    async def _elsewhere(self, what: str, lookup: Callable[[str], Awaitable[str | None]], name: str) -> Elsewhere | None:
        try:
            region = await lookup(name)
        except DirectoryError as exc:
            _log.warning("directory lookup of a %s failed (answering as unknown): %s", what, exc)
            return None
        if region is None or region == self.name:
            return None
        return self.endpoints(region)


def parse_region_map(setting: str, value: str) -> dict[str, str]:
    """``REGION=VALUE,REGION=VALUE`` (``region_urls``, ``region_sync_addresses``) as a dict;
    ValueError naming the setting and the bad entry."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, sep, target = (s.strip() for s in part.partition("="))
        if not sep or not REGION_NAME.match(name) or not target:
            raise ValueError(f"{setting}: {part!r} is not REGION=VALUE (a region name of lower-case letters, "
                             "digits and inner hyphens, then '=' and the value)")
        if name in out:
            raise ValueError(f"{setting}: region {name!r} is listed twice")
        out[name] = target
    return out
