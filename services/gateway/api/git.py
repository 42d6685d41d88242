"""``/api/v1/orgs/{org}/git``: git provider connections (GitHub, GitLab, Bitbucket, Azure DevOps;
the token goes in and never comes back), stack mappings (repository + path + main branch; the
token must read the path) and drift against the main branch (the last check; ``POST .../check``
checks now). Connections and mappings: Owner and Admin (``org:integration:manage``); checks:
``fleet:stack:read`` (Operators too); reading a stack's drift: ``fleet:health:read`` on that stack."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.openapi import CONFLICT
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.git_ports import connection_json, drift_json, git_port, mapping_json
from faramesh_cloud.gateway.web.notifications_ports import not_found, refused
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/git", tags=["git"])
ADMIN = require(Permission.ORG_INTEGRATION_MANAGE)
STACKS = require(Permission.FLEET_STACK_READ)
HEALTH = require(Permission.FLEET_HEALTH_READ)


class GitConnectionIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    provider: Literal["github", "gitlab", "bitbucket", "azure_devops"]
    base_url: str = Field(default="", max_length=500, description="the API root; empty: the provider's public one "
                          "(GitHub Enterprise: https://HOST/api/v3; Azure DevOps: https://dev.azure.com/ORG, required)")
    token: str = Field(min_length=1, max_length=1000, description="a token that can read the repository (sealed)")
    username: str = Field(default="", max_length=200, description="bitbucket app passwords only: the user name")


class GitMappingIn(BaseModel):
    connection_id: str = Field(min_length=1, max_length=64)
    repository: str = Field(min_length=1, max_length=300, description="owner/repo, group/project, workspace/repo or "
                            "project/repo")
    path: str = Field(default="governance.fms", min_length=1, max_length=500)
    branch: str = Field(default="main", min_length=1, max_length=250)


@router.get("/connections")
async def list_git_connections(request: Request, principal: Principal = Depends(ADMIN)) -> list[dict[str, Any]]:
    return [connection_json(c) for c in await git_port(request).connections(principal.org.org_id)]


@router.post("/connections", status_code=201, dependencies=[Depends(check_csrf)], responses=CONFLICT)
async def create_git_connection(body: GitConnectionIn, request: Request,
                                principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        made = await git_port(request).connect(principal.org.org_id, body.name, body.provider, body.base_url,
                                               body.token, principal.actor, username=body.username)
    except ValueError as exc:
        raise refused(exc) from None
    return connection_json(made)


@router.delete("/connections/{connection_id}", dependencies=[Depends(check_csrf)])
async def delete_git_connection(connection_id: str, request: Request,
                                principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        return connection_json(await git_port(request).disconnect(principal.org.org_id, connection_id,
                                                                  principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None


@router.get("/mappings")
async def list_git_mappings(request: Request, principal: Principal = Depends(ADMIN)) -> list[dict[str, Any]]:
    return [mapping_json(m) for m in await git_port(request).mappings(principal.org.org_id)]


@router.put("/mappings/{stack_id}", dependencies=[Depends(check_csrf)])
async def put_git_mapping(stack_id: str, body: GitMappingIn, request: Request,
                          principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        mapped = await git_port(request).map_stack(principal.org.org_id, stack_id, body.connection_id,
                                                   body.repository, body.path, body.branch, principal.actor)
    except LookupError as exc:
        raise not_found(exc) from None
    except ValueError as exc:
        raise refused(exc) from None
    return mapping_json(mapped)


@router.delete("/mappings/{stack_id}", dependencies=[Depends(check_csrf)])
async def delete_git_mapping(stack_id: str, request: Request, principal: Principal = Depends(ADMIN)) -> dict[str, Any]:
    try:
        return mapping_json(await git_port(request).unmap(principal.org.org_id, stack_id, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None


@router.get("/drift/{stack_id}")
async def get_git_drift(stack_id: str, request: Request, principal: Principal = Depends(HEALTH)) -> dict[str, Any]:
    if not principal.access.allows(Permission.FLEET_HEALTH_READ, stack_id):
        raise not_found(LookupError(f"no stack {stack_id!r}"))
    state = await git_port(request).drift(principal.org.org_id, stack_id)
    if state is None:
        raise not_found(LookupError(f"stack {stack_id!r} is not mapped to a repository"))
    return drift_json(state)


@router.post("/drift/{stack_id}/check", dependencies=[Depends(check_csrf)])
async def check_git_drift(stack_id: str, request: Request, principal: Principal = Depends(STACKS)) -> dict[str, Any]:
    if not principal.access.allows(Permission.FLEET_STACK_READ, stack_id):
        raise not_found(LookupError(f"no stack {stack_id!r}"))
    try:
        return drift_json(await git_port(request).check(principal.org.org_id, stack_id, principal.actor))
    except LookupError as exc:
        raise not_found(exc) from None
