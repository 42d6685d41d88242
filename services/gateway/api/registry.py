"""``/api/v1/orgs/{org}/registry/...``: the REST twin of the Registry section's browse pages.

The catalog is global, but reading it takes ``registry:artifact:read`` in an organisation
(every role but Viewer and Auditor) and "verified" is judged against the keys *that*
organisation trusts, so every route names the organisation like the rest of the API. Lists
page by ``limit`` and ``offset``."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.registry_imports import every_stack_imports, stack_imports
from faramesh_cloud.gateway.web.registry_ports import (
    bad_filter,
    counts,
    detail,
    kind_of,
    plain,
    registry_port,
)
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/registry", tags=["registry"])
READ = require(Permission.REGISTRY_ARTIFACT_READ)
TRUST = require(Permission.REGISTRY_TRUST_MANAGE)
KINDS_PATH: Final = Path(description="providers, policies or frameworks", pattern="^[a-z-]+$")
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    404: {"description": "unknown artifact, version or stack (or another organisation's stack)"},
    422: {"description": "a bad filter, limit or offset; the detail says which"}}


def _imports(found: Any) -> dict[str, Any]:
    return {"stack_id": found.stack_id, "name": found.name, "applied": found.applied,
            "governance_sha256": found.governance_sha256 or None, "imports": plain(found.imports)}


@router.get("/trust-keys", responses=ERRORS)
async def trust_keys(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """The keys the registry lists: the official key, Cloud's registry keys (active or retired:
    ``retired_at``) and mirror-pinned ones, each with its raw public key (base64), ``trusted``
    (whether this organisation trusts it: by default the official and Cloud's keys) and, for
    Cloud's, the ``trust { key … }`` block to paste into governance.fms (``trust_snippet``)."""
    return [plain(k) for k in await registry_port(request).trust_keys(org_id=principal.org.org_id)]


class TrustedKeys(BaseModel):
    key_ids: list[str] = Field(min_length=1, max_length=100, description="the key ids this organisation trusts")


@router.put("/trust-keys", responses={**ERRORS, 403: {"description": "not an Owner or Admin"}})
async def set_trust_keys(body: TrustedKeys, request: Request,
                         principal: Principal = Depends(TRUST)) -> list[dict[str, Any]]:
    """Replace the keys this organisation trusts (Owner or Admin; a platform-audit entry): the
    stack imports, ``registry verify --org`` and the artifact pages call a signature verified
    only under one of them. 422 naming a key the registry does not list."""
    try:
        keys = await registry_port(request).set_trusted_keys(principal.org.org_id, body.key_ids, principal.actor)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return [plain(k) for k in keys]


@router.get("/imports", responses=ERRORS)
async def imports(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """Per stack the member may read: the imports of the governance.fms it last applied, each
    ``verified`` (in this registry, signature valid under a key this organisation trusts),
    ``unverified`` (``reason`` says why: untrusted key, invalid, ...), ``not-in-registry``,
    ``yanked`` or ``refused`` (the daemon refuses the reference: ``@latest``, no pin, unknown
    kind); ``applied`` false when the stack never synced its text."""
    return [_imports(f) for f in await every_stack_imports(request, principal)]


@router.get("/stacks/{stack_id}/imports", responses=ERRORS)
async def one_stack_imports(stack_id: str, request: Request, principal: Principal = Depends(READ)) -> dict[str, Any]:
    """One stack's registry imports (as ``/imports``); 404 for a stack not in this organisation."""
    return _imports(await stack_imports(request, principal, stack_id))


@router.get("/{kinds:registry_kinds}", responses=ERRORS)
async def list_artifacts(request: Request, kinds: str = KINDS_PATH, principal: Principal = Depends(READ),
                         q: str = Query("", max_length=200, description="text in the name or description"),
                         domain: str = Query("", max_length=100,
                                             description="category or domain (payments, healthcare, ...)"),
                         tier: str = Query("", description="official or community"),
                         capability: str = Query("", max_length=50, description="providers: SECRETS, KMS, ..."),
                         platform: str = Query("", max_length=50, description="providers: linux_amd64, ..."),
                         limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """Artifacts of one kind by name: ``items`` (name, latest version, tier, category, domains,
    capabilities, platforms), ``total`` matching the filters, ``limit`` and ``offset``."""
    kind = kind_of(kinds)
    try:
        found = await registry_port(request).search(kind, text=q, category=domain, tier=tier, capability=capability,
                                                    platform=platform, limit=limit, offset=offset)
    except ValueError as exc:
        raise bad_filter(exc) from None
    return plain(found)  # type: ignore[no-any-return]


@router.get("/{kinds:registry_kinds}/{name:path}", responses=ERRORS)
async def artifact(request: Request, name: str, kinds: str = KINDS_PATH, principal: Principal = Depends(READ),
                   version: str = Query("", max_length=128, description="default: the latest published")
                   ) -> dict[str, Any]:
    """One artifact at a version: ``artifact`` (summary), every version in ``versions`` (state,
    changelog, downloads, key), ``downloads``, and ``version``: its FPL, manifest, binaries per
    platform (``hosted`` false: signature only), ``signature_status`` (``verdict`` verified /
    unsigned / untrusted-key / invalid / malformed, the key, ``problem``), ``import_line``,
    ``snippet``, ``checklist`` (config or parameter schema rows, required first) and
    ``preview`` (packs and profiles: ``parses``, the daemon's ``error``, ``rules``, ``counts``)."""
    kind = kind_of(kinds)
    found = await detail(registry_port(request), kind, name, version, org_id=principal.org.org_id)
    shown = plain(found.version)
    if found.version.preview is not None:
        shown["preview"]["counts"] = counts(found.version.preview)
    return {"artifact": plain(found.artifact.artifact), "versions": plain(found.artifact.versions),
            "downloads": found.artifact.downloads, "version": shown}
