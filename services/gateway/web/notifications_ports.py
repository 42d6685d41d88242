"""What Settings → Integrations, routing rules and the stack Integrations tab use: a port the
composition root fills with the notifications service's API. Values come back as objects read
by attribute. Refusals raise ``ValueError`` with a ``code`` (``invalid``, ``conflict``);
unknown ids raise ``LookupError``.

Who may do what: destinations are organisation settings (``org:integration:manage``: Owner,
Admin); routing rules are part of Approvals (``approvals:routing:manage``, on the rule's stack,
or the organisation role for rules that span stacks: Owner, Admin, Operator)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, HTTPException, Request

from faramesh_cloud.gateway.web.deps import mounted_port
from faramesh_cloud.identity.domain import Forbidden, IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import Actor


class NotificationsPort(Protocol):
    kinds: Sequence[Any]

    async def destinations(self, org_id: str) -> Sequence[Any]: ...

    async def destination(self, org_id: str, destination_id: str) -> Any: ...

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any],
                                 actor: Actor) -> tuple[Any, dict[str, str]]: ...

    async def update_destination(self, org_id: str, destination_id: str, name: str, fields: dict[str, Any],
                                 actor: Actor) -> Any: ...

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Any: ...

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str: ...

    async def rotate_secret(self, org_id: str, destination_id: str, overlap_s: int,
                            actor: Actor) -> tuple[Any, str]: ...

    async def rules(self, org_id: str, *, stack_id: str | None = None) -> Sequence[Any]: ...

    async def rule(self, org_id: str, rule_id: str) -> Any: ...

    async def put_rule(self, org_id: str, stack_id: str, agent_id: str, steps: Sequence[Any],
                       actor: Actor, subject: str = "approvals") -> Any:
        """Create or replace the rule of one scope for ``subject`` (``approvals`` or
        ``chain_integrity``)."""
        ...

    async def delete_rule(self, org_id: str, rule_id: str, actor: Actor) -> Any: ...

    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> Sequence[Any]: ...

    async def slack_call(self, org_id: str, team_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """A Slack Web API call with the bot token of the organisation's connected workspace
        ``team_id`` (the token stays in the service); ``LookupError`` if none is connected."""
        ...


def mount_notifications(app: FastAPI, port: NotificationsPort) -> None:
    """Add Settings → Integrations, the stack Integrations tab and their API twins."""
    from faramesh_cloud.gateway.api import notifications as api_notifications
    from faramesh_cloud.gateway.web import routes_integrations

    app.state.notifications = port
    for router in (routes_integrations.router, api_notifications.router):
        app.include_router(router)


def notifications_port(request: Request) -> NotificationsPort:
    port: NotificationsPort = mounted_port(request, "notifications", "notifications are")
    return port


def can_route(principal: Principal, stack_id: str) -> bool:
    return principal.access.allows(Permission.APPROVALS_ROUTING_MANAGE, stack_id or None)


def need_route(principal: Principal, stack_id: str) -> None:
    if not can_route(principal, stack_id):
        where = "this stack" if stack_id else "rules that span every stack"
        raise Forbidden(f"your role ({principal.access.role.label}) cannot change routing for {where}; "
                        "ask an owner or admin of this organisation")


def refusal(exc: ValueError) -> int:
    return 409 if getattr(exc, "code", "") == "conflict" else 400


def refused(exc: ValueError) -> HTTPException:
    """The JSON API's answer to a refusal: 409 (conflict) or 400, with the service's message."""
    return HTTPException(refusal(exc), str(exc))


def not_found(exc: LookupError) -> IdentityError:
    return NotFound(str(exc.args[0]) if exc.args else "not found in this organisation")


def rule_visible(principal: Principal, rule: Any) -> bool:
    """Rules on a stack hidden from this member (a per-stack ``none``) are not shown to them."""
    return not rule.stack_id or principal.access.allows(Permission.FLEET_HEALTH_READ, rule.stack_id) \
        or can_route(principal, rule.stack_id)


async def rule_stack_visible(request: Request, principal: Principal, rule: Any) -> None:
    """404 for a rule on a stack this member cannot see (as for another organisation's ids)."""
    if not rule_visible(principal, rule):
        raise NotFound(f"no routing rule {rule.rule_id!r} in this organisation")
