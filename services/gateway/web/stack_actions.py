"""Settings → Stacks actions shared by the UI and the API: register, relabel, rotate the key,
deregister. Each one is written to the platform audit log; a stack of another organisation
(or an id that is not one) is 404."""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from faramesh_cloud.fpl.snippets import runtime_block
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.stacks.domain import (
    STACK_NAME_MAX,
    STACK_NAME_RULE,
    StackError,
    check_stack_name,
)

# Default overlap when a key is rotated: the old key keeps working this long, so the daemon
# can be given the new key without a gap.
DEFAULT_OVERLAP_S: Final = 24 * 3600
MAX_OVERLAP_S: Final = 30 * 24 * 3600
# The stack-name rule (``stacks.domain``) for the Settings form: the same pattern, written for
# the HTML ``pattern`` attribute (browsers compile it with the ``v`` flag: '-' escaped).
NAME_RULE: Final = STACK_NAME_RULE
NAME_MAX: Final = STACK_NAME_MAX
NAME_PATTERN_HTML: Final = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"


def runtime_snippet(cloud_url: str) -> str:
    """The runtime block with the Cloud keys (the Config Assistant's writer: one for both pages)."""
    return runtime_block(cloud_url)


async def own_stack(request: Request, principal: Principal, stack_id: str, *, live: bool = True) -> Any:
    """The organisation's stack with this id, or NotFound."""
    for stack in await fleet_ports(request).registry.list_stacks(principal.org.org_id):
        if stack.stack_id == stack_id and (stack.registered or not live):
            return stack
    raise NotFound(f"no stack {stack_id!r} in this organisation")


def _clean(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise IdentityError(f"{what} is at most {limit} characters")
    return value


async def register(request: Request, principal: Principal, name: str, environment: str) -> tuple[Any, str]:
    name = name.strip()
    try:
        check_stack_name(name)  # the store checks it too; this answers before any write
    except StackError as exc:
        raise IdentityError(str(exc)) from None
    environment = _clean(environment, "an environment label", 100)
    try:
        stack, key = await fleet_ports(request).registry.register_stack(principal.org.org_id, name, environment)
    except ValueError as exc:
        raise IdentityError(str(exc)) from None
    await web(request).identity.audit.append(
        principal.org.org_id, AuditAction.STACK_REGISTERED, principal.actor, target=Target("stack", stack.stack_id),
        details={"name": name, "environment": environment})
    return stack, key


async def relabel(request: Request, principal: Principal, stack_id: str, environment: str) -> Any:
    before = await own_stack(request, principal, stack_id)
    environment = _clean(environment, "an environment label", 100)
    stack = await fleet_ports(request).registry.set_environment(principal.org.org_id, stack_id, environment)
    await web(request).identity.audit.append(
        principal.org.org_id, AuditAction.ORG_SETTINGS_CHANGED, principal.actor, target=Target("stack", stack_id),
        details={"field": "environment", "from": before.environment, "to": environment})
    return stack


async def rotate(request: Request, principal: Principal, stack_id: str, overlap_s: float) -> str:
    await own_stack(request, principal, stack_id)
    if not 0 <= overlap_s <= MAX_OVERLAP_S:
        raise IdentityError(f"the overlap is 0 to {MAX_OVERLAP_S} seconds (30 days)")
    key = await fleet_ports(request).registry.rotate_key(principal.org.org_id, stack_id, overlap_s)
    await web(request).identity.audit.append(
        principal.org.org_id, AuditAction.STACK_KEY_ROTATED, principal.actor, target=Target("stack", stack_id),
        details={"overlap_s": round(overlap_s)})
    return key


async def deregister(request: Request, principal: Principal, stack_id: str) -> Any:
    stack = await own_stack(request, principal, stack_id)
    done = await fleet_ports(request).registry.deregister_stack(principal.org.org_id, stack_id)
    await web(request).identity.audit.append(
        principal.org.org_id, AuditAction.STACK_DEREGISTERED, principal.actor, target=Target("stack", stack_id),
        details={"name": stack.name, "historical_dprs": "kept"})
    return done


# -- pinned DPR signing keys ------------------------------------------------------------------


def _by(principal: Principal) -> str:
    actor = principal.actor
    return f"{actor.type.value}:{actor.label or actor.id}"[:300]


async def signing_keys(request: Request, principal: Principal, stack_id: str) -> list[Any]:
    await own_stack(request, principal, stack_id, live=False)
    return list(await fleet_ports(request).registry.signing_keys.list(principal.org.org_id, stack_id))


async def pin_signing_key(request: Request, principal: Principal, stack_id: str, public_key: str,
                          label: str = "") -> Any:
    """Pin an Ed25519 public key for the stack (IdentityError, i.e. 400, for a malformed key)."""
    await own_stack(request, principal, stack_id)
    audit = web(request).identity.audit

    async def audited(conn: Any, pinned: Any) -> None:  # in the pin's transaction: both or neither
        await audit.append_in(
            conn, principal.org.org_id, AuditAction.STACK_SIGNING_KEY_PINNED, principal.actor,
            target=Target("stack", stack_id),
            details={"key_id": pinned.key_id, "public_key": pinned.public_key, "label": pinned.label})

    try:
        return await fleet_ports(request).registry.signing_keys.pin(
            principal.org.org_id, stack_id, public_key, added_by=_by(principal), label=label,
            with_change=audited)
    except ValueError as exc:
        raise IdentityError(str(exc)) from None


async def unpin_signing_key(request: Request, principal: Principal, stack_id: str, key: str) -> Any:
    """Revoke a pinned key (by key id or the key itself): records Cloud receives from now on that it
    signed are "untrusted"."""
    await own_stack(request, principal, stack_id, live=False)
    audit = web(request).identity.audit

    async def audited(conn: Any, revoked: Any) -> None:  # in the revocation's transaction
        await audit.append_in(
            conn, principal.org.org_id, AuditAction.STACK_SIGNING_KEY_UNPINNED, principal.actor,
            target=Target("stack", stack_id), details={"key_id": revoked.key_id})

    try:
        return await fleet_ports(request).registry.signing_keys.revoke(
            principal.org.org_id, stack_id, key, revoked_by=_by(principal), with_change=audited)
    except ValueError as exc:
        raise NotFound(str(exc)) if "no pinned signing key" in str(exc) else IdentityError(str(exc)) from None
