"""Claims in the global directory of a multi-region install, for identity's stores.

A store given a :class:`~faramesh_cloud.directory.region.Region` claims each person and
organisation it makes before its own insert (in the same local transaction where there is
one, so a refused claim creates nothing here); without one (a single-region install) these
do nothing. A refusal (a slug another region holds) is an ``IdentityError`` with the
directory's reason; the directory down is ``ServiceUnavailable`` (503 with Retry-After).
"""

from __future__ import annotations

from faramesh_cloud.directory.port import DirectoryError, DirectoryUnavailable
from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.domain import IdentityError
from faramesh_cloud.rpc.errors import ServiceUnavailable


async def claim_person(region: Region | None, email: str) -> None:
    if region is None:
        return
    try:
        await region.claim_user(email)
    except DirectoryUnavailable as exc:
        raise ServiceUnavailable("global directory", str(exc)) from exc
    except DirectoryError as exc:
        raise IdentityError(f"cannot record {email}'s home region: {exc}") from exc


async def claim_org(region: Region | None, org_id: str, slug: str) -> None:
    if region is None:
        return
    try:
        await region.claim_org(org_id, slug)
    except DirectoryUnavailable as exc:
        raise ServiceUnavailable("global directory", str(exc)) from exc
    except DirectoryError as exc:
        raise IdentityError(str(exc)) from exc
