"""The ``Directory`` port: the global map of organisations, people and stacks to regions.

Claims are first-come: the region that first claims a name holds it. Claiming what this
region already holds changes nothing (a retry is safe); claiming what another region holds
is :class:`Taken` for organisations (a slug is global), stacks and stack keys (random ids:
only a bug or a copied database collides), and answers the existing home for people (an
account made in a second region keeps its first home).
"""

from __future__ import annotations

from typing import Final, Protocol

COMPONENT: Final = ("directory", "faramesh_cloud.directory")


class DirectoryError(RuntimeError):
    """The directory refused or failed; the message says what to do."""


class DirectoryUnavailable(DirectoryError):
    """The directory database could not be reached."""


class Taken(DirectoryError):
    """Another region holds this name."""

    def __init__(self, message: str, region: str) -> None:
        super().__init__(message)
        self.region = region


class Directory(Protocol):
    async def claim_org(self, org_id: str, slug: str, region: str) -> None: ...

    async def claim_user(self, email: str, region: str) -> str:
        """Record ``region`` as the person's home unless they have one; returns their home."""
        ...

    async def claim_stack(self, stack_id: str, region: str) -> None: ...

    async def claim_stack_key(self, key_id: str, region: str) -> None: ...

    async def region_of_org(self, slug: str) -> str | None: ...

    async def home_of(self, email: str) -> str | None: ...

    async def region_of_stack(self, stack_id: str) -> str | None: ...

    async def region_of_stack_key(self, key_id: str) -> str | None: ...
