"""``/api/v1/orgs/{org}/stacks``: Settings → Stacks over the API (register, relabel, rotate
the key with overlap, deregister, pinned DPR signing keys). The plaintext key is in the response once, never again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from faramesh_cloud.gateway.api.models import StrictNumber
from faramesh_cloud.gateway.web import stack_actions
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.stacks.domain import STACK_NAME_MAX, STACK_NAME_PATTERN, STACK_NAME_RULE

router = APIRouter(prefix="/api/v1/orgs/{org}/stacks", tags=["stacks"])
MANAGE = require(Permission.ORG_STACK_MANAGE)


class StackIn(BaseModel):
    # The rule is checked by the store, which answers 400 with it (as the form does); the
    # schema states it, and the length bound here only caps what is read.
    name: str = Field(min_length=1, max_length=200, description=f"A stack name is {STACK_NAME_RULE}.",
                      json_schema_extra={"pattern": f"^{STACK_NAME_PATTERN}$", "maxLength": STACK_NAME_MAX})
    environment: str = Field(default="", max_length=100)


class EnvironmentIn(BaseModel):
    environment: str = Field(default="", max_length=100)


class RotateIn(BaseModel):
    overlap_s: StrictNumber = Field(default=stack_actions.DEFAULT_OVERLAP_S, ge=0, le=stack_actions.MAX_OVERLAP_S)


class SigningKeyIn(BaseModel):
    public_key: str = Field(min_length=1, max_length=2000,
                            description="Ed25519 public key: base64 of the 32 bytes, 'ed25519:<b64>' or PEM")
    label: str = Field(default="", max_length=200)


def _pin_out(key: Any) -> dict[str, Any]:
    return {"key_id": key.key_id, "public_key": key.public_key, "label": key.label, "added_at": key.added_at,
            "added_by": key.added_by, "revoked_at": key.revoked_at, "revoked_by": key.revoked_by}


def _out(stack: Any) -> dict[str, Any]:
    return {"stack_id": stack.stack_id, "name": stack.name, "environment": stack.environment,
            "created_at": stack.created_at, "last_seen_at": stack.last_seen_at,
            "deregistered_at": stack.deregistered_at}


@router.get("")
async def list_stacks(request: Request, principal: Principal = Depends(MANAGE)) -> list[dict[str, Any]]:
    return [_out(s) for s in await fleet_ports(request).registry.list_stacks(principal.org.org_id)]


@router.post("", status_code=201, dependencies=[Depends(check_csrf)])
async def register(body: StackIn, request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    stack, key = await stack_actions.register(request, principal, body.name, body.environment)
    return {**_out(stack), "api_key": key,
            "runtime_snippet": stack_actions.runtime_snippet(fleet_ports(request).cloud_url)}


@router.put("/{stack_id}/environment", dependencies=[Depends(check_csrf)])
async def relabel(stack_id: str, body: EnvironmentIn, request: Request,
                  principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    return _out(await stack_actions.relabel(request, principal, stack_id, body.environment))


@router.post("/{stack_id}/rotate-key", dependencies=[Depends(check_csrf)])
async def rotate(stack_id: str, body: RotateIn, request: Request,
                 principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    key = await stack_actions.rotate(request, principal, stack_id, body.overlap_s)
    return {"stack_id": stack_id, "api_key": key, "previous_keys_valid_for_s": body.overlap_s}


@router.delete("/{stack_id}", dependencies=[Depends(check_csrf)])
async def deregister(stack_id: str, request: Request, principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    return _out(await stack_actions.deregister(request, principal, stack_id))


@router.get("/{stack_id}/signing-keys")
async def signing_keys(stack_id: str, request: Request, principal: Principal = Depends(MANAGE)) -> list[dict[str, Any]]:
    return [_pin_out(k) for k in await stack_actions.signing_keys(request, principal, stack_id)]


@router.post("/{stack_id}/signing-keys", status_code=201, dependencies=[Depends(check_csrf)])
async def pin_signing_key(stack_id: str, body: SigningKeyIn, request: Request,
                          principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    return _pin_out(await stack_actions.pin_signing_key(request, principal, stack_id, body.public_key, body.label))


@router.delete("/{stack_id}/signing-keys/{signing_key_id}", dependencies=[Depends(check_csrf)])
async def unpin_signing_key(stack_id: str, signing_key_id: str, request: Request,
                            principal: Principal = Depends(MANAGE)) -> dict[str, Any]:
    return _pin_out(await stack_actions.unpin_signing_key(request, principal, stack_id, signing_key_id))
