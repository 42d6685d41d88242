"""Settings → Stacks: register a stack (its API key and the runtime snippet, shown once),
environment labels, key rotation with overlap, deregistration (DPRs are kept)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web import stack_actions
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
MANAGE = require(Permission.ORG_STACK_MANAGE)


async def render(request: Request, principal: Principal, **extra: Any) -> Response:
    ports = fleet_ports(request)
    org_id = principal.org.org_id
    stacks = list(await ports.registry.list_stacks(org_id))
    keys = {s.stack_id: [k for k in await ports.registry.list_keys(org_id, s.stack_id) if k.revoked_at is None]
            for s in stacks if s.registered}
    return await page(request, "settings/stacks.html", principal, {
        "tab": "stacks", "all_stacks": stacks, "keys": keys, "default_overlap_h": stack_actions.DEFAULT_OVERLAP_S // 3600,
        "snippet": stack_actions.runtime_snippet(ports.cloud_url), "name_rule": stack_actions.NAME_RULE,
        "name_pattern": stack_actions.NAME_PATTERN_HTML, "name_max": stack_actions.NAME_MAX, **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


def _back(principal: Principal, message: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse(f"/o/{principal.org.slug}/settings/stacks?{urlencode({'flash': message})}",
                            status_code=303)


@router.get("/o/{org}/settings/stacks", response_class=HTMLResponse)
async def stacks_page(request: Request, principal: Principal = Depends(MANAGE)) -> Response:
    return await render(request, principal)


@router.post("/o/{org}/settings/stacks", dependencies=[Depends(check_csrf)])
async def register(request: Request, name: str = Form(""), environment: str = Form(""),
                   principal: Principal = Depends(MANAGE)) -> Response:
    try:
        stack, key = await stack_actions.register(request, principal, name, environment)
    except NotFound:
        raise
    except IdentityError as exc:
        return await render(request, principal, error=str(exc))
    return await render(request, principal, created=stack, plaintext=key)


@router.post("/o/{org}/settings/stacks/{stack_id}/environment", dependencies=[Depends(check_csrf)])
async def relabel(request: Request, stack_id: str, environment: str = Form(""),
                  principal: Principal = Depends(MANAGE)) -> Response:
    try:
        stack = await stack_actions.relabel(request, principal, stack_id, environment)
    except NotFound:
        raise
    except IdentityError as exc:
        return await render(request, principal, error=str(exc))
    return _back(principal, f"Environment of {stack.name} set to {stack.environment or '(none)'}.")


@router.post("/o/{org}/settings/stacks/{stack_id}/rotate", dependencies=[Depends(check_csrf)])
async def rotate(request: Request, stack_id: str, overlap_hours: float = Form(24.0),
                 principal: Principal = Depends(MANAGE)) -> Response:
    try:
        key = await stack_actions.rotate(request, principal, stack_id, overlap_hours * 3600)
    except NotFound:
        raise
    except IdentityError as exc:
        return await render(request, principal, error=str(exc))
    stack = await stack_actions.own_stack(request, principal, stack_id)
    return await render(request, principal, rotated=stack, plaintext=key, overlap_hours=overlap_hours)


@router.post("/o/{org}/settings/stacks/{stack_id}/deregister", dependencies=[Depends(check_csrf)])
async def deregister(request: Request, stack_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    stack = await stack_actions.deregister(request, principal, stack_id)
    return _back(principal, f"Stack {stack.name} deregistered; its keys stopped working. Its DPRs are kept.")


# -- pinned DPR signing keys ------------------------------------------------------------------


async def render_signing_keys(request: Request, principal: Principal, stack_id: str, **extra: Any) -> Response:
    stack = await stack_actions.own_stack(request, principal, stack_id, live=False)
    pins = await stack_actions.signing_keys(request, principal, stack_id)
    return await page(request, "settings/stack_signing_keys.html", principal, {
        "tab": "stacks", "stack": stack, "pins": pins, **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


def _back_to_keys(principal: Principal, stack_id: str, message: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse(f"/o/{principal.org.slug}/settings/stacks/{stack_id}/signing-keys?"
                            f"{urlencode({'flash': message})}", status_code=303)


@router.get("/o/{org}/settings/stacks/{stack_id}/signing-keys", response_class=HTMLResponse)
async def signing_keys_page(request: Request, stack_id: str, principal: Principal = Depends(MANAGE)) -> Response:
    return await render_signing_keys(request, principal, stack_id)


@router.post("/o/{org}/settings/stacks/{stack_id}/signing-keys", dependencies=[Depends(check_csrf)])
async def pin_signing_key(request: Request, stack_id: str, public_key: str = Form(""), label: str = Form(""),
                          principal: Principal = Depends(MANAGE)) -> Response:
    try:
        pinned = await stack_actions.pin_signing_key(request, principal, stack_id, public_key, label)
    except NotFound:
        raise
    except IdentityError as exc:
        return await render_signing_keys(request, principal, stack_id, error=str(exc))
    return _back_to_keys(principal, stack_id, f"Key {pinned.key_id[:16]}… pinned.")


@router.post("/o/{org}/settings/stacks/{stack_id}/signing-keys/{signing_key_id}/revoke",
             dependencies=[Depends(check_csrf)])
async def revoke_signing_key(request: Request, stack_id: str, signing_key_id: str,
                             principal: Principal = Depends(MANAGE)) -> Response:
    revoked = await stack_actions.unpin_signing_key(request, principal, stack_id, signing_key_id)
    return _back_to_keys(principal, stack_id, f"Key {revoked.key_id[:16]}… revoked.")
